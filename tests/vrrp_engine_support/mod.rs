//! A tiny virtual network for VRRP engine tests: N routers on one L2 segment, virtual time
//! that jumps to the earliest timer or delivery, every SendAdvert delivered as a Packet input
//! (multicast to every other node, unicast to the owner of the destination address), and the
//! DESIGN.md §2 postcondition checked after every `handle_timeout`.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_rs::vrrp::{
    Action, Input, InstanceConfig, InterfaceInfo, NotifyKind, NotifyState, Outbox, Router,
    RouterConfig, State, VipSpec,
};
use keepalived_rs::wire::vrrp::{parse_ipv4_datagram, Advert, Endpoints, Family};
use scheduler::Instant;

pub const ETH0: u32 = 2;
pub const ETH1: u32 = 3;

pub fn v4(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, n)
}

pub fn ll6(n: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(n))
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// eth0 (192.0.2.n, fe80::n) and eth1 of node n, both up.
pub fn interfaces(n: u8) -> Vec<InterfaceInfo> {
    vec![
        InterfaceInfo {
            ifindex: ETH0,
            name: "eth0".into(),
            up: true,
            running: true,
            mac: [2, 0, 0, 0, 0, n],
            ipv4: Some(v4(n)),
            ipv6_link_local: Some(ll6(n)),
            addresses: vec![IpAddr::V4(v4(n)), IpAddr::V6(ll6(n))],
        },
        InterfaceInfo {
            ifindex: ETH1,
            name: "eth1".into(),
            up: true,
            running: true,
            mac: [2, 0, 0, 1, 0, n],
            ipv4: Some(Ipv4Addr::new(198, 51, 100, n)),
            ipv6_link_local: None,
            addresses: vec![IpAddr::V4(Ipv4Addr::new(198, 51, 100, n))],
        },
    ]
}

/// An instance on eth0 with one VIP.
pub fn inst(name: &str, vrid: u8, family: Family, prio: u8, vip: &str) -> InstanceConfig {
    let mut c = InstanceConfig::new(name, vrid, family, "eth0", prio);
    c.vips.push(VipSpec::new(ip(vip), "eth0"));
    c
}

pub fn router_config(node: u8, instances: Vec<InstanceConfig>) -> RouterConfig {
    RouterConfig {
        instances,
        interfaces: interfaces(node),
        ..RouterConfig::default()
    }
}

/// An advert seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub at: Instant,
    pub node: usize,
    pub vrid: u8,
    pub priority: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub bytes: Vec<u8>,
}

/// An action with the time it was emitted (SendAdvert bytes kept in `sent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub at: Instant,
    pub action: Action,
}

pub struct Node {
    pub id: u8,
    pub router: Router,
    pub out: Outbox,
    pub up: bool,
    pub log: Vec<Logged>,
    /// Addresses installed on the node (by AddAddress/DelAddress).
    pub installed: BTreeSet<IpAddr>,
    /// Packets delivered to this node: (time, src, vrid, priority).
    pub received: Vec<(Instant, IpAddr, u8, u8)>,
}

impl Node {
    pub fn state(&self, name: &str) -> State {
        self.router.instance_by_name(name).unwrap().state()
    }

    /// FIFO lines as keepalived writes them (`INSTANCE "VI_1" MASTER 150`).
    pub fn fifo(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|l| match &l.action {
                Action::Notify {
                    kind,
                    name,
                    state,
                    priority,
                    ..
                } => Some(format!(
                    "{} \"{}\" {} {}",
                    kind.name(),
                    name,
                    state.name(),
                    priority
                )),
                _ => None,
            })
            .collect()
    }

    /// Times of notifications of `state` for instance `name`.
    pub fn notify_times(&self, name: &str, state: NotifyState) -> Vec<Instant> {
        self.log
            .iter()
            .filter_map(|l| match &l.action {
                Action::Notify {
                    kind: NotifyKind::Instance,
                    name: n,
                    state: s,
                    ..
                } if n == name && *s == state => Some(l.at),
                _ => None,
            })
            .collect()
    }

    pub fn count(&self, pred: impl Fn(&Action) -> bool) -> usize {
        self.log.iter().filter(|l| pred(&l.action)).count()
    }
}

pub struct Net {
    pub now: Instant,
    pub nodes: Vec<Node>,
    pub sent: Vec<Sent>,
    /// (deliver at, sequence) → (to node, input).
    queue: BTreeMap<(Instant, u64), (usize, Input)>,
    seq: u64,
    pub latency_us: u64,
    /// Drop adverts from this node (a frozen master that still runs).
    pub mute: BTreeSet<usize>,
    pub steps: u64,
}

impl Net {
    pub fn new(start: Instant) -> Net {
        Net {
            now: start,
            nodes: Vec::new(),
            sent: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            latency_us: 0,
            mute: BTreeSet::new(),
            steps: 0,
        }
    }

    /// Adds node `id` (192.0.2.id) running `cfg`, started now.
    pub fn add(&mut self, id: u8, cfg: RouterConfig) -> usize {
        let mut out = Outbox::new();
        let router = Router::new(cfg, self.now, &mut out);
        self.nodes.push(Node {
            id,
            router,
            out,
            up: true,
            log: Vec::new(),
            installed: BTreeSet::new(),
            received: Vec::new(),
        });
        let n = self.nodes.len() - 1;
        self.flush(n);
        n
    }

    /// Replaces node `n` by a fresh daemon (restart after a crash).
    pub fn restart(&mut self, n: usize, cfg: RouterConfig) {
        let mut out = Outbox::new();
        self.nodes[n].router = Router::new(cfg, self.now, &mut out);
        self.nodes[n].out = out;
        self.nodes[n].up = true;
        self.nodes[n].installed.clear();
        self.flush(n);
    }

    /// Node `n` vanishes without a word (crash, cable cut).
    pub fn crash(&mut self, n: usize) {
        self.nodes[n].up = false;
    }

    pub fn input(&mut self, n: usize, input: Input) {
        let now = self.now;
        let node = &mut self.nodes[n];
        node.router.handle(now, input, &mut node.out);
        self.flush(n);
    }

    /// Applies node `n`'s outbox: logs actions, tracks addresses, queues adverts.
    fn flush(&mut self, n: usize) {
        let now = self.now;
        let out = std::mem::take(&mut self.nodes[n].out);
        for a in &out.actions {
            match a {
                Action::SendAdvert {
                    src,
                    dst,
                    ttl,
                    range,
                    ..
                } => {
                    let bytes = out.bytes[range.clone()].to_vec();
                    let (vrid, priority) = decode_prio(*src, *dst, &bytes);
                    self.sent.push(Sent {
                        at: now,
                        node: n,
                        vrid,
                        priority,
                        src: *src,
                        dst: *dst,
                        ttl: *ttl,
                        bytes: bytes.clone(),
                    });
                    if self.mute.contains(&n) || !self.nodes[n].up {
                        continue;
                    }
                    let targets: Vec<usize> = if dst.is_multicast() {
                        (0..self.nodes.len()).filter(|&m| m != n).collect()
                    } else {
                        (0..self.nodes.len())
                            .filter(|&m| m != n && owns(self.nodes[m].id, *dst))
                            .collect()
                    };
                    for m in targets {
                        let input = Input::Packet {
                            ifindex: ETH0,
                            src: *src,
                            dst: *dst,
                            ttl: *ttl,
                            payload: bytes.clone(),
                        };
                        self.seq += 1;
                        let at = now.saturating_add_micros(self.latency_us);
                        self.queue.insert((at, self.seq), (m, input));
                    }
                }
                Action::AddAddress { vip, .. } => {
                    self.nodes[n].installed.insert(vip.addr);
                }
                Action::DelAddress { vip, .. } => {
                    self.nodes[n].installed.remove(&vip.addr);
                }
                _ => {}
            }
            self.nodes[n].log.push(Logged {
                at: now,
                action: a.clone(),
            });
        }
        let mut out = out;
        out.clear();
        self.nodes[n].out = out;
    }

    fn next_event(&self) -> Option<Instant> {
        let timers = self
            .nodes
            .iter()
            .filter(|n| n.up)
            .filter_map(|n| n.router.poll_timeout())
            .min();
        let delivery = self.queue.keys().next().map(|k| k.0);
        match (timers, delivery) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs until virtual time `end` (inclusive).
    pub fn run_until(&mut self, end: Instant) {
        while let Some(t) = self.next_event() {
            if t > end {
                break;
            }
            self.steps += 1;
            assert!(self.steps < 5_000_000, "runaway simulation");
            assert!(t >= self.now, "time went backwards");
            self.now = t;
            // Deliveries first (in send order), then timers, node by node.
            while let Some((&(at, seq), _)) = self.queue.iter().next() {
                if at > self.now {
                    break;
                }
                let (m, input) = self.queue.remove(&(at, seq)).unwrap();
                if !self.nodes[m].up {
                    continue;
                }
                if let Input::Packet {
                    src, payload, dst, ..
                } = &input
                {
                    let (vrid, prio) = decode_prio(*src, *dst, payload);
                    self.nodes[m].received.push((self.now, *src, vrid, prio));
                }
                self.input(m, input);
            }
            for n in 0..self.nodes.len() {
                if !self.nodes[n].up {
                    continue;
                }
                if self.nodes[n]
                    .router
                    .poll_timeout()
                    .is_some_and(|d| d <= self.now)
                {
                    let now = self.now;
                    let node = &mut self.nodes[n];
                    node.router.handle_timeout(now, &mut node.out);
                    let next = node.router.poll_timeout();
                    assert!(
                        next.map_or(true, |d| d > now),
                        "postcondition: node {n} poll_timeout {next:?} not after {now:?}"
                    );
                    self.flush(n);
                }
            }
        }
        self.now = end;
    }

    pub fn run_for_us(&mut self, us: u64) {
        let end = self.now.saturating_add_micros(us);
        self.run_until(end);
    }

    pub fn run_for_s(&mut self, s: u64) {
        self.run_for_us(s * 1_000_000);
    }

    /// Nodes whose instance `name` is MASTER.
    pub fn masters(&self, name: &str) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| {
                self.nodes[n].up
                    && self.nodes[n]
                        .router
                        .instance_by_name(name)
                        .is_some_and(|i| i.state() == State::Master)
            })
            .collect()
    }

    /// Adverts sent by node `n`.
    pub fn sent_by(&self, n: usize) -> Vec<&Sent> {
        self.sent.iter().filter(|s| s.node == n).collect()
    }
}

fn owns(id: u8, dst: IpAddr) -> bool {
    match dst {
        IpAddr::V4(a) => a == v4(id),
        IpAddr::V6(a) => a == ll6(id),
    }
}

/// (VRID, priority) of an advert as sent (IPv4 datagram or IPv6 VRRP message).
pub fn decode_prio(src: IpAddr, dst: IpAddr, bytes: &[u8]) -> (u8, u8) {
    match (src, dst) {
        (IpAddr::V4(_), _) => match parse_ipv4_datagram(bytes, None) {
            Ok(d) => (d.advert.vrid, d.advert.priority),
            Err(_) => (0, 0),
        },
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            match Advert::parse(bytes, Endpoints::V6 { src: s, dst: d }, None) {
                Ok(a) => (a.vrid, a.priority),
                Err(_) => (0, 0),
            }
        }
        _ => (0, 0),
    }
}

/// A small deterministic PRNG (SplitMix64), for garbage inputs.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
