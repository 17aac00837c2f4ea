//! From the configuration to kernel objects: the IPVS service(s) of a virtual server
//! (keepalived's mapping, reference §4.1), the destination of a real server or sorry server
//! within one of them, and the keys that match virtual and real servers across a reload
//! (§4.2). Pure functions of the configuration.

use super::table::{af_of, Dest, DestKey, Service, ServiceKey};
use crate::config::model::lvs::{
    ForwardingMethod, IpFamily, PersistenceGranularity, Protocol, RealServer, ServiceFlags,
    SorryServer, TunnelType, VirtualServer, VirtualServerGroup, VsAddress, VsgEntry,
};
use std::net::IpAddr;

/// Most services one group entry expands to. keepalived makes one service per address of a
/// range; an IPv4 `A.B.C.D-E` range has at most 256 and an IPv6 `x-y` one at most 65536,
/// but an `IP/LEN` entry could name far more than a kernel table holds. Beyond this the
/// entry is cut short rather than exhausting memory.
pub const MAX_SERVICES_PER_ENTRY: usize = 65_536;

/// The weight keepalived gives a sorry server (it has no `weight` keyword).
pub const SORRY_SERVER_WEIGHT: u32 = 1;

/// What names a virtual server across a reload: group name (and protocol), else family and
/// fwmark, else protocol, address and port (keepalived's `vs_iseq`). keepalived compares a
/// group's name and port only, so two virtual servers of different protocols on one group
/// could swap their state; the protocol here keeps them apart.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VsKey {
    Group {
        name: String,
        protocol: Option<Protocol>,
    },
    Fwmark {
        family: IpFamily,
        mark: u32,
    },
    Addr {
        protocol: Option<Protocol>,
        addr: IpAddr,
        port: u16,
    },
}

impl VsKey {
    pub fn of(vs: &VirtualServer) -> VsKey {
        match &vs.address {
            VsAddress::Group(name) => VsKey::Group {
                name: name.clone(),
                protocol: vs.protocol,
            },
            VsAddress::Fwmark(mark) => VsKey::Fwmark {
                family: vs.family.unwrap_or(IpFamily::Inet),
                mark: *mark,
            },
            VsAddress::Ip { addr, port } => VsKey::Addr {
                protocol: vs.protocol,
                addr: *addr,
                port: *port,
            },
        }
    }
}

/// What names a real server within its virtual server across a reload: address and port
/// (keepalived's `rs_iseq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RsKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl RsKey {
    pub fn of(rs: &RealServer) -> RsKey {
        RsKey {
            addr: rs.addr,
            port: rs.port,
        }
    }

    pub fn of_sorry(ss: &SorryServer) -> RsKey {
        RsKey {
            addr: ss.addr,
            port: ss.port,
        }
    }
}

/// One IPVS service of a virtual server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntry {
    pub service: Service,
    /// The service port (0 for a fwmark service): the port of DR and TUN destinations and
    /// of NAT destinations that gave none.
    pub port: u16,
}

impl ServiceEntry {
    pub fn key(&self) -> ServiceKey {
        self.service.key
    }

    /// The address family of the service (AF_INET or AF_INET6).
    pub fn af(&self) -> u16 {
        self.service.key.af()
    }
}

/// The IPVS services of `vs` (reference §4.1): `IP PORT` gives one; `fwmark N` one in the
/// virtual server's family; `group G` one per address of each range entry (ranges
/// expanded, at most [`MAX_SERVICES_PER_ENTRY`] each) and one per fwmark entry in its
/// family, else the virtual server's, else each family of the real and sorry servers.
/// `group` must be the group `vs` names (ignored otherwise).
pub fn services(vs: &VirtualServer, group: Option<&VirtualServerGroup>) -> Vec<ServiceEntry> {
    let proto = vs.protocol.unwrap_or(Protocol::Udp).number();
    let mut out = Vec::new();
    match &vs.address {
        VsAddress::Ip { addr, port } => {
            let key = ServiceKey::Addr {
                protocol: proto,
                addr: *addr,
                port: *port,
            };
            out.push(entry(vs, key, *port));
        }
        VsAddress::Fwmark(mark) => {
            let af = vs.family.unwrap_or(IpFamily::Inet).af();
            out.push(entry(vs, ServiceKey::Fwmark { af, mark: *mark }, 0));
        }
        VsAddress::Group(_) => {
            let Some(g) = group else { return out };
            for e in &g.entries {
                match e {
                    VsgEntry::Range { port, .. } => {
                        for addr in e.addresses().take(MAX_SERVICES_PER_ENTRY) {
                            let key = ServiceKey::Addr {
                                protocol: proto,
                                addr,
                                port: *port,
                            };
                            out.push(entry(vs, key, *port));
                        }
                    }
                    VsgEntry::Fwmark { mark, family, .. } => {
                        for fam in fwmark_families(vs, *family) {
                            let key = ServiceKey::Fwmark {
                                af: fam.af(),
                                mark: *mark,
                            };
                            out.push(entry(vs, key, 0));
                        }
                    }
                }
            }
        }
    }
    // A group may name one address twice (two overlapping ranges): one service each.
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|s| seen.insert(s.key()));
    out
}

/// Families of a group's `fwmark N` entry that gave none.
fn fwmark_families(vs: &VirtualServer, entry: Option<IpFamily>) -> Vec<IpFamily> {
    if let Some(f) = entry.or(vs.family) {
        return vec![f];
    }
    let mut v4 = false;
    let mut v6 = false;
    let addrs = vs
        .real_servers
        .iter()
        .map(|r| r.addr)
        .chain(vs.sorry_server.iter().map(|s| s.addr));
    for a in addrs {
        match a {
            IpAddr::V4(_) => v4 = true,
            IpAddr::V6(_) => v6 = true,
        }
    }
    match (v4, v6) {
        (false, true) => vec![IpFamily::Inet6],
        (true, true) => vec![IpFamily::Inet, IpFamily::Inet6],
        _ => vec![IpFamily::Inet],
    }
}

fn entry(vs: &VirtualServer, key: ServiceKey, port: u16) -> ServiceEntry {
    ServiceEntry {
        service: service_settings(vs, key),
        port,
    }
}

/// The settings of one service of `vs`: scheduler, flags (PERSISTENT when persistent),
/// persistence timeout, netmask (the granularity of the service's family, else /32 or
/// /128) and persistence engine.
pub fn service_settings(vs: &VirtualServer, key: ServiceKey) -> Service {
    let v6 = key.af() == IpFamily::Inet6.af();
    let mut flags = vs.flags.bits();
    if vs.persistence_timeout_s.is_some() {
        flags |= ServiceFlags::PERSISTENT;
    }
    let netmask = match (vs.persistence_granularity, v6) {
        (Some(g @ PersistenceGranularity::V4Netmask(_)), false) => g.netmask_attr(),
        (Some(g @ PersistenceGranularity::V6PrefixLen(_)), true) => g.netmask_attr(),
        (_, false) => 0xffff_ffff,
        (_, true) => 128,
    };
    Service {
        key,
        scheduler: vs.scheduler.name().to_string(),
        flags,
        timeout_s: vs.persistence_timeout_s.unwrap_or(0),
        netmask,
        pe_name: vs.persistence_engine.clone(),
    }
}

/// The destination of a server at `addr` (port as configured, 0 for none) in `svc`, with
/// `weight`; `None` when the kernel could not take it there: a destination of the other
/// family is only possible when tunnelling (IPVS_DEST_ATTR_ADDR_FAMILY).
#[allow(clippy::too_many_arguments)]
fn dest(
    svc: &ServiceEntry,
    addr: IpAddr,
    port: u16,
    fwd: ForwardingMethod,
    weight: u32,
    u_threshold: u32,
    l_threshold: u32,
) -> Option<Dest> {
    if af_of(&addr) != svc.af() && !fwd.is_tunnel() {
        return None;
    }
    // The kernel gives DR and TUN destinations the service port; NAT keeps its own, or
    // takes the service's when it has none.
    let port = if fwd.is_nat() && port != 0 {
        port
    } else {
        svc.port
    };
    let (tun_type, tun_port, tun_flags) = match fwd {
        ForwardingMethod::Tun { tunnel, csum } => {
            let p = match tunnel {
                TunnelType::Gue { port } => port,
                _ => 0,
            };
            (tunnel.code(), p, csum.code())
        }
        _ => (0, 0, 0),
    };
    Some(Dest {
        key: DestKey { addr, port },
        fwd_method: fwd.conn_flags(),
        weight,
        u_threshold,
        l_threshold,
        tun_type,
        tun_port,
        tun_flags,
    })
}

/// The destination of real server `rs` in `svc` at `weight`.
pub fn rs_dest(svc: &ServiceEntry, rs: &RealServer, weight: u32) -> Option<Dest> {
    dest(
        svc,
        rs.addr,
        rs.port,
        rs.forwarding,
        weight,
        rs.u_threshold,
        rs.l_threshold,
    )
}

/// The destination of sorry server `ss` in `svc` at `weight`.
pub fn sorry_dest(svc: &ServiceEntry, ss: &SorryServer, weight: u32) -> Option<Dest> {
    dest(svc, ss.addr, ss.port, ss.forwarding, weight, 0, 0)
}

/// keepalived's text for one group entry in its reload lines: `[ADDR]:proto:port`, or
/// `[ADDR]:proto:port-LAST` for a range; `None` for a fwmark entry.
pub fn vsg_entry_text(e: &VsgEntry, proto: Option<Protocol>) -> Option<String> {
    use crate::config::model::lvs::format_trio;
    match e {
        VsgEntry::Range {
            first, last, port, ..
        } if first == last => Some(format_trio(first, proto, *port)),
        VsgEntry::Range {
            first, last, port, ..
        } => Some(format!("{}-{last}", format_trio(first, proto, *port))),
        VsgEntry::Fwmark { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ast::Span;
    use crate::config::model::lvs::TunnelCsum;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn group(entries: Vec<VsgEntry>) -> VirtualServerGroup {
        VirtualServerGroup {
            name: "G".into(),
            entries,
            span: Span::default(),
        }
    }

    fn range(first: &str, last: &str, port: u16) -> VsgEntry {
        VsgEntry::Range {
            first: ip(first),
            last: ip(last),
            port,
            span: Span::default(),
        }
    }

    #[test]
    fn huge_ranges_are_cut_and_duplicates_merged() {
        let mut vs = VirtualServer::new(VsAddress::Group("G".into()), Span::default());
        vs.protocol = Some(Protocol::Tcp);
        let g = group(vec![
            range("2001:db8::", "2001:db8::ffff:ffff", 80),
            range("192.0.2.1", "192.0.2.3", 80),
            range("192.0.2.2", "192.0.2.2", 80),
        ]);
        let s = services(&vs, Some(&g));
        assert_eq!(s.len(), MAX_SERVICES_PER_ENTRY + 3);
        assert!(s.iter().all(|e| e.port == 80));
        // No group: nothing (the semantic pass drops such a virtual server anyway).
        assert!(services(&vs, None).is_empty());
    }

    #[test]
    fn dest_ports_families_and_tunnels() {
        let mut vs = VirtualServer::new(
            VsAddress::Ip {
                addr: ip("192.0.2.10"),
                port: 80,
            },
            Span::default(),
        );
        vs.protocol = Some(Protocol::Udp);
        vs.persistence_timeout_s = Some(360);
        let svc = &services(&vs, None)[0];
        assert_eq!(
            svc.key(),
            ServiceKey::Addr {
                protocol: 17,
                addr: ip("192.0.2.10"),
                port: 80
            }
        );
        assert_eq!(
            (
                svc.service.flags,
                svc.service.timeout_s,
                svc.service.netmask
            ),
            (1, 360, 0xffff_ffff)
        );
        let ss = |addr: &str, port: u16, fwd: ForwardingMethod| SorryServer {
            addr: ip(addr),
            port,
            forwarding: fwd,
            configured_forwarding: None,
            inhibit: false,
            duplicates_rs: false,
            span: Span::default(),
        };
        // NAT keeps its port, or takes the service's.
        let d = sorry_dest(svc, &ss("192.0.2.9", 8080, ForwardingMethod::Nat), 1).unwrap();
        assert_eq!(d.key.port, 8080);
        let d = sorry_dest(svc, &ss("192.0.2.9", 0, ForwardingMethod::Nat), 1).unwrap();
        assert_eq!(d.key.port, 80);
        // DR always has the service's.
        let d = sorry_dest(svc, &ss("192.0.2.9", 81, ForwardingMethod::Dr), 1).unwrap();
        assert_eq!((d.key.port, d.fwd_method), (80, 3));
        // Another family only through a tunnel.
        assert!(sorry_dest(svc, &ss("2001:db8::9", 0, ForwardingMethod::Nat), 1).is_none());
        let gre = ForwardingMethod::Tun {
            tunnel: TunnelType::Gre,
            csum: TunnelCsum::RemCsum,
        };
        let d = sorry_dest(svc, &ss("2001:db8::9", 0, gre), 1).unwrap();
        assert_eq!((d.fwd_method, d.tun_type, d.tun_flags), (2, 2, 2));
    }

    #[test]
    fn entry_texts() {
        let p = Some(Protocol::Tcp);
        assert_eq!(
            vsg_entry_text(&range("192.0.2.1", "192.0.2.1", 80), p).unwrap(),
            "[192.0.2.1]:tcp:80"
        );
        assert_eq!(
            vsg_entry_text(&range("192.0.2.1", "192.0.2.9", 80), p).unwrap(),
            "[192.0.2.1]:tcp:80-192.0.2.9"
        );
    }
}
