//! The checker side in the simulator: each node whose configuration has virtual servers
//! runs the production [`Healthcheckers`] (the IPVS desired-state engine and the checkers
//! that feed it), as the daemon's `lvs` module does, and its operations go to a fake IPVS
//! table of the node's kernel ([`FakeIpvs`]).
//!
//! * Life: built and started when the daemon starts (after the VRRP side, before BFD, the
//!   daemon's order), told of every BFD event with `to_checker` in the same step the
//!   session changed (before VRRP hears it, as the daemon's BFD loop does), reloaded on
//!   SIGHUP, shut down on SIGTERM (`lvs_flush_on_stop all` flushes instead). `lvs_flush`
//!   flushes the table at start.
//! * The fake kernel refuses what IPVS refuses: adding a service or destination that is
//!   there (EEXIST), editing or deleting a service that is not, or adding a destination to
//!   it (ESRCH), editing or deleting a destination that is not there (ENOENT), a scheduler
//!   the kernel does not know (ENOENT). A refusal is logged with the daemon's words
//!   (`IPVS: add IPVS service TCP 192.0.2.100:80: File exists (os error 17)`) and, as the
//!   daemon does, an `AddService` or `AddDest` refused with EEXIST is retried as
//!   `EditService` or `EditDest` (what a killed run left is made to match).
//! * Crashes: a killed daemon (`kill`: keepalived dies, the kernel stays) leaves its table
//!   in the kernel, and the next start's operations are applied on top of it: the entries
//!   left behind are *leftovers* until this run's engine touches them (edits, re-adds or
//!   deletes them). A power loss (`crash`) empties the table, as it empties the address
//!   tables.
//! * Invariants, after every step of the checker side:
//!   - the engine never sends an operation the kernel refuses, unless the refusal is about
//!     a leftover (EEXIST when it adds what a killed run left: logged, not a failure);
//!   - the table, leftovers aside, is what an independent model of the checker side wants
//!     ([`Model`]: the configuration, the BFD events the checkers were told, keepalived's
//!     rules for alpha, inhibit_on_failure, quorum with hysteresis and the sorry server,
//!     reload migration), so the operations leave the kernel where the engine means it to
//!     be;
//!   - IPVS converges: once the network has been quiet for the window of the VRRP and
//!     BFD invariants (every session whose ends run and reach each other is then Up),
//!     every real server's health is what its BFD sessions say: a BFD_CHECK following an
//!     Up session is up, one following a session that is not Up is down, except where
//!     keepalived's checkers are never told (a session started by the daemon or a reload
//!     tells them Down; one that already ran when the checker started and has not come Up
//!     since leaves it in its start state, up unless `alpha`; a session taken
//!     down by the neighbour's AdminDown, or with `bfd_instance ... vrrp` only, says
//!     nothing); with the table equal to the model, each real server is then in its
//!     service at its weight, absent, or at weight 0 with inhibit_on_failure, as the
//!     quorum and the sorry server decide.
//! * Timeline: the engine's lines in keepalived's words (`check: Removing service
//!   [192.0.2.2]:tcp:80 from VS [192.0.2.100]:tcp:80`), with `--trace` every table
//!   operation (`[ipvs] add IPVS destination ...`) and the notify FIFO lines.

use crate::capture;
use crate::units::dur;
use crate::world::{Run, World};
use keepalived_rs::bfd::State as BfdState;
use keepalived_rs::check::Healthcheckers;
use keepalived_rs::config::model::global::LvsFlushOnStop;
use keepalived_rs::config::model::lvs::{
    CheckerKind, ConnOpts, LvsConfig, RealServer, VirtualServer,
};
use keepalived_rs::lvs::build::{self, ServiceEntry, VsKey, SORRY_SERVER_WEIGHT};
use keepalived_rs::lvs::kernel::{apply_ops, Applied, IpvsKernel};
use keepalived_rs::lvs::{Dest, DestKey, IpvsOp, LvsOptions, Output, Service, ServiceKey};
use keepalived_rs::os::ipvs::{describe, dest_name, service_name};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

/// One service and its destinations, as the kernel holds them.
pub type Table = BTreeMap<ServiceKey, (Service, BTreeMap<DestKey, Dest>)>;

/// Why the kernel refused an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// EEXIST: the service or destination is already there.
    Exists,
    /// ESRCH: no such service.
    NoService,
    /// ENOENT: no such destination, or an unknown scheduler.
    NoEntry,
}

impl fmt::Display for Refusal {
    /// As `io::Error` renders the errno on Linux (the daemon's log line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Exists => "File exists (os error 17)",
            Refusal::NoService => "No such process (os error 3)",
            Refusal::NoEntry => "No such file or directory (os error 2)",
        })
    }
}

/// The schedulers of a stock kernel's IPVS.
const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// A node's kernel IPVS table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeIpvs {
    pub table: Table,
    /// Operations carried out.
    pub applied: u64,
    /// Operations refused.
    pub refused: u64,
}

impl FakeIpvs {
    /// Carries out `op` as the kernel would, or refuses it with the kernel's errno.
    pub fn apply(&mut self, op: &IpvsOp) -> Result<(), Refusal> {
        let r = self.apply_inner(op);
        match r {
            Ok(()) => self.applied += 1,
            Err(_) => self.refused += 1,
        }
        r
    }

    fn apply_inner(&mut self, op: &IpvsOp) -> Result<(), Refusal> {
        use std::collections::btree_map::Entry;
        match op {
            IpvsOp::AddService(s) => {
                if !SCHEDULERS.contains(&s.scheduler.as_str()) {
                    return Err(Refusal::NoEntry);
                }
                match self.table.entry(s.key) {
                    Entry::Occupied(_) => Err(Refusal::Exists),
                    Entry::Vacant(e) => {
                        e.insert((s.clone(), BTreeMap::new()));
                        Ok(())
                    }
                }
            }
            IpvsOp::EditService(s) => {
                let (svc, _) = self.table.get_mut(&s.key).ok_or(Refusal::NoService)?;
                if !SCHEDULERS.contains(&s.scheduler.as_str()) {
                    return Err(Refusal::NoEntry);
                }
                *svc = s.clone();
                Ok(())
            }
            IpvsOp::DelService(k) => self.table.remove(k).map(|_| ()).ok_or(Refusal::NoService),
            IpvsOp::AddDest(k, d) => {
                let (_, dests) = self.table.get_mut(k).ok_or(Refusal::NoService)?;
                match dests.entry(d.key) {
                    Entry::Occupied(_) => Err(Refusal::Exists),
                    Entry::Vacant(e) => {
                        e.insert(d.clone());
                        Ok(())
                    }
                }
            }
            IpvsOp::EditDest(k, d) => {
                let (_, dests) = self.table.get_mut(k).ok_or(Refusal::NoService)?;
                let cur = dests.get_mut(&d.key).ok_or(Refusal::NoEntry)?;
                *cur = d.clone();
                Ok(())
            }
            IpvsOp::DelDest(k, dk) => {
                let (_, dests) = self.table.get_mut(k).ok_or(Refusal::NoService)?;
                dests.remove(dk).map(|_| ()).ok_or(Refusal::NoEntry)
            }
        }
    }

    /// `ipvsadm -C`.
    pub fn flush(&mut self) {
        self.table.clear();
    }

    /// Every (service, destination) of the table; `None`: the service itself.
    pub fn entries(&self) -> BTreeSet<(ServiceKey, Option<DestKey>)> {
        let mut s = BTreeSet::new();
        for (k, (_, dests)) in &self.table {
            s.insert((*k, None));
            for d in dests.keys() {
                s.insert((*k, Some(*d)));
            }
        }
        s
    }
}

/// What a trace line adds to an operation: the settings it sets.
fn detail(op: &IpvsOp) -> String {
    match op {
        IpvsOp::AddService(s) | IpvsOp::EditService(s) => format!(" ({})", s.scheduler),
        IpvsOp::AddDest(_, d) | IpvsOp::EditDest(_, d) => format!(" (weight {})", d.weight),
        _ => String::new(),
    }
}

// ------------------------------------------------------------------------------- model

/// One checker as the model sees it.
#[derive(Clone, Debug)]
struct MCheck {
    /// The session a BFD_CHECK follows; `None` for the kinds not implemented yet, which
    /// the checker core ignores (a real server with only those is always alive).
    bfd: Option<String>,
    alpha: bool,
    kind: CheckerKind,
    conn: Option<ConnOpts>,
    up: bool,
    /// When it was created ([`NodeLvs`]'s tick at the start or reload that made it; a
    /// checker a reload carries over keeps its own) and the state it started in.
    born: u64,
    start_up: bool,
}

#[derive(Clone, Debug)]
struct MRs {
    cfg: RealServer,
    checks: Vec<MCheck>,
}

impl MRs {
    /// Every BFD_CHECK up (true without any).
    fn alive(&self) -> bool {
        self.checks.iter().all(|c| c.bfd.is_none() || c.up)
    }
}

#[derive(Clone, Debug)]
struct MVs {
    cfg: VirtualServer,
    key: VsKey,
    services: Vec<ServiceEntry>,
    rss: Vec<MRs>,
    quorum_up: bool,
    /// The sorry server is in at full weight.
    sorry_active: bool,
}

impl MVs {
    /// keepalived's `update_quorum_state`: gained at quorum + hysteresis, lost below
    /// quorum - hysteresis or at 0; at start and reload a virtual server with a sorry
    /// server that lacks its quorum starts with the sorry server in.
    fn update_quorum(&mut self, init: bool) {
        let sum: i64 = self
            .rss
            .iter()
            .filter(|r| r.alive())
            .map(|r| i64::from(r.cfg.weight))
            .sum();
        let q = i64::from(self.cfg.quorum);
        let h = i64::from(self.cfg.hysteresis);
        let has_sorry = self.cfg.sorry_server.is_some();
        if !self.quorum_up {
            if sum >= q + h {
                self.quorum_up = true;
                self.sorry_active = false;
            } else if init && has_sorry {
                self.sorry_active = true;
            }
        } else if sum == 0 || sum < q - h {
            self.quorum_up = false;
            if has_sorry {
                self.sorry_active = true;
            }
        }
    }

    /// This virtual server's destinations in `svc`, into `into` (the first one of a key
    /// wins: a sorry server in at full weight, then the real servers, then an inhibited
    /// sorry server at weight 0).
    fn dests(&self, svc: &ServiceEntry, into: &mut BTreeMap<DestKey, Dest>) {
        let mut put = |d: Option<Dest>| {
            if let Some(d) = d {
                into.entry(d.key).or_insert(d);
            }
        };
        let sorry = self.cfg.sorry_server.as_ref();
        if self.sorry_active {
            if let Some(ss) = sorry {
                put(build::sorry_dest(svc, ss, SORRY_SERVER_WEIGHT));
            }
        }
        for rs in &self.rss {
            let inhibit = rs.cfg.inhibit_on_failure.then_some(0);
            let w = if self.sorry_active {
                inhibit
            } else if rs.alive() {
                Some(rs.cfg.weight)
            } else {
                inhibit
            };
            if let Some(w) = w {
                put(build::rs_dest(svc, &rs.cfg, w));
            }
        }
        if !self.sorry_active {
            if let Some(ss) = sorry.filter(|s| s.inhibit) {
                put(build::sorry_dest(svc, ss, 0));
            }
        }
    }
}

/// An independent model of the checker side (the engine's documented rules, written
/// again; it shares only the configuration-to-kernel-object mapping of `lvs::build`).
#[derive(Clone, Debug, Default)]
pub struct Model {
    vss: Vec<MVs>,
    stopped: bool,
}

fn build_model(cfg: &LvsConfig, born: u64) -> Vec<MVs> {
    cfg.virtual_servers
        .iter()
        .map(|vs| {
            let group = vs.group_name().and_then(|g| cfg.group(g));
            MVs {
                key: VsKey::of(vs),
                services: build::services(vs, group),
                rss: vs
                    .real_servers
                    .iter()
                    .map(|rs| MRs {
                        cfg: rs.clone(),
                        checks: rs
                            .checkers
                            .iter()
                            .map(|c| MCheck {
                                bfd: match &c.kind {
                                    CheckerKind::Bfd(b) => Some(b.name.clone()),
                                    _ => None,
                                },
                                alpha: c.alpha,
                                kind: c.kind.clone(),
                                conn: c.conn.clone(),
                                // An alpha checker starts down, any other up.
                                up: !c.alpha,
                                born,
                                start_up: !c.alpha,
                            })
                            .collect(),
                    })
                    .collect(),
                cfg: vs.clone(),
                quorum_up: false,
                sorry_active: false,
            }
        })
        .collect()
}

impl Model {
    /// The checker side of `cfg`, started at tick `born`.
    pub fn start(cfg: &LvsConfig, born: u64) -> Model {
        let mut m = Model {
            vss: build_model(cfg, born),
            ..Model::default()
        };
        for vs in &mut m.vss {
            vs.update_quorum(true);
        }
        m
    }

    /// Session `name` told the checkers it is Up (`up`) or not.
    pub fn bfd(&mut self, name: &str, up: bool) {
        if self.stopped {
            return;
        }
        for vs in &mut self.vss {
            for r in 0..vs.rss.len() {
                for c in 0..vs.rss[r].checks.len() {
                    if vs.rss[r].checks[c].bfd.as_deref() != Some(name) {
                        continue;
                    }
                    let before = vs.rss[r].alive();
                    vs.rss[r].checks[c].up = up;
                    if vs.rss[r].alive() != before {
                        vs.update_quorum(false);
                    }
                }
            }
        }
    }

    /// SIGHUP: virtual servers matched by key (each old one once) keep their quorum and,
    /// with the same sorry server, its state; real servers matched by address and port
    /// keep their checkers' states (same kind and connection), new checkers of a kept real
    /// server start up unless alpha and the real server was down or has a failed checker;
    /// then every quorum is settled again as at start.
    pub fn reload(&mut self, new: &LvsConfig, born: u64) {
        if self.stopped {
            return;
        }
        let old = std::mem::take(&mut self.vss);
        let mut next = build_model(new, born);
        let mut taken = vec![false; old.len()];
        for nv in &mut next {
            // The checkers find their old real server in the first virtual server of the
            // same key.
            if let Some(ov) = old.iter().find(|o| o.key == nv.key) {
                for nr in &mut nv.rss {
                    let same = |o: &&MRs| o.cfg.addr == nr.cfg.addr && o.cfg.port == nr.cfg.port;
                    if let Some(or) = ov.rss.iter().find(same) {
                        migrate(or, nr);
                    }
                }
            }
            // The virtual server's own state comes from the first unused one.
            if let Some(o) = (0..old.len()).find(|&o| !taken[o] && old[o].key == nv.key) {
                taken[o] = true;
                nv.quorum_up = old[o].quorum_up;
                let same_sorry = match (&old[o].cfg.sorry_server, &nv.cfg.sorry_server) {
                    (Some(a), Some(b)) => a.addr == b.addr && a.port == b.port,
                    _ => false,
                };
                nv.sorry_active = old[o].sorry_active && same_sorry;
            }
        }
        for vs in &mut next {
            vs.update_quorum(true);
        }
        self.vss = next;
    }

    /// SIGTERM: everything leaves the table.
    pub fn shutdown(&mut self) {
        self.stopped = true;
    }

    /// The table the checker side wants: every service of every virtual server (the first
    /// virtual server of a shared service sets its settings), with the destinations of
    /// all of them merged.
    pub fn desired(&self) -> Table {
        let mut t = Table::new();
        if self.stopped {
            return t;
        }
        for vs in &self.vss {
            for svc in &vs.services {
                let (_, dests) = t
                    .entry(svc.key())
                    .or_insert_with(|| (svc.service.clone(), BTreeMap::new()));
                vs.dests(svc, dests);
            }
        }
        t
    }

    /// Whether the checkers of real server `rs` of virtual server `vs` have it alive.
    pub fn rs_alive(&self, vs: usize, rs: usize) -> Option<bool> {
        Some(self.vss.get(vs)?.rss.get(rs)?.alive())
    }
}

/// Carries the checkers' states of `old` over to `new` (a kept real server).
fn migrate(old: &MRs, new: &mut MRs) {
    let old_alive = old.alive();
    let mut used = vec![false; old.checks.len()];
    let mut migrated = vec![false; new.checks.len()];
    for (n, nc) in new.checks.iter_mut().enumerate() {
        let found = old
            .checks
            .iter()
            .enumerate()
            .position(|(o, oc)| !used[o] && oc.kind == nc.kind && oc.conn == nc.conn);
        if let Some(o) = found {
            used[o] = true;
            migrated[n] = true;
            nc.up = old.checks[o].up;
            nc.born = old.checks[o].born;
            nc.start_up = old.checks[o].start_up;
        }
    }
    let failed = new
        .checks
        .iter()
        .zip(&migrated)
        .any(|(c, m)| c.bfd.is_some() && *m && !c.up);
    for (c, m) in new.checks.iter_mut().zip(&migrated) {
        if c.bfd.is_some() && !m {
            c.up = !(c.alpha && (failed || !old_alive));
            c.start_up = c.up;
        }
    }
}

/// The differences between the kernel's table and the one wanted, leftovers aside.
fn differences(
    table: &Table,
    want: &Table,
    leftovers: &BTreeSet<(ServiceKey, Option<DestKey>)>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, (svc, dests)) in want {
        let name = service_name(k);
        let Some((have, have_dests)) = table.get(k) else {
            out.push(format!("service {name} is missing"));
            continue;
        };
        if have != svc && !leftovers.contains(&(*k, None)) {
            out.push(format!(
                "service {name} has scheduler {} flags {:#x} timeout {}, the model wants {} \
                 {:#x} {}",
                have.scheduler, have.flags, have.timeout_s, svc.scheduler, svc.flags, svc.timeout_s
            ));
        }
        for (dk, d) in dests {
            match have_dests.get(dk) {
                None => out.push(format!(
                    "{} is not in {name}, the model wants it at weight {}",
                    dest_name(dk),
                    d.weight
                )),
                Some(h) if h != d => out.push(format!(
                    "{} has weight {} in {name}, the model wants weight {}{}",
                    dest_name(dk),
                    h.weight,
                    d.weight,
                    if h.weight == d.weight {
                        " (other settings differ)"
                    } else {
                        ""
                    }
                )),
                Some(_) => {}
            }
        }
        for (dk, h) in have_dests {
            if !dests.contains_key(dk) && !leftovers.contains(&(*k, Some(*dk))) {
                out.push(format!(
                    "{} is in {name} at weight {}, the model wants it absent",
                    dest_name(dk),
                    h.weight
                ));
            }
        }
    }
    for k in table.keys() {
        if !want.contains_key(k) && !leftovers.contains(&(*k, None)) {
            out.push(format!(
                "service {} is installed, the model wants it absent",
                service_name(k)
            ));
        }
    }
    out
}

// ------------------------------------------------------------------------------- node

/// One node's checker side and its kernel's IPVS table.
#[derive(Default)]
pub(crate) struct NodeLvs {
    hc: Option<Healthcheckers>,
    model: Option<Model>,
    /// The kernel's table: it outlives the daemon (not a power loss).
    pub ipvs: FakeIpvs,
    /// Entries a killed run left that this run has not touched yet.
    leftovers: BTreeSet<(ServiceKey, Option<DestKey>)>,
    out: Output,
    /// Orders the starts, reloads and session changes of the node.
    tick: u64,
    /// What the simulator saw of each BFD session of the node, by name: the tick it last
    /// entered Up or was started (which tells the checkers Down), and whether it then left
    /// Up silently (the neighbour's AdminDown, or its own: the daemon tells its checkers
    /// nothing of those).
    sessions: BTreeMap<String, (u64, bool)>,
}

impl NodeLvs {
    /// Whether the checker side runs.
    pub fn running(&self) -> bool {
        self.hc.is_some()
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Session `name` entered Up (`bfd.rs` reports what it observes).
    pub fn session_up(&mut self, name: &str) {
        let t = self.next_tick();
        self.sessions.insert(name.to_string(), (t, false));
    }

    /// Session `name` was started (by the daemon's start or a reload): the checkers are
    /// told it is Down, as if it had left Up loudly.
    pub fn session_created(&mut self, name: &str) {
        let t = self.next_tick();
        self.sessions.insert(name.to_string(), (t, false));
    }

    /// Session `name` left Up; `silent`: to AdminDown, or on the neighbour's AdminDown.
    pub fn session_left_up(&mut self, name: &str, silent: bool) {
        if let Some(s) = self.sessions.get_mut(name) {
            s.1 = silent;
        }
    }
}

/// What a step of the checker side is.
enum Step<'a> {
    Start,
    Bfd(&'a str, bool),
    Reload,
    Shutdown,
}

impl World<'_> {
    /// The node's configuration, if it asks for the checker side.
    fn lvs_wanted(&self, n: usize) -> Option<&keepalived_rs::config::model::Config> {
        self.models
            .get(&(n, self.nodes[n].config))
            .filter(|m| m.has_lvs())
    }

    /// After the VRRP side started: the checker side starts (the daemon's order).
    pub(crate) fn lvs_start(&mut self, n: usize) {
        if self.nodes[n].run == Run::Running
            && !self.nodes[n].lvs.running()
            && self.lvs_wanted(n).is_some()
        {
            self.lvs_step(n, Step::Start, "daemon started");
        }
    }

    /// A BFD session told the checkers it is Up or not (`to_checker`).
    pub(crate) fn lvs_bfd(&mut self, n: usize, name: &str, up: bool) {
        if self.nodes[n].lvs.running() {
            let cause = format!("BFD {name} {}", if up { "up" } else { "down" });
            self.lvs_step(n, Step::Bfd(name, up), &cause);
        }
    }

    /// SIGHUP, after the VRRP side: started, stopped or reloaded as the new configuration
    /// asks.
    pub(crate) fn lvs_reload(&mut self, n: usize) {
        if self.nodes[n].run != Run::Running {
            return;
        }
        match (self.nodes[n].lvs.running(), self.lvs_wanted(n).is_some()) {
            (false, true) => self.lvs_step(n, Step::Start, "reload (SIGHUP)"),
            (true, false) => {
                self.lvs_step(n, Step::Shutdown, "reload (SIGHUP)");
                self.lvs_gone(n);
            }
            (true, true) => self.lvs_step(n, Step::Reload, "reload (SIGHUP)"),
            (false, false) => {}
        }
    }

    /// SIGTERM, after VRRP and BFD stopped.
    pub(crate) fn lvs_shutdown(&mut self, n: usize) {
        if self.nodes[n].lvs.running() {
            self.lvs_step(n, Step::Shutdown, "SIGTERM");
        }
    }

    /// The daemon is gone; its table stays in the kernel.
    pub(crate) fn lvs_gone(&mut self, n: usize) {
        let l = &mut self.nodes[n].lvs;
        l.hc = None;
        l.model = None;
    }

    /// Power loss: the kernel's table is gone too.
    pub(crate) fn lvs_power_loss(&mut self, n: usize) {
        self.lvs_gone(n);
        let l = &mut self.nodes[n].lvs;
        l.ipvs.flush();
        l.leftovers.clear();
    }

    /// One call into node `n`'s checker side, its operations applied to the kernel's
    /// table, its lines in the timeline, and the invariants.
    fn lvs_step(&mut self, n: usize, step: Step<'_>, cause: &str) {
        capture::clear();
        let mut notes: Vec<String> = Vec::new();
        let mut shutdown_flush = false;
        {
            // The model of the node's configuration and its checker side: two fields of
            // the world, borrowed apart.
            let key = (n, self.nodes[n].config);
            let cfg = self.models.get(&key).filter(|m| m.has_lvs());
            let empty = LvsConfig::default();
            let lvs_cfg = cfg.map_or(&empty, |c| &c.lvs);
            let l = &mut self.nodes[n].lvs;
            let mut out = std::mem::take(&mut l.out);
            out.clear();
            match step {
                Step::Start => {
                    if cfg.is_some_and(|c| c.global.lvs_flush) {
                        l.ipvs.flush();
                        notes.push("IPVS table flushed (lvs_flush)".into());
                    }
                    l.leftovers = l.ipvs.entries();
                    if !l.leftovers.is_empty() {
                        let svcs = l.ipvs.table.len();
                        let dests = l.leftovers.len() - svcs;
                        notes.push(format!(
                            "the kernel's IPVS table still holds {svcs} service(s) and {dests} \
                             destination(s) of the previous run"
                        ));
                    }
                    let opts = LvsOptions {
                        rs_init_notifies: cfg.is_some_and(|c| c.global.rs_init_notifies),
                    };
                    let mut hc = Healthcheckers::new(lvs_cfg, opts);
                    notes.extend(hc.checkers().unimplemented_summary());
                    hc.start(&mut out);
                    l.hc = Some(hc);
                    let born = l.next_tick();
                    l.model = Some(Model::start(lvs_cfg, born));
                }
                Step::Bfd(name, up) => {
                    if let Some(hc) = l.hc.as_mut() {
                        hc.on_bfd_state(name, up, &mut out);
                    }
                    if let Some(m) = l.model.as_mut() {
                        m.bfd(name, up);
                    }
                }
                Step::Reload => {
                    if let Some(hc) = l.hc.as_mut() {
                        hc.reload(lvs_cfg, &mut out);
                    }
                    let born = l.next_tick();
                    if let Some(m) = l.model.as_mut() {
                        m.reload(lvs_cfg, born);
                    }
                }
                Step::Shutdown => {
                    if let Some(hc) = l.hc.as_mut() {
                        hc.shutdown(&mut out);
                    }
                    if let Some(m) = l.model.as_mut() {
                        m.shutdown();
                    }
                    let flush = cfg.and_then(|c| c.global.lvs_flush_on_stop);
                    if flush == Some(LvsFlushOnStop::All) {
                        out.ops.clear();
                        shutdown_flush = true;
                    }
                }
            }
            l.out = out;
        }
        for note in &notes {
            self.line(Some(n), &format!("check: {note}"));
        }
        let mut logs = Vec::new();
        capture::take(&mut logs);
        for (lvl, l) in &logs {
            if *lvl <= log::Level::Info || self.opts.trace {
                let m = if *lvl <= log::Level::Info {
                    format!("check: {l}")
                } else {
                    format!("[{}] {l}", lvl.as_str().to_lowercase())
                };
                self.line(Some(n), &m);
            }
        }
        self.lvs_apply(n, cause);
        if shutdown_flush {
            self.nodes[n].lvs.ipvs.flush();
            self.nodes[n].lvs.leftovers.clear();
            self.line(Some(n), "check: IPVS table flushed (lvs_flush_on_stop)");
        }
        if self.opts.trace && !self.opts.quiet {
            let lines: Vec<String> = self.nodes[n]
                .lvs
                .out
                .events
                .iter()
                .filter_map(|e| e.fifo_line())
                .collect();
            for l in lines {
                self.line(Some(n), &format!("[notify] {}", l.trim_end()));
            }
        }
        self.nodes[n].lvs.out.clear();
        self.lvs_check_model(n);
        if self.window.open {
            self.lvs_check_converged(n);
        }
    }

    /// Hands the step's operations to the kernel through the daemon's own rules
    /// (`lvs::kernel::apply_ops`: EEXIST on an add retried as an edit, a taken-over service
    /// cleared of destinations this run does not want). A refusal is logged, and is a
    /// violation unless it concerns a leftover.
    fn lvs_apply(&mut self, n: usize, cause: &str) {
        let ops = std::mem::take(&mut self.nodes[n].lvs.out.ops);
        // What happened, in order; judged below, where the world can be borrowed again.
        let mut seen: Vec<(IpvsOp, Option<Refusal>, bool)> = Vec::new();
        {
            let l = &mut self.nodes[n].lvs;
            let installed = match &l.hc {
                Some(hc) => hc.lvs().installed().clone(),
                None => BTreeMap::new(),
            };
            let mut kernel = SimKernel {
                ipvs: &mut l.ipvs,
                keep_dests: self.opts.sabotage.keep_ipvs_dests,
            };
            apply_ops(&mut kernel, &ops, &installed, |a| match a {
                Applied::Done { op, .. } => seen.push((op.clone(), None, false)),
                Applied::Refused { op, error, .. } => seen.push((op.clone(), Some(error), false)),
                Applied::Stale { service, dest } => {
                    seen.push((IpvsOp::DelDest(service, dest), None, true))
                }
                Applied::ListFailed { .. } => {}
            });
        }
        for (op, refusal, stale) in seen {
            if self.opts.trace {
                let m = match refusal {
                    None => format!("[ipvs] {}{}", describe(&op), detail(&op)),
                    Some(e) => format!("[ipvs] {}{}: {e}", describe(&op), detail(&op)),
                };
                self.line(Some(n), &m);
            }
            let l = &mut self.nodes[n].lvs;
            let Some(e) = refusal else {
                touch(&mut l.leftovers, &op);
                if let (true, IpvsOp::DelDest(k, d)) = (stale, &op) {
                    let m = format!(
                        "check: IPVS: removing {} left by a previous run from {}",
                        dest_name(d),
                        service_name(k)
                    );
                    self.line(Some(n), &m);
                }
                continue;
            };
            let leftover = match &op {
                IpvsOp::AddService(s) => l.leftovers.contains(&(s.key, None)),
                IpvsOp::AddDest(k, d) => l.leftovers.contains(&(*k, Some(d.key))),
                _ => false,
            } && e == Refusal::Exists;
            let text = format!("{}: {e}", describe(&op));
            if leftover {
                let m = format!("check: IPVS: {text}  (left by the previous run)");
                self.line(Some(n), &m);
            } else {
                self.line(Some(n), &format!("check: IPVS: {text}"));
                let v = format!(
                    "the checker side sent an operation the kernel refuses ({cause}): {text}"
                );
                self.violation(Some(n), v);
            }
        }
        let mut ops = ops;
        ops.clear();
        self.nodes[n].lvs.out.ops = ops;
    }

    /// The table, leftovers aside, is what the model wants.
    fn lvs_check_model(&mut self, n: usize) {
        let l = &self.nodes[n].lvs;
        let want = match &l.model {
            Some(m) => m.desired(),
            None => return,
        };
        let diffs = differences(&l.ipvs.table, &want, &l.leftovers);
        if !diffs.is_empty() {
            let v = format!(
                "the IPVS table is not what the checker side should have made it: {}",
                diffs.join("; ")
            );
            self.violation(Some(n), v);
        }
    }

    /// The quiet window opened: the checker side of every running node has converged.
    pub(crate) fn lvs_window_opened(&mut self) {
        for n in 0..self.nodes.len() {
            if self.nodes[n].run == Run::Running && self.nodes[n].lvs.running() {
                self.lvs_check_model(n);
                self.lvs_check_converged(n);
            }
        }
    }

    /// Once quiet: every real server's health is what its BFD sessions say (see the module
    /// documentation for the cases where keepalived's checkers are not told).
    fn lvs_check_converged(&mut self, n: usize) {
        let node = &self.nodes[n];
        if node.run != Run::Running {
            return;
        }
        let (Some(model), Some(cfg)) = (node.lvs.model.as_ref(), self.lvs_wanted(n)) else {
            return;
        };
        if model.stopped {
            return;
        }
        let quiet = dur(self.now - self.window.disturbed_at);
        let mut bad = Vec::new();
        for (v, vs) in model.vss.iter().enumerate() {
            for (r, rs) in vs.rss.iter().enumerate() {
                let mut expect = true;
                let mut why = Vec::new();
                for c in &rs.checks {
                    let Some(name) = c.bfd.as_deref() else {
                        continue;
                    };
                    let session = node
                        .bfd
                        .svc
                        .as_ref()
                        .and_then(|s| s.set().session_by_name(name));
                    let state = session.map(|s| s.state());
                    let to_checker = cfg
                        .bfd
                        .instances
                        .iter()
                        .find(|b| b.name == name)
                        .is_some_and(|b| b.to_checker());
                    // Since the checker was created: the last entry into Up, and whether
                    // the session then left Up on the neighbour's AdminDown.
                    let seen = node
                        .lvs
                        .sessions
                        .get(name)
                        .copied()
                        .filter(|(t, _)| *t >= c.born);
                    let up = match (state, seen) {
                        // `bfd_instance ... vrrp`: the checkers are never told.
                        _ if !to_checker => c.start_up,
                        (Some(BfdState::Up), _) => true,
                        // Not started nor Up since the checker started: never told.
                        (_, None) => c.start_up,
                        // Left Up: told Down, unless it left silently.
                        (_, Some((_, silent))) => silent,
                    };
                    expect &= up;
                    why.push(format!(
                        "{name} {}",
                        state.map_or("not running".to_string(), |s| s.to_string())
                    ));
                }
                let have = model.rs_alive(v, r).unwrap_or(true);
                if have != expect {
                    bad.push(format!(
                        "IPVS did not converge after {quiet} without faults: real server {} of VS \
                         {} follows BFD session(s) {} but its checkers have it {}",
                        rs.cfg.display_name(&vs.cfg),
                        vs.cfg.display_name(),
                        why.join(", "),
                        if have { "up" } else { "down" }
                    ));
                }
            }
        }
        for b in bad {
            self.violation(Some(n), b);
        }
    }

    /// Whether node `n`'s kernel table has destination `rs` in a service `vs` (address
    /// and port, any protocol) with weight `want` (`None`: absent or at weight 0;
    /// `Some(None)`: at a weight above 0).
    pub(crate) fn lvs_rs_matches(
        &self,
        n: usize,
        vs: (IpAddr, u16),
        rs: (IpAddr, u16),
        want: RsWant,
    ) -> bool {
        let weights = self.lvs_weights(n, vs, rs);
        match want {
            RsWant::Out => weights.iter().all(|w| w.map_or(true, |w| w == 0)),
            RsWant::In => !weights.is_empty() && weights.iter().all(|w| w.is_some_and(|w| w > 0)),
            RsWant::Weight(x) => !weights.is_empty() && weights.iter().all(|w| *w == Some(x)),
        }
    }

    /// The weight of `rs` in each service matching `vs` (`None`: not there).
    fn lvs_weights(&self, n: usize, vs: (IpAddr, u16), rs: (IpAddr, u16)) -> Vec<Option<u32>> {
        let dk = DestKey {
            addr: rs.0,
            port: rs.1,
        };
        self.nodes[n]
            .lvs
            .ipvs
            .table
            .iter()
            .filter(
                |(k, _)| matches!(k, ServiceKey::Addr { addr, port, .. } if (*addr, *port) == vs),
            )
            .map(|(_, (_, dests))| dests.get(&dk).map(|d| d.weight))
            .collect()
    }

    /// What an `expect N rs ...` sees.
    pub(crate) fn lvs_describe(&self, n: usize, vs: (IpAddr, u16), rs: (IpAddr, u16)) -> String {
        let node = &self.nodes[n];
        let dk = DestKey {
            addr: rs.0,
            port: rs.1,
        };
        let mut parts = Vec::new();
        for (k, (_, dests)) in &node.lvs.ipvs.table {
            if !matches!(k, ServiceKey::Addr { addr, port, .. } if (*addr, *port) == vs) {
                continue;
            }
            parts.push(match dests.get(&dk) {
                Some(d) => format!(
                    "{} has weight {} in {}",
                    dest_name(&dk),
                    d.weight,
                    service_name(k)
                ),
                None => format!("{} is not in {}", dest_name(&dk), service_name(k)),
            });
        }
        if parts.is_empty() {
            parts.push(format!(
                "no service {}",
                dest_name(&DestKey {
                    addr: vs.0,
                    port: vs.1
                })
            ));
        }
        format!("{}: {}", node.name, parts.join(", "))
    }
}

/// What an `expect N rs VS RS ...` asks of a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsWant {
    /// In every matching service at a weight above 0.
    In,
    /// In none, or at weight 0 (inhibited).
    Out,
    /// In every matching service at this weight.
    Weight(u32),
}

/// The fake table as the daemon's driving sees a kernel.
struct SimKernel<'a> {
    ipvs: &'a mut FakeIpvs,
    /// TEST ONLY (`--sabotage`): the kernel says yes to a `DelDest` and does nothing.
    keep_dests: bool,
}

impl IpvsKernel for SimKernel<'_> {
    type Error = Refusal;

    fn apply(&mut self, op: &IpvsOp) -> Result<(), Refusal> {
        if self.keep_dests && matches!(op, IpvsOp::DelDest(..)) {
            return Ok(());
        }
        self.ipvs.apply(op)
    }

    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, Refusal> {
        Ok(self
            .ipvs
            .table
            .get(key)
            .map(|(_, d)| d.values().cloned().collect())
            .unwrap_or_default())
    }

    fn exists(e: &Refusal) -> bool {
        *e == Refusal::Exists
    }
}

/// An operation the kernel carried out makes the entries it names this run's own.
fn touch(leftovers: &mut BTreeSet<(ServiceKey, Option<DestKey>)>, op: &IpvsOp) {
    if leftovers.is_empty() {
        return;
    }
    match op {
        IpvsOp::AddService(_) => {}
        IpvsOp::EditService(s) => {
            leftovers.remove(&(s.key, None));
        }
        IpvsOp::DelService(k) => leftovers.retain(|(s, _)| s != k),
        IpvsOp::AddDest(k, d) | IpvsOp::EditDest(k, d) => {
            leftovers.remove(&(*k, Some(d.key)));
        }
        IpvsOp::DelDest(k, d) => {
            leftovers.remove(&(*k, Some(*d)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(port: u16) -> Service {
        Service {
            key: ServiceKey::Addr {
                protocol: 6,
                addr: "192.0.2.100".parse().unwrap(),
                port,
            },
            scheduler: "rr".into(),
            flags: 0,
            timeout_s: 0,
            netmask: 0xffff_ffff,
            pe_name: None,
        }
    }

    fn dest(last: u8, weight: u32) -> Dest {
        Dest {
            key: DestKey {
                addr: IpAddr::from([192, 0, 2, last]),
                port: 80,
            },
            fwd_method: 0,
            weight,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: 0,
            tun_port: 0,
            tun_flags: 0,
        }
    }

    /// The fake kernel refuses what IPVS refuses, with its errno, and counts.
    #[test]
    fn the_fake_table_refuses_as_the_kernel_does() {
        let mut t = FakeIpvs::default();
        let s = svc(80);
        let k = s.key;
        let other = svc(81).key;
        assert_eq!(t.apply(&IpvsOp::AddService(s.clone())), Ok(()));
        assert_eq!(
            t.apply(&IpvsOp::AddService(s.clone())),
            Err(Refusal::Exists)
        );
        let mut bad = svc(82);
        bad.scheduler = "nosuch".into();
        assert_eq!(t.apply(&IpvsOp::AddService(bad)), Err(Refusal::NoEntry));
        assert_eq!(
            t.apply(&IpvsOp::EditService(svc(81))),
            Err(Refusal::NoService)
        );
        assert_eq!(t.apply(&IpvsOp::DelService(other)), Err(Refusal::NoService));
        assert_eq!(
            t.apply(&IpvsOp::AddDest(other, dest(2, 1))),
            Err(Refusal::NoService)
        );
        assert_eq!(t.apply(&IpvsOp::AddDest(k, dest(2, 1))), Ok(()));
        assert_eq!(
            t.apply(&IpvsOp::AddDest(k, dest(2, 5))),
            Err(Refusal::Exists)
        );
        assert_eq!(
            t.apply(&IpvsOp::EditDest(k, dest(3, 1))),
            Err(Refusal::NoEntry)
        );
        assert_eq!(
            t.apply(&IpvsOp::DelDest(k, dest(3, 1).key)),
            Err(Refusal::NoEntry)
        );
        assert_eq!(t.apply(&IpvsOp::EditDest(k, dest(2, 7))), Ok(()));
        assert_eq!(t.table[&k].1[&dest(2, 0).key].weight, 7);
        assert_eq!((t.applied, t.refused), (3, 8));
        assert_eq!(t.entries().len(), 2);
        // Deleting a service takes its destinations with it.
        assert_eq!(t.apply(&IpvsOp::DelService(k)), Ok(()));
        assert!(t.table.is_empty());
        assert_eq!(
            t.apply(&IpvsOp::DelDest(k, dest(2, 0).key)),
            Err(Refusal::NoService)
        );
        assert_eq!(Refusal::Exists.to_string(), "File exists (os error 17)");
        assert_eq!(
            describe(&IpvsOp::AddDest(k, dest(2, 1))),
            "add IPVS destination 192.0.2.2:80 to TCP 192.0.2.100:80"
        );
    }

    /// Leftovers become this run's own once it touches them.
    #[test]
    fn touched_leftovers_are_no_longer_leftovers() {
        let k = svc(80).key;
        let mut left: BTreeSet<(ServiceKey, Option<DestKey>)> = [
            (k, None),
            (k, Some(dest(2, 0).key)),
            (k, Some(dest(3, 0).key)),
        ]
        .into_iter()
        .collect();
        touch(&mut left, &IpvsOp::AddService(svc(80)));
        assert_eq!(left.len(), 3);
        touch(&mut left, &IpvsOp::EditDest(k, dest(2, 1)));
        assert_eq!(left.len(), 2);
        touch(&mut left, &IpvsOp::DelService(k));
        assert!(left.is_empty());
    }
}
