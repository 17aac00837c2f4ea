//! Accept-mode filtering with nftables (keepalived's `no_accept`, RFC 5798 §6.1): an
//! `inet keepalived` table with one set of IPv4 and one of IPv6 VIPs, and an input chain
//! that drops traffic to them — except IPv6 neighbour solicitations and advertisements,
//! which RFC 9568 §6.4.3 says must not be dropped. VIPs enter the sets while this node holds
//! them. The table is created on first use and deleted at exit.
//!
//! Driven through the `nft` program (Debian package `nftables`) with scripts on stdin: a
//! few milliseconds per transition, synchronous, like keepalived's libnftnl calls.

use std::io::{self, Write};
use std::net::IpAddr;
use std::process::{Command, Stdio};

/// The table name keepalived uses, so operators' tooling finds it.
pub const TABLE: &str = "keepalived";

/// The filter's state.
#[derive(Debug, Default)]
pub struct VipFilter {
    created: bool,
}

fn run(script: &str) -> io::Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "nft: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn set_of(addr: &IpAddr) -> &'static str {
    if addr.is_ipv4() {
        "vips4"
    } else {
        "vips6"
    }
}

impl VipFilter {
    fn ensure(&mut self) -> io::Result<()> {
        if self.created {
            return Ok(());
        }
        // `add` is idempotent; delete+add of the table clears a previous run's leftovers.
        run(&format!(
            "add table inet {TABLE}\ndelete table inet {TABLE}\n\
             table inet {TABLE} {{\n\
             \tset vips4 {{ type ipv4_addr; }}\n\
             \tset vips6 {{ type ipv6_addr; }}\n\
             \tchain in {{\n\
             \t\ttype filter hook input priority -1; policy accept;\n\
             \t\tip daddr @vips4 drop\n\
             \t\tip6 daddr @vips6 icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept\n\
             \t\tip6 daddr @vips6 drop\n\
             \t}}\n}}\n"
        ))?;
        self.created = true;
        Ok(())
    }

    /// Starts (`drop` true) or stops dropping traffic to `addr`.
    pub fn set(&mut self, addr: IpAddr, drop: bool) -> io::Result<()> {
        if !drop && !self.created {
            return Ok(());
        }
        self.ensure()?;
        let verb = if drop { "add" } else { "delete" };
        run(&format!(
            "{verb} element inet {TABLE} {} {{ {addr} }}\n",
            set_of(&addr)
        ))
        .or_else(|e| {
            // Deleting an element that is not there is not a failure.
            if drop {
                Err(e)
            } else {
                Ok(())
            }
        })
    }

    /// Removes the table (at exit).
    pub fn destroy(&mut self) {
        if self.created {
            let _ = run(&format!("delete table inet {TABLE}\n"));
            self.created = false;
        }
    }
}
