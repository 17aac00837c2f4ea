//! The Linux [`Env`]: VRRP raw sockets, rtnetlink commands, an AF_PACKET socket for GARP and
//! NA, notify FIFOs, and child processes started through the event loop. It translates;
//! every decision was made by the engine.

use super::env::Env;
use super::notify::{self, Fifo, HookEvent, ScriptRun};
use crate::config::model::vrrp::{
    Family as ModelFamily, RouteAddMode, RouteSpec, RuleAction, RuleSpec,
};
use crate::config::model::Config;
use crate::os::link_monitor::{MonitorGroups, NetEvent, NetlinkMonitor};
use crate::os::netlink::codec::{
    AddrInfo, AddrRequest, LinkInfo, NextHop, RouteAddMode as NlAddMode, RouteRequest, RuleRequest,
};
use crate::os::netlink::NetlinkClient;
use crate::os::packet::PacketSocket;
use crate::os::vrrp_socket::{VrrpSocket, VrrpSocketConfig};
use crate::vrrp::params::VipSpec;
use crate::vrrp::{InterfaceInfo, ScriptId};
use crate::wire::vrrp::Family;
use crate::wire::MacAddr;
use log::{debug, warn};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

/// A child the event loop must start (the Env has no loop handle; the driver drains these).
pub enum Spawn {
    /// A tracking script; its exit status becomes `Input::ScriptResult`.
    Track {
        script: ScriptId,
        command: Command,
        timeout_us: u64,
    },
    /// A notify script: not waited for (reaped by the loop); STOP ones get 1 s.
    Notify {
        command: Command,
        timeout_us: Option<u64>,
    },
}

/// Interface state as the kernel reports it, kept current from the netlink monitor.
#[derive(Default)]
pub struct Interfaces {
    links: BTreeMap<u32, LinkInfo>,
    addrs: BTreeMap<u32, Vec<AddrInfo>>,
}

impl Interfaces {
    pub fn load(nl: &mut NetlinkClient) -> std::io::Result<Interfaces> {
        let mut t = Interfaces::default();
        for l in nl.dump_links()? {
            t.links.insert(l.ifindex, l);
        }
        for a in nl.dump_addresses(None)? {
            t.addrs.entry(a.ifindex).or_default().push(a);
        }
        Ok(t)
    }

    pub fn by_name(&self, name: &str) -> Option<u32> {
        self.links
            .values()
            .find(|l| l.name == name)
            .map(|l| l.ifindex)
    }

    pub fn mac(&self, ifindex: u32) -> Option<MacAddr> {
        self.links.get(&ifindex).and_then(|l| l.mac)
    }

    /// The engine's view of one interface: state, MAC, primary IPv4 and link-local IPv6.
    pub fn info(&self, ifindex: u32) -> Option<InterfaceInfo> {
        let l = self.links.get(&ifindex)?;
        let addrs = self.addrs.get(&ifindex).map(Vec::as_slice).unwrap_or(&[]);
        let ipv4 = addrs.iter().find_map(|a| match a.addr {
            IpAddr::V4(v) => Some(v),
            _ => None,
        });
        let ipv6_link_local = addrs.iter().find_map(|a| match a.addr {
            IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80 => Some(v),
            _ => None,
        });
        Some(InterfaceInfo {
            ifindex,
            name: l.name.clone(),
            up: l.up,
            running: l.running || l.lower_up,
            mac: l.mac.unwrap_or_default(),
            ipv4,
            ipv6_link_local,
            addresses: addrs.iter().map(|a| a.addr).collect(),
        })
    }

    pub fn all(&self) -> Vec<InterfaceInfo> {
        self.links.keys().filter_map(|i| self.info(*i)).collect()
    }

    /// Applies one monitor event; returns what the engine must be told.
    pub fn apply(&mut self, ev: &NetEvent) -> Vec<crate::vrrp::Input> {
        use crate::vrrp::Input;
        match ev {
            NetEvent::Link(le) => {
                let i = le.link.ifindex;
                if le.deleted {
                    self.links.remove(&i);
                    self.addrs.remove(&i);
                    vec![Input::InterfaceRemoved { ifindex: i }]
                } else {
                    let was = self.links.get(&i).map(|l| l.is_up());
                    let now = le.link.is_up();
                    if was.is_some_and(|w| w != now) {
                        // keepalived's wording, which operators grep for.
                        let word = if now { "up" } else { "down" };
                        log::info!(target: "vrrp", "Netlink reports {} {word}", le.link.name);
                    }
                    self.links.insert(i, le.link.clone());
                    self.info(i).map(Input::Interface).into_iter().collect()
                }
            }
            NetEvent::Addr(ae) => {
                let a = &ae.addr;
                let list = self.addrs.entry(a.ifindex).or_default();
                list.retain(|x| !(x.addr == a.addr && x.prefix_len == a.prefix_len));
                let mut v = Vec::new();
                if ae.added {
                    list.push(a.clone());
                } else {
                    v.push(Input::AddressDeleted {
                        ifindex: a.ifindex,
                        addr: a.addr,
                    });
                }
                v.extend(self.info(a.ifindex).map(Input::Interface));
                v
            }
            _ => Vec::new(),
        }
    }
}

/// The production environment.
pub struct LinuxEnv {
    pub nl: NetlinkClient,
    pub ifaces: Interfaces,
    pub monitor: Option<NetlinkMonitor>,
    /// VRRP sockets by (ifindex, family, protocol).
    pub sockets: BTreeMap<(u32, u8, u8), VrrpSocket>,
    /// Receive buffers shared by the VRRP sockets (read one after the other); taken out
    /// while a read is being fed to the engine.
    pub rx_batch: Option<Box<crate::os::vrrp_socket::RxBatch>>,
    packet: Option<PacketSocket>,
    fifos: Vec<Fifo>,
    pub spawns: Vec<Spawn>,
    pub send_errors: u64,
    vmacs: crate::os::vmac::VmacManager,
    created_vmacs: Vec<crate::os::vmac::Vmac>,
    /// The VMAC names the current configuration uses (set by `apply_vmacs`).
    vmacs_in_use: Vec<String>,
    vip_filter: crate::os::nft::VipFilter,
    /// BFD receive sockets and per-session send sockets.
    pub bfd: super::bfd::BfdSockets,
    /// Adverts of the outbox being performed, sent together by `flush_sends`.
    pending: PendingAdverts,
}

/// Adverts held back until the end of an outbox (or its next other side effect), so that a
/// master's burst leaves in one `sendmmsg` per socket instead of one `sendto` each.
#[derive(Default)]
struct PendingAdverts {
    /// The packets, one after the other.
    bytes: Vec<u8>,
    /// (socket key, destination, source, end of the packet in `bytes`).
    items: Vec<(SocketKey, IpAddr, IpAddr, usize)>,
}

/// A VRRP socket's key in [`LinuxEnv::sockets`]: (ifindex, family, protocol).
type SocketKey = (u32, u8, u8);

/// The socket an advert leaves by: (ifindex, family, protocol). An IPv4 datagram carrying
/// AH (protocol 51) goes out of the AH socket.
fn socket_key(ifindex: u32, family: Family, packet: &[u8]) -> SocketKey {
    let ah = family == Family::Ipv4 && packet.get(9) == Some(&51);
    (ifindex, fam_key(family), if ah { 51 } else { 112 })
}

fn fam_key(f: Family) -> u8 {
    match f {
        Family::Ipv4 => 4,
        Family::Ipv6 => 6,
    }
}

impl LinuxEnv {
    pub fn open() -> std::io::Result<LinuxEnv> {
        let mut nl = NetlinkClient::open()?;
        let ifaces = Interfaces::load(&mut nl)?;
        let monitor = match NetlinkMonitor::open(MonitorGroups::default()) {
            Ok(m) => Some(m),
            Err(e) => {
                warn!(target: "os", "netlink monitor unavailable ({e}); link changes will not be seen");
                None
            }
        };
        Ok(LinuxEnv {
            nl,
            ifaces,
            monitor,
            sockets: BTreeMap::new(),
            rx_batch: Some(Box::default()),
            packet: None,
            fifos: Vec::new(),
            spawns: Vec::new(),
            send_errors: 0,
            vmacs: crate::os::vmac::VmacManager::new(),
            created_vmacs: Vec::new(),
            vmacs_in_use: Vec::new(),
            vip_filter: crate::os::nft::VipFilter::default(),
            bfd: super::bfd::BfdSockets::default(),
            pending: PendingAdverts::default(),
        })
    }

    /// Opens the VRRP sockets the configuration needs (one per interface and family, plus
    /// an AH one where an IPv4 instance uses AH) and the notify FIFOs. Returns the fds that
    /// are new, for the loop to watch.
    pub fn prepare(&mut self, model: &Config) -> Vec<(u32, u8, u8)> {
        use crate::config::model::vrrp::AuthType;
        let mut new = Vec::new();
        for c in &model.vrrp.instances {
            let Some(ifname) = c.interface.as_deref() else {
                continue;
            };
            let Some(ifindex) = self.ifaces.by_name(ifname) else {
                continue;
            };
            let family = match c.family {
                ModelFamily::Inet => Family::Ipv4,
                ModelFamily::Inet6 => Family::Ipv6,
            };
            let ah = c
                .authentication
                .as_ref()
                .is_some_and(|a| a.auth_type == AuthType::Ah);
            let proto = if ah { 51 } else { 112 };
            let key = (ifindex, fam_key(family), proto);
            if self.sockets.contains_key(&key) {
                continue;
            }
            let mut sc = VrrpSocketConfig::new(ifindex, ifname, family);
            sc.protocol = proto;
            if let Some(g) = c.mcast_dst_ip {
                sc.group = Some(g);
            }
            if let Some(ttl) = c.unicast_ttl {
                sc.unicast_hops = ttl;
            }
            match VrrpSocket::open(&sc) {
                Ok(s) => {
                    self.sockets.insert(key, s);
                    new.push(key);
                }
                Err(e) => {
                    warn!(target: "os", "({}) cannot open VRRP socket on {ifname}: {e}", c.name)
                }
            }
        }
        if self.fifos.is_empty() {
            let g = &model.global;
            for f in [&g.notify_fifo, &g.vrrp_notify_fifo].into_iter().flatten() {
                self.fifos.extend(notify::open_notify_fifo(f));
                if let Some(run) = notify::fifo_reader(f) {
                    self.spawns.push(Spawn::Notify {
                        command: notify::command(&run),
                        timeout_us: None,
                    });
                }
            }
        }
        new
    }

    /// `use_vmac`: creates each instance's macvlan (keepalived's name `vrrp.VRID` unless
    /// given, the RFC 5798 §7.3 MAC unless given) and returns the model the engine should
    /// run: the instance lives on the VMAC, or with `vmac_xmit_base` keeps advertising on the
    /// parent while its VIPs default to the VMAC.
    pub fn apply_vmacs(&mut self, model: &Config) -> Config {
        let mut out = model.clone();
        let mut changed = false;
        self.vmacs_in_use.clear();
        for inst in &mut out.vrrp.instances {
            let Some(vm) = inst.vmac.clone() else {
                continue;
            };
            let Some(parent_name) = inst.interface.clone() else {
                continue;
            };
            let Some(parent) = self.ifaces.by_name(&parent_name) else {
                continue;
            };
            let family = match inst.family {
                ModelFamily::Inet => Family::Ipv4,
                ModelFamily::Inet6 => Family::Ipv6,
            };
            let mut spec = crate::os::vmac::VmacSpec::new(parent, family, inst.vrid);
            if let Some(n) = &vm.ifname {
                spec.name = n.clone();
            }
            if let Some(m) = vm.mac {
                spec.mac = m;
            }
            if family == Family::Ipv6 {
                spec.link_local = Some(crate::os::vmac::eui64_link_local(spec.mac));
            }
            let name = spec.name.clone();
            self.vmacs_in_use.push(name.clone());
            if !self.created_vmacs.iter().any(|v| v.name == name) {
                match self.vmacs.create(&mut self.nl, &spec) {
                    Ok(v) => {
                        log::info!(target: "vrrp", "({}) created VMAC {name} on {parent_name}", inst.name);
                        self.created_vmacs.push(v);
                        changed = true;
                    }
                    Err(e) => {
                        warn!(target: "vrrp", "({}) cannot create VMAC {name}: {e}", inst.name);
                        continue;
                    }
                }
            }
            // keepalived sends a VMAC's adverts from the parent's primary IPv4 address (the
            // VMAC itself has none); IPv6 uses the VMAC's own link-local address.
            if family == Family::Ipv4
                && inst.mcast_src_ip.is_none()
                && inst.unicast_src_ip.is_none()
            {
                inst.mcast_src_ip = self
                    .ifaces
                    .info(parent)
                    .and_then(|i| i.ipv4)
                    .map(IpAddr::V4);
            }
            if vm.xmit_base {
                for vip in inst.vips.iter_mut().chain(inst.evips.iter_mut()) {
                    if vip.dev.is_none() {
                        vip.dev = Some(name.clone());
                    }
                }
            } else {
                inst.interface = Some(name);
            }
        }
        if changed {
            match Interfaces::load(&mut self.nl) {
                Ok(t) => self.ifaces = t,
                Err(e) => warn!(target: "os", "netlink reload after VMAC creation: {e}"),
            }
        }
        out
    }

    /// Applies one netlink monitor event to the interface table; returns what the engine
    /// must be told. A link reported down is looked up again first: the monitor's queue can
    /// hold events older than the table (a VMAC created at start-up or by a reload is
    /// reported down, then up, after the table was loaded with it up), and feeding such a
    /// stale event would take the instance through FAULT for nothing.
    pub fn apply_event(&mut self, ev: &NetEvent) -> Vec<crate::vrrp::Input> {
        if let NetEvent::Link(le) = ev {
            if !le.deleted && !le.link.is_up() {
                if let Ok(Some(current)) = self.nl.link_by_index(le.link.ifindex) {
                    if current.is_up() {
                        debug!(target: "os", "stale link-down event for {} ignored", current.name);
                        let fresh = NetEvent::Link(crate::os::link_monitor::LinkEvent {
                            link: current,
                            deleted: false,
                        });
                        return self.ifaces.apply(&fresh);
                    }
                }
            }
        }
        self.ifaces.apply(ev)
    }

    /// After a reload has been applied: deletes the VMACs we created that no instance of the
    /// new configuration uses (keepalived deletes a removed instance's VMAC too). Their
    /// instances have left MASTER by then, so nothing of ours is on them any more.
    pub fn prune_vmacs(&mut self) {
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.created_vmacs)
            .into_iter()
            .partition(|v| self.vmacs_in_use.contains(&v.name));
        self.created_vmacs = keep;
        for v in gone {
            match self.vmacs.delete(&mut self.nl, &v) {
                Ok(()) => log::info!(target: "vrrp", "deleted unused VMAC {}", v.name),
                Err(e) => warn!(target: "vrrp", "cannot delete VMAC {}: {e}", v.name),
            }
        }
    }

    /// At exit: the VMACs we created are deleted, the sysctls we changed restored and the
    /// accept-mode filter table removed.
    pub fn cleanup(&mut self) {
        self.vip_filter.destroy();
        for v in std::mem::take(&mut self.created_vmacs) {
            if let Err(e) = self.vmacs.delete(&mut self.nl, &v) {
                warn!(target: "vrrp", "cannot delete VMAC {}: {e}", v.name);
            }
        }
        for e in self.vmacs.restore_all() {
            warn!(target: "os", "sysctl restore: {e}");
        }
    }

    fn packet(&mut self) -> Option<&mut PacketSocket> {
        if self.packet.is_none() {
            match PacketSocket::open() {
                Ok(p) => self.packet = Some(p),
                Err(e) => warn!(target: "os", "cannot open packet socket for GARP/NA: {e}"),
            }
        }
        self.packet.as_mut()
    }

    fn ifindex_of(&self, dev: Option<&str>) -> Option<u32> {
        dev.and_then(|d| self.ifaces.by_name(d))
    }

    fn addr_request(&self, ifindex: u32, vip: &VipSpec) -> AddrRequest {
        let mut r = AddrRequest::new(ifindex, vip.addr, vip.prefix_len);
        r.broadcast = vip.broadcast;
        r.label = vip.label.clone();
        r.scope = vip.scope;
        r.peer = vip.peer;
        r.preferred_lft = vip.preferred_lft_secs;
        // linux/if_addr.h IFA_F_* flags.
        if vip.nodad {
            r.flags |= 0x02;
        }
        if vip.home {
            r.flags |= 0x10;
        }
        if vip.mngtmpaddr {
            r.flags |= 0x100;
        }
        if vip.noprefixroute {
            r.flags |= 0x200;
        }
        r
    }

    fn route_request(&self, s: &RouteSpec) -> RouteRequest {
        let family = match s.family {
            ModelFamily::Inet => libc::AF_INET as u8,
            ModelFamily::Inet6 => libc::AF_INET6 as u8,
        };
        let mut r = RouteRequest::new(family, Some((s.dst.addr, s.dst.len)));
        r.src_prefix = s.from.map(|p| (p.addr, p.len));
        r.gateway = s.via;
        r.oif = self.ifindex_of(s.dev.as_deref());
        r.pref_src = s.pref_src;
        r.table = s.table;
        r.priority = s.metric;
        r.protocol = s.protocol;
        r.scope = s.scope.map(|x| x.0);
        r.route_type = s.route_type.rtn();
        r.onlink = s.onlink;
        r.tos = s.tos.unwrap_or(0);
        r.realms = s.realms;
        r.pref = s.pref;
        let m = &s.metrics;
        // linux/rtnetlink.h RTAX_* ids.
        for (id, v) in [
            (2u16, m.mtu),
            (8, m.advmss),
            (4, m.rtt),
            (5, m.rttvar),
            (9, m.reordering),
        ]
        .into_iter()
        .chain([(7u16, m.cwnd), (6, m.ssthresh), (13, m.rto_min)])
        {
            if let Some(metric) = v {
                r.metrics.push((id, metric.value));
                if metric.lock {
                    r.metrics_lock |= 1 << id;
                }
            }
        }
        for (id, v) in [
            (10u16, m.hoplimit.map(u32::from)),
            (3, m.window),
            (11, m.initcwnd),
            (14, m.initrwnd),
        ] {
            if let Some(v) = v {
                r.metrics.push((id, v));
            }
        }
        r.nexthops = s
            .nexthops
            .iter()
            .map(|n| NextHop {
                gateway: n.via,
                ifindex: self.ifindex_of(n.dev.as_deref()),
                weight: n.weight,
                onlink: n.onlink,
                realms: n.realms,
            })
            .collect();
        r.add_mode = match s.add_mode {
            RouteAddMode::Prepend => NlAddMode::Prepend,
            RouteAddMode::Add => NlAddMode::Add,
            RouteAddMode::Append => NlAddMode::Append,
        };
        r
    }

    fn rule_request(&self, s: &RuleSpec) -> RuleRequest {
        let family = match s.family {
            ModelFamily::Inet => libc::AF_INET as u8,
            ModelFamily::Inet6 => libc::AF_INET6 as u8,
        };
        let table = match s.action {
            RuleAction::Table(t) => t,
            _ => 0,
        };
        let mut r = RuleRequest::lookup(family, table);
        r.invert = s.invert;
        r.src = s.from.map(|p| (p.addr, p.len));
        r.dst = s.to.map(|p| (p.addr, p.len));
        r.priority = Some(s.priority);
        r.tos = s.tos.unwrap_or(0);
        r.fwmark = s.fwmark.map(|(m, _)| m);
        r.fwmask = s.fwmark.and_then(|(_, k)| k);
        r.realms = s.realms;
        r.iifname = s.iif.clone();
        r.oifname = s.oif.clone();
        r.suppress_prefixlen = s.suppress_prefixlen;
        r.suppress_ifgroup = s.suppress_ifgroup;
        r.tunnel_id = s.tunnel_id;
        r.uid_range = s.uidrange;
        r.protocol = s.protocol;
        r.ip_proto = s.ipproto;
        r.sport = s.sport;
        r.dport = s.dport;
        // linux/fib_rules.h FR_ACT_*.
        r.action = match s.action {
            RuleAction::Table(_) => 1,
            RuleAction::L3mdev => {
                r.l3mdev = true;
                1
            }
            RuleAction::Goto(t) => {
                r.goto = Some(t);
                2
            }
            RuleAction::Nop => 3,
            RuleAction::Blackhole => 6,
            RuleAction::Unreachable => 7,
            RuleAction::Prohibit => 8,
        };
        r
    }
}

impl Env for LinuxEnv {
    fn send_advert(
        &mut self,
        ifindex: u32,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        _ttl: u8,
        packet: &[u8],
    ) {
        let key = socket_key(ifindex, family, packet);
        if !self.sockets.contains_key(&key) {
            self.send_errors += 1;
            debug!(target: "os", "send advert to {dst} on ifindex {ifindex}: no VRRP socket");
            return;
        }
        let p = &mut self.pending;
        p.bytes.extend_from_slice(packet);
        p.items.push((key, dst, src, p.bytes.len()));
    }

    fn flush_sends(&mut self) {
        let p = std::mem::take(&mut self.pending);
        let mut i = 0;
        while i < p.items.len() {
            // One run of adverts for the same socket: one sendmmsg (or a few, 64 each).
            let key = p.items[i].0;
            let run = p.items[i..].iter().take_while(|it| it.0 == key).count();
            let start = if i == 0 { 0 } else { p.items[i - 1].3 };
            let mut from = start;
            let adverts = p.items[i..i + run].iter().map(|&(_, dst, src, end)| {
                let packet = &p.bytes[from..end];
                from = end;
                (packet, dst, Some(src))
            });
            if let Some(sock) = self.sockets.get(&key) {
                let (failed, err) = sock.send_batch(adverts);
                if failed > 0 {
                    self.send_errors += failed as u64;
                    if let Some(e) = err {
                        debug!(target: "os", "send {failed} advert(s) on ifindex {}: {e}", key.0);
                    }
                }
            }
            i += run;
        }
        // Keep the buffers (no allocation per burst), unless a burst grew them.
        let mut p = p;
        p.items.clear();
        p.bytes.clear();
        if p.bytes.capacity() > 1 << 16 {
            p.bytes.shrink_to(4096);
            p.items.shrink_to(64);
        }
        self.pending = p;
    }

    fn add_address(&mut self, ifindex: u32, vip: &VipSpec) {
        let req = self.addr_request(ifindex, vip);
        if let Err(e) = self.nl.add_address(&req) {
            if crate::os::netlink::errno(&e) != Some(libc::EEXIST) {
                warn!(target: "os", "{e}");
            }
        }
    }

    fn del_address(&mut self, ifindex: u32, vip: &VipSpec, may_be_absent: bool) {
        let req = self.addr_request(ifindex, vip);
        if let Err(e) = self.nl.del_address(&req) {
            let absent = matches!(
                crate::os::netlink::errno(&e),
                Some(libc::EADDRNOTAVAIL | libc::ENODEV)
            );
            if !(absent && may_be_absent) {
                warn!(target: "os", "{e}");
            }
        }
    }

    fn filter_vip(&mut self, addr: IpAddr, drop: bool) {
        if let Err(e) = self.vip_filter.set(addr, drop) {
            warn!(target: "vrrp", "no_accept filter for {addr}: {e}");
        }
    }

    fn add_route(&mut self, route: &RouteSpec) {
        if let Err(e) = self.nl.add_route(&self.route_request(route)) {
            warn!(target: "os", "{e}");
        }
    }

    fn del_route(&mut self, route: &RouteSpec) {
        if let Err(e) = self.nl.del_route(&self.route_request(route)) {
            debug!(target: "os", "{e}");
        }
    }

    fn add_rule(&mut self, rule: &RuleSpec) {
        if let Err(e) = self.nl.add_rule(&self.rule_request(rule)) {
            warn!(target: "os", "{e}");
        }
    }

    fn del_rule(&mut self, rule: &RuleSpec) {
        if let Err(e) = self.nl.del_rule(&self.rule_request(rule)) {
            debug!(target: "os", "{e}");
        }
    }

    fn send_garp(&mut self, ifindex: u32, vip: Ipv4Addr) {
        let Some(mac) = self.ifaces.mac(ifindex) else {
            return;
        };
        if let Some(p) = self.packet() {
            if let Err(e) = p.send_garp(ifindex, mac, vip) {
                debug!(target: "os", "gratuitous ARP for {vip}: {e}");
            }
        }
    }

    fn send_na(&mut self, ifindex: u32, vip: Ipv6Addr) {
        let Some(mac) = self.ifaces.mac(ifindex) else {
            return;
        };
        let name = self
            .ifaces
            .info(ifindex)
            .map(|i| i.name)
            .unwrap_or_default();
        let router =
            crate::os::sysctl::read_int(&crate::os::sysctl::conf_key(true, &name, "forwarding"))
                .is_ok_and(|v| v != 0);
        if let Some(p) = self.packet() {
            if let Err(e) = p.send_na(ifindex, mac, vip, router) {
                debug!(target: "os", "unsolicited NA for {vip}: {e}");
            }
        }
    }

    fn notify(&mut self, event: &HookEvent, scripts: &[ScriptRun], fifo_line: &str) {
        // keepalived waits for STOP scripts (up to 1 s); the others run on their own.
        let timeout_us = (event.state == crate::vrrp::NotifyState::Stop).then_some(1_000_000);
        for run in scripts {
            self.spawns.push(Spawn::Notify {
                command: notify::command(run),
                timeout_us,
            });
        }
        for f in &mut self.fifos {
            f.write_line(fifo_line);
        }
    }

    fn run_track_script(&mut self, script: ScriptId, run: &ScriptRun, timeout_us: u64) {
        self.spawns.push(Spawn::Track {
            script,
            command: notify::command(run),
            timeout_us,
        });
    }

    fn send_bfd(&mut self, packet: &super::env::BfdSend<'_>) {
        self.bfd.send(packet);
    }
}
