//! [`Router`]: every instance and sync group of a configuration, the receive dispatch table,
//! the trackers and the GARP pacers, behind the engine interface of DESIGN.md §2.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use scheduler::Instant;

use crate::track::{
    BfdTracker, FaultReason, FileTracker, ProcessTracker, ScriptTracker, Target, Trackers,
};
use crate::wire::vrrp::Family;

use super::instance::Instance;
use super::io::{Action, Input, InterfaceInfo, NotifyKind, NotifyState, Outbox, State};
use super::params::{family_number, GarpGroupConfig, RouterConfig, SyncGroupConfig};
use super::stats::RouterCounters;

/// A sync group at run time.
#[derive(Clone, Debug)]
pub struct SyncGroup {
    pub(crate) cfg: SyncGroupConfig,
    pub(crate) state: State,
    pub(crate) notified: Option<State>,
}

impl SyncGroup {
    pub fn name(&self) -> &str {
        &self.cfg.name
    }
    pub fn state(&self) -> State {
        self.state
    }
    /// Member indices in [`Router::instances`].
    pub fn members(&self) -> &[usize] {
        &self.cfg.members
    }
    pub fn config(&self) -> &SyncGroupConfig {
        &self.cfg
    }
}

/// Who shares GARP/NA pacing: a `garp_group`, or one interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PacerKey {
    Group(usize),
    If(u32),
}

/// `vrrp_garp_interval` / `vrrp_gna_interval` state of one interface or `garp_group`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pacer {
    pub garp_interval_us: u64,
    pub gna_interval_us: u64,
    pub next_garp: Instant,
    pub next_gna: Instant,
}

/// Settings that are not per instance.
#[derive(Clone, Debug, Default)]
pub(crate) struct GlobalParams {
    pub garp_interval_us: u64,
    pub gna_interval_us: u64,
    pub garp_groups: Vec<GarpGroupConfig>,
    pub log_unknown_vrids: bool,
    pub startup_delay_us: u64,
}

/// Timer kinds in the order they run when due at the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Due {
    Startup,
    Process(usize),
    Instance(usize),
    SecondBurst(usize),
    LowerPrioBurst(usize),
    GarpPending,
}

/// Bound on re-scans in one `handle_timeout` (each scan handles everything due).
const MAX_TIMEOUT_PASSES: usize = 64;

/// An empty slot of [`Router::fast_dispatch`].
pub(crate) const NO_INSTANCE: u32 = u32::MAX;

/// Which timers a packet can have moved (see [`Router::handle_packet`]).
pub(crate) enum Touched {
    /// None: the packet was dropped before it reached an instance's state machine.
    Nothing,
    /// Only those of this instance, whose earliest deadline was this before the packet.
    One(usize, Option<Instant>),
    /// Possibly any.
    Any,
}

/// The VRRP engine of one daemon: all instances, sync groups and trackers (sans-IO).
#[derive(Debug)]
pub struct Router {
    pub(crate) instances: Vec<Instance>,
    pub(crate) groups: Vec<SyncGroup>,
    pub(crate) trackers: Trackers,
    pub(crate) ifaces: BTreeMap<u32, InterfaceInfo>,
    pub(crate) if_names: BTreeMap<String, u32>,
    /// (receive ifindex or 0 for "any", family, VRID) → instances.
    pub(crate) dispatch: BTreeMap<(u32, u8, u8), Vec<usize>>,
    /// `dispatch` as flat tables, one per receive ifindex (0: any), searched per packet:
    /// for each (family, VRID) slot ([`dispatch_slot`]) the instance `lookup` picks for a
    /// multicast and for a unicast destination ([`NO_INSTANCE`]: no entry).
    pub(crate) fast_dispatch: Vec<(u32, Box<[[u32; 2]]>)>,
    /// (family, VRID) configured on some interface.
    pub(crate) vrids: BTreeSet<(u8, u8)>,
    pub(crate) pacers: BTreeMap<PacerKey, Pacer>,
    pub(crate) global: GlobalParams,
    pub(crate) scripts_by_name: BTreeMap<String, usize>,
    pub(crate) bfd_by_name: BTreeMap<String, usize>,
    pub(crate) counters: RouterCounters,
    pub(crate) startup_at: Option<Instant>,
    pub(crate) started: bool,
    pub(crate) shut_down: bool,
    scratch: Vec<(Instant, Due)>,
    /// What `poll_timeout()` returns, while known (`None`: to be recomputed). Inputs clear it
    /// (a packet that can only have moved its own instance's timers updates it instead), and
    /// `handle_timeout` leaves it set: so the driver's `poll_timeout()` after every packet
    /// and timer is O(1), not a scan of every instance.
    timer_cache: Cell<Option<Option<Instant>>>,
}

impl Router {
    /// Builds the engine and starts every instance at `now` (keepalived's
    /// `vrrp_init_state`), or arms the startup delay.
    pub fn new(cfg: RouterConfig, now: Instant, out: &mut Outbox) -> Router {
        let mut r = Router {
            instances: Vec::new(),
            groups: Vec::new(),
            trackers: Trackers::default(),
            ifaces: BTreeMap::new(),
            if_names: BTreeMap::new(),
            dispatch: BTreeMap::new(),
            fast_dispatch: Vec::new(),
            vrids: BTreeSet::new(),
            pacers: BTreeMap::new(),
            global: GlobalParams::default(),
            scripts_by_name: BTreeMap::new(),
            bfd_by_name: BTreeMap::new(),
            counters: RouterCounters::default(),
            startup_at: None,
            started: false,
            shut_down: false,
            scratch: Vec::new(),
            timer_cache: Cell::new(None),
        };
        for i in &cfg.interfaces {
            r.ifaces.insert(i.ifindex, i.clone());
            r.if_names.insert(i.name.clone(), i.ifindex);
        }
        r.trackers = new_trackers(&cfg, None);
        r.install_config(cfg, now);
        if r.global.startup_delay_us > 0 {
            log::info!(
                target: "vrrp",
                "Delaying startup for {}.{:06} seconds",
                r.global.startup_delay_us / 1_000_000,
                r.global.startup_delay_us % 1_000_000
            );
            r.startup_at = Some(now.saturating_add_micros(r.global.startup_delay_us));
        } else {
            r.start(now, out);
        }
        r
    }

    /// Replaces instances, groups and global parameters with those of `cfg` (fresh
    /// instances in INIT), and rebuilds the lookup tables.
    pub(crate) fn install_config(&mut self, cfg: RouterConfig, now: Instant) {
        self.global = GlobalParams {
            garp_interval_us: cfg.garp_interval_us,
            gna_interval_us: cfg.gna_interval_us,
            garp_groups: cfg.garp_groups.clone(),
            log_unknown_vrids: cfg.log_unknown_vrids,
            startup_delay_us: cfg.startup_delay_us,
        };
        self.scripts_by_name = cfg
            .scripts
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        self.bfd_by_name = cfg
            .bfds
            .iter()
            .enumerate()
            .map(|(i, b)| (b.clone(), i))
            .collect();
        self.instances = cfg
            .instances
            .into_iter()
            .map(|c| Instance::new(c, now))
            .collect();
        self.groups = cfg
            .sync_groups
            .into_iter()
            .map(|g| SyncGroup {
                cfg: g,
                state: State::Init,
                notified: None,
            })
            .collect();
        // Pacers are created on first use with the (new) intervals.
        self.pacers.clear();
        self.rebuild_dispatch();
    }

    /// Runs the startup of every instance (after the startup delay, if any).
    fn start(&mut self, now: Instant, out: &mut Outbox) {
        self.started = true;
        self.startup_at = None;
        let all: Vec<usize> = (0..self.instances.len()).collect();
        for &i in &all {
            self.refresh_tracking(i);
        }
        let groups: Vec<usize> = (0..self.groups.len()).collect();
        self.init_group_states(&groups);
        for &g in &groups {
            let st = self.groups[g].state;
            if st == State::Fault || st == State::Backup {
                self.notify_group(g, out);
            }
        }
        for i in all {
            self.init_instance(i, now, out);
        }
    }

    // ------------------------------------------------------------------ engine interface

    /// Handles one input event.
    pub fn handle(&mut self, now: Instant, input: Input, out: &mut Outbox) {
        if self.shut_down {
            if let Input::Packet { .. } = input {
                self.counters.after_shutdown += 1;
            }
            return;
        }
        let cached = self.timer_cache.take();
        match input {
            Input::Packet {
                ifindex,
                src,
                dst,
                ttl,
                payload,
            } => {
                let touched = self.handle_packet(now, ifindex, src, dst, ttl, &payload, out);
                if let Some(min) = cached {
                    self.timer_cache.set(self.carry_timer_cache(min, touched));
                }
            }
            Input::Interface(info) => self.handle_interface(now, info, out),
            Input::InterfaceRemoved { ifindex } => {
                if let Some(info) = self.ifaces.remove(&ifindex) {
                    self.if_names.remove(&info.name);
                }
                self.rebuild_dispatch();
                self.retrack_all(now, out);
            }
            Input::AddressDeleted { ifindex, addr } => {
                self.handle_address_deleted(now, ifindex, addr, out)
            }
            Input::ScriptResult { script, ok } => {
                let Some(t) = self.trackers.scripts.get_mut(script.0 as usize) else {
                    return;
                };
                if t.record(ok).is_some() {
                    self.retrack_target(now, |tg| *tg == Target::Script(script), out);
                }
            }
            Input::FileValue { file, value } => {
                let Some(t) = self.trackers.files.get_mut(file.0 as usize) else {
                    return;
                };
                if t.value != value {
                    t.value = value;
                    self.retrack_target(now, |tg| *tg == Target::File(file), out);
                }
            }
            Input::ProcessCount { process, count } => {
                let Some(t) = self.trackers.processes.get_mut(process.0 as usize) else {
                    return;
                };
                if t.update(count, now).is_some() {
                    self.retrack_target(now, |tg| *tg == Target::Process(process), out);
                }
            }
            Input::Bfd { name, up } => self.handle_bfd(now, &name, up, out),
            Input::Shutdown => self.shutdown(now, out),
            Input::Reconfigure(cfg) => self.reconfigure(now, *cfg, out),
        }
    }

    /// Runs every timer due at `now`. Afterwards [`Router::poll_timeout`] is `None` or later
    /// than `now`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        self.timer_cache.set(None);
        let mut due = std::mem::take(&mut self.scratch);
        for _ in 0..MAX_TIMEOUT_PASSES {
            due.clear();
            let next = self.collect_due(now, &mut due);
            if due.is_empty() {
                // Nothing due and nothing changed since the scan: its minimum is the next
                // deadline.
                self.timer_cache.set(Some(next));
                break;
            }
            due.sort();
            for &(_, what) in due.iter() {
                self.fire(now, what, out);
            }
        }
        due.clear();
        self.scratch = due;
    }

    /// The earliest deadline of all timers.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Some(t) = self.timer_cache.get() {
            debug_assert_eq!(t, self.scan_timeout(), "stale timer cache");
            return t;
        }
        let t = self.scan_timeout();
        self.timer_cache.set(Some(t));
        t
    }

    /// The timer cache after a packet: `min` was the earliest deadline before it.
    fn carry_timer_cache(&self, min: Option<Instant>, touched: Touched) -> Option<Option<Instant>> {
        // `None` is "never": later than any instant.
        let earlier = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(x), Some(y)) => x < y,
            (Some(_), None) => true,
            (None, _) => false,
        };
        match touched {
            Touched::Nothing => Some(min),
            Touched::Any => None,
            Touched::One(i, before) => {
                let after = self.instance_deadline(i);
                if after == before || !earlier(min, after) {
                    // Unchanged, or now the earliest.
                    Some(if earlier(after, min) { after } else { min })
                } else if before == min {
                    // It may have held the minimum alone: recompute when asked.
                    None
                } else {
                    Some(min)
                }
            }
        }
    }

    /// The earliest of instance `i`'s own timers.
    pub(crate) fn instance_deadline(&self, i: usize) -> Option<Instant> {
        let inst = &self.instances[i];
        let min = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (a, b) => a.or(b),
        };
        min(
            inst.sands,
            min(inst.garp.second_burst_at, inst.garp.lower_prio_at),
        )
    }

    /// The earliest deadline of all timers, by a scan of everything.
    fn scan_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = self.startup_at;
        let mut take = |d: Option<Instant>| {
            if let Some(d) = d {
                t = Some(t.map_or(d, |x| x.min(d)));
            }
        };
        if self.shut_down {
            return None;
        }
        take(self.trackers.next_deadline());
        for inst in &self.instances {
            take(inst.sands);
            take(inst.garp.second_burst_at);
            take(inst.garp.lower_prio_at);
        }
        take(self.garp_wakeup());
        t
    }

    /// Collects the timers due at `now`; returns the earliest deadline of all timers (the
    /// scan sees them all: when nothing is due, it is what `poll_timeout()` returns).
    fn collect_due(&self, now: Instant, due: &mut Vec<(Instant, Due)>) -> Option<Instant> {
        if self.shut_down {
            return None;
        }
        let mut next: Option<Instant> = None;
        let mut push = |d: Option<Instant>, what: Due| {
            if let Some(d) = d {
                next = Some(next.map_or(d, |x| x.min(d)));
                if d <= now {
                    due.push((d, what));
                }
            }
        };
        push(self.startup_at, Due::Startup);
        for (i, p) in self.trackers.processes.iter().enumerate() {
            push(p.deadline(), Due::Process(i));
        }
        for (i, inst) in self.instances.iter().enumerate() {
            push(inst.sands, Due::Instance(i));
            push(inst.garp.second_burst_at, Due::SecondBurst(i));
            push(inst.garp.lower_prio_at, Due::LowerPrioBurst(i));
        }
        push(self.garp_wakeup(), Due::GarpPending);
        next
    }

    fn fire(&mut self, now: Instant, what: Due, out: &mut Outbox) {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        match what {
            Due::Startup => {
                if due(self.startup_at) {
                    self.start(now, out);
                }
            }
            Due::Process(p) => {
                if self.trackers.processes[p].expire(now).is_some() {
                    let id = crate::track::ProcId(p as u32);
                    self.retrack_target(now, |tg| *tg == Target::Process(id), out);
                }
            }
            Due::Instance(i) => {
                if due(self.instances[i].sands) {
                    self.instance_timer(i, now, out);
                }
            }
            Due::SecondBurst(i) => {
                if due(self.instances[i].garp.second_burst_at) {
                    self.instances[i].garp.second_burst_at = None;
                    let rep = self.instances[i].cfg.garp.master_repeat;
                    self.link_update(i, rep, now, out);
                }
            }
            Due::LowerPrioBurst(i) => {
                if due(self.instances[i].garp.lower_prio_at) {
                    self.instances[i].garp.lower_prio_at = None;
                    let rep = self.instances[i].cfg.garp.lower_prio_repeat;
                    self.link_update(i, rep, now, out);
                }
            }
            Due::GarpPending => {
                if due(self.garp_wakeup()) {
                    self.send_pending_garps(now, out);
                }
            }
        }
    }

    // ------------------------------------------------------------------ accessors

    /// Every instance, in configuration order (the index is the `instance` of actions).
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn instance(&self, index: usize) -> Option<&Instance> {
        self.instances.get(index)
    }

    pub fn instance_by_name(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.cfg.name == name)
    }

    pub fn sync_groups(&self) -> &[SyncGroup] {
        &self.groups
    }

    /// Router-level drop counters.
    pub fn counters(&self) -> &RouterCounters {
        &self.counters
    }

    /// The trackers (script results, file values, process counts, BFD states).
    pub fn trackers(&self) -> &Trackers {
        &self.trackers
    }

    /// The interface table as the engine knows it.
    pub fn interfaces(&self) -> impl Iterator<Item = &InterfaceInfo> {
        self.ifaces.values()
    }

    /// The group of an instance.
    pub fn group_of(&self, instance: usize) -> Option<&SyncGroup> {
        let g = self.instances.get(instance)?.cfg.sync_group?;
        self.groups.get(g)
    }

    /// "Using src_ip": the address adverts of instance `index` are sent from.
    pub fn source_address(&self, index: usize) -> Option<IpAddr> {
        (index < self.instances.len())
            .then(|| self.src_addr(index))
            .flatten()
    }

    /// "Num member fault" and "num member init" of sync group `group`.
    pub fn group_member_counts(&self, group: usize) -> (usize, usize) {
        let Some(g) = self.groups.get(group) else {
            return (0, 0);
        };
        let m = &g.cfg.members;
        (
            m.iter().filter(|&&i| self.instances[i].faults > 0).count(),
            m.iter()
                .filter(|&&i| self.instances[i].init_pending > 0)
                .count(),
        )
    }

    /// True once [`Input::Shutdown`] was handled.
    pub fn is_shut_down(&self) -> bool {
        self.shut_down
    }

    /// True while `vrrp_startup_delay` holds everything.
    pub fn is_starting(&self) -> bool {
        !self.started
    }

    /// STATS_CLEAR: zeroes every instance's counters, as keepalived's
    /// `vrrp_print_stats(true)` does after writing them (router-level drops are kept).
    pub fn clear_stats(&mut self) {
        for i in &mut self.instances {
            i.stats = Default::default();
        }
    }

    // ------------------------------------------------------------------ interfaces

    pub(crate) fn ifindex_of(&self, name: &str) -> Option<u32> {
        self.if_names.get(name).copied()
    }

    pub(crate) fn iface_up(&self, name: &str) -> bool {
        self.if_names
            .get(name)
            .and_then(|i| self.ifaces.get(i))
            .is_some_and(|i| i.is_up())
    }

    /// The receive/transmit interface of an instance (0: any, for a unicast instance with
    /// no interface).
    pub(crate) fn instance_ifindex(&self, i: usize) -> Option<u32> {
        match &self.instances[i].cfg.interface {
            Some(name) => self.ifindex_of(name),
            None => Some(0),
        }
    }

    /// The advert source: configured, else the interface's primary address of the family.
    pub(crate) fn src_addr(&self, i: usize) -> Option<IpAddr> {
        let cfg = &self.instances[i].cfg;
        if let Some(a) = cfg.src_addr {
            return Some(a);
        }
        let info = self
            .ifaces
            .get(&self.ifindex_of(cfg.interface.as_deref()?)?)?;
        match cfg.family {
            Family::Ipv4 => info.ipv4.map(IpAddr::V4),
            Family::Ipv6 => info.ipv6_link_local.map(IpAddr::V6),
        }
    }

    /// No usable source address: keepalived's "(VI_1) entering FAULT state (no IPv4 address
    /// for interface)", or the configured one gone with `track_src_ip`.
    fn src_fault(&self, i: usize) -> bool {
        let cfg = &self.instances[i].cfg;
        match cfg.src_addr {
            Some(a) if cfg.track_src_ip => {
                let on_if = cfg
                    .interface
                    .as_deref()
                    .and_then(|n| self.ifindex_of(n))
                    .and_then(|x| self.ifaces.get(&x))
                    .is_some_and(|info| info.addresses.contains(&a));
                !on_if
            }
            Some(_) => false,
            None => self.src_addr(i).is_none(),
        }
    }

    pub(crate) fn rebuild_dispatch(&mut self) {
        self.dispatch.clear();
        self.vrids.clear();
        for i in 0..self.instances.len() {
            let cfg = &self.instances[i].cfg;
            let key_rest = (family_number(cfg.family), cfg.vrid);
            self.vrids.insert(key_rest);
            if let Some(ifx) = self.instance_ifindex(i) {
                self.dispatch
                    .entry((ifx, key_rest.0, key_rest.1))
                    .or_default()
                    .push(i);
            }
        }
        self.fast_dispatch.clear();
        for (&(ifx, fam, vrid), list) in &self.dispatch {
            let k = match self.fast_dispatch.iter().position(|(x, _)| *x == ifx) {
                Some(k) => k,
                None => {
                    let table = vec![[NO_INSTANCE; 2]; 512].into_boxed_slice();
                    self.fast_dispatch.push((ifx, table));
                    self.fast_dispatch.len() - 1
                }
            };
            // A multicast and a unicast instance may share a VRID on one interface: the
            // first of the kind the destination calls for, else the first.
            let pick = |multicast: bool| {
                list.iter()
                    .copied()
                    .find(|&i| self.instances[i].cfg.is_unicast() != multicast)
                    .unwrap_or(list[0]) as u32
            };
            let slot = dispatch_slot(fam, vrid);
            self.fast_dispatch[k].1[slot] = [pick(true), pick(false)];
        }
    }

    fn handle_interface(&mut self, now: Instant, info: InterfaceInfo, out: &mut Outbox) {
        if let Some(old) = self.ifaces.get(&info.ifindex) {
            if old.name != info.name {
                self.if_names.remove(&old.name.clone());
            }
        }
        self.if_names.insert(info.name.clone(), info.ifindex);
        self.ifaces.insert(info.ifindex, info);
        self.rebuild_dispatch();
        self.retrack_all(now, out);
    }

    fn handle_bfd(&mut self, now: Instant, name: &str, up: bool, out: &mut Outbox) {
        let Some(&b) = self.bfd_by_name.get(name) else {
            return;
        };
        if self.trackers.bfds[b].up == up {
            return;
        }
        self.trackers.bfds[b].up = up;
        let id = crate::track::BfdId(b as u32);
        for inst in &self.instances {
            if inst.cfg.tracks.iter().any(|t| t.target == Target::Bfd(id)) {
                log::info!(
                    target: "vrrp",
                    "VRRP_Instance({}) Tracked BFD instance {} is {}",
                    inst.cfg.name,
                    name,
                    if up { "UP" } else { "DOWN" }
                );
            }
        }
        self.retrack_target(now, |tg| *tg == Target::Bfd(id), out);
    }

    /// A tracked VIP removed behind our back makes its master FAULT, then BACKUP again
    /// (the VIPs come back with the next MASTER transition); a `no_track` one is only
    /// re-added at the next transition (§2.8.1).
    fn handle_address_deleted(
        &mut self,
        now: Instant,
        ifindex: u32,
        addr: IpAddr,
        out: &mut Outbox,
    ) {
        let src_user = if let Some(info) = self.ifaces.get_mut(&ifindex) {
            info.addresses.retain(|a| *a != addr);
            true
        } else {
            false
        };
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            if inst.state != State::Master || !inst.vip_set {
                continue;
            }
            let hit = inst
                .cfg
                .vips
                .iter()
                .chain(inst.cfg.evips.iter())
                .find(|v| v.addr == addr && self.ifindex_of(&v.dev) == Some(ifindex));
            let Some(vip) = hit else { continue };
            if vip.no_track {
                log::debug!(
                    target: "vrrp",
                    "({}) VIP {} deleted - not tracked",
                    inst.cfg.name,
                    addr
                );
                continue;
            }
            log::info!(
                target: "vrrp",
                "({}) virtual address {} deleted - going to FAULT",
                inst.cfg.name,
                addr
            );
            self.instances[i].wantstate = State::Fault;
            self.leave_master(i, State::Fault, true, now, out);
            self.try_up(i, false, now, out);
        }
        if src_user {
            self.retrack_all(now, out);
        }
    }

    // ------------------------------------------------------------------ tracking

    /// Re-evaluates the trackers of instance `i` (faults, pending, total and effective
    /// priority) without acting on the result. Returns the previous (faults, pending).
    pub(crate) fn refresh_tracking(&mut self, i: usize) -> (u32, u32, i64) {
        let src_fault = self.src_fault(i);
        let e = {
            let up = |n: &str| self.iface_up(n);
            self.trackers.evaluate(&self.instances[i].cfg.tracks, &up)
        };
        let inst = &mut self.instances[i];
        let old = (inst.faults, inst.init_pending, inst.total_priority);
        inst.faults = e.faults + u32::from(src_fault);
        inst.init_pending = e.pending;
        inst.total_priority = i64::from(inst.base_priority) + e.weight;
        old
    }

    /// Re-evaluates every instance whose tracked objects include a matching target.
    fn retrack_target(
        &mut self,
        now: Instant,
        matches: impl Fn(&Target) -> bool,
        out: &mut Outbox,
    ) {
        for i in 0..self.instances.len() {
            if self.instances[i]
                .cfg
                .tracks
                .iter()
                .any(|t| matches(&t.target))
            {
                self.retrack(i, now, out);
            }
        }
    }

    pub(crate) fn retrack_all(&mut self, now: Instant, out: &mut Outbox) {
        for i in 0..self.instances.len() {
            self.retrack(i, now, out);
        }
    }

    /// Re-evaluates instance `i` and acts on changes (keepalived's
    /// `vrrp_set_effective_priority`, `down_instance`, `try_up_instance`).
    pub(crate) fn retrack(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let (old_faults, old_pending, old_total) = self.refresh_tracking(i);
        let inst = &self.instances[i];
        if !self.started || matches!(inst.state, State::Init | State::Stop | State::Deleted) {
            self.instances[i].effective_priority =
                crate::track::effective_priority(inst.base_priority, inst.total_priority);
            return;
        }
        let (faults, pending, total) = (inst.faults, inst.init_pending, inst.total_priority);
        if total != old_total {
            self.set_effective_priority(i, now, out);
        }
        if old_faults == 0 && faults > 0 {
            self.down_instance(i, now, out);
        } else if old_faults > 0 && faults == 0 && pending == 0 {
            self.try_up(i, false, now, out);
        } else if old_pending > 0 && pending == 0 && faults == 0 {
            self.try_up(i, true, now, out);
        }
    }

    /// Logs why instance `i` starts in FAULT (keepalived's `initialise_tracking_priorities`).
    pub(crate) fn log_fault_reasons(&self, i: usize) {
        let inst = &self.instances[i];
        let name = &inst.cfg.name;
        let up = |n: &str| self.iface_up(n);
        for r in self.trackers.fault_reasons(&inst.cfg.tracks, &up) {
            match r {
                FaultReason::Interface(n) => {
                    log::info!(target: "vrrp", "({name}): entering FAULT state (interface {n} down)")
                }
                FaultReason::Script(s) => {
                    log::info!(target: "vrrp", "({name}): entering FAULT state due to script {s}")
                }
                FaultReason::File(f, st) => log::info!(
                    target: "vrrp",
                    "({name}): entering FAULT state (tracked file {f} has status {st})"
                ),
                FaultReason::Process(p) => log::info!(
                    target: "vrrp",
                    "({name}) entering FAULT state (tracked process {p} quorum not achieved)"
                ),
                FaultReason::Bfd(b) => {
                    log::info!(target: "vrrp", "({name}) entering FAULT state (bfd {b} down)")
                }
            }
        }
        if self.src_fault(i) {
            log::info!(
                target: "vrrp",
                "({name}) entering FAULT state (no IPv{} address for interface)",
                family_number(inst.cfg.family)
            );
        }
    }

    // ------------------------------------------------------------------ notifications

    /// Emits the instance notification for its current state if it was not reported yet.
    /// An instance held in FAULT only by init-pending scripts is not reported (keepalived).
    pub(crate) fn notify_instance(&mut self, i: usize, out: &mut Outbox) {
        let inst = &mut self.instances[i];
        if inst.notified == Some(inst.state) {
            return;
        }
        let state = match inst.state {
            State::Master => NotifyState::Master,
            State::Backup => NotifyState::Backup,
            // Only waiting for the first results of its scripts: not reported.
            State::Fault if inst.faults == 0 && inst.init_pending > 0 => return,
            State::Fault => NotifyState::Fault,
            State::Stop => NotifyState::Stop,
            State::Deleted if inst.cfg.notify_deleted => NotifyState::Deleted,
            State::Deleted => NotifyState::Fault,
            State::Init => return,
        };
        inst.notified = Some(inst.state);
        out.actions.push(Action::Notify {
            kind: NotifyKind::Instance,
            index: i as u32,
            name: inst.cfg.name.clone(),
            state,
            priority: inst.effective_priority,
        });
    }

    /// An instance event that is not a state (MASTER_RX_LOWER_PRI, priority changes).
    pub(crate) fn notify_event(&mut self, i: usize, state: NotifyState, out: &mut Outbox) {
        let inst = &self.instances[i];
        out.actions.push(Action::Notify {
            kind: NotifyKind::Instance,
            index: i as u32,
            name: inst.cfg.name.clone(),
            state,
            priority: inst.effective_priority,
        });
    }

    pub(crate) fn notify_group(&mut self, g: usize, out: &mut Outbox) {
        let grp = &mut self.groups[g];
        if grp.notified == Some(grp.state) {
            return;
        }
        let state = match grp.state {
            State::Master => NotifyState::Master,
            State::Backup => NotifyState::Backup,
            State::Fault => NotifyState::Fault,
            State::Stop => NotifyState::Stop,
            _ => return,
        };
        grp.notified = Some(grp.state);
        out.actions.push(Action::Notify {
            kind: NotifyKind::Group,
            index: g as u32,
            name: grp.cfg.name.clone(),
            state,
            priority: 0,
        });
    }

    // ------------------------------------------------------------------ shutdown

    /// SIGTERM (keepalived `vrrp_terminate_phase1`/`shutdown_vrrp_instances`): masters send
    /// priority 0 and release their VIPs, then every instance and group reports STOP.
    fn shutdown(&mut self, now: Instant, out: &mut Outbox) {
        for i in 0..self.instances.len() {
            if self.instances[i].state == State::Master || self.instances[i].vip_set {
                let adv = self.instances[i].state == State::Master;
                self.restore_interface(i, adv, false, now, out);
            }
        }
        for i in 0..self.instances.len() {
            let inst = &mut self.instances[i];
            inst.state = State::Stop;
            inst.wantstate = State::Stop;
            inst.sands = None;
            inst.garp = Default::default();
            self.notify_instance(i, out);
        }
        for g in 0..self.groups.len() {
            self.groups[g].state = State::Stop;
            self.notify_group(g, out);
        }
        self.startup_at = None;
        self.shut_down = true;
    }
}

/// The [`Router::fast_dispatch`] slot of (family number, VRID).
pub(crate) fn dispatch_slot(family: u8, vrid: u8) -> usize {
    usize::from(family == 6) * 256 + usize::from(vrid)
}

/// Trackers for `cfg`, taking over the state of same-named ones from `old` (a reload keeps
/// what the scripts, files, processes and BFD sessions last said).
pub(crate) fn new_trackers(cfg: &RouterConfig, old: Option<&Trackers>) -> Trackers {
    let mut t = Trackers::default();
    for s in &cfg.scripts {
        let prev = old.and_then(|o| o.scripts.iter().find(|x| x.name == s.name));
        t.scripts.push(match prev {
            Some(p) => p.clone(),
            None => ScriptTracker::new(&s.name, s.rise, s.fall, s.init_fail),
        });
    }
    for f in &cfg.files {
        let prev = old.and_then(|o| o.files.iter().find(|x| x.name == f.name));
        t.files.push(prev.cloned().unwrap_or(FileTracker {
            name: f.name.clone(),
            value: 0,
        }));
    }
    for p in &cfg.processes {
        let prev = old.and_then(|o| o.processes.iter().find(|x| x.name == p.name));
        t.processes.push(match prev {
            Some(x) => {
                let mut x = x.clone();
                x.quorum = p.quorum;
                x.quorum_max = p.quorum_max.unwrap_or(u32::MAX);
                x.fork_delay_us = p.fork_delay_us;
                x.terminate_delay_us = p.terminate_delay_us;
                x
            }
            None => ProcessTracker::new(
                &p.name,
                p.quorum,
                p.quorum_max,
                p.fork_delay_us,
                p.terminate_delay_us,
            ),
        });
    }
    for b in &cfg.bfds {
        let prev = old.and_then(|o| o.bfds.iter().find(|x| &x.name == b));
        t.bfds.push(prev.cloned().unwrap_or(BfdTracker {
            name: b.clone(),
            up: false,
        }));
    }
    t
}
