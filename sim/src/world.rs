//! The world: N daemons (each a [`VrrpService`] over a [`SimEnv`]) on L2 segments, one
//! event queue in virtual time, the fault catalogue, and the run loop. The invariants and
//! expectations are in `check.rs`.

use crate::capture;
use crate::env::{Sent, SimEnv};
use crate::rng::{stream, Rng};
use crate::scenario::{Action, ConfigDef, Impair, LinkSel, Mode, Predicate, Scenario, ScriptMode};
use crate::units::{dur, pct, secs};
use keepalived_rs::config::diag::{Diagnostics, Severity};
use keepalived_rs::config::model::Config;
use keepalived_rs::config::semantic::{self, Host, PermissiveHost, ScriptFile, SemanticOptions};
use keepalived_rs::config::{parse_str, LoadOptions};
use keepalived_rs::daemon::record::Recorder;
use keepalived_rs::daemon::vrrp::VrrpService;
use keepalived_rs::vrrp::{Input, InterfaceInfo, ScriptId, State};
use scheduler::Instant;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

/// How a run is made.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub seed: u64,
    /// Engine debug lines, packet-level network events and Env actions in the timeline.
    pub trace: bool,
    /// TEST ONLY: fire every node timer this many microseconds before its deadline (the
    /// driver lies to the engine about the time), so the invariants must catch it.
    pub broken_timer_us: u64,
    /// TEST ONLY: more ways to break the simulated driver or kernel, each of which one
    /// invariant must catch.
    pub sabotage: Sabotage,
    /// Bound on the number of events.
    pub max_steps: u64,
    /// Record this node's inputs with [`Recorder`] (the result is in [`Outcome::recording`]).
    pub record: Option<String>,
    /// Build no timeline text (benchmarks).
    pub quiet: bool,
    /// The command line that reproduces this run, printed after a failure.
    pub reproduce: String,
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            seed: 1,
            trace: false,
            broken_timer_us: 0,
            sabotage: Sabotage::default(),
            max_steps: 50_000_000,
            record: None,
            quiet: false,
            reproduce: String::new(),
        }
    }
}

/// Test-only faults in the simulated driver and kernel (not in the daemon's code), to
/// show that the invariants catch them.
#[derive(Clone, Debug, Default)]
pub struct Sabotage {
    /// Gratuitous ARPs and NAs the daemon sends are lost by the driver.
    pub drop_garps: bool,
    /// The fake kernel ignores address removals.
    pub keep_vips: bool,
    /// This node receives nothing, and the simulator does not count it as a fault.
    pub deaf: Option<String>,
    /// The fake kernel ignores IPVS destination deletions (the IPVS model and refusal
    /// invariants catch it).
    pub keep_ipvs_dests: bool,
    /// The driver does not tell the checkers of BFD changes (the IPVS convergence
    /// invariant catches it).
    pub deaf_checkers: bool,
}

/// What a run found.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub passed: bool,
    /// Everything the run printed (header, timeline, verdict).
    pub output: String,
    pub violations: Vec<String>,
    pub transitions: u64,
    pub steps: u64,
    pub deliveries: u64,
    /// Virtual time simulated, in microseconds.
    pub simulated_us: u64,
    /// FNV-1a of the output (before the hash line).
    pub hash: u64,
    pub recording: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Run {
    Running,
    /// SIGSTOP: frozen.
    Paused,
    /// No daemon (crashed, killed, stopped, or not started).
    Down,
}

#[derive(Clone, Debug)]
pub(crate) struct Iface {
    pub ifindex: u32,
    pub name: String,
    pub segment: usize,
    pub mac: [u8; 6],
    pub v4: Ipv4Addr,
    pub ll6: Ipv6Addr,
    pub v6: Ipv6Addr,
    pub up: bool,
}

impl Iface {
    pub fn info(&self) -> InterfaceInfo {
        InterfaceInfo {
            ifindex: self.ifindex,
            name: self.name.clone(),
            up: self.up,
            running: self.up,
            mac: self.mac,
            ipv4: Some(self.v4),
            ipv6_link_local: Some(self.ll6),
            addresses: vec![
                IpAddr::V4(self.v4),
                IpAddr::V6(self.ll6),
                IpAddr::V6(self.v6),
            ],
        }
    }

    pub fn has(&self, a: IpAddr) -> bool {
        a == IpAddr::V4(self.v4) || a == IpAddr::V6(self.ll6) || a == IpAddr::V6(self.v6)
    }
}

/// The last valid advert that reset a backup's master-down timer, and the RFC bound it
/// implies, in the node's true clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Basis {
    pub at: u64,
    pub required: u64,
    pub prio0: bool,
}

/// What the checker last saw of one instance.
#[derive(Clone, Debug)]
pub(crate) struct Shadow {
    pub state: State,
    pub eff: u8,
    pub transitions: u64,
    pub basis: Option<Basis>,
    /// Index in the world's VRID groups.
    pub group: Option<usize>,
}

impl Shadow {
    fn new() -> Shadow {
        Shadow {
            state: State::Init,
            eff: 0,
            transitions: 0,
            basis: None,
            group: None,
        }
    }
}

pub(crate) struct Node {
    pub name: String,
    pub ifaces: Vec<Iface>,
    pub config: usize,
    pub svc: Option<VrrpService>,
    pub env: SimEnv,
    pub run: Run,
    pub offset: u64,
    pub rng: Rng,
    /// The queue key of the node's timer and its deadline in the node's clock.
    pub timer: Option<((u64, u64), u64)>,
    /// Inputs waiting for a paused node (the socket buffer, the netlink queue).
    pub backlog: VecDeque<Input>,
    pub incarnation: u64,
    /// The broken timer's clock: the engine never sees time go backwards.
    pub floor: u64,
    pub shadow: Vec<Shadow>,
    /// (family number, VRID) → instances.
    pub dispatch: Dispatch,
    pub scripts: BTreeMap<String, ScriptMode>,
    /// Killed: addresses stay behind.
    pub stale: bool,
    /// The outbox bound of the current configuration (actions per step).
    pub bound: u64,
    /// The BFD sessions (`bfd.rs`).
    pub bfd: crate::bfd::NodeBfd,
    /// The checker side and the kernel's IPVS table (`ipvs.rs`).
    pub lvs: crate::ipvs::NodeLvs,
}

impl Node {
    pub fn local(&self, global: u64) -> u64 {
        global + self.offset
    }

    pub fn ifindex_of(&self, name: &str) -> Option<u32> {
        self.ifaces
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.ifindex)
    }

    pub fn infos(&self) -> Vec<InterfaceInfo> {
        self.ifaces.iter().map(Iface::info).collect()
    }
}

/// (family number, VRID) → instances of one node, as a flat table (looked up per packet;
/// up to two instances per slot inline, so the lookup reads one cache line).
#[derive(Default)]
pub(crate) struct Dispatch {
    /// 512 slots (IPv4 VRIDs, then IPv6), or none before the first `push`.
    slots: Vec<Slot>,
}

#[derive(Clone, Default)]
struct Slot {
    inline: [usize; 2],
    len: usize,
    more: Vec<usize>,
}

impl Dispatch {
    fn slot(fam: u8, vrid: u8) -> usize {
        usize::from(fam == 6) * 256 + usize::from(vrid)
    }

    pub fn get(&self, fam: u8, vrid: u8) -> Option<&[usize]> {
        let s = self.slots.get(Dispatch::slot(fam, vrid))?;
        match s.len {
            0 => None,
            1 | 2 => Some(&s.inline[..s.len]),
            _ => Some(&s.more),
        }
    }

    fn push(&mut self, fam: u8, vrid: u8, i: usize) {
        if self.slots.is_empty() {
            self.slots = vec![Slot::default(); 512];
        }
        let s = &mut self.slots[Dispatch::slot(fam, vrid)];
        if s.len < 2 {
            s.inline[s.len] = i;
        } else {
            if s.len == 2 {
                s.more = s.inline.to_vec();
            }
            s.more.push(i);
        }
        s.len += 1;
    }

    fn clear(&mut self) {
        for s in &mut self.slots {
            s.len = 0;
            s.more.clear();
        }
    }
}

/// Impairments of one directed link.
#[derive(Clone, Debug, Default)]
pub(crate) struct Link {
    pub loss: u32,
    pub dup: u32,
    pub corrupt: u32,
    pub reorder: u32,
    pub reorder_max: u64,
    pub delay: u64,
    pub blocked: bool,
    pub clogged: bool,
    pub held: Vec<Delivery>,
}

impl Link {
    /// Loses or reorders information (the quiet window cannot start while any link does
    /// this: a reordered advert can come later than the master-down interval). Duplication
    /// and a constant extra delay are tolerated.
    pub fn impairing(&self) -> bool {
        self.loss > 0 || self.corrupt > 0 || self.reorder > 0 || self.blocked || self.clogged
    }

    /// Does nothing to a packet but carry it (no random draw either).
    fn clean(&self) -> bool {
        !self.impairing() && self.dup == 0 && self.delay == 0
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub from: usize,
    pub to: usize,
    pub ifindex: u32,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    /// Shared by every copy of one sent packet (a corrupted copy gets its own).
    pub payload: Rc<[u8]>,
    /// A BFD datagram (`bfd.rs`), not a VRRP advert.
    pub bfd: Option<crate::bfd::BfdPorts>,
}

pub(crate) enum Ev {
    Timer(usize),
    /// Node `n`'s BFD timer (`bfd.rs`).
    BfdTimer(usize),
    /// A packet in flight: an index in the world's delivery slab.
    Deliver(u32),
    ScriptDone {
        node: usize,
        incarnation: u64,
        script: ScriptId,
        ok: bool,
    },
    Action(usize),
    ExpectEnd(usize),
    Window(u64),
    Heal,
    End,
}

/// An event in the queue, ordered by (time, insertion sequence): the earliest first, ties
/// in insertion order.
pub(crate) struct Queued {
    key: (u64, u64),
    ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Queued) -> bool {
        self.key == o.key
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Queued) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Queued {
    /// Reversed: `BinaryHeap` is a max-heap.
    fn cmp(&self, o: &Queued) -> Ordering {
        o.key.cmp(&self.key)
    }
}

/// What a node step was about (for the timeline's reasons).
#[derive(Clone, Debug)]
pub(crate) enum Cause {
    Start,
    Timer,
    Packet { src: IpAddr, prio: u8 },
    Text(String),
}

pub(crate) enum Call {
    Start,
    Input(Input, Cause),
    Timeout,
    Reload(Box<Config>),
    Shutdown,
}

/// (segment, VRID, family number, unicast).
type GroupKey = (usize, u8, u8, bool);

/// A (segment, VRID, family, unicast) group: at most one MASTER once things are quiet.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub segment: usize,
    pub vrid: u8,
    pub family: u8,
    pub unicast: bool,
    pub members: Vec<(usize, usize)>,
}

/// A move to MASTER waiting for its gratuitous ARP or NA.
#[derive(Clone, Debug)]
pub(crate) struct Obligation {
    pub inst: usize,
    pub transitions: u64,
    pub deadline: u64,
    pub since: u64,
}

pub(crate) struct ExpectState {
    pub text: String,
    pub pred: Predicate,
    pub mode: Mode,
    pub start: u64,
    pub open: bool,
}

/// The quiet-window bookkeeping.
pub(crate) struct Window {
    pub disturbed_at: u64,
    pub len: u64,
    pub gen: u64,
    pub open: bool,
}

pub struct World<'s> {
    pub(crate) sc: &'s Scenario,
    pub(crate) opts: SimOptions,
    pub(crate) now: u64,
    seq: u64,
    queue: BinaryHeap<Queued>,
    /// Packets in flight whose keys only grow (the usual case: constant latency): a FIFO
    /// beside the heap, popped in the same (time, sequence) order.
    fifo: VecDeque<Queued>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) links: Vec<Link>,
    /// Segment → (node, interface index) members.
    seg_members: Vec<Vec<(usize, usize)>>,
    netrng: Rng,
    pub(crate) out: String,
    pub(crate) violations: Vec<String>,
    pub(crate) expects: Vec<ExpectState>,
    pub(crate) expect_failed: usize,
    pub(crate) expect_met: usize,
    pub(crate) groups: Vec<Group>,
    pub(crate) dirty: Vec<usize>,
    pub(crate) window: Window,
    pub(crate) obligations: BTreeMap<(usize, u32, IpAddr), Obligation>,
    pub(crate) steps: u64,
    pub(crate) transitions: u64,
    deliveries: u64,
    healed: bool,
    heal_at: u64,
    end_at: u64,
    converged_at: Option<u64>,
    pub(crate) last_transition_at: u64,
    pub(crate) logs: Vec<(log::Level, String)>,
    recorder: Option<(usize, Recorder<Vec<u8>>)>,
    pub(crate) models: BTreeMap<(usize, usize), Config>,
    scratch_before: Vec<(usize, State, Option<Instant>)>,
    pub(crate) scratch_list: Vec<usize>,
    deaf: Option<usize>,
    /// Packets in flight (reused slots: no allocation per packet for the queue).
    slab: Vec<Option<Delivery>>,
    slab_free: Vec<u32>,
}

/// A host where the node's interfaces exist and scripts are acceptable.
struct SimHost<'a> {
    ifaces: &'a [String],
}

impl Host for SimHost<'_> {
    fn interface_exists(&self, name: &str) -> bool {
        self.ifaces.iter().any(|i| i == name)
    }
    fn user(&self, name: &str) -> Option<(u32, u32)> {
        Some(if name == "root" { (0, 0) } else { (1000, 1000) })
    }
    fn group(&self, name: &str) -> Option<u32> {
        Some(if name == "root" { 0 } else { 1000 })
    }
    fn script_file(&self, path: &str) -> Option<ScriptFile> {
        PermissiveHost.script_file(path)
    }
}

/// Parses and checks `def` for a node (the simulator passes the node's name as config id,
/// so `@r1` lines apply to r1 only).
/// Returns the model and the diagnostics worth printing; `Err` for a fatal problem.
pub fn load_config(
    def: &ConfigDef,
    config_id: Option<&str>,
    ifaces: &[String],
    random_seed: u64,
) -> Result<(Config, Vec<String>), String> {
    let mut diags = Diagnostics::new();
    let lopts = LoadOptions {
        config_id: config_id.map(str::to_string),
        random_seed,
        ..LoadOptions::default()
    };
    let tree = parse_str(&def.text, &def.origin, &lopts, &mut diags);
    let host = SimHost { ifaces };
    let cfg = semantic::build(
        &tree,
        &host,
        &SemanticOptions {
            check_interfaces: true,
        },
        &mut diags,
    );
    let mut lines = Vec::new();
    for d in &diags.items {
        let text = Diagnostics::render_one(d, &tree.sources);
        lines.push(format!(
            "{}{}",
            match d.severity {
                Severity::Error => "",
                Severity::Warning => "(warning) ",
                Severity::Note => "(note) ",
            },
            text.trim_end()
        ));
    }
    if diags.exit_code() == 4 {
        return Err(lines.join("\n"));
    }
    Ok((cfg, lines))
}

/// Family number of an instance.
pub(crate) fn fam(f: keepalived_rs::wire::vrrp::Family) -> u8 {
    match f {
        keepalived_rs::wire::vrrp::Family::Ipv4 => 4,
        keepalived_rs::wire::vrrp::Family::Ipv6 => 6,
    }
}

/// What a VRRP packet says, read without validating it (the engine does that).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peek {
    pub fam: u8,
    pub vrid: u8,
    pub prio: u8,
    pub adv_us: u64,
}

pub(crate) fn peek(src: IpAddr, payload: &[u8]) -> Option<Peek> {
    let (fam, vr) = match src {
        IpAddr::V4(_) => {
            let ihl = usize::from(*payload.first()? & 0x0f) * 4;
            let proto = *payload.get(9)?;
            let off = if proto == 51 {
                ihl + (usize::from(*payload.get(ihl + 1)?) + 2) * 4
            } else {
                ihl
            };
            (4, payload.get(off..)?)
        }
        IpAddr::V6(_) => (6, payload),
    };
    if vr.len() < 8 {
        return None;
    }
    let version = vr[0] >> 4;
    let adv_us = if version == 2 {
        u64::from(vr[5]) * 1_000_000
    } else {
        (u64::from(vr[4] & 0x0f) << 8 | u64::from(vr[5])) * 10_000
    };
    Some(Peek {
        fam,
        vrid: vr[1],
        prio: vr[2],
        adv_us,
    })
}

impl<'s> World<'s> {
    pub fn new(sc: &'s Scenario, opts: SimOptions) -> World<'s> {
        capture::init(if opts.trace {
            log::LevelFilter::Debug
        } else {
            log::LevelFilter::Info
        });
        let n = sc.nodes.len();
        let mut seg_members = vec![Vec::new(); sc.segments.len()];
        let mut nodes = Vec::new();
        for (k, nd) in sc.nodes.iter().enumerate() {
            let mut rng = Rng::new(opts.seed, stream::NODE_BASE + k as u64);
            let offset = nd.clock_us.unwrap_or_else(|| match rng.below(3) {
                0 => rng.below(1_000_000),
                1 => rng.below(3_600_000_000),
                _ => rng.below(30 * 86_400_000_000),
            });
            let mut ifaces = Vec::new();
            for (j, i) in nd.ifaces.iter().enumerate() {
                seg_members[i.segment].push((k, j));
                let h = nd.host;
                ifaces.push(Iface {
                    ifindex: 2 + j as u32,
                    name: i.name.clone(),
                    segment: i.segment,
                    mac: [2, 0, i.segment as u8, j as u8, (h >> 8) as u8, h as u8],
                    v4: sc.node_v4(k, i.segment),
                    ll6: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, (h >> 16) as u16, h as u16),
                    v6: sc.node_v6(k, i.segment),
                    up: true,
                });
            }
            nodes.push(Node {
                name: nd.name.clone(),
                ifaces,
                config: nd.config,
                svc: None,
                env: SimEnv {
                    trace: opts.trace,
                    keep_addresses: opts.sabotage.keep_vips,
                    ..SimEnv::default()
                },
                run: Run::Down,
                offset,
                rng,
                timer: None,
                backlog: VecDeque::new(),
                incarnation: 0,
                floor: 0,
                shadow: Vec::new(),
                dispatch: Dispatch::default(),
                scripts: BTreeMap::new(),
                stale: false,
                bound: 64,
                bfd: crate::bfd::NodeBfd::default(),
                lvs: crate::ipvs::NodeLvs::default(),
            });
        }
        let deaf = opts
            .sabotage
            .deaf
            .as_ref()
            .and_then(|name| sc.node_index(name));
        let recorder = opts
            .record
            .as_ref()
            .and_then(|name| sc.node_index(name))
            .map(|k| (k, Recorder::new(Vec::new())));
        World {
            sc,
            netrng: Rng::new(opts.seed, stream::NETWORK),
            opts,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            fifo: VecDeque::new(),
            nodes,
            links: vec![Link::default(); n * n],
            seg_members,
            out: String::new(),
            violations: Vec::new(),
            expects: Vec::new(),
            expect_failed: 0,
            expect_met: 0,
            groups: Vec::new(),
            dirty: Vec::new(),
            window: Window {
                disturbed_at: 0,
                len: 0,
                gen: 0,
                open: false,
            },
            obligations: BTreeMap::new(),
            steps: 0,
            transitions: 0,
            deliveries: 0,
            healed: false,
            heal_at: 0,
            end_at: 0,
            converged_at: None,
            last_transition_at: 0,
            logs: Vec::new(),
            recorder,
            models: BTreeMap::new(),
            scratch_before: Vec::new(),
            scratch_list: Vec::new(),
            deaf,
            slab: Vec::new(),
            slab_free: Vec::new(),
        }
    }

    // ------------------------------------------------------------------ output

    pub(crate) fn line(&mut self, node: Option<usize>, text: &str) {
        if self.opts.quiet {
            return;
        }
        let who = node.map_or("", |n| self.nodes[n].name.as_str());
        let _ = writeln!(self.out, "{:>15}  {:<5} {}", secs(self.now), who, text);
    }

    pub(crate) fn violation(&mut self, node: Option<usize>, text: String) {
        let who = node.map_or(String::new(), |n| format!("{}: ", self.nodes[n].name));
        let v = format!("at {}: {who}{text}", secs(self.now));
        if self.violations.contains(&v) {
            return;
        }
        self.line(node, &format!("VIOLATION: {text}"));
        self.violations.push(v);
    }

    fn header(&mut self) {
        let sc = self.sc;
        let _ = writeln!(
            self.out,
            "keepalived-rs simulator: scenario {}{}",
            sc.name,
            sc.path
                .as_ref()
                .map_or(String::new(), |p| format!(" ({})", p.display()))
        );
        let _ = writeln!(
            self.out,
            "seed {}  latency {}  jitter {}  fault phase {}{}",
            self.opts.seed,
            dur(sc.latency_us),
            dur(sc.jitter_us),
            dur(sc.fault_phase_us()),
            if self.opts.broken_timer_us > 0 {
                format!(
                    "  BROKEN TIMER (test only): timers fire {} early",
                    dur(self.opts.broken_timer_us)
                )
            } else {
                String::new()
            }
        );
        for n in &self.nodes {
            let mut s = format!(
                "  {:<5} clock +{:<22} config {:<10}",
                n.name,
                secs(n.offset),
                sc.configs[n.config].name
            );
            for i in &n.ifaces {
                let _ = write!(
                    s,
                    " {}={} {} {}",
                    i.name, sc.segments[i.segment].name, i.v4, i.v6
                );
            }
            let _ = writeln!(self.out, "{s}");
        }
        let _ = writeln!(self.out, "timeline:");
    }

    // ------------------------------------------------------------------ queue

    pub(crate) fn push(&mut self, at: u64, ev: Ev) -> (u64, u64) {
        self.seq += 1;
        let key = (at.max(self.now), self.seq);
        let monotone =
            matches!(ev, Ev::Deliver(_)) && self.fifo.back().map_or(true, |b| b.key < key);
        if monotone {
            self.fifo.push_back(Queued { key, ev });
        } else {
            self.queue.push(Queued { key, ev });
        }
        key
    }

    /// The earliest queued event (keys are unique: the same order as one heap).
    fn pop(&mut self) -> Option<Queued> {
        match (self.queue.peek(), self.fifo.front()) {
            (Some(h), Some(f)) if f.key < h.key => self.fifo.pop_front(),
            (Some(_), _) => self.queue.pop(),
            (None, _) => self.fifo.pop_front(),
        }
    }

    fn push_delivery(&mut self, at: u64, d: Delivery) {
        let k = match self.slab_free.pop() {
            Some(k) => {
                self.slab[k as usize] = Some(d);
                k
            }
            None => {
                self.slab.push(Some(d));
                (self.slab.len() - 1) as u32
            }
        };
        self.push(at, Ev::Deliver(k));
    }

    /// Moves node `n`'s timer event to its engine's `poll_timeout()`.
    pub(crate) fn rearm(&mut self, n: usize) {
        let node = &self.nodes[n];
        let want = match (&node.svc, node.run) {
            (Some(svc), Run::Running | Run::Paused) => svc.poll_timeout(),
            _ => None,
        };
        let want_local = want.map(|t| t.as_micros());
        if node.timer.map(|(_, d)| d) == want_local {
            return;
        }
        // A superseded timer event stays queued and is skipped when it comes up.
        self.nodes[n].timer = None;
        if let Some(d) = want_local {
            let offset = self.nodes[n].offset;
            let at = d
                .saturating_sub(offset)
                .saturating_sub(self.opts.broken_timer_us);
            let key = self.push(at, Ev::Timer(n));
            self.nodes[n].timer = Some((key, d));
        }
    }

    // ------------------------------------------------------------------ node calls

    /// One call into node `n`'s daemon at the current time, then everything that follows
    /// from it: packets routed, scripts scheduled, transitions observed and checked.
    pub(crate) fn call(&mut self, n: usize, call: Call) {
        let local = self.nodes[n].local(self.now);
        let enow = local.max(self.nodes[n].floor);
        self.nodes[n].floor = enow;
        let t = Instant::from_micros(enow);
        capture::clear();
        let mut before = std::mem::take(&mut self.scratch_before);
        before.clear();
        // Which instances to observe afterwards: `All`, or only those the step can have
        // moved (see `observe`).
        let mut all = true;
        let mut cause = Cause::Timer;
        let mut peeked = None;
        if let Call::Input(Input::Packet { src, payload, .. }, _) = &call {
            all = false;
            if let (Some(p), Some(svc)) = (peek(*src, payload), &self.nodes[n].svc) {
                peeked = Some(p);
                if let Some(list) = self.nodes[n].dispatch.get(p.fam, p.vrid) {
                    for &i in list {
                        if let Some(inst) = svc.router().instance(i) {
                            before.push((i, inst.state(), inst.read_timeout()));
                        }
                    }
                }
            }
        }
        if let (Call::Timeout, Some(svc)) = (&call, &self.nodes[n].svc) {
            // Which instances a timer step can move: those that send an advert (a MASTER's
            // adver timer, a BACKUP's master-down timer going to MASTER) and those notified,
            // with their sync groups (`observe` adds them). Process trackers and the
            // startup delay can move any instance: then everything is observed.
            let r = svc.router();
            if r.trackers().processes.is_empty() && !r.is_starting() {
                all = false;
            }
        }
        let mut call = call;
        if let (Call::Input(_, Cause::Packet { prio, .. }), Some(p)) = (&mut call, peeked) {
            *prio = p.prio;
        }
        let rec = matches!(&self.recorder, Some((r, _)) if *r == n);
        match call {
            Call::Start => {
                let Some(model) = self.models.get(&(n, self.nodes[n].config)).cloned() else {
                    return;
                };
                let node = &mut self.nodes[n];
                let infos = node.infos();
                if rec {
                    let def = &self.sc.configs[node.config];
                    if let Some((_, r)) = self.recorder.as_mut() {
                        r.start(
                            t,
                            std::path::Path::new(&def.origin),
                            Some(&node.name),
                            &def.text,
                            &infos,
                        );
                    }
                }
                match VrrpService::new(&model, &infos, t, &mut node.env) {
                    Ok(s) => {
                        node.svc = Some(s);
                        node.run = Run::Running;
                        node.stale = false;
                        node.incarnation += 1;
                    }
                    Err(e) => {
                        let msg = format!("VRRP not started: {e}");
                        self.violation(Some(n), msg);
                        return;
                    }
                }
                cause = Cause::Start;
                self.rebuild_node(n, &BTreeMap::new());
            }
            Call::Reload(model) => {
                let node = &mut self.nodes[n];
                let Some(s) = node.svc.as_mut() else { return };
                let old: BTreeMap<String, Shadow> = s
                    .router()
                    .instances()
                    .iter()
                    .zip(node.shadow.iter())
                    .map(|(i, sh)| (i.name().to_string(), sh.clone()))
                    .collect();
                if rec {
                    let def = &self.sc.configs[node.config];
                    if let Some((_, r)) = self.recorder.as_mut() {
                        r.record_reload(t, std::path::Path::new(&def.origin), &def.text);
                    }
                }
                if let Err(e) = s.reload(&model, t, &mut node.env) {
                    let msg = format!("reload failed: {e}");
                    self.violation(Some(n), msg);
                }
                cause = Cause::Text("reload (SIGHUP)".into());
                self.rebuild_node(n, &old);
            }
            Call::Input(input, c) => {
                let Node { svc, env, .. } = &mut self.nodes[n];
                let Some(s) = svc.as_mut() else { return };
                if rec {
                    if let Some((_, r)) = self.recorder.as_mut() {
                        r.record(t, &input);
                    }
                }
                s.handle(t, input, env);
                cause = c;
            }
            Call::Timeout => {
                let Node { svc, env, .. } = &mut self.nodes[n];
                let Some(s) = svc.as_mut() else { return };
                if rec {
                    if let Some((_, r)) = self.recorder.as_mut() {
                        r.record_timeout(t);
                    }
                }
                s.handle_timeout(t, env);
                // DESIGN.md §2: after handle_timeout, poll_timeout is None or later than now.
                if let Some(next) = s.poll_timeout() {
                    if next <= t {
                        let msg = format!(
                            "engine postcondition: poll_timeout {} not after now {} following \
                             handle_timeout",
                            secs(next.as_micros()),
                            secs(enow)
                        );
                        self.violation(Some(n), msg);
                    }
                }
            }
            Call::Shutdown => {
                let Node { svc, env, .. } = &mut self.nodes[n];
                let Some(s) = svc.as_mut() else { return };
                if rec {
                    if let Some((_, r)) = self.recorder.as_mut() {
                        r.record(t, &Input::Shutdown);
                    }
                }
                s.shutdown(t, env);
                cause = Cause::Text("SIGTERM".into());
            }
        }
        if rec {
            if let (Some((_, r)), Some(s)) = (self.recorder.as_mut(), self.nodes[n].svc.as_ref()) {
                r.observe(t, s.router());
            }
        }
        capture::take(&mut self.logs);
        self.after_call(n, local, all, &before, peeked, cause);
        self.scratch_before = before;
    }

    /// Rebuilds node `n`'s dispatch map and shadows after a start or reload (`old`: the
    /// shadows by instance name before a reload), and the world's VRID groups.
    fn rebuild_node(&mut self, n: usize, old: &BTreeMap<String, Shadow>) {
        let node = &mut self.nodes[n];
        node.dispatch.clear();
        node.shadow.clear();
        if let Some(svc) = &node.svc {
            for (i, inst) in svc.router().instances().iter().enumerate() {
                let c = inst.config();
                node.dispatch.push(fam(c.family), c.vrid, i);
                let mut sh = old.get(inst.name()).cloned().unwrap_or_else(Shadow::new);
                // A reload may change every timer: the next advert sets a new basis.
                sh.basis = None;
                node.shadow.push(sh);
            }
        }
        self.nodes[n].bound = self.outbox_bound(n);
        self.rebuild_groups();
    }

    /// The (segment, VRID, family, unicast) groups of every running daemon.
    pub(crate) fn rebuild_groups(&mut self) {
        let mut map: BTreeMap<GroupKey, Vec<(usize, usize)>> = BTreeMap::new();
        for (n, node) in self.nodes.iter_mut().enumerate() {
            for sh in &mut node.shadow {
                sh.group = None;
            }
            let Some(svc) = &node.svc else { continue };
            for (i, inst) in svc.router().instances().iter().enumerate() {
                let c = inst.config();
                let Some(seg) = c
                    .interface
                    .as_deref()
                    .and_then(|name| node.ifaces.iter().find(|x| x.name == name))
                    .map(|x| x.segment)
                else {
                    continue;
                };
                map.entry((seg, c.vrid, fam(c.family), c.is_unicast()))
                    .or_default()
                    .push((n, i));
            }
        }
        self.groups.clear();
        for ((segment, vrid, family, unicast), members) in map {
            let g = self.groups.len();
            for &(n, i) in &members {
                self.nodes[n].shadow[i].group = Some(g);
            }
            self.groups.push(Group {
                segment,
                vrid,
                family,
                unicast,
                members,
            });
        }
        self.dirty = (0..self.groups.len()).collect();
    }

    fn after_call(
        &mut self,
        n: usize,
        local: u64,
        all: bool,
        before: &[(usize, State, Option<Instant>)],
        peeked: Option<Peek>,
        cause: Cause,
    ) {
        // Outbound packets.
        let sent = std::mem::take(&mut self.nodes[n].env.sent);
        for s in &sent {
            self.route(n, s);
        }
        // Kept for `observe` (which instances sent); cleared with the step.
        self.nodes[n].env.sent = sent;
        // Tracking scripts.
        let scripts = std::mem::take(&mut self.nodes[n].env.scripts);
        for (script, prog, timeout_us) in &scripts {
            self.schedule_script(n, *script, prog, *timeout_us);
        }
        // Outbox bound.
        let calls = self.nodes[n].env.calls;
        let bound = self.nodes[n].bound;
        if calls > bound {
            self.violation(
                Some(n),
                format!("unbounded outbox: {calls} actions in one step (bound {bound})"),
            );
        }
        // Trace lines.
        if self.opts.trace && !self.opts.quiet {
            let logs = std::mem::take(&mut self.logs);
            for (lvl, l) in &logs {
                self.line(Some(n), &format!("[{}] {l}", lvl.as_str().to_lowercase()));
            }
            self.logs = logs;
            let notes = std::mem::take(&mut self.nodes[n].env.notes);
            for l in &notes {
                self.line(Some(n), &format!("[env] {l}"));
            }
            let notified = std::mem::take(&mut self.nodes[n].env.notified);
            for nt in &notified {
                self.line(Some(n), &format!("[notify] {}", nt.fifo));
            }
        }
        // Transitions and invariants.
        self.observe(n, local, all, before, peeked, &cause);
        let garps = std::mem::take(&mut self.nodes[n].env.garps);
        for (ifindex, addr) in &garps {
            if self.opts.sabotage.drop_garps {
                break;
            }
            self.obligations.remove(&(n, *ifindex, *addr));
        }
        let quiet_packet = peeked.is_some() && calls == 0;
        self.nodes[n].env.clear_step();
        self.logs.clear();
        if quiet_packet {
            self.rearm_after_packet(n, before);
        } else {
            self.rearm(n);
        }
    }

    /// After a packet that made the daemon do nothing, only the timers of the instances it
    /// was for can have moved (an advert only restarts the receiving instance's timer; a
    /// sync-group move or a GARP burst would have produced actions). So the node's wake-up
    /// moves only if one of them is now earlier; a wake-up left early is spurious and
    /// harmless (the timer event checks `poll_timeout()` before calling the daemon). This
    /// keeps the simulator from asking `poll_timeout()` of a 255-instance router for every
    /// packet.
    fn rearm_after_packet(&mut self, n: usize, before: &[(usize, State, Option<Instant>)]) {
        let node = &self.nodes[n];
        let Some(svc) = &node.svc else {
            return self.rearm(n);
        };
        let mut earliest: Option<u64> = None;
        for &(i, _, _) in before {
            if let Some(d) = svc.router().instance(i).and_then(|x| x.read_timeout()) {
                let d = d.as_micros();
                earliest = Some(earliest.map_or(d, |e: u64| e.min(d)));
            }
        }
        match (earliest, node.timer) {
            (None, _) => {}
            (Some(d), Some((_, armed))) if d >= armed => {}
            (Some(_), _) => self.rearm(n),
        }
    }

    fn outbox_bound(&self, n: usize) -> u64 {
        let Some(svc) = &self.nodes[n].svc else {
            return 64;
        };
        let mut b = 64u64;
        for inst in svc.router().instances() {
            let c = inst.config();
            let addrs = (c.vips.len() + c.evips.len()) as u64;
            let g = &c.garp;
            b += 8
                + c.unicast_peers.len() as u64 * 2
                + (c.routes.len() + c.rules.len()) as u64 * 2
                + addrs
                    * (4 + u64::from(g.master_repeat)
                        + u64::from(g.lower_prio_repeat)
                        + u64::from(g.master_refresh_repeat));
        }
        b + 4 * svc.router().sync_groups().len() as u64
    }

    fn schedule_script(&mut self, n: usize, script: ScriptId, prog: &str, timeout_us: u64) {
        let name = self.nodes[n]
            .svc
            .as_ref()
            .and_then(|s| s.model().vrrp.vrrp_scripts.get(script.0 as usize))
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let default = if prog.rsplit('/').next() == Some("false") {
            ScriptMode::Fail
        } else {
            ScriptMode::Ok
        };
        let mode = self.nodes[n].scripts.get(&name).copied().unwrap_or(default);
        let timeout = timeout_us.max(1);
        let (after, ok) = match mode {
            ScriptMode::Ok => (self.nodes[n].rng.range(100, 20_000).min(timeout), true),
            ScriptMode::Fail => (self.nodes[n].rng.range(100, 20_000).min(timeout), false),
            ScriptMode::Hang => (timeout, false),
        };
        let incarnation = self.nodes[n].incarnation;
        self.push(
            self.now + after,
            Ev::ScriptDone {
                node: n,
                incarnation,
                script,
                ok,
            },
        );
    }

    // ------------------------------------------------------------------ network

    fn route(&mut self, from: usize, s: &Sent) {
        let node = &self.nodes[from];
        // The sending interface (unicast instances without one: any that reaches dst).
        let src_if = if s.ifindex == 0 {
            node.ifaces.iter().position(|i| {
                self.seg_members[i.segment]
                    .iter()
                    .any(|&(m, j)| m != from && self.nodes[m].ifaces[j].has(s.dst))
            })
        } else {
            node.ifaces.iter().position(|i| i.ifindex == s.ifindex)
        };
        let Some(si) = src_if else { return };
        if !node.ifaces[si].up {
            return;
        }
        let seg = node.ifaces[si].segment;
        let multicast = s.dst.is_multicast();
        let payload: Rc<[u8]> = Rc::clone(&s.bytes);
        let members = std::mem::take(&mut self.seg_members[seg]);
        for &(to, j) in &members {
            if to == from {
                continue;
            }
            let ti = &self.nodes[to].ifaces[j];
            if !ti.up || (!multicast && !ti.has(s.dst)) {
                continue;
            }
            if self.nodes[to].run == Run::Down {
                continue;
            }
            let d = Delivery {
                from,
                to,
                ifindex: ti.ifindex,
                src: s.src,
                dst: s.dst,
                ttl: s.ttl,
                payload: Rc::clone(&payload),
                bfd: None,
            };
            // What `transmit` does on a link without faults, without a jitter draw.
            if self.sc.jitter_us == 0 && self.links[from * self.nodes.len() + to].clean() {
                self.push_delivery(self.now + self.sc.latency_us, d);
            } else {
                self.transmit(d);
            }
        }
        self.seg_members[seg] = members;
    }

    pub(crate) fn transmit(&mut self, d: Delivery) {
        let n = self.nodes.len();
        let li = d.from * n + d.to;
        let link = &self.links[li];
        let trace = self.opts.trace;
        if link.blocked {
            if trace {
                let m = format!(
                    "[net] {} -> {}: dropped (partition)",
                    d.src, self.nodes[d.to].name
                );
                self.line(Some(d.from), &m);
            }
            return;
        }
        if self.netrng.chance_ppm(link.loss) {
            if trace {
                let m = format!("[net] {} -> {}: lost", d.src, self.nodes[d.to].name);
                self.line(Some(d.from), &m);
            }
            return;
        }
        if self.netrng.chance_ppm(link.dup) {
            if trace {
                let m = format!("[net] {} -> {}: duplicated", d.src, self.nodes[d.to].name);
                self.line(Some(d.from), &m);
            }
            self.send_copy(li, d.clone());
        }
        self.send_copy(li, d);
    }

    /// One copy on its way: corruption, delay, reordering, or held by a clog.
    fn send_copy(&mut self, li: usize, mut d: Delivery) {
        let link = &self.links[li];
        let (corrupt, reorder, reorder_max, delay, clogged) = (
            link.corrupt,
            link.reorder,
            link.reorder_max,
            link.delay,
            link.clogged,
        );
        if self.netrng.chance_ppm(corrupt) && !d.payload.is_empty() {
            let byte = self.netrng.below(d.payload.len() as u64) as usize;
            let bit = self.netrng.below(8);
            let mut bytes = d.payload.to_vec();
            bytes[byte] ^= 1 << bit;
            d.payload = bytes.into();
            if self.opts.trace {
                let m = format!(
                    "[net] {} -> {}: corrupted byte {byte}",
                    d.src, self.nodes[d.to].name
                );
                self.line(Some(d.from), &m);
            }
        }
        let mut at = self.now + self.sc.latency_us + delay;
        if self.sc.jitter_us > 0 {
            at += self.netrng.below(self.sc.jitter_us + 1);
        }
        if self.netrng.chance_ppm(reorder) {
            at += self.netrng.below(reorder_max + 1);
        }
        if clogged {
            if self.links[li].held.len() < 10_000 {
                self.links[li].held.push(d);
            }
        } else {
            self.push_delivery(at, d);
        }
    }

    pub(crate) fn impaired(&self) -> bool {
        self.links.iter().any(Link::impairing) || self.nodes.iter().any(|n| n.run == Run::Paused)
    }

    /// The longest extra delay packets may currently get.
    fn extra_delay(&self) -> u64 {
        self.links
            .iter()
            .map(|l| l.delay + if l.reorder > 0 { l.reorder_max } else { 0 })
            .max()
            .unwrap_or(0)
    }

    fn release(&mut self, li: usize) {
        let held = std::mem::take(&mut self.links[li].held);
        for d in held {
            let at = self.now + self.sc.latency_us;
            self.push_delivery(at, d);
        }
    }

    fn each_link(&mut self, sel: &LinkSel, f: impl Fn(&mut Link)) -> Vec<usize> {
        let n = self.nodes.len();
        let mut hit = Vec::new();
        for a in 0..n {
            for b in 0..n {
                if a != b && sel.matches(a, b) {
                    f(&mut self.links[a * n + b]);
                    hit.push(a * n + b);
                }
            }
        }
        hit
    }

    // ------------------------------------------------------------------ events

    fn deliver(&mut self, d: Delivery) {
        self.deliveries += 1;
        let to = d.to;
        if self.deaf == Some(to) {
            return;
        }
        if let Some(ports) = d.bfd {
            return self.bfd_deliver(d, ports);
        }
        if self.opts.trace {
            let m = match peek(d.src, &d.payload) {
                Some(p) => format!(
                    "[rx] advert from {} to {} vrid {} priority {}",
                    d.src, d.dst, p.vrid, p.prio
                ),
                None => format!("[rx] undecodable packet from {}", d.src),
            };
            self.line(Some(to), &m);
        }
        let input = Input::Packet {
            ifindex: d.ifindex,
            src: d.src,
            dst: d.dst,
            ttl: d.ttl,
            payload: d.payload.to_vec(),
        };
        match self.nodes[to].run {
            Run::Running => self.call(
                to,
                Call::Input(
                    input,
                    // `call` reads the priority when it peeks into the packet.
                    Cause::Packet {
                        src: d.src,
                        prio: 0,
                    },
                ),
            ),
            Run::Paused => {
                // The socket buffer holds a few hundred adverts; the rest is dropped.
                let packets = self.nodes[to]
                    .backlog
                    .iter()
                    .filter(|i| matches!(i, Input::Packet { .. }))
                    .count();
                if packets < 256 {
                    self.nodes[to].backlog.push_back(input);
                }
            }
            Run::Down => {}
        }
    }

    /// A non-packet input for node `n` (queued while it is paused).
    fn input(&mut self, n: usize, input: Input, cause: &str) {
        match self.nodes[n].run {
            Run::Running => self.call(n, Call::Input(input, Cause::Text(cause.to_string()))),
            Run::Paused => self.nodes[n].backlog.push_back(input),
            Run::Down => {}
        }
    }

    fn model_for(&mut self, n: usize) -> bool {
        let c = self.nodes[n].config;
        if self.models.contains_key(&(n, c)) {
            return true;
        }
        let names: Vec<String> = self.nodes[n]
            .ifaces
            .iter()
            .map(|i| i.name.clone())
            .collect();
        let seed = self.nodes[n].rng.next_u64();
        match load_config(&self.sc.configs[c], Some(&self.nodes[n].name), &names, seed) {
            Ok((cfg, diags)) => {
                for d in diags {
                    if self.opts.trace || !(d.starts_with("(warning)") || d.starts_with("(note)")) {
                        for l in d.lines() {
                            self.line(Some(n), &format!("config: {l}"));
                        }
                    }
                }
                self.models.insert((n, c), cfg);
                true
            }
            Err(e) => {
                self.violation(Some(n), format!("configuration rejected:\n{e}"));
                false
            }
        }
    }

    pub(crate) fn start_node(&mut self, n: usize) {
        if self.nodes[n].run != Run::Down {
            return;
        }
        if !self.model_for(n) {
            return;
        }
        self.call(n, Call::Start);
        // The daemon's order: VRRP, the checker side, BFD.
        self.lvs_start(n);
        self.bfd_start(n);
    }

    /// The daemon is gone. `keep_addresses`: killed, not powered off.
    fn take_down(&mut self, n: usize, keep_addresses: bool) {
        let node = &mut self.nodes[n];
        node.svc = None;
        node.run = Run::Down;
        node.backlog.clear();
        node.incarnation += 1;
        node.stale = keep_addresses && !node.env.addrs.is_empty();
        if !keep_addresses {
            node.env.addrs.clear();
            node.env.routes.clear();
            node.env.rules.clear();
        }
        node.shadow.clear();
        node.dispatch.clear();
        self.bfd_gone(n);
        self.lvs_gone(n);
        self.obligations.retain(|(m, _, _), _| *m != n);
        self.rearm(n);
        self.rebuild_groups();
    }

    fn stop_node(&mut self, n: usize) {
        if self.nodes[n].run == Run::Paused {
            self.resume(n);
        }
        if self.nodes[n].run != Run::Running {
            return;
        }
        self.call(n, Call::Shutdown);
        self.bfd_shutdown(n);
        self.lvs_shutdown(n);
        if let Some(svc) = &self.nodes[n].svc {
            let left: Vec<String> = self.nodes[n]
                .env
                .addrs
                .keys()
                .filter(|(_, a)| {
                    svc.router()
                        .instances()
                        .iter()
                        .any(|i| i.config().vips.iter().any(|v| v.addr == *a))
                })
                .map(|(_, a)| a.to_string())
                .collect();
            if !left.is_empty() {
                let m = format!(
                    "VIPs left installed after the orderly stop: {}",
                    left.join(" ")
                );
                self.violation(Some(n), m);
            }
        }
        self.take_down(n, false);
    }

    fn pause(&mut self, n: usize) {
        if self.nodes[n].run == Run::Running {
            self.nodes[n].run = Run::Paused;
            self.obligations.retain(|(m, _, _), _| *m != n);
        }
    }

    /// SIGCONT: the backlog and the late timers, in an order drawn from the node's stream.
    fn resume(&mut self, n: usize) {
        if self.nodes[n].run != Run::Paused {
            return;
        }
        self.nodes[n].run = Run::Running;
        let timers_first = self.nodes[n].rng.chance(1, 2);
        let due = |w: &World<'_>| {
            let node = &w.nodes[n];
            node.svc
                .as_ref()
                .and_then(|s| s.poll_timeout())
                .is_some_and(|t| t.as_micros() <= node.local(w.now).max(node.floor))
        };
        if timers_first && due(self) {
            self.call(n, Call::Timeout);
        }
        // One input at a time: what is still queued stays visible to the checks.
        while let Some(input) = self.nodes[n].backlog.pop_front() {
            if self.nodes[n].run != Run::Running {
                self.nodes[n].backlog.clear();
                break;
            }
            let cause = match &input {
                Input::Packet { src, payload, .. } => Cause::Packet {
                    src: *src,
                    prio: peek(*src, payload).map_or(0, |p| p.prio),
                },
                _ => Cause::Text("queued input".into()),
            };
            self.call(n, Call::Input(input, cause));
        }
        if due(self) {
            self.call(n, Call::Timeout);
        }
        self.rearm(n);
        self.bfd_resume(n);
    }

    fn set_link(&mut self, n: usize, ifname: &str, up: bool) {
        let Some(j) = self.nodes[n].ifaces.iter().position(|i| i.name == ifname) else {
            return;
        };
        if self.nodes[n].ifaces[j].up == up {
            return;
        }
        self.nodes[n].ifaces[j].up = up;
        let info = self.nodes[n].ifaces[j].info();
        let what = format!("link {ifname} {}", if up { "up" } else { "down" });
        self.input(n, Input::Interface(info), &what);
    }

    fn remove_address(&mut self, n: usize, addr: IpAddr) {
        let key = self.nodes[n]
            .env
            .addrs
            .keys()
            .find(|(_, a)| *a == addr)
            .copied();
        match key {
            Some(k) => {
                self.nodes[n].env.addrs.remove(&k);
                self.input(
                    n,
                    Input::AddressDeleted { ifindex: k.0, addr },
                    &format!("address {addr} deleted"),
                );
            }
            None => {
                let m = format!("(address {addr} is not installed: nothing removed)");
                self.line(Some(n), &m);
            }
        }
    }

    fn reload(&mut self, n: usize, config: usize) {
        self.nodes[n].config = config;
        if self.nodes[n].run == Run::Down {
            return;
        }
        if self.nodes[n].run == Run::Paused {
            self.resume(n);
        }
        if !self.model_for(n) {
            return;
        }
        let Some(model) = self.models.get(&(n, config)).cloned() else {
            return;
        };
        self.call(n, Call::Reload(Box::new(model)));
        self.lvs_reload(n);
        self.bfd_reload(n);
    }

    /// Marks a disturbance: the quiet window starts again (once nothing is impaired).
    pub(crate) fn disturb(&mut self) {
        self.window.disturbed_at = self.now;
        self.window.open = false;
        self.window.gen += 1;
        if !self.impaired() {
            self.window.len = self.window_len();
            let gen = self.window.gen;
            self.push(self.now + self.window.len, Ev::Window(gen));
        }
    }

    fn apply(&mut self, idx: usize) {
        let timed = &self.sc.timeline[idx];
        let action = timed.action.clone();
        let text = timed.text.clone();
        if let Action::Expect(pred, mode) = action {
            self.expect(text, pred, mode);
            return;
        }
        if let Action::Note(t) = &action {
            self.line(None, &format!("-- {t}"));
            return;
        }
        self.line(None, &format!(">> {text}"));
        match action {
            Action::Crash(n) => {
                self.take_down(n, false);
                // A power loss: the kernel's IPVS table is gone too (a killed daemon
                // leaves it behind).
                self.lvs_power_loss(n);
            }
            Action::Kill(n) => self.take_down(n, true),
            Action::Stop(n) => self.stop_node(n),
            Action::Start(n) => self.start_node(n),
            Action::Restart(n) => {
                self.stop_node(n);
                self.start_node(n);
            }
            Action::Pause(n) => self.pause(n),
            Action::Resume(n) => self.resume(n),
            Action::Link { node, iface, up } => self.set_link(node, &iface, up),
            Action::Partition(groups) => {
                let n = self.nodes.len();
                for (x, gx) in groups.iter().enumerate() {
                    for (y, gy) in groups.iter().enumerate() {
                        if x != y {
                            for &a in gx {
                                for &b in gy {
                                    if a != b {
                                        self.links[a * n + b].blocked = true;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Action::OneWay { from, to } => {
                let sel = LinkSel {
                    from: Some(from),
                    to: Some(to),
                    both: false,
                };
                self.each_link(&sel, |l| l.blocked = true);
            }
            Action::Impair(imp, sel) => {
                self.each_link(&sel, |l| match imp {
                    Impair::Loss(p) => l.loss = p,
                    Impair::Duplicate(p) => l.dup = p,
                    Impair::Corrupt(p) => l.corrupt = p,
                    Impair::Reorder(p, m) => {
                        l.reorder = p;
                        l.reorder_max = m;
                    }
                    Impair::Delay(d) => l.delay = d,
                });
            }
            Action::Clog(sel) => {
                self.each_link(&sel, |l| l.clogged = true);
            }
            Action::Unclog(sel) => {
                for li in self.each_link(&sel, |l| l.clogged = false) {
                    self.release(li);
                }
            }
            Action::Heal => self.heal_network(),
            Action::Script { node, script, mode } => {
                self.nodes[node].scripts.insert(script, mode);
            }
            Action::RemoveAddress { node, addr } => self.remove_address(node, addr),
            Action::Reload { node, config } => self.reload(node, config),
            Action::Expect(..) | Action::Note(_) => {}
        }
        if self.opts.trace {
            let links = self.describe_links();
            if !links.is_empty() {
                self.line(None, &format!("-- network: {links}"));
            }
        }
        self.disturb();
    }

    fn heal_network(&mut self) {
        for li in 0..self.links.len() {
            let held = std::mem::take(&mut self.links[li].held);
            self.links[li] = Link {
                held,
                ..Link::default()
            };
            self.release(li);
        }
    }

    /// Phase two: heal everything, then require convergence.
    fn heal(&mut self) {
        self.healed = true;
        self.heal_at = self.now;
        self.line(
            None,
            "== heal: network healed, paused nodes resumed, links up, daemons started, scripts \
             back to their defaults",
        );
        self.heal_network();
        for n in 0..self.nodes.len() {
            self.nodes[n].scripts.clear();
            if self.nodes[n].run == Run::Paused {
                self.resume(n);
            }
            let down: Vec<String> = self.nodes[n]
                .ifaces
                .iter()
                .filter(|i| !i.up)
                .map(|i| i.name.clone())
                .collect();
            for i in down {
                self.set_link(n, &i, true);
            }
            if self.nodes[n].run == Run::Down {
                self.start_node(n);
            }
        }
        self.disturb();
        let len = self.window_len();
        let settle = self.sc.settle_us.unwrap_or(len + 3 * self.max_adv());
        self.end_at = self.now + settle.max(len + 1);
        let m = format!(
            "== convergence required within {} (master-down interval + one advert + margins); \
             run until {}",
            dur(len),
            secs(self.end_at)
        );
        self.line(None, &m);
        self.push(self.end_at, Ev::End);
    }

    pub(crate) fn max_adv(&self) -> u64 {
        self.nodes
            .iter()
            .filter_map(|n| n.svc.as_ref())
            .flat_map(|s| s.router().instances().iter())
            .map(|i| i.config().adver_int_us)
            .max()
            .unwrap_or(1_000_000)
    }

    /// How long things must be quiet before one MASTER per group is required: the longest
    /// master-down interval plus one advert, the longest preempt delay, the time tracking
    /// scripts need to settle, the startup delay and the network's delays.
    pub(crate) fn window_len(&self) -> u64 {
        let mut adv = 0u64;
        let mut preempt = 0u64;
        let mut scripts = 0u64;
        let mut startup = 0u64;
        for node in &self.nodes {
            let Some(svc) = &node.svc else { continue };
            for inst in svc.router().instances() {
                let c = inst.config();
                adv = adv.max(c.adver_int_us.max(inst.master_adver_int_us()));
                preempt = preempt.max(c.preempt_delay_us);
            }
            let m = svc.model();
            for s in &m.vrrp.vrrp_scripts {
                let period = s.interval_us.max(s.timeout_us).max(1);
                scripts = scripts
                    .max(period * (u64::from(s.rise.max(s.fall)) + 1) + s.timeout_us + 20_000);
            }
            startup = startup.max(m.global.vrrp.startup_delay_us);
        }
        if adv == 0 {
            adv = 1_000_000;
        }
        // Master_Down_Interval = 3 × interval + skew (skew < one interval), plus one advert.
        let mdi = 4 * adv;
        let net = self.sc.latency_us + self.sc.jitter_us + self.extra_delay();
        // With a preempt delay the chain can be: a lower-priority node times out and becomes
        // MASTER; the higher one hears it, waits out the delay, then its own master-down
        // interval.
        let preempt_chain = if preempt > 0 {
            preempt + mdi + adv + net
        } else {
            0
        };
        mdi + adv + net + preempt_chain + scripts + startup + net + 1_000 + self.bfd_settle_us()
    }

    /// Runs the scenario to the end.
    pub fn run(mut self) -> Outcome {
        self.header();
        for idx in 0..self.sc.timeline.len() {
            let at = self.sc.timeline[idx].at_us;
            self.push(at, Ev::Action(idx));
        }
        for n in 0..self.nodes.len() {
            self.start_node(n);
        }
        self.disturb();
        let heal_at = self.sc.fault_phase_us();
        self.push(heal_at, Ev::Heal);
        let mut ended = false;
        while let Some(Queued { key, ev }) = self.pop() {
            let at = key.0;
            if let Ev::Timer(n) = ev {
                if self.nodes[n].timer.map(|(k, _)| k) != Some(key) {
                    continue;
                }
            }
            if !self.violations.is_empty() {
                break;
            }
            self.now = at;
            self.steps += 1;
            if self.steps > self.opts.max_steps {
                let m = format!("step bound {} exceeded", self.opts.max_steps);
                self.violation(None, m);
                break;
            }
            match ev {
                Ev::Timer(n) => {
                    self.nodes[n].timer = None;
                    // The wake-up may be early (see rearm_after_packet): ask the daemon.
                    let node = &self.nodes[n];
                    let due = node
                        .svc
                        .as_ref()
                        .and_then(|s| s.poll_timeout())
                        .filter(|d| {
                            d.as_micros()
                                <= node.local(self.now).max(node.floor) + self.opts.broken_timer_us
                        });
                    let Some(deadline) = due else {
                        self.rearm(n);
                        self.after_step();
                        continue;
                    };
                    if self.opts.broken_timer_us > 0 {
                        // The broken driver tells the engine its deadline has come.
                        let node = &mut self.nodes[n];
                        node.floor = node.floor.max(deadline.as_micros());
                    }
                    match self.nodes[n].run {
                        Run::Running => self.call(n, Call::Timeout),
                        // Frozen: the timer is late; `resume` runs it.
                        Run::Paused => {}
                        Run::Down => {}
                    }
                }
                Ev::Deliver(k) => {
                    let d = self.slab[k as usize].take();
                    self.slab_free.push(k);
                    if let Some(d) = d {
                        self.deliver(d);
                    }
                }
                Ev::ScriptDone {
                    node,
                    incarnation,
                    script,
                    ok,
                } => {
                    if self.nodes[node].incarnation == incarnation {
                        let what = format!("script result {}", if ok { "ok" } else { "fail" });
                        self.input(node, Input::ScriptResult { script, ok }, &what);
                    }
                }
                Ev::BfdTimer(n) => self.bfd_timer(n, key),
                Ev::Action(idx) => self.apply(idx),
                Ev::ExpectEnd(k) => self.expect_end(k),
                Ev::Window(gen) => {
                    if gen == self.window.gen && !self.impaired() {
                        self.window.open = true;
                        self.bfd_window_opened();
                        self.lvs_window_opened();
                        if self.healed && self.converged_at.is_none() {
                            self.converged_at = Some(self.last_transition_at.max(self.heal_at));
                        }
                        if self.opts.trace {
                            let m = format!(
                                "-- quiet for {}: one right MASTER per VRID required from now",
                                dur(self.window.len)
                            );
                            self.line(None, &m);
                        }
                        self.dirty = (0..self.groups.len()).collect();
                    }
                }
                Ev::Heal => self.heal(),
                Ev::End => {
                    ended = true;
                    break;
                }
            }
            self.after_step();
        }
        if ended {
            self.finish();
        }
        self.verdict()
    }

    fn finish(&mut self) {
        let pending: Vec<usize> = (0..self.expects.len())
            .filter(|&k| self.expects[k].open)
            .collect();
        for k in pending {
            self.expect_end(k);
        }
        if self.violations.is_empty() && !self.window.open {
            let m = format!(
                "did not converge: no quiet window of {} after the heal at {}",
                dur(self.window_len()),
                secs(self.heal_at)
            );
            self.violation(None, m);
        }
    }

    fn verdict(mut self) -> Outcome {
        let passed = self.violations.is_empty() && self.expect_failed == 0;
        let expects = self.expect_met + self.expect_failed;
        if passed {
            let _ = writeln!(
                self.out,
                "verdict: PASS  {} transitions, {}/{} expectations met, settled {} after the \
                 heal (bound {}), {} steps, {} simulated",
                self.transitions,
                self.expect_met,
                expects,
                self.converged_at
                    .map_or("-".into(), |t| dur(t - self.heal_at)),
                dur(self.window.len),
                self.steps,
                secs(self.now)
            );
        } else {
            let _ = writeln!(
                self.out,
                "verdict: FAIL  {} violation(s), {}/{} expectations met",
                self.violations.len(),
                self.expect_met,
                expects
            );
            for v in &self.violations {
                let _ = writeln!(self.out, "  {v}");
            }
            if !self.opts.reproduce.is_empty() {
                let _ = writeln!(self.out, "reproduce: {}", self.opts.reproduce);
            }
        }
        let hash = fnv1a(self.out.as_bytes());
        let _ = writeln!(self.out, "trace hash: {hash:016x}");
        let recording = self
            .recorder
            .take()
            .map(|(_, r)| String::from_utf8_lossy(&r.into_inner()).into_owned());
        Outcome {
            passed,
            output: self.out,
            violations: self.violations,
            transitions: self.transitions,
            steps: self.steps,
            deliveries: self.deliveries,
            simulated_us: self.now,
            hash,
            recording,
        }
    }

    /// A short description of the network state (for `--trace` and summaries).
    pub fn describe_links(&self) -> String {
        let n = self.nodes.len();
        let mut parts = Vec::new();
        for a in 0..n {
            for b in 0..n {
                let l = &self.links[a * n + b];
                if a == b || !(l.impairing() || l.dup > 0 || l.reorder > 0 || l.delay > 0) {
                    continue;
                }
                let mut s = format!("{}->{}:", self.nodes[a].name, self.nodes[b].name);
                if l.blocked {
                    s.push_str(" blocked");
                }
                if l.clogged {
                    s.push_str(" clogged");
                }
                for (name, v) in [("loss", l.loss), ("dup", l.dup), ("corrupt", l.corrupt)] {
                    if v > 0 {
                        let _ = write!(s, " {name} {}", pct(v));
                    }
                }
                parts.push(s);
            }
        }
        parts.join(", ")
    }
}

/// FNV-1a, 64 bits: the trace hash.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
