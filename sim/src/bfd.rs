//! BFD in the simulator: each node's `bfd_instance`s run in the production
//! [`BfdService`] (the L4 wiring the Linux event loop runs) over the node's `SimEnv`
//! (`SimEnv::send_bfd`), next to its `VrrpService`, and every state change reaches the VRRP
//! engine as `vrrp::Input::Bfd { name, up }` in the same step, as the production event loop
//! does (`daemon::bfd`'s `after`).
//!
//! * Packets: a datagram the daemon sends goes to the node that owns `peer` on a segment
//!   the sender shares with it (from the interface holding `local` when it is set), with
//!   the TTL it was sent with, through the same links as VRRP adverts: latency, jitter,
//!   loss, duplication, corruption, reordering, partitions and clogs apply alike. It
//!   arrives on the receiver's BFD port as `bfd::Input::Packet`, at the receiver's clock;
//!   a frozen node queues it (256 at most) and, once resumed, is given each one with the
//!   time it arrived (the Linux driver uses the kernel's receive stamp), then its timers.
//! * Determinism: the `BfdSet` seed of a node is drawn from the node's own stream.
//! * Timeline: the daemon's own BFD log lines (keepalived's wording: `(b1) Entering Down
//!   state (Local diagnostic - ..., Remote diagnostic - ...)`, `(b1) Expired after 30 ms
//!   (12 usec overdue)`) with what caused them.
//! * Invariants (after every BFD step): every transition is allowed by the RFC 5880 §6.2
//!   diagram ([`keepalived_rs::bfd::transition_allowed`]); a session never goes Down for
//!   Detection Time expiry (diag 1) earlier than the Detection Time after the last packet
//!   the simulator delivered that the session accepted (remote Detect Mult x max(local
//!   Required Min RX in use, remote Desired Min TX), the remote values read from that
//!   packet), measured on the node's true clock; once the quiet window is open (no fault
//!   for the window, which includes `World::bfd_settle_us`), every session whose two
//!   ends run and can reach each other is Up, and none leaves Up.
//!
//! The test-only broken timer (`--broken-timer US`) applies to the BFD timer too: it fires
//! early and the driver tells the engine its deadline has come, so a detection expiry is
//! declared early and the second invariant catches it.

use crate::capture;
use crate::units::dur;
use crate::world::{Call, Cause, Delivery, Ev, Run, World};
use keepalived_rs::bfd::{transition_allowed, Diag, Input, State};
use keepalived_rs::config::model::bfd::BfdInstance;
use keepalived_rs::daemon::bfd::BfdService;
use keepalived_rs::daemon::env::BfdSend;
use keepalived_rs::wire::bfd::ControlPacket;
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::rc::Rc;

/// A BFD datagram the daemon sent (`SimEnv::send_bfd`).
#[derive(Clone, Debug)]
pub struct BfdSent {
    pub local: Option<IpAddr>,
    pub peer: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub ttl: u8,
    pub payload: Rc<[u8]>,
}

impl From<&BfdSend<'_>> for BfdSent {
    fn from(p: &BfdSend<'_>) -> BfdSent {
        BfdSent {
            local: p.local,
            peer: p.peer,
            src_port: p.src_port,
            dst_port: p.dst_port,
            ttl: p.ttl,
            payload: Rc::from(p.payload),
        }
    }
}

/// The UDP ports of a BFD datagram in flight (a delivery without them is a VRRP
/// advert).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdPorts {
    pub src: u16,
    pub dst: u16,
}

/// What the checker last saw of one session.
#[derive(Clone, Debug)]
struct SessionShadow {
    /// The session's local discriminator (a replaced session starts afresh).
    discr: u32,
    state: State,
    /// The session's valid-packet counter at the last look.
    rx: u64,
    /// When (node's true clock, µs) the last packet it accepted arrived, and the Detection
    /// Time that packet implies.
    last_rx: Option<(u64, u64)>,
}

/// One node's BFD side.
#[derive(Default)]
pub(crate) struct NodeBfd {
    pub svc: Option<BfdService>,
    /// The queue key of the BFD timer event and its deadline on the node's clock.
    timer: Option<((u64, u64), u64)>,
    /// Datagrams queued while the node is frozen, with their arrival time (node's clock).
    backlog: VecDeque<(u64, Input)>,
    shadow: BTreeMap<String, SessionShadow>,
}

impl NodeBfd {
    /// The state of session `name`, if the node runs it.
    pub fn state(&self, name: &str) -> Option<State> {
        self.svc
            .as_ref()
            .and_then(|s| s.set().session_by_name(name))
            .map(|s| s.state())
    }
}

/// What a BFD step is.
enum Step {
    Start(Vec<BfdInstance>, u64),
    Reload(Vec<BfdInstance>),
    Timer(u64),
    /// A datagram, handed to the engine at its arrival time (node's clock).
    Packet(Input, u64),
    Shutdown,
}

/// What made a step (for the timeline).
enum Why {
    Start,
    Reload,
    Timer,
    Packet(IpAddr, Option<(State, Diag)>),
    Shutdown,
}

impl World<'_> {
    /// The node's BFD sessions of its current configuration.
    fn bfd_config(&self, n: usize) -> Vec<BfdInstance> {
        self.models
            .get(&(n, self.nodes[n].config))
            .map(|m| m.bfd.instances.clone())
            .unwrap_or_default()
    }

    /// After the VRRP side started (the production order): starts the BFD sessions, with a
    /// seed from the node's stream.
    pub(crate) fn bfd_start(&mut self, n: usize) {
        if self.nodes[n].run != Run::Running || self.nodes[n].bfd.svc.is_some() {
            return;
        }
        let config = self.bfd_config(n);
        if config.is_empty() {
            return;
        }
        let seed = self.nodes[n].rng.next_u64();
        self.bfd_step(n, Step::Start(config, seed));
    }

    /// SIGHUP, after the VRRP side reloaded.
    pub(crate) fn bfd_reload(&mut self, n: usize) {
        if self.nodes[n].run != Run::Running {
            return;
        }
        if self.nodes[n].bfd.svc.is_none() {
            return self.bfd_start(n);
        }
        let config = self.bfd_config(n);
        self.bfd_step(n, Step::Reload(config));
    }

    /// SIGTERM, after the VRRP side stopped: every session sends AdminDown once.
    pub(crate) fn bfd_shutdown(&mut self, n: usize) {
        if self.nodes[n].run == Run::Running && self.nodes[n].bfd.svc.is_some() {
            self.bfd_step(n, Step::Shutdown);
        }
    }

    /// The daemon is gone.
    pub(crate) fn bfd_gone(&mut self, n: usize) {
        self.nodes[n].bfd = NodeBfd::default();
    }

    /// SIGCONT: the queued datagrams at their arrival times, then the late timers.
    pub(crate) fn bfd_resume(&mut self, n: usize) {
        while let Some((at, input)) = self.nodes[n].bfd.backlog.pop_front() {
            if self.nodes[n].run != Run::Running {
                self.nodes[n].bfd.backlog.clear();
                break;
            }
            self.bfd_step(n, Step::Packet(input, at));
        }
        let local = self.nodes[n].local(self.now);
        let due = self.nodes[n]
            .bfd
            .svc
            .as_ref()
            .and_then(BfdService::poll_timeout)
            .is_some_and(|t| t.as_micros() <= local);
        if due && self.nodes[n].run == Run::Running {
            self.bfd_step(n, Step::Timer(local));
        }
        self.bfd_rearm(n);
    }

    /// The BFD timer event of node `n`.
    pub(crate) fn bfd_timer(&mut self, n: usize, key: (u64, u64)) {
        if self.nodes[n].bfd.timer.map(|(k, _)| k) != Some(key) {
            return;
        }
        self.nodes[n].bfd.timer = None;
        if self.nodes[n].run != Run::Running {
            // Frozen: the timer is late; `bfd_resume` runs it.
            return;
        }
        let local = self.nodes[n].local(self.now);
        let broken = self.opts.broken_timer_us;
        let due = self.nodes[n]
            .bfd
            .svc
            .as_ref()
            .and_then(BfdService::poll_timeout)
            .map(|t| t.as_micros())
            .filter(|&d| d <= local + broken);
        match due {
            // The broken driver tells the engine its deadline has come.
            Some(d) => self.bfd_step(n, Step::Timer(local.max(d))),
            None => self.bfd_rearm(n),
        }
    }

    /// A datagram arrives at node `d.to`'s BFD port.
    pub(crate) fn bfd_deliver(&mut self, d: Delivery, ports: BfdPorts) {
        let to = d.to;
        if self.opts.trace {
            let m = match ControlPacket::parse(&d.payload) {
                Ok(p) => format!(
                    "[rx] BFD from {} state {} diag {} your discr {:08x}",
                    d.src, p.state, p.diag, p.your_discr
                ),
                Err(e) => format!("[rx] undecodable BFD packet from {}: {e}", d.src),
            };
            self.line(Some(to), &m);
        }
        let input = Input::Packet {
            src: d.src,
            dst: d.dst,
            src_port: ports.src,
            local_port: ports.dst,
            ttl: d.ttl,
            payload: d.payload.to_vec(),
        };
        let at = self.nodes[to].local(self.now);
        match self.nodes[to].run {
            Run::Running if self.nodes[to].bfd.svc.is_some() => {
                self.bfd_step(to, Step::Packet(input, at));
            }
            // The socket buffer holds a few hundred datagrams; the rest is dropped.
            Run::Paused
                if self.nodes[to].bfd.svc.is_some() && self.nodes[to].bfd.backlog.len() < 256 =>
            {
                self.nodes[to].bfd.backlog.push_back((at, input));
            }
            _ => {}
        }
    }

    /// Moves node `n`'s BFD timer event to its service's `poll_timeout()`.
    fn bfd_rearm(&mut self, n: usize) {
        let node = &self.nodes[n];
        let want = match (&node.bfd.svc, node.run) {
            (Some(s), Run::Running | Run::Paused) => s.poll_timeout().map(|t| t.as_micros()),
            _ => None,
        };
        if node.bfd.timer.map(|(_, d)| d) == want {
            return;
        }
        self.nodes[n].bfd.timer = None;
        if let Some(d) = want {
            let at = d
                .saturating_sub(self.nodes[n].offset)
                .saturating_sub(self.opts.broken_timer_us);
            let key = self.push(at, Ev::BfdTimer(n));
            self.nodes[n].bfd.timer = Some((key, d));
        }
    }

    /// One call into node `n`'s BFD service, then everything that follows: datagrams
    /// routed, transitions printed and checked, the state changes fed to VRRP.
    fn bfd_step(&mut self, n: usize, step: Step) {
        let local = self.nodes[n].local(self.now);
        capture::clear();
        let mut why = Why::Timer;
        let mut arrival = None;
        {
            let node = &mut self.nodes[n];
            let env = &mut node.env;
            match step {
                Step::Start(config, seed) => {
                    let t = scheduler::Instant::from_micros(local);
                    node.bfd.svc = Some(BfdService::new(&config, seed, t, env));
                    // What the daemon tells its checkers of a session it starts: Down.
                    for b in config.iter().filter(|b| b.to_checker()) {
                        node.lvs.session_created(&b.name);
                    }
                    why = Why::Start;
                }
                Step::Reload(config) => {
                    let Some(svc) = node.bfd.svc.as_mut() else {
                        return;
                    };
                    let old: Vec<String> = svc.config().iter().map(|b| b.name.clone()).collect();
                    svc.reconfigure(scheduler::Instant::from_micros(local), &config, env);
                    for b in config.iter().filter(|b| b.to_checker()) {
                        if !old.contains(&b.name) {
                            node.lvs.session_created(&b.name);
                        }
                    }
                    why = Why::Reload;
                }
                Step::Timer(t) => {
                    let Some(svc) = node.bfd.svc.as_mut() else {
                        return;
                    };
                    svc.handle_timeout(scheduler::Instant::from_micros(t), env);
                }
                Step::Packet(input, at) => {
                    let Some(svc) = node.bfd.svc.as_mut() else {
                        return;
                    };
                    if let Input::Packet { src, payload, .. } = &input {
                        let hdr = ControlPacket::parse(payload)
                            .ok()
                            .map(|p| (p.state, p.diag));
                        why = Why::Packet(*src, hdr);
                        arrival = Some((at, detect_from(payload)));
                    }
                    // As the Linux driver: the receive time, never before what the engine
                    // has already seen.
                    let t = scheduler::Instant::from_micros(at).max(svc.last_now());
                    svc.handle(t, input, env);
                }
                Step::Shutdown => {
                    let Some(svc) = node.bfd.svc.as_mut() else {
                        return;
                    };
                    svc.shutdown(scheduler::Instant::from_micros(local), env);
                    why = Why::Shutdown;
                }
            }
        }
        let mut logs = Vec::new();
        capture::take(&mut logs);
        let sent = std::mem::take(&mut self.nodes[n].env.bfd_sent);
        for s in &sent {
            self.bfd_route(n, s);
        }
        let cause = match &why {
            Why::Start => "daemon started".to_string(),
            Why::Reload => "reload (SIGHUP)".to_string(),
            Why::Timer => "timer".to_string(),
            Why::Shutdown => "SIGTERM".to_string(),
            Why::Packet(src, Some((st, diag))) => {
                format!("packet from {src}: state {st}, diag {diag}")
            }
            Why::Packet(src, None) => format!("packet from {src}"),
        };
        for (lvl, l) in &logs {
            if !self.opts.trace
                // The service logs each change and expiry in keepalived's words; the
                // engine's own lines are debug ones (shown with --trace).
                && *lvl > log::Level::Info
            {
                continue;
            }
            let m = if l.contains(" Entering ") {
                format!("bfd: {l}  ({cause})")
            } else {
                format!("bfd: {l}")
            };
            self.line(Some(n), &m);
        }
        self.bfd_observe(n, local, arrival);
        // The production event loop feeds every change to VRRP in the same turn (after the
        // orderly stop, VRRP is gone and the events are dropped).
        let events = self.nodes[n]
            .bfd
            .svc
            .as_mut()
            .map(BfdService::take_events)
            .unwrap_or_default();
        if !matches!(why, Why::Shutdown) {
            for e in events {
                if self.nodes[n].run != Run::Running {
                    continue;
                }
                // The checkers first (`to_checker`), as the daemon's BFD loop does.
                if e.to_checker && !self.opts.sabotage.deaf_checkers {
                    self.lvs_bfd(n, &e.name, e.up);
                }
                if self.nodes[n].svc.is_none() {
                    continue;
                }
                let what = format!("BFD {} {}", e.name, if e.up { "up" } else { "down" });
                // The production event loop's mapping (`track_bfd` only if for VRRP).
                if let Some(input) = e.vrrp_input() {
                    self.call(n, Call::Input(input, Cause::Text(what)));
                }
            }
        }
        self.bfd_rearm(n);
    }

    /// Sends one datagram: from the interface holding `local` (or any) to the node owning
    /// `peer` on the same segment, through the link's faults.
    fn bfd_route(&mut self, from: usize, s: &BfdSent) {
        let node = &self.nodes[from];
        let mut found = None;
        'ifaces: for si in &node.ifaces {
            if !si.up || s.local.is_some_and(|l| !si.has(l)) {
                continue;
            }
            for (to, other) in self.nodes.iter().enumerate() {
                if to == from {
                    continue;
                }
                for ti in &other.ifaces {
                    if ti.segment == si.segment && ti.has(s.peer) {
                        found = Some((si, to, ti));
                        break 'ifaces;
                    }
                }
            }
        }
        let Some((si, to, ti)) = found else { return };
        if !ti.up || self.nodes[to].run == Run::Down {
            return;
        }
        let src = s.local.unwrap_or(match s.peer {
            IpAddr::V4(_) => IpAddr::V4(si.v4),
            IpAddr::V6(p) if p.segments()[0] & 0xffc0 == 0xfe80 => IpAddr::V6(si.ll6),
            IpAddr::V6(_) => IpAddr::V6(si.v6),
        });
        let d = Delivery {
            from,
            to,
            ifindex: ti.ifindex,
            src,
            dst: s.peer,
            ttl: s.ttl,
            payload: Rc::clone(&s.payload),
            bfd: Some(BfdPorts {
                src: s.src_port,
                dst: s.dst_port,
            }),
        };
        self.transmit(d);
    }

    /// Transitions since the last look, and the invariants. `arrival`: the datagram of a
    /// packet step (arrival time; remote Detect Mult and Desired Min TX from its header).
    fn bfd_observe(&mut self, n: usize, local: u64, arrival: Option<(u64, Option<(u8, u64)>)>) {
        let mut violations = Vec::new();
        let mut left_up = Vec::new();
        // For the checker side's convergence invariant (`ipvs.rs`): sessions that entered
        // Up, and those that left it (on the neighbour's AdminDown or not).
        let mut entered_up = Vec::new();
        {
            let node = &mut self.nodes[n];
            let Some(svc) = node.bfd.svc.as_ref() else {
                return;
            };
            let shadow = &mut node.bfd.shadow;
            for (_, s) in svc.set().sessions() {
                let fresh = SessionShadow {
                    discr: s.local_discr(),
                    state: State::Down,
                    rx: 0,
                    last_rx: None,
                };
                let sh = shadow.entry(s.name().to_string()).or_insert(fresh.clone());
                if sh.discr != s.local_discr() {
                    // Replaced by a reload: a new session, which starts Down.
                    *sh = SessionShadow {
                        state: sh.state,
                        ..fresh
                    };
                }
                if s.counters.rx > sh.rx {
                    sh.rx = s.counters.rx;
                    if let Some((at, Some((mult, remote_tx)))) = arrival {
                        let per = u64::from(s.rx_required_in_use_us).max(remote_tx);
                        sh.last_rx = Some((at, (u64::from(mult) * per).max(1)));
                    }
                }
                let to = s.state();
                if to == sh.state {
                    continue;
                }
                let from = sh.state;
                sh.state = to;
                if !transition_allowed(from, to) {
                    violations.push(format!(
                        "BFD session {} went from {from} to {to}: not a transition of the RFC \
                         5880 §6.2 state diagram",
                        s.name()
                    ));
                }
                if to == State::Down && s.local_diag() == Diag::ControlDetectionTimeExpired {
                    match sh.last_rx {
                        None => violations.push(format!(
                            "BFD session {} declared Down (Control Detection Time Expired) \
                             without having accepted a packet",
                            s.name()
                        )),
                        Some((at, detect)) if local < at + detect => violations.push(format!(
                            "BFD session {} declared Down (Control Detection Time Expired) \
                                 {} after the last valid packet, earlier than its Detection \
                                 Time of {} (RFC 5880 §6.8.4)",
                            s.name(),
                            dur(local.saturating_sub(at)),
                            dur(detect)
                        )),
                        Some(_) => {}
                    }
                }
                if from == State::Up {
                    left_up.push((s.name().to_string(), s.config.neighbor, to));
                    // What the daemon tells its checkers: Up -> Down, unless the
                    // neighbour signalled AdminDown; nothing of our own AdminDown.
                    let told = to == State::Down && s.remote_state() != State::AdminDown;
                    node.lvs.session_left_up(s.name(), !told);
                }
                if to == State::Up {
                    entered_up.push(s.name().to_string());
                }
            }
            let names: Vec<&str> = svc.set().sessions().map(|(_, s)| s.name()).collect();
            shadow.retain(|k, _| names.contains(&k.as_str()));
        }
        for name in entered_up {
            self.nodes[n].lvs.session_up(&name);
        }
        if self.window.open {
            for (name, neighbor, to) in left_up {
                if to != State::AdminDown && self.bfd_peer(n, neighbor, &name).is_some() {
                    let quiet = dur(self.now - self.window.disturbed_at);
                    violations.push(format!(
                        "BFD session {name} left Up ({to}) after {quiet} without faults, both \
                         ends running"
                    ));
                }
            }
        }
        for v in violations {
            self.violation(Some(n), v);
        }
    }

    /// The node that answers session `name` of node `n` (neighbour `neighbor`): running,
    /// reachable over a segment where both interfaces are up, with a session whose
    /// neighbour is one of `n`'s addresses, not both passive.
    fn bfd_peer(&self, n: usize, neighbor: IpAddr, name: &str) -> Option<usize> {
        let node = &self.nodes[n];
        let mine = node.bfd.svc.as_ref()?.set().session_by_name(name)?;
        for si in node.ifaces.iter().filter(|i| i.up) {
            for (m, other) in self.nodes.iter().enumerate() {
                if m == n || other.run != Run::Running {
                    continue;
                }
                let Some(osvc) = other.bfd.svc.as_ref() else {
                    continue;
                };
                if !other
                    .ifaces
                    .iter()
                    .any(|ti| ti.up && ti.segment == si.segment && ti.has(neighbor))
                {
                    continue;
                }
                let back = osvc.set().sessions().any(|(_, s)| {
                    si.has(s.config.neighbor)
                        && s.config.multihop == mine.config.multihop
                        && !(s.config.passive && mine.config.passive)
                        && s.config.auth == mine.config.auth
                });
                if back {
                    return Some(m);
                }
            }
        }
        None
    }

    /// The quiet window opened: every session whose two ends run and reach each other is
    /// Up.
    pub(crate) fn bfd_window_opened(&mut self) {
        let mut violations = Vec::new();
        for n in 0..self.nodes.len() {
            let node = &self.nodes[n];
            if node.run != Run::Running {
                continue;
            }
            let Some(svc) = node.bfd.svc.as_ref() else {
                continue;
            };
            for (_, s) in svc.set().sessions() {
                if s.state() == State::Up {
                    continue;
                }
                if let Some(m) = self.bfd_peer(n, s.config.neighbor, s.name()) {
                    violations.push((
                        n,
                        format!(
                            "BFD session {} is {} after {} without faults, though {} runs its \
                             end",
                            s.name(),
                            s.state(),
                            dur(self.now - self.window.disturbed_at),
                            self.nodes[m].name
                        ),
                    ));
                }
            }
        }
        for (n, v) in violations {
            self.violation(Some(n), v);
        }
    }

    /// How long BFD sessions need to come Up once nothing disturbs them (a term of the
    /// quiet window): three of the slowest transmit intervals they may use while not Up
    /// (Down and Init send at most once a second, RFC 5880 §6.8.3) plus network delays; 0
    /// without BFD.
    pub(crate) fn bfd_settle_us(&self) -> u64 {
        let mut slow = 0u64;
        for node in &self.nodes {
            let Some(svc) = node.bfd.svc.as_ref() else {
                continue;
            };
            for c in svc.config() {
                slow = slow
                    .max(u64::from(c.idle_tx_us))
                    .max(u64::from(c.desired_min_tx_us))
                    .max(u64::from(c.required_min_rx_us))
                    .max(1_000_000);
            }
        }
        if slow == 0 {
            return 0;
        }
        3 * slow + 4 * (self.sc.latency_us + self.sc.jitter_us) + 10_000
    }

    /// Whether session `name` of node `n` is Up (expectations).
    pub(crate) fn bfd_up(&self, n: usize, name: &str) -> bool {
        self.nodes[n].bfd.state(name) == Some(State::Up)
    }

    /// What an expectation on session `name` of node `n` sees.
    pub(crate) fn bfd_describe(&self, n: usize, name: &str) -> String {
        let nd = &self.nodes[n];
        match nd.bfd.state(name) {
            Some(st) => format!("{}: BFD {name} {st}", nd.name),
            None if nd.run == Run::Down => format!("{} is not running", nd.name),
            None => format!("{} runs no BFD session {name}", nd.name),
        }
    }
}

/// (remote Detect Mult, remote Desired Min TX) from a packet's header, read by the
/// simulator itself.
fn detect_from(payload: &[u8]) -> Option<(u8, u64)> {
    let p = ControlPacket::parse(payload).ok()?;
    Some((p.detect_mult, u64::from(p.desired_min_tx_us)))
}
