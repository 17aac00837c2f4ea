//! Invariants, checked after every step, and the scenario's expectations.
//!
//! * Quiet window: once nothing has been disturbed for longer than the master-down
//!   interval plus one advert (and the preempt delay, script settling time and network
//!   delays), every (segment, VRID, family) group with a live candidate has exactly one
//!   MASTER, and no BACKUP that would preempt it has a higher effective priority (the owner
//!   wins, `nopreempt` and `preempt_delay` are honoured).
//! * A node holds an instance's VIPs if and only if the instance is MASTER.
//! * Every move to MASTER is followed by a gratuitous ARP or NA for each address within the
//!   GARP pacing delay.
//! * A BACKUP never declares the master down earlier than the RFC 5798 §6.4.2
//!   Master_Down_Interval (or Skew_Time after a priority-0 advert) after the last advert that
//!   reset its timer, measured on the node's own clock from the delivery log.
//! * Sync-group members move together: if one is MASTER, all are.
//! * Engine postconditions (in `world.rs`): `poll_timeout()` later than `now` after
//!   `handle_timeout`, a bounded number of actions per step, no panic.

use crate::scenario::{Mode, Predicate};
use crate::units::{dur, secs};
use crate::world::{Basis, Cause, Ev, ExpectState, Obligation, Peek, Run, Shadow, World};
use keepalived_rs::vrrp::{Input, NotifyKind, Router, State};
use keepalived_rs::wire::vrrp::Version;
use scheduler::Instant;
use std::net::IpAddr;

/// RFC 3768 §6.1 / RFC 5798 §6.1 Skew_Time in microseconds, computed here independently
/// of the engine: `(256 − priority) × interval / 256` (VRRPv2: interval = 1 s).
pub fn skew_us(v3: bool, prio: u8, adv_us: u64) -> u64 {
    let base = if v3 { adv_us } else { 1_000_000 };
    (256 - u64::from(prio)) * base / 256
}

/// Master_Down_Interval = `adverts` × interval + Skew_Time.
pub fn master_down_us(v3: bool, prio: u8, adv_us: u64, adverts: u32) -> u64 {
    u64::from(adverts) * adv_us + skew_us(v3, prio, adv_us)
}

struct Move {
    inst: usize,
    name: String,
    from: State,
    to: State,
    group: Option<usize>,
    /// (elapsed since the basis, the basis) for BACKUP → MASTER.
    basis: Option<(u64, Basis)>,
}

/// Adverts that reset a BACKUP's master-down timer set the basis of the RFC bound.
fn update_basis(
    router: &Router,
    shadow: &mut [Shadow],
    count: usize,
    local: u64,
    before: &[(usize, State, Option<Instant>)],
    p: Peek,
) {
    for &(i, st, rt) in before {
        let Some(inst) = router.instance(i) else {
            continue;
        };
        if i >= count || st != State::Backup || inst.state() != State::Backup {
            continue;
        }
        if inst.read_timeout() == rt {
            continue;
        }
        let c = inst.config();
        let v3 = c.version == Version::V3;
        let eff = inst.effective_priority();
        let required = if p.prio == 0 {
            skew_us(v3, eff, inst.master_adver_int_us())
        } else {
            let adv = if v3 { p.adv_us } else { c.adver_int_us };
            master_down_us(v3, eff, adv, c.down_timer_adverts)
        };
        shadow[i].basis = Some(Basis {
            at: local,
            required,
            prio0: p.prio == 0,
        });
    }
}

impl World<'_> {
    /// Observes node `n` after a call: basis updates for the adverts it received, state
    /// transitions (printed with their reason), and the per-node invariants.
    pub(crate) fn observe(
        &mut self,
        n: usize,
        local: u64,
        all: bool,
        before: &[(usize, State, Option<Instant>)],
        peeked: Option<Peek>,
        cause: &Cause,
    ) {
        let mut list = std::mem::take(&mut self.scratch_list);
        list.clear();
        self.observe_inner(n, local, all, before, peeked, cause, &mut list);
        self.scratch_list = list;
    }

    /// `list` (empty, reused): the instances observed. Not `all`: those the step can have
    /// moved — the packet's instance, those that sent an advert, those notified, and their
    /// sync groups (a state change always notifies; a MASTER's or a BACKUP's timer always
    /// sends).
    #[allow(clippy::too_many_arguments)]
    fn observe_inner(
        &mut self,
        n: usize,
        local: u64,
        all: bool,
        before: &[(usize, State, Option<Instant>)],
        peeked: Option<Peek>,
        cause: &Cause,
        list: &mut Vec<usize>,
    ) {
        let node = &mut self.nodes[n];
        let Some(svc) = node.svc.as_ref() else {
            return;
        };
        let router = svc.router();
        let count = router.instances().len().min(node.shadow.len());
        // The common step: a packet that made the daemon do nothing. Only the packet's
        // instances can have moved; if neither their state nor their priority did, the
        // basis of the RFC bound is all there is to update (the steps below would find no
        // transition, no priority change and no VIP to check).
        if !all
            && node.env.calls == 0
            && node.env.sent.is_empty()
            && node.env.notified.is_empty()
            && router.sync_groups().is_empty()
        {
            if let Some(p) = peeked {
                let unchanged = before.iter().all(|&(i, _, _)| {
                    i >= count || {
                        let inst = &router.instances()[i];
                        let sh = &node.shadow[i];
                        inst.effective_priority() == sh.eff && inst.state() == sh.state
                    }
                });
                if unchanged {
                    update_basis(router, &mut node.shadow, count, local, before, p);
                    return;
                }
            }
        }
        if all {
            list.extend(0..count);
        } else {
            list.extend(before.iter().map(|b| b.0));
            // Instances that sent an advert in this step.
            for sent in &node.env.sent {
                if let Some(p) = crate::world::peek(sent.src, &sent.bytes) {
                    if let Some(l) = node.dispatch.get(p.fam, p.vrid) {
                        list.extend_from_slice(l);
                    }
                }
            }
            for nt in &node.env.notified {
                match nt.kind {
                    NotifyKind::Instance => {
                        if let Some(i) = router.instances().iter().position(|x| x.name() == nt.name)
                        {
                            list.push(i);
                        }
                    }
                    NotifyKind::Group => {
                        if let Some(g) = router.sync_groups().iter().find(|g| g.name() == nt.name) {
                            list.extend_from_slice(g.members());
                        }
                    }
                }
            }
            if !router.sync_groups().is_empty() {
                let direct = list.len();
                for k in 0..direct {
                    if let Some(g) = router.group_of(list[k]) {
                        list.extend_from_slice(g.members());
                    }
                }
            }
            if list.len() > 1 {
                list.sort_unstable();
                list.dedup();
            }
            list.retain(|&i| i < count);
        }
        let list: &[usize] = list;
        if let Some(p) = peeked {
            update_basis(router, &mut node.shadow, count, local, before, p);
        }
        let mut moves: Vec<Move> = Vec::new();
        let mut prio_changes: Vec<(String, u8, u8)> = Vec::new();
        let mut dirty = Vec::new();
        for &i in list {
            let inst = &router.instances()[i];
            let sh = &mut node.shadow[i];
            let eff = inst.effective_priority();
            let st = inst.state();
            if eff != sh.eff {
                // keepalived moves a running master-down timer with the priority (§3.6).
                if let (Some(b), State::Backup) = (sh.basis.as_mut(), st) {
                    let c = inst.config();
                    let v3 = c.version == Version::V3;
                    if b.prio0 {
                        b.required = b.required.min(skew_us(v3, eff, inst.master_adver_int_us()));
                    } else {
                        b.required = master_down_us(
                            v3,
                            eff,
                            inst.master_adver_int_us(),
                            c.down_timer_adverts,
                        );
                    }
                }
                if sh.eff != 0 && sh.state != State::Init {
                    prio_changes.push((inst.name().to_string(), sh.eff, eff));
                }
                sh.eff = eff;
                if let Some(g) = sh.group {
                    dirty.push(g);
                }
            }
            if st == sh.state {
                continue;
            }
            let basis = match (sh.state, st, sh.basis) {
                (State::Backup, State::Master, Some(b)) => Some((local.saturating_sub(b.at), b)),
                _ => None,
            };
            moves.push(Move {
                inst: i,
                name: inst.name().to_string(),
                from: sh.state,
                to: st,
                group: inst.config().sync_group,
                basis,
            });
            sh.state = st;
            sh.transitions += 1;
            // The bound runs from an advert received while continuously BACKUP.
            sh.basis = None;
            if let Some(g) = sh.group {
                dirty.push(g);
            }
        }
        self.dirty.extend(dirty);
        self.transitions += moves.len() as u64;
        // Sync groups: any member MASTER means all are.
        let mut group_msgs = Vec::new();
        {
            let router = self.nodes[n].svc.as_ref().map(|s| s.router());
            if let Some(router) = router {
                for g in router.sync_groups() {
                    if !g.members().iter().any(|m| list.contains(m)) {
                        continue;
                    }
                    let states: Vec<State> = g
                        .members()
                        .iter()
                        .filter_map(|&m| router.instance(m).map(|i| i.state()))
                        .collect();
                    if states.contains(&State::Master) && states.iter().any(|s| *s != State::Master)
                    {
                        let detail: Vec<String> = g
                            .members()
                            .iter()
                            .filter_map(|&m| router.instance(m))
                            .map(|i| format!("{} {}", i.name(), i.state()))
                            .collect();
                        group_msgs.push(format!(
                            "sync group {} members do not move together: {}",
                            g.name(),
                            detail.join(", ")
                        ));
                    }
                }
            }
        }
        for (name, old, new) in &prio_changes {
            let why = match cause {
                Cause::Text(t) => format!("  ({t})"),
                Cause::Packet { src, .. } => format!("  (advert from {src})"),
                _ => String::new(),
            };
            let m = format!("{name} effective priority {old} -> {new}{why}");
            self.line(Some(n), &m);
        }
        if !moves.is_empty() {
            self.last_transition_at = self.now;
        }
        for mv in &moves {
            let reason = self.reason(mv, cause);
            let m = format!("{} {} -> {}  ({reason})", mv.name, mv.from, mv.to);
            self.line(Some(n), &m);
        }
        // A BACKUP never declares the master down early (sync-group members may follow a
        // member that timed out properly).
        for mv in &moves {
            let Some((elapsed, b)) = mv.basis else {
                continue;
            };
            if elapsed >= b.required {
                continue;
            }
            let excused = mv.group.is_some()
                && moves.iter().any(|o| {
                    o.group == mv.group
                        && o.inst != mv.inst
                        && o.from == State::Backup
                        && o.to == State::Master
                        && o.basis.map_or(true, |(e, b)| e >= b.required)
                });
            if !excused {
                let m =
                    format!(
                    "{} declared the master down {} after the last valid advert{}, earlier than \
                     the RFC 5798 {} of {}",
                    mv.name,
                    dur(elapsed),
                    if b.prio0 { " (priority 0)" } else { "" },
                    if b.prio0 { "Skew_Time" } else { "Master_Down_Interval" },
                    dur(b.required)
                );
                self.violation(Some(n), m);
            }
        }
        for m in group_msgs {
            self.violation(Some(n), m);
        }
        // Gratuitous ARP / NA obligations for each move to MASTER.
        for mv in moves.iter().filter(|m| m.to == State::Master) {
            self.oblige(n, mv.inst);
        }
        // VIPs iff MASTER can only have changed with a state change, an Env call, or a fault
        // (an address removed behind the daemon's back: an `all` step).
        if !self.nodes[n].stale {
            if all || self.nodes[n].env.calls > 0 {
                for &i in list {
                    self.check_vips(n, i);
                }
            } else {
                for mv in &moves {
                    self.check_vips(n, mv.inst);
                }
            }
        }
    }

    fn reason(&self, mv: &Move, cause: &Cause) -> String {
        let tag = format!("({})", mv.name);
        for (lvl, l) in &self.logs {
            // Most lines start "(VI_1) ..."; a few keep keepalived's older
            // "VRRP_Instance(VI_1) ..." (tracked BFD).
            let l = l.strip_prefix("VRRP_Instance").unwrap_or(l);
            if *lvl <= log::Level::Info && l.starts_with(&tag) && !l.contains("Entering") {
                return l[tag.len()..].trim_start_matches(':').trim().to_string();
            }
        }
        if mv.group.is_some() {
            for (lvl, l) in &self.logs {
                if *lvl <= log::Level::Info && l.starts_with("VRRP_Group(") {
                    return l.clone();
                }
            }
        }
        match cause {
            Cause::Start => "daemon started".into(),
            Cause::Timer if mv.from == State::Backup && mv.to == State::Master => match mv.basis {
                Some((e, b)) if b.prio0 => format!(
                    "master down: priority 0 advert {} ago, Skew_Time {}",
                    dur(e),
                    dur(b.required)
                ),
                Some((e, b)) => format!(
                    "master down: no advert for {}, Master_Down_Interval {}",
                    dur(e),
                    dur(b.required)
                ),
                None => "master down timer expired".into(),
            },
            Cause::Timer => "timer".into(),
            Cause::Packet { src, prio } => format!("advert from {src} priority {prio}"),
            Cause::Text(t) => t.clone(),
        }
    }

    fn oblige(&mut self, n: usize, i: usize) {
        let node = &self.nodes[n];
        let Some(svc) = &node.svc else { return };
        let router = svc.router();
        let inst = &router.instances()[i];
        let c = inst.config();
        if c.garp.master_repeat == 0 {
            return;
        }
        let g = &svc.model().global.vrrp;
        let mut interval = g.garp_interval_us.max(g.gna_interval_us);
        for gg in &svc.model().vrrp.garp_groups {
            interval = interval
                .max(gg.garp_interval_us.unwrap_or(0))
                .max(gg.gna_interval_us.unwrap_or(0));
        }
        let all: u64 = router
            .instances()
            .iter()
            .map(|x| {
                (x.config().vips.len() + x.config().evips.len()) as u64
                    * (1 + u64::from(
                        x.config()
                            .garp
                            .master_repeat
                            .max(x.config().garp.lower_prio_repeat),
                    ))
            })
            .sum();
        let deadline = self.now + (all + 1) * interval + 1;
        let transitions = node.shadow[i].transitions;
        let mut add = Vec::new();
        for vip in c.vips.iter().chain(c.evips.iter()) {
            if let Some(ifx) = node.ifindex_of(&vip.dev) {
                add.push((ifx, vip.addr));
            }
        }
        for (ifx, addr) in add {
            self.obligations.insert(
                (n, ifx, addr),
                Obligation {
                    inst: i,
                    transitions,
                    deadline,
                    since: self.now,
                },
            );
        }
    }

    fn check_vips(&mut self, n: usize, i: usize) {
        let node = &self.nodes[n];
        let Some(svc) = &node.svc else { return };
        let router = svc.router();
        let Some(inst) = router.instance(i) else {
            return;
        };
        let master = inst.state() == State::Master;
        let c = inst.config();
        let mut bad = Vec::new();
        for vip in c.vips.iter().chain(c.evips.iter()) {
            let Some(ifx) = node.ifindex_of(&vip.dev) else {
                continue;
            };
            let held = node.env.addrs.contains_key(&(ifx, vip.addr));
            // Deleted behind its back while paused: the daemon has not been told yet.
            let untold = node
                .backlog
                .iter()
                .any(|x| matches!(x, Input::AddressDeleted { addr, .. } if *addr == vip.addr));
            if master && !held && !vip.no_track && !untold {
                bad.push(format!(
                    "{} is MASTER but {} is not installed",
                    inst.name(),
                    vip.addr
                ));
            }
            if !master && held {
                let shared = router.instances().iter().any(|o| {
                    o.state() == State::Master
                        && o.config()
                            .vips
                            .iter()
                            .chain(o.config().evips.iter())
                            .any(|v| v.addr == vip.addr)
                });
                if !shared {
                    bad.push(format!(
                        "{} is {} but {} is still installed",
                        inst.name(),
                        inst.state(),
                        vip.addr
                    ));
                }
            }
        }
        for b in bad {
            self.violation(Some(n), b);
        }
    }

    /// The effective priority of the (running) MASTER of group `g`, if there is one.
    fn group_master(&self, g: usize) -> Option<u8> {
        self.groups[g].members.iter().find_map(|&(n, i)| {
            let node = &self.nodes[n];
            let inst = node.svc.as_ref()?.router().instance(i)?;
            (node.run == Run::Running && inst.state() == State::Master)
                .then(|| inst.effective_priority())
        })
    }

    /// Would BACKUP `i` of node `n` take over from a MASTER of priority `master`? Not with
    /// `nopreempt`; in a sync group only if every other member would too (keepalived moves a
    /// group to MASTER only when all its members want it).
    fn would_preempt(&self, n: usize, i: usize, master: u8) -> bool {
        let Some(svc) = self.nodes[n].svc.as_ref() else {
            return false;
        };
        let router = svc.router();
        let Some(inst) = router.instance(i) else {
            return false;
        };
        if inst.config().nopreempt || inst.effective_priority() <= master {
            return false;
        }
        let Some(grp) = router.group_of(i) else {
            return true;
        };
        grp.members().iter().all(|&m| {
            if m == i {
                return true;
            }
            let Some(mi) = router.instance(m) else {
                return false;
            };
            match mi.state() {
                State::Master => true,
                State::Backup => {
                    if mi.config().nopreempt {
                        return false;
                    }
                    let g = self.nodes[n].shadow.get(m).and_then(|s| s.group);
                    match g.and_then(|g| self.group_master(g)) {
                        Some(p) => mi.effective_priority() > p,
                        None => true,
                    }
                }
                _ => false,
            }
        })
    }

    /// One (segment, VRID, family) group once things are quiet.
    fn check_group(&mut self, g: usize) {
        let grp = &self.groups[g];
        let mut masters = Vec::new();
        let mut backups = Vec::new();
        for &(n, i) in &grp.members {
            let node = &self.nodes[n];
            if node.run != Run::Running {
                continue;
            }
            let Some(inst) = node.svc.as_ref().and_then(|s| s.router().instance(i)) else {
                continue;
            };
            let who = format!(
                "{}/{} (priority {})",
                node.name,
                inst.name(),
                inst.effective_priority()
            );
            match inst.state() {
                State::Master => masters.push((who, inst.effective_priority())),
                State::Backup => backups.push((who, n, i)),
                _ => {}
            }
        }
        if masters.is_empty() && backups.is_empty() {
            return;
        }
        let what = format!(
            "VRID {} IPv{}{} on segment {}",
            grp.vrid,
            grp.family,
            if grp.unicast { " unicast" } else { "" },
            self.sc.segments[grp.segment].name
        );
        let quiet = dur(self.now - self.window.disturbed_at);
        if masters.len() != 1 {
            let list: Vec<String> = masters.iter().map(|m| m.0.clone()).collect();
            let m = format!(
                "{} MASTER(s) for {what} after {quiet} without faults{}{}",
                masters.len(),
                if list.is_empty() { "" } else { ": " },
                list.join(", ")
            );
            self.violation(None, m);
            return;
        }
        let (mw, mp) = &masters[0];
        if let Some((bw, _, _)) = backups
            .iter()
            .find(|(_, n, i)| self.would_preempt(*n, *i, *mp))
        {
            let m = format!(
                "wrong MASTER for {what} after {quiet} without faults: {mw} is MASTER while \
                 {bw} would preempt"
            );
            self.violation(None, m);
        }
    }

    /// Checks after every step: expectations, GARP deadlines, the quiet window.
    pub(crate) fn after_step(&mut self) {
        if !self.expects.is_empty() {
            for k in 0..self.expects.len() {
                if !self.expects[k].open {
                    continue;
                }
                let ok = self.eval(&self.expects[k].pred.clone());
                match self.expects[k].mode {
                    Mode::Within(_) if ok => {
                        self.expects[k].open = false;
                        self.expect_met += 1;
                        let m = format!(
                            "ok: {} (met after {})",
                            self.expects[k].text,
                            dur(self.now - self.expects[k].start)
                        );
                        self.line(None, &m);
                    }
                    Mode::For(_) if !ok => {
                        self.expects[k].open = false;
                        self.expect_failed += 1;
                        let m = format!(
                            "FAILED: {} (broken after {})",
                            self.expects[k].text,
                            dur(self.now - self.expects[k].start)
                        );
                        self.line(None, &m);
                    }
                    _ => {}
                }
            }
        }
        if !self.obligations.is_empty() {
            let now = self.now;
            let expired: Vec<(usize, u32, IpAddr)> = self
                .obligations
                .iter()
                .filter(|(_, o)| o.deadline < now)
                .map(|(k, _)| *k)
                .collect();
            for key in expired {
                let Some(o) = self.obligations.remove(&key) else {
                    continue;
                };
                let (n, _, addr) = key;
                let still = self.nodes[n]
                    .shadow
                    .get(o.inst)
                    .is_some_and(|s| s.state == State::Master && s.transitions == o.transitions);
                if still && self.nodes[n].run == Run::Running {
                    let m = format!(
                        "no gratuitous ARP/NA for {addr} within {} of becoming MASTER at {}",
                        dur(o.deadline - o.since),
                        secs(o.since)
                    );
                    self.violation(Some(n), m);
                }
            }
        }
        if self.window.open && !self.dirty.is_empty() {
            let mut dirty = std::mem::take(&mut self.dirty);
            dirty.sort_unstable();
            dirty.dedup();
            for g in dirty {
                if g < self.groups.len() {
                    self.check_group(g);
                }
            }
        } else if !self.window.open {
            self.dirty.clear();
        }
    }

    pub(crate) fn eval(&self, p: &Predicate) -> bool {
        match p {
            Predicate::State {
                node,
                instance,
                state,
            } => {
                let nd = &self.nodes[*node];
                match (&nd.svc, state) {
                    (None, None) => true,
                    (None, Some(_)) | (Some(_), None) => nd.run == Run::Down && state.is_none(),
                    (Some(svc), Some(st)) => {
                        let mut any = false;
                        for i in svc.router().instances() {
                            if instance.as_deref().is_some_and(|x| x != i.name()) {
                                continue;
                            }
                            any = true;
                            if i.state() != *st {
                                return false;
                            }
                        }
                        any
                    }
                }
            }
            Predicate::Holds { node, addr, yes } => self.nodes[*node].env.holds(*addr) == *yes,
            Predicate::Bfd { node, name, up } => self.bfd_up(*node, name) == *up,
            Predicate::Rs { node, vs, rs, want } => {
                self.lvs_rs_matches(*node, (vs.ip(), vs.port()), (rs.ip(), rs.port()), *want)
            }
        }
    }

    pub(crate) fn expect(&mut self, text: String, pred: Predicate, mode: Mode) {
        let ok = self.eval(&pred);
        match (mode, ok) {
            (Mode::At, true) | (Mode::Within(_), true) => {
                self.expect_met += 1;
                self.line(None, &format!("ok: {text}"));
            }
            (Mode::At, false) | (Mode::For(_), false) => {
                self.expect_failed += 1;
                let m = format!("FAILED: {text} ({})", self.describe(&pred));
                self.line(None, &m);
            }
            (Mode::Within(d) | Mode::For(d), _) => {
                let k = self.expects.len();
                self.expects.push(ExpectState {
                    text,
                    pred,
                    mode,
                    start: self.now,
                    open: true,
                });
                self.push(self.now + d, Ev::ExpectEnd(k));
            }
        }
    }

    pub(crate) fn expect_end(&mut self, k: usize) {
        if !self.expects[k].open {
            return;
        }
        self.expects[k].open = false;
        let text = self.expects[k].text.clone();
        match self.expects[k].mode {
            Mode::For(_) => {
                self.expect_met += 1;
                self.line(None, &format!("ok: {text}"));
            }
            _ => {
                self.expect_failed += 1;
                let m = format!(
                    "FAILED: {text} ({})",
                    self.describe(&self.expects[k].pred.clone())
                );
                self.line(None, &m);
            }
        }
    }

    /// What the expectation's subject looks like now.
    fn describe(&self, p: &Predicate) -> String {
        match p {
            Predicate::State { node, .. } => {
                let nd = &self.nodes[*node];
                match &nd.svc {
                    None => format!("{} is not running", nd.name),
                    Some(svc) => {
                        let s: Vec<String> = svc
                            .router()
                            .instances()
                            .iter()
                            .map(|i| format!("{} {}", i.name(), i.state()))
                            .collect();
                        format!("{}: {}", nd.name, s.join(", "))
                    }
                }
            }
            Predicate::Holds { node, .. } => {
                let nd = &self.nodes[*node];
                let a: Vec<String> = nd.env.addrs.keys().map(|(_, a)| a.to_string()).collect();
                format!("{} holds [{}]", nd.name, a.join(" "))
            }
            Predicate::Bfd { node, name, .. } => self.bfd_describe(*node, name),
            Predicate::Rs { node, vs, rs, .. } => {
                self.lvs_describe(*node, (vs.ip(), vs.port()), (rs.ip(), rs.port()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_match_the_rfc_examples() {
        // keepalived.data: priority 150, v2, 1 s: "Master down timer = 3414062 usecs".
        assert_eq!(master_down_us(false, 150, 1_000_000, 3), 3_414_062);
        assert_eq!(master_down_us(false, 100, 1_000_000, 3), 3_609_375);
        assert_eq!(master_down_us(true, 254, 10_000, 3), 30_078);
        assert_eq!(skew_us(true, 254, 10_000), 78);
    }
}
