//! keepalived's state dumps, in keepalived 2.2.7's files and formats (issue 3):
//!
//! | signal | file(s) in `$TMPDIR` (default /tmp) | keepalived |
//! |---|---|---|
//! | SIGUSR1 | `keepalived_parent.data` (global definitions), `keepalived.data`, `keepalived_check.data`, `keepalived_bfd.data` | `dump_global_data`, `dump_data_vrrp`, the checker's and BFD's dumps |
//! | SIGUSR2 | `keepalived.stats` | `vrrp_print_stats` |
//! | STATS_CLEAR | `keepalived.stats`, then the counters are zeroed | `vrrp_print_stats(true)` |
//! | JSON | `keepalived.json` | `vrrp_print_json` |
//!
//! We are one process, so SIGUSR1 writes the parent's and each child's files.
//!
//! The formatters are pure functions of the configuration model, the engine
//! ([`crate::vrrp::Router`]) and a [`SysInfo`] snapshot (pid, wall/monotonic offset,
//! interfaces, socket fds, time zone) taken at dump time, so tests can compare them with
//! keepalived's files without root. Wall-clock stamps are the engine's monotonic instants
//! plus the offset captured at dump time; the engine never reads a clock.
//!
//! Known differences from keepalived (values we do not have): GARP "next time" stamps are
//! printed as never sent, script "State" is always `idle`, an interface's "IPv6
//! forwarding. Last checked" stamp is the last MASTER transition of an IPv6 instance on it
//! (when keepalived sends its first unsolicited NAs), and fd_in/fd_out are the same fd (one
//! socket serves both directions).

mod cfmt;
mod check;
mod global;
mod json;
mod vrrp;

pub use cfmt::{c_g, ctime24_us, ctime_us, Tz};

use super::lifecycle::Daemon;
use crate::config::model::Config;
use crate::config::semantic::Host;
use crate::vrrp::{InstanceConfig, Router};
use crate::wire::vrrp::Family;
use log::{info, warn};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// Which of keepalived's processes a global-definitions dump is for: the parent prints
/// unresolved lower-priority GARP values and no default interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prog {
    Parent,
    Vrrp,
}

/// One interface as the kernel reports it (what `dump_if` prints).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfaceDetail {
    pub ifindex: u32,
    pub name: String,
    /// `IFF_*`.
    pub flags: u32,
    pub mtu: u32,
    /// `ARPHRD_*`.
    pub hw_type: u16,
    pub mac: Vec<u8>,
    pub broadcast: Vec<u8>,
    /// IPv4 addresses in kernel order (the first is keepalived's primary).
    pub ipv4: Vec<Ipv4Addr>,
    /// IPv6 link-local addresses in kernel order.
    pub ipv6_link_local: Vec<Ipv6Addr>,
    /// `IFLA_INFO_KIND` (`macvlan` for a VMAC).
    pub kind: Option<String>,
    /// The lower device's ifindex (a VMAC's base interface).
    pub link: Option<u32>,
    /// Current `net.ipv4.conf.IF.{arp_ignore, arp_filter, rp_filter, promote_secondaries}`
    /// (read for VMAC interfaces and their base interfaces, which keepalived configures).
    pub sysctls: Option<[u32; 4]>,
    /// `net.ipv6.conf.IF.forwarding` (keepalived checks it before sending unsolicited NAs).
    pub ipv6_forwarding: Option<bool>,
}

/// What the dumps need from the system, captured once per dump.
#[derive(Clone, Debug, Default)]
pub struct SysInfo {
    pub pid: u32,
    /// Wall-clock microseconds minus monotonic microseconds at dump time.
    pub wall_offset_us: i64,
    /// keepalived's `local_name` (canonical host name); `None` if unknown.
    pub local_name: Option<String>,
    /// The user we run as (the default e-mail sender's local part).
    pub user_name: String,
    pub umask: u32,
    pub tz: Tz,
    /// Every interface, in ifindex order.
    pub interfaces: Vec<IfaceDetail>,
    /// VRRP socket fds by (ifindex, family 4/6, protocol).
    pub sockets: BTreeMap<(u32, u8, u8), i32>,
}

impl SysInfo {
    /// Seconds and microseconds of the wall clock at a monotonic instant.
    pub fn wall(&self, t: scheduler::Instant) -> (i64, i64) {
        let us = t.as_micros() as i64 + self.wall_offset_us;
        (us.div_euclid(1_000_000), us.rem_euclid(1_000_000))
    }
}

/// Everything a formatter reads.
pub struct DumpCtx<'a> {
    pub model: &'a Config,
    pub host: &'a dyn Host,
    pub sys: &'a SysInfo,
}

impl DumpCtx<'_> {
    fn ifindex(&self, name: Option<&str>) -> u32 {
        name.and_then(|n| self.sys.interfaces.iter().find(|i| i.name == n))
            .map(|i| i.ifindex)
            .unwrap_or(0)
    }

    /// The base interface of a macvlan/ipvlan (`dev X@BASE` in address dumps).
    fn base_of(&self, dev: &str) -> Option<&str> {
        let i = self.sys.interfaces.iter().find(|i| i.name == dev)?;
        if !matches!(i.kind.as_deref(), Some("macvlan" | "ipvlan")) {
            return None;
        }
        let link = i.link?;
        self.sys
            .interfaces
            .iter()
            .find(|b| b.ifindex == link)
            .map(|b| b.name.as_str())
    }

    /// (fd_in, fd_out) of the socket an instance uses.
    fn socket_fds(&self, cfg: &InstanceConfig) -> Option<(i32, i32)> {
        let ifindex = self.ifindex(cfg.interface.as_deref());
        let fam = match cfg.family {
            Family::Ipv4 => 4,
            Family::Ipv6 => 6,
        };
        let proto = if matches!(cfg.auth, crate::vrrp::Auth::Ah(_)) {
            51
        } else {
            112
        };
        self.sys
            .sockets
            .get(&(ifindex, fam, proto))
            .map(|&fd| (fd, fd))
    }
}

/// keepalived_parent.data: the parent's global definitions.
pub fn format_parent_data(c: &DumpCtx<'_>) -> String {
    global::global_data(c, Prog::Parent)
}

/// keepalived.data: the VRRP process's global definitions and VRRP state.
pub fn format_data(c: &DumpCtx<'_>, router: Option<&Router>) -> String {
    let mut o = global::global_data(c, Prog::Vrrp);
    vrrp::vrrp_data(c, router, &mut o);
    o
}

/// keepalived_check.data: the checker process's global definitions, LVS topology and
/// health checkers.
pub fn format_check_data(c: &DumpCtx<'_>, hc: &crate::check::Healthcheckers) -> String {
    check::check_data(c, hc)
}

/// keepalived.json; `None` when there is no instance (keepalived writes no file then).
pub fn format_json(c: &DumpCtx<'_>, router: &Router) -> Option<String> {
    json::json(c, router)
}

/// keepalived.stats.
pub fn format_stats(router: &Router) -> String {
    let mut out = String::new();
    for inst in router.instances() {
        let s = inst.stats();
        // keepalived's u32 counters wrap as they would there.
        let _ = write!(
            out,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  Became master: {}\n  \
             Released master: {}\n  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    \
             Advertisement Interval: {}\n    Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
             Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    Sent: {}\n",
            inst.name(),
            s.advert_rcvd,
            s.advert_sent as u32,
            s.become_master as u32,
            s.release_master as u32,
            s.packet_len_err,
            s.ip_ttl_err,
            s.invalid_type_rcvd,
            s.advert_interval_err,
            s.addr_list_err,
            s.invalid_authtype as u32,
            s.authtype_mismatch as u32,
            s.auth_failure as u32,
            s.pri_zero_rcvd,
            s.pri_zero_sent,
        );
    }
    out
}

// ------------------------------------------------------------------ files

/// keepalived's `tmp_dir`: `$TMPDIR` if absolute, else /tmp.
fn tmp_dir() -> PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(d) if d.to_string_lossy().starts_with('/') => PathBuf::from(d),
        _ => PathBuf::from("/tmp"),
    }
}

/// `open_dump_file()`: with `data_use_instance` and an instance name or namespace,
/// `keepalived.data` becomes `keepalived.NS_INSTANCE.data`.
fn dump_file_name(model: &Config, name: &str) -> PathBuf {
    let g = &model.global;
    let use_inst = g
        .accepted
        .get("data_use_instance")
        .is_some_and(|a| !matches!(a.first().map(String::as_str), Some("false" | "off" | "no")));
    if use_inst && (g.instance_name.is_some() || g.net_namespace.is_some()) {
        if let Some((stem, ext)) = name.rsplit_once('.') {
            let ns = g.net_namespace.as_deref().unwrap_or("");
            let inst = g.instance_name.as_deref().unwrap_or("");
            let sep = if !ns.is_empty() && !inst.is_empty() {
                "_"
            } else {
                ""
            };
            return tmp_dir().join(format!("{stem}.{ns}{sep}{inst}.{ext}"));
        }
    }
    tmp_dir().join(name)
}

/// `fopen_safe(path, "w")`: a new private file renamed over the target, so nobody can
/// read it through an earlier open or a planted symlink; mode 0666 & ~umask.
fn write_file(path: &std::path::Path, text: &str, umask: u32) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let tmp = PathBuf::from(format!("{}.{}.tmp", path.display(), std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.set_permissions(std::fs::Permissions::from_mode(0o666 & !umask))?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        info!(
            "Unable to open '{}' - errno {} ({e})",
            path.display(),
            e.raw_os_error().unwrap_or(0)
        );
    }
}

/// keepalived's default umask for its files (`-u` or the `umask` keyword override it).
const DEFAULT_UMASK: u32 = 0o177;

/// The `umask` keyword: a number (C `strtoul` base 0) or `|`-separated mode names.
fn parse_umask_kw(s: &str) -> Option<u32> {
    let num = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    };
    if num.is_some() {
        return num.filter(|&v| v <= 0o777);
    }
    let mut v = 0;
    for name in s.split('|').map(str::trim) {
        v |= match name {
            "IRUSR" => 0o400,
            "IWUSR" => 0o200,
            "IXUSR" => 0o100,
            "IRWXU" => 0o700,
            "IRGRP" => 0o040,
            "IWGRP" => 0o020,
            "IXGRP" => 0o010,
            "IRWXG" => 0o070,
            "IROTH" => 0o004,
            "IWOTH" => 0o002,
            "IXOTH" => 0o001,
            "IRWXO" => 0o007,
            _ => return None,
        };
    }
    Some(v)
}

/// keepalived's `get_local_name()`: the canonical name of the node name (what
/// getaddrinfo's AI_CANONNAME gives from /etc/hosts), else the node name.
fn local_name() -> Option<String> {
    let node = nix::sys::utsname::uname()
        .ok()?
        .nodename()
        .to_string_lossy()
        .into_owned();
    if node.is_empty() {
        return None;
    }
    if let Ok(hosts) = std::fs::read_to_string("/etc/hosts") {
        for line in hosts.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let _addr = words.next();
            let names: Vec<&str> = words.collect();
            if names.contains(&node.as_str()) {
                return Some(names[0].to_string());
            }
        }
    }
    Some(node)
}

/// The interfaces, from a fresh rtnetlink dump.
fn interfaces(d: &mut Daemon) -> Vec<IfaceDetail> {
    let Some(env) = d.env.as_mut() else {
        return Vec::new();
    };
    let links = match env.nl.dump_links() {
        Ok(l) => l,
        Err(e) => {
            warn!("dump: cannot list interfaces: {e}");
            return Vec::new();
        }
    };
    let addrs = env.nl.dump_addresses(None).unwrap_or_default();
    let mut v: Vec<IfaceDetail> = links
        .into_iter()
        .map(|l| {
            let mine = addrs.iter().filter(|a| a.ifindex == l.ifindex);
            let mut ipv4 = Vec::new();
            let mut ipv6 = Vec::new();
            for a in mine {
                match a.addr {
                    std::net::IpAddr::V4(x) => ipv4.push(x),
                    std::net::IpAddr::V6(x) if x.segments()[0] & 0xffc0 == 0xfe80 => ipv6.push(x),
                    _ => {}
                }
            }
            let mac = l.mac.map(|m| m.to_vec()).unwrap_or_default();
            let broadcast = if mac.is_empty() {
                Vec::new()
            } else {
                vec![0xff; mac.len()]
            };
            let sysctls = read_sysctls(&l.name);
            let ipv6_forwarding =
                std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{}/forwarding", l.name))
                    .ok()
                    .map(|v| v.trim() != "0");
            IfaceDetail {
                ifindex: l.ifindex,
                name: l.name,
                flags: l.flags,
                mtu: l.mtu.unwrap_or(0),
                hw_type: l.hw_type,
                mac,
                broadcast,
                ipv4,
                ipv6_link_local: ipv6,
                kind: l.kind,
                link: l.link,
                sysctls,
                ipv6_forwarding,
            }
        })
        .collect();
    v.sort_by_key(|i| i.ifindex);
    v
}

/// The interface sysctls keepalived records for VMACs and their base interfaces (our own
/// network namespace's /proc/sys/net).
fn read_sysctls(ifname: &str) -> Option<[u32; 4]> {
    let get = |k: &str| -> Option<u32> {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{ifname}/{k}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some([
        get("arp_ignore")?,
        get("arp_filter")?,
        get("rp_filter")?,
        get("promote_secondaries")?,
    ])
}

/// The snapshot the formatters read.
fn sys_info(d: &mut Daemon) -> SysInfo {
    let mono = scheduler::Clock::now(&scheduler::MonotonicClock).as_micros() as i64;
    let wall = scheduler::realtime()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|x| x.as_micros() as i64)
        .unwrap_or(0);
    let umask = d
        .opts
        .umask
        .or_else(|| {
            d.current
                .config
                .global
                .accepted
                .get("umask")
                .and_then(|a| a.first())
                .and_then(|s| parse_umask_kw(s))
        })
        .unwrap_or(DEFAULT_UMASK);
    let sockets = d
        .env
        .as_ref()
        .map(|e| e.sockets.iter().map(|(k, s)| (*k, s.as_raw_fd())).collect())
        .unwrap_or_default();
    SysInfo {
        pid: std::process::id(),
        wall_offset_us: wall - mono,
        local_name: local_name(),
        user_name: nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| "root".into()),
        umask,
        tz: Tz::local(),
        interfaces: interfaces(d),
        sockets,
    }
}

/// SIGUSR1: keepalived_parent.data and, with a checker, BFD or VRRP side,
/// keepalived_check.data, keepalived_bfd.data, keepalived.data.
pub fn data(d: &mut Daemon) {
    let sys = sys_info(d);
    let host = crate::os::host::LinuxHost;
    info!("Printing parent data for process({}) on signal", sys.pid);
    let parent = DumpCtx {
        model: &d.current.config,
        host: &host,
        sys: &sys,
    };
    write_file(
        &dump_file_name(&d.current.config, "keepalived_parent.data"),
        &format_parent_data(&parent),
        sys.umask,
    );
    if let Some(l) = d.lvs.as_ref() {
        info!("Printing checker data for process({}) on signal", sys.pid);
        write_file(
            &dump_file_name(&d.current.config, "keepalived_check.data"),
            &format_check_data(&parent, l.healthcheckers()),
            sys.umask,
        );
    }
    if let Some(b) = d.bfd.as_ref() {
        info!("Printing BFD data for process({}) on signal", sys.pid);
        let text = super::bfd::format_bfd_data(&parent, b, d.env.as_ref().map(|e| &e.bfd));
        write_file(
            &dump_file_name(&d.current.config, "keepalived_bfd.data"),
            &text,
            sys.umask,
        );
    }
    let Some(v) = d.vrrp.as_ref() else {
        return;
    };
    info!("Printing VRRP data for process({}) on signal", sys.pid);
    let c = DumpCtx {
        model: v.model(),
        host: &host,
        sys: &sys,
    };
    write_file(
        &dump_file_name(v.model(), "keepalived.data"),
        &format_data(&c, Some(v.router())),
        sys.umask,
    );
}

/// SIGUSR2 (and STATS_CLEAR, which then zeroes the counters).
pub fn stats(d: &mut Daemon, clear: bool) {
    if d.vrrp.is_none() {
        return;
    }
    info!(
        "Printing {}VRRP stats for process({}) on signal",
        if clear { "and clearing " } else { "" },
        std::process::id()
    );
    let umask = sys_umask(d);
    let Some(v) = d.vrrp.as_mut() else {
        return;
    };
    write_file(
        &tmp_dir().join("keepalived.stats"),
        &format_stats(v.router()),
        umask,
    );
    if clear {
        v.clear_stats();
    }
}

fn sys_umask(d: &Daemon) -> u32 {
    d.opts
        .umask
        .or_else(|| {
            d.current
                .config
                .global
                .accepted
                .get("umask")
                .and_then(|a| a.first())
                .and_then(|s| parse_umask_kw(s))
        })
        .unwrap_or(DEFAULT_UMASK)
}

/// The JSON signal: keepalived.json.
pub fn json(d: &mut Daemon) {
    if d.vrrp.is_none() {
        return;
    }
    info!(
        "Printing VRRP as json for process({}) on signal",
        std::process::id()
    );
    let sys = sys_info(d);
    let host = crate::os::host::LinuxHost;
    let Some(v) = d.vrrp.as_ref() else {
        return;
    };
    let c = DumpCtx {
        model: v.model(),
        host: &host,
        sys: &sys,
    };
    if let Some(text) = format_json(&c, v.router()) {
        write_file(&tmp_dir().join("keepalived.json"), &text, sys.umask);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umask_keyword() {
        assert_eq!(parse_umask_kw("0177"), Some(0o177));
        assert_eq!(parse_umask_kw("18"), Some(18));
        assert_eq!(parse_umask_kw("IWGRP|IWOTH"), Some(0o022));
        assert_eq!(parse_umask_kw("bogus"), None);
    }
}
