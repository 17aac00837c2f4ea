//! VMAC interfaces (`use_vmac`): a macvlan on the VRRP interface carrying the virtual
//! router MAC, created, configured and deleted as keepalived 2.2.7 does
//! (keepalived-features §3.8, `vrrp_vmac.c`, `vrrp_if_config.c`), checked against the real
//! binary in a namespace:
//!
//! * macvlan in private mode (bridge and the others on request), MAC 00:00:5e:00:01:VRID
//!   (IPv4) or 00:00:5e:00:02:VRID (IPv6) (RFC 5798 §7.3), named `vrrp.VRID` by default.
//!   An interface of that name that is a macvlan with the right parent and MAC is reused;
//!   another macvlan of that name is replaced; anything else is an error (never delete a
//!   real interface).
//! * IPv4 VMAC: `arp_ignore=1 accept_local=1 rp_filter=0 promote_secondaries=1` on it, and
//!   IPv6 disabled on it unless asked for; `arp_ignore=1 arp_filter=1` on the parent while
//!   it has VMACs. When `all.rp_filter` is set, keepalived moves it to the interfaces
//!   (every interface and `default` get at least the old `all` value, then `all` becomes 0)
//!   so that `rp_filter=0` on the VMAC takes effect; all of it is restored when the last
//!   IPv4 VMAC goes. (keepalived 2.2.7 leaves the parent's arp settings changed after
//!   exit; we restore them.)
//! * Every VMAC gets `addrgenmode none` (2.2.7 does it for IPv4 ones too), so the kernel
//!   adds no link-local address of its own (RFC 5798 §7.4); the caller may give the link-local
//!   address to add to an IPv6 VMAC (keepalived uses the configured source, else the
//!   parent's link-local, else one derived from the parent MAC: [`eui64_link_local`]).
//! * Then the link is set up.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr};

use super::netlink::codec::{IFA_F_NODAD, RT_SCOPE_LINK};
use super::netlink::{errno, AddrRequest, MacvlanMode, MacvlanRequest, NetlinkClient};
use super::sysctl::{self, conf_key, SysctlSet};
use crate::wire::vrrp::Family;
use crate::wire::MacAddr;

/// The virtual router MAC address (RFC 5798 §7.3, RFC 9568 §7.3).
pub fn vmac_mac(family: Family, vrid: u8) -> MacAddr {
    let f = match family {
        Family::Ipv4 => 0x01,
        Family::Ipv6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid]
}

/// keepalived's default VMAC name, `vrrp.VRID`.
pub fn default_name(vrid: u8) -> String {
    format!("vrrp.{vrid}")
}

/// The modified EUI-64 link-local address of a MAC (RFC 4291 §2.5.1, keepalived's
/// `make_link_local_address`).
pub fn eui64_link_local(mac: MacAddr) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

/// What VMAC to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacSpec {
    pub parent_ifindex: u32,
    pub name: String,
    pub mac: MacAddr,
    pub mode: MacvlanMode,
    /// The family of the instance.
    pub family: Family,
    /// IPv4 VMAC only: keep IPv6 on it (the instance has IPv6 eVIPs). keepalived disables
    /// IPv6 on an IPv4 VMAC otherwise.
    pub ipv6: bool,
    /// A link-local address to add (/64, nodad) before the link goes up.
    pub link_local: Option<Ipv6Addr>,
}

impl VmacSpec {
    /// keepalived's defaults for `use_vmac` on `parent`: private mode, `vrrp.VRID`, the
    /// RFC MAC.
    pub fn new(parent_ifindex: u32, family: Family, vrid: u8) -> VmacSpec {
        VmacSpec {
            parent_ifindex,
            name: default_name(vrid),
            mac: vmac_mac(family, vrid),
            mode: MacvlanMode::Private,
            family,
            ipv6: family == Family::Ipv6,
            link_local: None,
        }
    }
}

/// A VMAC that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vmac {
    pub ifindex: u32,
    pub name: String,
    pub parent_ifindex: u32,
    pub mac: MacAddr,
    pub family: Family,
    /// We created it (false: an existing matching one was reused).
    pub created: bool,
}

/// Creates and deletes VMACs and keeps the sysctl changes they need, to undo them.
#[derive(Debug, Default)]
pub struct VmacManager {
    /// Parent arp settings, by parent ifindex: (parent name, number of IPv4 VMACs).
    parents: BTreeMap<u32, (String, u32)>,
    parent_sysctls: SysctlSet,
    rp_filter: SysctlSet,
    v4_vmacs: u32,
}

fn sysctl_err(e: io::Error, vmac: &str) -> io::Error {
    io::Error::new(e.kind(), format!("VMAC {vmac}: {e}"))
}

impl VmacManager {
    pub fn new() -> VmacManager {
        VmacManager::default()
    }

    /// Creates (or reuses) the VMAC, configures it and brings it up.
    pub fn create(&mut self, nl: &mut NetlinkClient, spec: &VmacSpec) -> io::Result<Vmac> {
        let parent = nl.link_by_index(spec.parent_ifindex)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "VMAC {}: parent ifindex {} not found",
                    spec.name, spec.parent_ifindex
                ),
            )
        })?;
        let mut created = true;
        if let Some(old) = nl.link_by_name(&spec.name)? {
            if old.kind.as_deref() != Some("macvlan") {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "VMAC {}: an interface of that name exists and is not a macvlan",
                        spec.name
                    ),
                ));
            }
            if old.mac == Some(spec.mac) && old.link == Some(spec.parent_ifindex) {
                created = false;
            } else {
                log::info!(target: "os", "vmac: Removing old VMAC interface {} due to conflicting interface or MAC", spec.name);
                nl.del_link(old.ifindex)?;
            }
        }
        if created {
            nl.add_macvlan(&MacvlanRequest {
                parent_ifindex: spec.parent_ifindex,
                name: spec.name.clone(),
                mac: spec.mac,
                mode: spec.mode,
            })?;
        }
        let link = nl.link_by_name(&spec.name)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("VMAC {}: vanished after creation", spec.name),
            )
        })?;
        let vmac = Vmac {
            ifindex: link.ifindex,
            name: spec.name.clone(),
            parent_ifindex: spec.parent_ifindex,
            mac: spec.mac,
            family: spec.family,
            created,
        };
        if let Err(e) = self.configure(nl, spec, &vmac, &parent.name) {
            if created {
                let _ = self.delete(nl, &vmac);
            }
            return Err(e);
        }
        Ok(vmac)
    }

    fn configure(
        &mut self,
        nl: &mut NetlinkClient,
        spec: &VmacSpec,
        vmac: &Vmac,
        parent_name: &str,
    ) -> io::Result<()> {
        // keepalived 2.2.7 sets addrgenmode none on every VMAC, IPv4 ones included.
        nl.set_addr_gen_mode_none(vmac.ifindex)?;
        if spec.family == Family::Ipv4 {
            self.v4_vmacs += 1;
            self.clear_all_rp_filter(nl)
                .map_err(|e| sysctl_err(e, &vmac.name))?;
            for (param, value) in [
                ("arp_ignore", "1"),
                ("accept_local", "1"),
                ("rp_filter", "0"),
                ("promote_secondaries", "1"),
            ] {
                // Settings of the VMAC itself go with it: nothing to restore.
                sysctl::write(&conf_key(false, &vmac.name, param), value)
                    .map_err(|e| sysctl_err(e, &vmac.name))?;
            }
            self.hold_parent(vmac.parent_ifindex, parent_name)
                .map_err(|e| sysctl_err(e, &vmac.name))?;
        }
        let ipv6 = spec.family == Family::Ipv6 || spec.ipv6;
        sysctl::write(
            &conf_key(true, &vmac.name, "disable_ipv6"),
            if ipv6 { "0" } else { "1" },
        )
        .map_err(|e| sysctl_err(e, &vmac.name))?;
        if let (true, Some(ll)) = (ipv6, spec.link_local) {
            let mut req = AddrRequest::new(vmac.ifindex, IpAddr::V6(ll), 64);
            req.flags = IFA_F_NODAD;
            req.scope = Some(RT_SCOPE_LINK);
            match nl.add_address(&req) {
                Err(e) if errno(&e) == Some(libc::EEXIST) => {}
                r => r?,
            }
        }
        nl.set_link_up(vmac.ifindex, true)
    }

    /// `arp_ignore=1 arp_filter=1` on the parent while it has IPv4 VMACs.
    fn hold_parent(&mut self, ifindex: u32, name: &str) -> io::Result<()> {
        let entry = self
            .parents
            .entry(ifindex)
            .or_insert_with(|| (name.to_string(), 0));
        entry.1 += 1;
        if entry.1 == 1 {
            self.parent_sysctls
                .set(&conf_key(false, name, "arp_ignore"), "1")?;
            self.parent_sysctls
                .set(&conf_key(false, name, "arp_filter"), "1")?;
        }
        Ok(())
    }

    fn release_parent(&mut self, ifindex: u32) -> Vec<io::Error> {
        let Some(entry) = self.parents.get_mut(&ifindex) else {
            return Vec::new();
        };
        entry.1 = entry.1.saturating_sub(1);
        if entry.1 > 0 {
            return Vec::new();
        }
        let name = entry.0.clone();
        self.parents.remove(&ifindex);
        self.parent_sysctls
            .restore_prefix(&format!("net/ipv4/conf/{name}/"))
    }

    /// keepalived's handling of `net.ipv4.conf.all.rp_filter` (the effective value is the
    /// maximum of `all` and the interface's, so a VMAC's 0 needs `all` at 0): when `all` is
    /// non-zero, raise every interface and `default` to it, then set `all` to 0. Done once;
    /// undone when the last IPv4 VMAC is deleted.
    fn clear_all_rp_filter(&mut self, nl: &mut NetlinkClient) -> io::Result<()> {
        let all_key = "net/ipv4/conf/all/rp_filter";
        if self.rp_filter.is_saved(all_key) {
            return Ok(());
        }
        let all = sysctl::read_int(all_key)?;
        if all == 0 {
            return Ok(());
        }
        let value = all.to_string();
        let mut names: Vec<String> = nl.dump_links()?.into_iter().map(|l| l.name).collect();
        names.push("default".to_string());
        for name in names {
            let key = conf_key(false, &name, "rp_filter");
            match sysctl::read_int(&key) {
                Ok(v) if v < all => {
                    self.rp_filter.set(&key, &value)?;
                }
                _ => {}
            }
        }
        log::info!(target: "os", "NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from {all} to 0");
        self.rp_filter.set(all_key, "0")?;
        Ok(())
    }

    /// Deletes the VMAC (only one this manager created or adopted) and undoes the parent and
    /// rp_filter settings it no longer needs.
    pub fn delete(&mut self, nl: &mut NetlinkClient, vmac: &Vmac) -> io::Result<()> {
        let mut first_err = None;
        match nl.link_by_index(vmac.ifindex) {
            Ok(Some(l)) if l.kind.as_deref() == Some("macvlan") && l.name == vmac.name => {
                if let Err(e) = nl.del_link(vmac.ifindex) {
                    first_err = Some(e);
                }
            }
            Ok(_) => {}
            Err(e) => first_err = Some(e),
        }
        if vmac.family == Family::Ipv4 {
            let mut errs = self.release_parent(vmac.parent_ifindex);
            self.v4_vmacs = self.v4_vmacs.saturating_sub(1);
            if self.v4_vmacs == 0 {
                errs.extend(self.rp_filter.restore());
            }
            if first_err.is_none() {
                first_err = errs.into_iter().next();
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Restores every sysctl still changed (at exit, when VMACs are kept with `-V`-like
    /// options or were already removed).
    pub fn restore_all(&mut self) -> Vec<io::Error> {
        self.parents.clear();
        self.v4_vmacs = 0;
        let mut errs = self.parent_sysctls.restore();
        errs.extend(self.rp_filter.restore());
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_names_link_local() {
        assert_eq!(vmac_mac(Family::Ipv4, 5), [0, 0, 0x5e, 0, 1, 5]);
        assert_eq!(vmac_mac(Family::Ipv6, 255), [0, 0, 0x5e, 0, 2, 255]);
        assert_eq!(default_name(7), "vrrp.7");
        assert_eq!(
            eui64_link_local([0x56, 0xac, 0xbb, 0xfd, 0xb3, 0x3f]),
            "fe80::54ac:bbff:fefd:b33f".parse::<Ipv6Addr>().unwrap()
        );
    }
}
