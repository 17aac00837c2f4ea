//! The IPVS desired-state engine (reference §4.2, §4.3).
//!
//! State: per virtual server its services, per real server whether it is alive (every one
//! of its checkers up; the checkers decide, see [`crate::check`]), the quorum state and
//! whether the sorry server is in. From that state the engine derives the table the kernel
//! should hold, and after every input it diffs that against the table it has already asked
//! for, so the operation stream never adds what is there or deletes what is not. The
//! transitions themselves (a real server going up or down, quorum gained or lost, the sorry
//! server in or out) are decided as keepalived's `ipwrapper.c` decides them and reported as
//! [`LvsEvent`]s with keepalived's log lines.
//!
//! What a real server contributes to each of its virtual server's services:
//!
//! | sorry server in | alive | inhibit_on_failure | destination |
//! |---|---|---|---|
//! | no  | yes | - | its weight |
//! | no  | no  | yes | weight 0 |
//! | no  | no  | no | none |
//! | yes | - | yes | weight 0 |
//! | yes | - | no | none |
//!
//! The sorry server is in at weight 1 while it is needed, else at weight 0 with
//! `sorry_server_inhibit`, else out. When two virtual servers produce the same service
//! (two protocols on one group's fwmark entry) the first one in configuration order sets
//! its settings and the destinations of both are merged, the first one winning a clash.

use super::build::{self, RsKey, ServiceEntry, VsKey, SORRY_SERVER_WEIGHT};
use super::event::{LvsEvent, Output, QuorumDownReason};
use super::table::{Dest, DestKey, IpvsOp, Service, ServiceKey};
use crate::config::model::lvs::{
    format_trio, LvsConfig, RealServer, VirtualServer, VirtualServerGroup,
};
use std::collections::BTreeMap;

/// Names one real server: `virtual_servers[vs].real_servers[rs]` of the configuration the
/// engine was built (or last reloaded) from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RsRef {
    pub vs: usize,
    pub rs: usize,
}

/// Settings of the engine that come from `global_defs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LvsOptions {
    /// `rs_init_notifies`: run `notify_up` for the real servers that are up at start.
    pub rs_init_notifies: bool,
}

/// One service as the engine has asked the kernel to hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledService {
    pub service: Service,
    pub dests: BTreeMap<DestKey, Dest>,
}

#[derive(Clone, Debug)]
pub(super) struct RsState {
    pub(super) cfg: RealServer,
    /// keepalived's `FMT_RS`.
    pub(super) name: String,
    pub(super) key: RsKey,
    pub(super) alive: bool,
    /// The weight it has in the table while alive and what it adds to the quorum sum
    /// (keepalived's effective weight): the configured one, unless a `misc_dynamic`
    /// checker set another (see [`Lvs::set_rs_weight`]).
    pub(super) weight: u32,
}

#[derive(Clone, Debug)]
pub(super) struct VsState {
    pub(super) cfg: VirtualServer,
    /// keepalived's `FMT_VS`.
    pub(super) name: String,
    pub(super) key: VsKey,
    pub(super) group: Option<VirtualServerGroup>,
    pub(super) services: Vec<ServiceEntry>,
    pub(super) rss: Vec<RsState>,
    pub(super) quorum_up: bool,
    /// The sorry server is in at full weight (keepalived's `ISALIVE(vs->s_svr)`).
    pub(super) sorry_active: bool,
}

impl VsState {
    pub(super) fn build(
        vs: &VirtualServer,
        cfg: &LvsConfig,
        alive: impl Fn(usize) -> bool,
    ) -> VsState {
        let group = vs.group_name().and_then(|g| cfg.group(g)).cloned();
        VsState {
            name: vs.display_name(),
            key: VsKey::of(vs),
            services: build::services(vs, group.as_ref()),
            group,
            rss: vs
                .real_servers
                .iter()
                .enumerate()
                .map(|(i, rs)| RsState {
                    cfg: rs.clone(),
                    name: rs.display_name(vs),
                    key: RsKey::of(rs),
                    alive: alive(i),
                    weight: rs.weight,
                })
                .collect(),
            cfg: vs.clone(),
            quorum_up: false,
            sorry_active: false,
        }
    }

    /// Sum of the weights of the alive real servers (keepalived's
    /// `weigh_live_realservers`).
    pub(super) fn weight_sum(&self) -> i64 {
        self.rss
            .iter()
            .filter(|r| r.alive)
            .map(|r| i64::from(r.weight))
            .sum()
    }

    /// The weight `rs` has in the table, `None` when it is not there.
    pub(super) fn rs_weight(&self, rs: &RsState) -> Option<u32> {
        if self.sorry_active {
            rs.cfg.inhibit_on_failure.then_some(0)
        } else if rs.alive {
            Some(rs.weight)
        } else {
            rs.cfg.inhibit_on_failure.then_some(0)
        }
    }

    /// keepalived's `FMT_RS` of the sorry server.
    pub(super) fn sorry_name(&self) -> String {
        match &self.cfg.sorry_server {
            Some(ss) => format_trio(&ss.addr, self.cfg.protocol, ss.port),
            None => String::new(),
        }
    }

    /// This virtual server's destinations in `svc`, merged into `into` (first wins).
    fn desired_dests(&self, svc: &ServiceEntry, into: &mut BTreeMap<DestKey, Dest>) {
        let sorry = self.cfg.sorry_server.as_ref();
        let mut put = |d: Option<Dest>| {
            if let Some(d) = d {
                into.entry(d.key).or_insert(d);
            }
        };
        if self.sorry_active {
            if let Some(ss) = sorry {
                put(build::sorry_dest(svc, ss, SORRY_SERVER_WEIGHT));
            }
        }
        for rs in &self.rss {
            if let Some(w) = self.rs_weight(rs) {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Built, nothing installed yet.
    Built,
    Running,
    /// Shut down: inputs are ignored.
    Stopped,
}

/// The IPVS desired-state engine of the checker side.
///
/// Life: [`Lvs::new`], [`Lvs::start`], then [`Lvs::set_rs_alive`] (through the checkers)
/// and [`Lvs::reload`] as often as needed, and [`Lvs::shutdown`]. Every call appends the
/// table operations to apply, in order, and the events to act upon to an [`Output`].
#[derive(Clone, Debug)]
pub struct Lvs {
    pub(super) opts: LvsOptions,
    pub(super) vss: Vec<VsState>,
    /// Which virtual servers produce each service: (virtual server, index in its
    /// services), in configuration order.
    pub(super) owners: BTreeMap<ServiceKey, Vec<(usize, usize)>>,
    pub(super) installed: BTreeMap<ServiceKey, InstalledService>,
    pub(super) phase: Phase,
}

impl Lvs {
    /// The engine for `cfg`, with each real server alive or not as `alive` says (see
    /// [`crate::check::Checkers::rs_alive`]). Nothing is installed until [`Lvs::start`].
    pub fn new(cfg: &LvsConfig, opts: LvsOptions, alive: impl Fn(RsRef) -> bool) -> Lvs {
        let vss = build_states(cfg, &alive);
        let owners = owners_of(&vss);
        Lvs {
            opts,
            vss,
            owners,
            installed: BTreeMap::new(),
            phase: Phase::Built,
        }
    }

    /// Installs every service and its alive real servers (an inhibited one that is not
    /// alive at weight 0), then settles each virtual server's quorum: "Gained quorum" when
    /// there is enough weight, else, with a sorry server, "Starting with quorum down" and
    /// the sorry server in. Only the first call does anything.
    pub fn start(&mut self, out: &mut Output) {
        if self.phase != Phase::Built {
            return;
        }
        self.phase = Phase::Running;
        for v in 0..self.vss.len() {
            self.init_notifies(v, out);
            self.update_quorum(v, true, out);
        }
        self.sync_all(out);
    }

    /// The real server `rs` is now alive (every checker up) or not. On a change: "Adding
    /// service ... to VS ..." (or Enabling with inhibit_on_failure) / "Removing service
    /// ... from VS ..." (or Disabling), the notify event, the quorum re-evaluated, and
    /// the table operations. Before [`Lvs::start`] only the state is recorded.
    pub fn set_rs_alive(&mut self, rs: RsRef, alive: bool, out: &mut Output) {
        if self.phase == Phase::Stopped {
            return;
        }
        let Some(vs) = self.vss.get_mut(rs.vs) else {
            return;
        };
        let Some(r) = vs.rss.get_mut(rs.rs) else {
            return;
        };
        if r.alive == alive {
            return;
        }
        r.alive = alive;
        if self.phase != Phase::Running {
            return;
        }
        let ev = rs_state_event(vs, rs.rs);
        out.event(ev);
        self.update_quorum(rs.vs, false, out);
        self.sync_vs(rs.vs, out);
    }

    /// A `misc_dynamic` checker set the weight of `rs` (the configured one for exit status
    /// 0, else the status minus 2). On a change: "Changing weight from A to B for
    /// active|inactive service ... of VS ..." (active: the real server is alive), the
    /// quorum re-evaluated with the new weight, and the destination edited when the real
    /// server is in the table at its weight (alive, sorry server out). A weight set while
    /// the real server is down takes effect when it comes up. Before [`Lvs::start`] only
    /// the state is recorded.
    pub fn set_rs_weight(&mut self, rs: RsRef, weight: u32, out: &mut Output) {
        if self.phase == Phase::Stopped {
            return;
        }
        let Some(vs) = self.vss.get_mut(rs.vs) else {
            return;
        };
        let Some(r) = vs.rss.get_mut(rs.rs) else {
            return;
        };
        if r.weight == weight {
            return;
        }
        let from = std::mem::replace(&mut r.weight, weight);
        if self.phase != Phase::Running {
            return;
        }
        out.event(LvsEvent::WeightChanged {
            vs: vs.name.clone(),
            rs: r.name.clone(),
            from,
            to: weight,
            alive: r.alive,
        });
        self.update_quorum(rs.vs, false, out);
        self.sync_vs(rs.vs, out);
    }

    /// Sets the weight of `rs` without a line while it is not alive (FILE_CHECK leaving
    /// FAULT: keepalived brings the real server back at its new weight without "Changing
    /// weight"); while it is alive, as [`Lvs::set_rs_weight`].
    pub fn preset_rs_weight(&mut self, rs: RsRef, weight: u32, out: &mut Output) {
        if self.phase == Phase::Stopped {
            return;
        }
        let Some(r) = self.vss.get_mut(rs.vs).and_then(|v| v.rss.get_mut(rs.rs)) else {
            return;
        };
        if r.alive && self.phase == Phase::Running {
            self.set_rs_weight(rs, weight, out);
        } else {
            r.weight = weight;
        }
    }

    /// keepalived's notify on a checker's first result that changes nothing (an alpha
    /// checker's first failure): `notify_up` or `notify_down` as the real server is.
    pub fn notify_rs(&mut self, rs: RsRef, out: &mut Output) {
        if self.phase != Phase::Running {
            return;
        }
        let Some(vs) = self.vss.get(rs.vs) else {
            return;
        };
        let Some(r) = vs.rss.get(rs.rs) else { return };
        out.event(rs_notify_event(vs, r, r.alive));
    }

    /// Deletes every destination and service the engine installed, after the shutdown
    /// events: "Shutting down service ... from VS ..." for every real server, and with
    /// `omega` the notifies of the alive real servers and of the quorum. Inputs are ignored
    /// afterwards.
    pub fn shutdown(&mut self, out: &mut Output) {
        if self.phase == Phase::Running {
            for v in 0..self.vss.len() {
                clear_vs_events(&mut self.vss[v], true, out);
            }
            let keys: Vec<ServiceKey> = self.installed.keys().copied().collect();
            for k in keys {
                self.delete_service(k, out);
            }
        }
        self.phase = Phase::Stopped;
    }

    /// The table as the engine has asked the kernel to hold it.
    pub fn installed(&self) -> &BTreeMap<ServiceKey, InstalledService> {
        &self.installed
    }

    /// Whether `rs` is alive (`None`: no such real server).
    pub fn rs_alive(&self, rs: RsRef) -> Option<bool> {
        Some(self.vss.get(rs.vs)?.rss.get(rs.rs)?.alive)
    }

    /// The weight of `rs` (keepalived's effective weight: the configured one or the one a
    /// `misc_dynamic` checker set; `None`: no such real server).
    pub fn rs_weight(&self, rs: RsRef) -> Option<u32> {
        Some(self.vss.get(rs.vs)?.rss.get(rs.rs)?.weight)
    }

    /// The configured weight of `rs` (`None`: no such real server).
    pub fn configured_weight(&self, rs: RsRef) -> Option<u32> {
        Some(self.vss.get(rs.vs)?.rss.get(rs.rs)?.cfg.weight)
    }

    /// Whether virtual server `vs` (index in the configuration) has its quorum.
    pub fn quorum_up(&self, vs: usize) -> Option<bool> {
        Some(self.vss.get(vs)?.quorum_up)
    }

    /// Whether virtual server `vs` has its sorry server in at full weight.
    pub fn sorry_active(&self, vs: usize) -> Option<bool> {
        Some(self.vss.get(vs)?.sorry_active)
    }

    /// Whether [`Lvs::shutdown`] has run (inputs are ignored).
    pub fn is_stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    /// Number of virtual servers.
    pub fn len(&self) -> usize {
        self.vss.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vss.is_empty()
    }

    /// The services of virtual server `vs`, in expansion order.
    pub fn services(&self, vs: usize) -> &[ServiceEntry] {
        self.vss.get(vs).map(|v| &v.services[..]).unwrap_or(&[])
    }

    /// The real server matching `rs` in the virtual server matching `vs` (the reload
    /// matching of keepalived), if any.
    pub fn find_rs(&self, vs: &VsKey, rs: &RsKey) -> Option<RsRef> {
        let v = self.vss.iter().position(|s| &s.key == vs)?;
        let r = self.vss[v].rss.iter().position(|s| &s.key == rs)?;
        Some(RsRef { vs: v, rs: r })
    }

    /// `rs_init_notifies`: notify_up for each alive real server of `v`.
    pub(super) fn init_notifies(&self, v: usize, out: &mut Output) {
        if !self.opts.rs_init_notifies {
            return;
        }
        let vs = &self.vss[v];
        for r in vs.rss.iter().filter(|r| r.alive) {
            out.event(rs_notify_event(vs, r, true));
        }
    }

    /// Quorum with hysteresis (keepalived's `update_quorum_state`): gained when the alive
    /// weight reaches quorum + hysteresis, lost when it falls below quorum - hysteresis or
    /// to 0; at `init` (start, reload) a virtual server with a sorry server and without
    /// its quorum starts with the sorry server in.
    pub(super) fn update_quorum(&mut self, v: usize, init: bool, out: &mut Output) {
        let vs = &mut self.vss[v];
        let sum = vs.weight_sum();
        let (q, h) = (vs.cfg.quorum, vs.cfg.hysteresis);
        let has_sorry = vs.cfg.sorry_server.is_some();
        if !vs.quorum_up {
            let threshold = i64::from(q) + i64::from(h);
            if sum >= threshold {
                vs.quorum_up = true;
                out.event(LvsEvent::QuorumUp {
                    vs: vs.name.clone(),
                    quorum: q,
                    hysteresis: h,
                    threshold,
                    weight_sum: sum,
                    init,
                    script: vs.cfg.quorum_up.clone(),
                });
                if vs.sorry_active {
                    vs.sorry_active = false;
                    out.event(sorry_event(vs, false));
                    out.event(LvsEvent::Pool {
                        vs: vs.name.clone(),
                        add: true,
                    });
                }
            } else if init && has_sorry && !vs.sorry_active {
                quorum_down(vs, threshold, sum, QuorumDownReason::Init, out);
            }
        } else {
            let threshold = i64::from(q) - i64::from(h);
            if sum == 0 || sum < threshold {
                let reason = if init {
                    QuorumDownReason::Init
                } else {
                    QuorumDownReason::Lost
                };
                quorum_down(vs, threshold, sum, reason, out);
            }
        }
    }

    /// Brings the installed table to the desired one for the services of `v`.
    fn sync_vs(&mut self, v: usize, out: &mut Output) {
        let keys: Vec<ServiceKey> = self.vss[v].services.iter().map(|s| s.key()).collect();
        for k in keys {
            self.sync_service(k, out);
        }
    }

    /// Brings the whole installed table to the desired one: services no longer wanted
    /// first, then the others in key order.
    pub(super) fn sync_all(&mut self, out: &mut Output) {
        let gone: Vec<ServiceKey> = self
            .installed
            .keys()
            .filter(|k| !self.owners.contains_key(k))
            .copied()
            .collect();
        for k in gone {
            self.delete_service(k, out);
        }
        let keys: Vec<ServiceKey> = self.owners.keys().copied().collect();
        for k in keys {
            self.sync_service(k, out);
        }
    }

    /// The service `key` and its destinations as the state wants them.
    fn desired(&self, key: &ServiceKey) -> Option<(Service, BTreeMap<DestKey, Dest>)> {
        let owners = self.owners.get(key)?;
        let &(v0, s0) = owners.first()?;
        let service = self.vss[v0].services[s0].service.clone();
        let mut dests = BTreeMap::new();
        for &(v, s) in owners {
            let vs = &self.vss[v];
            vs.desired_dests(&vs.services[s], &mut dests);
        }
        Some((service, dests))
    }

    /// Diffs one service: deletions, then edits, then additions.
    fn sync_service(&mut self, key: ServiceKey, out: &mut Output) {
        let Some((service, want)) = self.desired(&key) else {
            self.delete_service(key, out);
            return;
        };
        let inst = match self.installed.get_mut(&key) {
            Some(i) => i,
            None => {
                out.ops.push(IpvsOp::AddService(service.clone()));
                self.installed.entry(key).or_insert(InstalledService {
                    service: service.clone(),
                    dests: BTreeMap::new(),
                })
            }
        };
        if inst.service != service {
            out.ops.push(IpvsOp::EditService(service.clone()));
            inst.service = service;
        }
        let gone: Vec<DestKey> = inst
            .dests
            .keys()
            .filter(|k| !want.contains_key(k))
            .copied()
            .collect();
        for k in gone {
            inst.dests.remove(&k);
            out.ops.push(IpvsOp::DelDest(key, k));
        }
        for (k, d) in &want {
            if let Some(cur) = inst.dests.get_mut(k) {
                if cur != d {
                    *cur = d.clone();
                    out.ops.push(IpvsOp::EditDest(key, d.clone()));
                }
            }
        }
        for (k, d) in want {
            if let std::collections::btree_map::Entry::Vacant(e) = inst.dests.entry(k) {
                out.ops.push(IpvsOp::AddDest(key, d.clone()));
                e.insert(d);
            }
        }
    }

    /// Deletes an installed service: each destination, then the service.
    fn delete_service(&mut self, key: ServiceKey, out: &mut Output) {
        if let Some(inst) = self.installed.remove(&key) {
            for k in inst.dests.keys() {
                out.ops.push(IpvsOp::DelDest(key, *k));
            }
            out.ops.push(IpvsOp::DelService(key));
        }
    }
}

/// The per-virtual-server states of `cfg`.
pub(super) fn build_states(cfg: &LvsConfig, alive: &impl Fn(RsRef) -> bool) -> Vec<VsState> {
    cfg.virtual_servers
        .iter()
        .enumerate()
        .map(|(v, vs)| VsState::build(vs, cfg, |r| alive(RsRef { vs: v, rs: r })))
        .collect()
}

/// Which virtual servers produce each service.
pub(super) fn owners_of(vss: &[VsState]) -> BTreeMap<ServiceKey, Vec<(usize, usize)>> {
    let mut owners: BTreeMap<ServiceKey, Vec<(usize, usize)>> = BTreeMap::new();
    for (v, vs) in vss.iter().enumerate() {
        for (s, svc) in vs.services.iter().enumerate() {
            owners.entry(svc.key()).or_default().push((v, s));
        }
    }
    owners
}

fn quorum_down(
    vs: &mut VsState,
    threshold: i64,
    sum: i64,
    reason: QuorumDownReason,
    out: &mut Output,
) {
    vs.quorum_up = false;
    out.event(LvsEvent::QuorumDown {
        vs: vs.name.clone(),
        quorum: vs.cfg.quorum,
        hysteresis: vs.cfg.hysteresis,
        threshold,
        weight_sum: sum,
        reason,
        script: vs.cfg.quorum_down.clone(),
    });
    if vs.cfg.sorry_server.is_some() && !vs.sorry_active {
        vs.sorry_active = true;
        out.event(sorry_event(vs, true));
        out.event(LvsEvent::Pool {
            vs: vs.name.clone(),
            add: false,
        });
    }
}

pub(super) fn sorry_event(vs: &VsState, active: bool) -> LvsEvent {
    LvsEvent::SorryServer {
        vs: vs.name.clone(),
        sorry: vs.sorry_name(),
        active,
        inhibit: vs.cfg.sorry_server.as_ref().is_some_and(|s| s.inhibit),
    }
}

/// The transition event of real server `r` of `vs` (its new state already set).
pub(super) fn rs_state_event(vs: &VsState, r: usize) -> LvsEvent {
    let rs = &vs.rss[r];
    LvsEvent::RsState {
        vs: vs.name.clone(),
        rs: rs.name.clone(),
        up: rs.alive,
        inhibit: rs.cfg.inhibit_on_failure,
        script: rs_script(rs, rs.alive),
    }
}

pub(super) fn rs_notify_event(vs: &VsState, rs: &RsState, up: bool) -> LvsEvent {
    LvsEvent::RsNotify {
        vs: vs.name.clone(),
        rs: rs.name.clone(),
        up,
        script: rs_script(rs, up),
    }
}

fn rs_script(rs: &RsState, up: bool) -> Option<crate::config::model::Script> {
    if up {
        rs.cfg.notify_up.clone()
    } else {
        rs.cfg.notify_down.clone()
    }
}

/// The events of a virtual server leaving (shutdown, or dropped by a reload): each real
/// server cleared, the alive ones notified down (at shutdown only with `omega`), and the
/// quorum notified down. Marks every real server dead and the quorum down.
pub(super) fn clear_vs_events(vs: &mut VsState, stopping: bool, out: &mut Output) {
    for r in 0..vs.rss.len() {
        clear_rs_events(vs, r, stopping, out);
    }
    // keepalived's update_vs_notifies: at shutdown always, else when the quorum was up.
    if stopping || vs.quorum_up {
        let was_up = vs.quorum_up;
        vs.quorum_up = false;
        if !stopping || vs.cfg.omega {
            let (q, h) = (vs.cfg.quorum, vs.cfg.hysteresis);
            let threshold = if was_up {
                i64::from(q) - i64::from(h)
            } else {
                i64::from(q) + i64::from(h)
            };
            out.event(LvsEvent::QuorumDown {
                vs: vs.name.clone(),
                quorum: q,
                hysteresis: h,
                threshold,
                weight_sum: 0,
                reason: QuorumDownReason::Stopping,
                script: vs.cfg.quorum_down.clone(),
            });
        }
    }
}

/// The events of real server `r` leaving the table (keepalived's `clear_service_rs`).
pub(super) fn clear_rs_events(vs: &mut VsState, r: usize, stopping: bool, out: &mut Output) {
    let in_table = vs.rs_weight(&vs.rss[r]).is_some();
    let rs = &vs.rss[r];
    if in_table || stopping {
        out.event(LvsEvent::RsCleared {
            vs: vs.name.clone(),
            rs: rs.name.clone(),
            stopping,
            inhibited: rs.cfg.inhibit_on_failure && !rs.alive,
        });
    }
    if rs.alive {
        if !stopping || vs.cfg.omega {
            out.event(rs_notify_event(vs, rs, false));
        }
        vs.rss[r].alive = false;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::diag::Diagnostics;
    use crate::config::semantic::{self, PermissiveHost, SemanticOptions};
    use crate::config::{parse_str, LoadOptions};

    /// The IPVS side of `text` (diagnostics ignored).
    pub(crate) fn lvs_cfg(text: &str) -> LvsConfig {
        let mut d = Diagnostics::new();
        let tree = parse_str(text, "t.conf", &LoadOptions::default(), &mut d);
        semantic::build(&tree, &PermissiveHost, &SemanticOptions::default(), &mut d).lvs
    }

    const ONE: &str = "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
        real_server 10.0.0.2 80 {\n  weight 2\n }\n real_server 10.0.0.3 80 {\n }\n}\n";

    #[test]
    fn inputs_before_start_and_after_shutdown() {
        let cfg = lvs_cfg(ONE);
        let mut lvs = Lvs::new(&cfg, LvsOptions::default(), |_| true);
        let mut out = Output::new();
        // Before start: state only.
        lvs.set_rs_alive(RsRef { vs: 0, rs: 0 }, false, &mut out);
        lvs.set_rs_alive(RsRef { vs: 7, rs: 0 }, false, &mut out);
        lvs.set_rs_alive(RsRef { vs: 0, rs: 9 }, false, &mut out);
        lvs.notify_rs(RsRef { vs: 0, rs: 0 }, &mut out);
        assert!(out.is_empty());
        lvs.start(&mut out);
        assert_eq!(out.ops.len(), 2, "{:?}", out.ops);
        out.clear();
        lvs.start(&mut out);
        assert!(out.is_empty());
        lvs.shutdown(&mut out);
        assert_eq!(out.ops.len(), 2);
        out.clear();
        lvs.set_rs_alive(RsRef { vs: 0, rs: 0 }, true, &mut out);
        let same = lvs_cfg(ONE);
        lvs.reload(&same, |_| true, &mut out);
        assert!(out.is_empty());
        assert!(lvs.is_stopped() && lvs.installed().is_empty());
    }

    #[test]
    fn reload_before_start_installs_nothing() {
        let mut lvs = Lvs::new(&lvs_cfg(ONE), LvsOptions::default(), |_| true);
        let mut out = Output::new();
        let two = ONE.replace("10.0.0.1 80", "10.0.0.9 80");
        lvs.reload(&lvs_cfg(&two), |_| true, &mut out);
        assert!(out.is_empty());
        lvs.start(&mut out);
        assert!(matches!(&out.ops[0], IpvsOp::AddService(s)
            if s.key == ServiceKey::Addr { protocol: 6, addr: "10.0.0.9".parse().unwrap(), port: 80 }));
    }

    #[test]
    fn zero_weights_never_give_quorum() {
        // Every weight 0: the quorum is lowered to 0 and the hysteresis wraps as in
        // keepalived; no panic, no quorum, the servers are still installed.
        let cfg = lvs_cfg(&ONE.replace("weight 2", "weight 0").replace(
            "real_server 10.0.0.3 80 {\n }",
            "real_server 10.0.0.3 80 {\n  weight 0\n }",
        ));
        let mut lvs = Lvs::new(&cfg, LvsOptions::default(), |_| true);
        let mut out = Output::new();
        lvs.start(&mut out);
        assert_eq!(lvs.quorum_up(0), Some(false));
        assert_eq!(out.ops.len(), 3);
        lvs.set_rs_alive(RsRef { vs: 0, rs: 0 }, false, &mut out);
        lvs.set_rs_alive(RsRef { vs: 0, rs: 0 }, true, &mut out);
    }

    #[test]
    fn shared_service_merges_destinations() {
        // Two virtual servers naming the same service: one service, both pools.
        let text = format!("{ONE}{}", ONE.replace("10.0.0.2", "10.0.0.4"));
        let mut lvs = Lvs::new(&lvs_cfg(&text), LvsOptions::default(), |_| true);
        let mut out = Output::new();
        lvs.start(&mut out);
        let adds = out
            .ops
            .iter()
            .filter(|o| matches!(o, IpvsOp::AddService(_)));
        assert_eq!(adds.count(), 1);
        let inst = lvs.installed().values().next().unwrap();
        assert_eq!(inst.dests.len(), 3);
        out.clear();
        // 10.0.0.3 is in both: it stays while the second one has it alive.
        lvs.set_rs_alive(RsRef { vs: 0, rs: 1 }, false, &mut out);
        assert!(out.ops.is_empty(), "{:?}", out.ops);
        lvs.set_rs_alive(RsRef { vs: 1, rs: 1 }, false, &mut out);
        assert_eq!(out.ops.len(), 1);
    }
}
