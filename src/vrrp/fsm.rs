//! The instance state machine and sync groups: keepalived's `vrrp_init_state`,
//! `vrrp_state_goto_master`, `vrrp_state_master_tx`, `vrrp_state_become_master`,
//! `vrrp_state_leave_master`, `vrrp_state_leave_fault`, `down_instance`, `try_up_instance`
//! and `vrrp_sync_*` (reference §3.3-3.6, §3.11; RFC 5798 §6.4, RFC 9568 §6.4).

use scheduler::Instant;

use crate::track::{effective_priority, PRIORITY_OWNER};
use crate::wire::vrrp::Version;

use super::instance::skew_min_us;
use super::io::{Action, NotifyState, Outbox, State};
use super::router::Router;

impl Router {
    /// keepalived's sync-group initial state (`vrrp_sync_set_group`,
    /// `initialise_tracking_priorities`): MASTER only if every member is an owner with
    /// `state MASTER`, FAULT if a member is down, INIT while a member waits for its scripts.
    pub(crate) fn init_group_states(&mut self, groups: &[usize]) {
        for &g in groups {
            let members = self.groups[g].cfg.members.clone();
            let all_owners = !members.is_empty()
                && members.iter().all(|&m| {
                    let i = &self.instances[m];
                    i.cfg.initial_master && i.base_priority == PRIORITY_OWNER
                });
            let mut state = if all_owners {
                State::Master
            } else {
                State::Backup
            };
            if let Some(&m) = members.iter().find(|&&m| self.instances[m].faults > 0) {
                log::info!(
                    target: "vrrp",
                    "VRRP_Group({}): Syncing {} to FAULT state",
                    self.groups[g].cfg.name,
                    self.instances[m].cfg.name
                );
                state = State::Fault;
            } else if members.iter().any(|&m| self.instances[m].init_pending > 0) {
                state = State::Init;
            }
            self.groups[g].state = state;
        }
    }

    fn group_has(&self, i: usize, pred: impl Fn(&super::instance::Instance) -> bool) -> bool {
        match self.instances[i].cfg.sync_group {
            Some(g) => self.groups[g]
                .cfg
                .members
                .iter()
                .any(|&m| pred(&self.instances[m])),
            None => false,
        }
    }

    /// keepalived's `vrrp_init_state` for one instance (at start, or added by a reload).
    pub(crate) fn init_instance(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let new_eff = {
            let inst = &self.instances[i];
            effective_priority(inst.base_priority, inst.total_priority)
        };
        if new_eff != self.instances[i].effective_priority {
            log::info!(
                target: "vrrp",
                "({}) Changing effective priority from {} to {}",
                self.instances[i].cfg.name,
                self.instances[i].effective_priority,
                new_eff
            );
            self.instances[i].effective_priority = new_eff;
        }
        if self.instances[i].faults > 0 {
            self.log_fault_reasons(i);
            self.instances[i].wantstate = State::Fault;
        }
        let group_state = self.instances[i]
            .cfg
            .sync_group
            .map(|g| self.groups[g].state);
        let group_pending = self.group_has(i, |m| m.init_pending > 0);
        let inst = &mut self.instances[i];
        let new_state = group_state.unwrap_or(inst.wantstate);
        let is_up = inst.faults == 0;
        let begin = inst.state;
        inst.master_adver_int_us = inst.cfg.adver_int_us;
        if is_up
            && new_state == State::Master
            && inst.init_pending == 0
            && !group_pending
            && inst.base_priority == PRIORITY_OWNER
            && inst.wantstate == State::Master
        {
            // "The simplest way to become master is to timeout from the backup state very
            // quickly (1usec)" (RFC 5798 §6.4.1: the owner goes straight to Master).
            inst.state = State::Backup;
            inst.ms_down_timer_us = 1;
            inst.sands = Some(now.saturating_add_micros(1));
            return;
        }
        inst.ms_down_timer_us = if new_state == State::Backup && inst.wantstate == State::Master {
            // A group member that wants MASTER while its group is BACKUP waits one advert
            // interval and the minimum skew.
            inst.master_adver_int_us + skew_min_us(inst.cfg.version, inst.master_adver_int_us)
        } else {
            inst.master_down_us()
        };
        // Remove whatever a previous run may have left.
        self.restore_interface(i, false, true, now, out);
        let inst = &mut self.instances[i];
        if is_up && new_state != State::Fault && inst.init_pending == 0 && !group_pending {
            if inst.state != State::Backup {
                log::info!(target: "vrrp", "({}) Entering BACKUP STATE (init)", inst.cfg.name);
                inst.state = State::Backup;
            }
        } else {
            if inst.state != State::Fault {
                log::info!(target: "vrrp", "({}) Entering FAULT STATE (init)", inst.cfg.name);
            }
            inst.state = State::Fault;
        }
        if begin != inst.state {
            inst.last_transition = now;
            // keepalived reports FAULT at start only for a real fault (not for an instance
            // held by its sync group or waiting for its first script results).
            if inst.state != State::Fault || inst.faults > 0 {
                self.notify_instance(i, out);
            }
        }
        self.instances[i].init_sands(now);
    }

    /// The adver timer (MASTER) or master-down timer (BACKUP) fired.
    pub(crate) fn instance_timer(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let prev = self.instances[i].state;
        match prev {
            State::Backup => {
                log::debug!(
                    target: "vrrp",
                    "({}) Receive advertisement timeout",
                    self.instances[i].cfg.name
                );
                // RFC 5798 §6.4.2: Master_Down_Timer fires → transition to Master.
                self.instances[i].wantstate = State::Master;
                self.goto_master(i, now, out);
            }
            State::Master => self.master_tx(i, now, out),
            _ => self.instances[i].sands = None,
        }
        self.tsm(prev, i, now, out);
    }

    /// The state choke point: logs "(VI_1) Entering X STATE" and stamps the transition.
    pub(crate) fn set_state(&mut self, i: usize, new: State, now: Instant) {
        let inst = &mut self.instances[i];
        if inst.state != new {
            log::info!(target: "vrrp", "({}) Entering {} STATE", inst.cfg.name, new.name());
            inst.state = new;
            inst.last_transition = now;
        }
    }

    /// keepalived's `vrrp_state_goto_master` + the first `vrrp_state_master_tx`: unless the
    /// sync group holds it back, send an advert (so the old master drops the VIPs before our
    /// GARPs), enter MASTER, install everything and notify.
    pub(crate) fn goto_master(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        if self.instances[i].cfg.sync_group.is_some() && !self.can_goto_master(i) {
            let inst = &mut self.instances[i];
            inst.wantstate = State::Master;
            if inst.state == State::Backup {
                inst.sands = Some(now.saturating_add_micros(inst.ms_down_timer_us));
            }
            return;
        }
        let eff = self.instances[i].effective_priority;
        self.send_advert(i, eff, now, out);
        self.set_state(i, State::Master, now);
        self.become_master(i, now, out);
        let inst = &mut self.instances[i];
        if inst.cfg.garp.master_delay_us > 0 {
            inst.garp.second_burst_at =
                Some(now.saturating_add_micros(inst.cfg.garp.master_delay_us));
        }
        inst.init_sands(now);
        // Instances that enter MASTER in the same engine call (start-up, a sync group, a
        // backup taking over from a master that sent all its adverts at once) would keep one
        // deadline for ever: N adverts back to back every interval, the last of them a burst's
        // length late (a 1,000-advert burst takes 3 ms of system time, and longer when the
        // daemon is preempted in the middle), and received back to back by the backups. The
        // first interval is shortened by a slot of half an interval (by instance index in van
        // der Corput order: 0, 1/2, 1/4, 3/4, ...), which splits them into up to 16 groups of
        // about 64. Groups, not one deadline per instance: each wake-up then sends a short
        // burst, which costs far less CPU per advert than one wake-up per advert (on both
        // sides). An early advert is harmless: a backup only restarts its Master_Down_Timer
        // (RFC 5798 §6.4.2).
        let n_instances = self.instances.len();
        let inst = &mut self.instances[i];
        let spread = advert_spread_us(i, n_instances, inst.cfg.adver_int_us);
        if let Some(t) = inst.sands {
            inst.sands = Some(t.saturating_sub(std::time::Duration::from_micros(spread)));
        }
    }

    /// The adver timer of a MASTER (RFC 5798 §6.4.3): send an advert, refresh GARPs.
    fn master_tx(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let eff = self.instances[i].effective_priority;
        self.send_advert(i, eff, now, out);
        let inst = &self.instances[i];
        if !inst.vip_set {
            log::info!(target: "vrrp", "({}) Entering MASTER STATE", inst.cfg.name);
            self.become_master(i, now, out);
        } else {
            let refresh = inst.cfg.garp.master_refresh_us;
            if refresh > 0 && inst.garp.refresh_at.map_or(true, |t| now > t) {
                let rep = inst.cfg.garp.master_refresh_repeat;
                self.link_update(i, rep, now, out);
                self.instances[i].garp.refresh_at = Some(now.saturating_add_micros(refresh));
            }
        }
        self.instances[i].init_sands(now);
    }

    /// keepalived's `vrrp_state_become_master`: VIPs, eVIPs, routes, rules, GARPs, notify.
    fn become_master(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let inst = &mut self.instances[i];
        inst.stats.become_master += 1;
        if inst.cfg.version == Version::V3 && inst.master_adver_int_us != inst.cfg.adver_int_us {
            log::info!(
                target: "vrrp",
                "({}) using locally configured advertisement interval ({} milli-sec)",
                inst.cfg.name,
                inst.cfg.adver_int_us / 1000
            );
            inst.master_adver_int_us = inst.cfg.adver_int_us;
        }
        self.add_addresses(i, out);
        let inst = &mut self.instances[i];
        inst.vip_set = true;
        let idx = i as u32;
        for route in &inst.cfg.routes {
            out.actions.push(Action::AddRoute {
                instance: idx,
                route: route.clone(),
            });
        }
        for rule in &inst.cfg.rules {
            out.actions.push(Action::AddRule {
                instance: idx,
                rule: rule.clone(),
            });
        }
        let rep = inst.cfg.garp.master_repeat;
        self.link_update(i, rep, now, out);
        let inst = &mut self.instances[i];
        if inst.cfg.garp.master_refresh_us > 0 {
            inst.garp.refresh_at = Some(now.saturating_add_micros(inst.cfg.garp.master_refresh_us));
        }
        self.notify_instance(i, out);
        self.instances[i].last_transition = now;
    }

    fn add_addresses(&mut self, i: usize, out: &mut Outbox) {
        let inst = &self.instances[i];
        let name = &inst.cfg.name;
        for (excluded, list) in [(false, &inst.cfg.vips), (true, &inst.cfg.evips)] {
            if list.is_empty() {
                continue;
            }
            log::debug!(
                target: "vrrp",
                "({name}) setting {}",
                if excluded { "E-VIPs." } else { "VIPs." }
            );
            for vip in list {
                let Some(ifindex) = self.ifindex_of(&vip.dev) else {
                    log::warn!(
                        target: "vrrp",
                        "({name}) cannot add {}: interface {} not found",
                        vip.addr,
                        vip.dev
                    );
                    continue;
                };
                out.actions.push(Action::AddAddress {
                    instance: i as u32,
                    ifindex,
                    vip: vip.clone(),
                    excluded,
                });
            }
        }
    }

    /// keepalived's `vrrp_restore_interface`: optional priority-0 advert, then rules,
    /// routes, pending GARPs and addresses go. `cleanup` removes the addresses even if we
    /// did not install them (start-up).
    pub(crate) fn restore_interface(
        &mut self,
        i: usize,
        adv_prio0: bool,
        cleanup: bool,
        now: Instant,
        out: &mut Outbox,
    ) {
        if adv_prio0 {
            self.send_advert(i, 0, now, out);
            self.instances[i].stats.pri_zero_sent += 1;
            log::debug!(target: "vrrp", "({}) sent 0 priority", self.instances[i].cfg.name);
        }
        let inst = &mut self.instances[i];
        let idx = i as u32;
        if inst.vip_set {
            for rule in &inst.cfg.rules {
                out.actions.push(Action::DelRule {
                    instance: idx,
                    rule: rule.clone(),
                });
            }
            for route in &inst.cfg.routes {
                out.actions.push(Action::DelRoute {
                    instance: idx,
                    route: route.clone(),
                });
            }
        }
        inst.garp.pending.iter_mut().for_each(|p| *p = false);
        inst.garp.any_pending = false;
        inst.garp.second_burst_at = None;
        inst.garp.lower_prio_at = None;
        inst.garp.refresh_at = None;
        if !(inst.vip_set || cleanup) {
            return;
        }
        let inst = &self.instances[i];
        for (excluded, list) in [(false, &inst.cfg.vips), (true, &inst.cfg.evips)] {
            if list.is_empty() {
                continue;
            }
            log::debug!(
                target: "vrrp",
                "({}) removing {}",
                inst.cfg.name,
                if excluded { "E-VIPs." } else { "VIPs." }
            );
            for vip in list {
                let Some(ifindex) = self.ifindex_of(&vip.dev) else {
                    continue;
                };
                out.actions.push(Action::DelAddress {
                    instance: idx,
                    ifindex,
                    vip: vip.clone(),
                    excluded,
                    may_be_absent: cleanup,
                });
            }
        }
        self.instances[i].vip_set = false;
    }

    /// keepalived's `vrrp_state_leave_master` to BACKUP or FAULT.
    pub(crate) fn leave_master(
        &mut self,
        i: usize,
        to: State,
        adv_prio0: bool,
        now: Instant,
        out: &mut Outbox,
    ) {
        self.instances[i].wantstate = to;
        self.set_state(i, to, now);
        if to == State::Backup {
            self.instances[i].preempt_time = None;
        } else {
            // RFC 5798 §6.4.3: leaving Master sends an advert with priority 0.
            self.send_advert(i, 0, now, out);
        }
        self.restore_interface(i, adv_prio0, false, now, out);
        self.notify_instance(i, out);
        let inst = &mut self.instances[i];
        inst.ms_down_timer_us = inst.master_down_us();
        inst.init_sands(now);
        inst.stats.release_master += 1;
    }

    /// keepalived's `vrrp_state_leave_fault`: to the wanted state (MASTER through
    /// `goto_master`).
    pub(crate) fn leave_fault(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let to = self.instances[i].wantstate;
        if to == State::Master {
            self.goto_master(i, now, out);
        } else {
            if to == State::Fault && self.instances[i].state == State::Master {
                self.send_advert(i, 0, now, out);
                self.restore_interface(i, false, false, now, out);
            }
            self.set_state(i, to, now);
            self.notify_instance(i, out);
            if to == State::Backup {
                self.instances[i].preempt_time = None;
            }
        }
        let inst = &mut self.instances[i];
        inst.master_adver_int_us = inst.cfg.adver_int_us;
        inst.ms_down_timer_us = inst.master_down_us();
        inst.init_sands(now);
    }

    /// A weight-0 tracked object went down (keepalived `down_instance`).
    pub(crate) fn down_instance(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let first_in_group = match self.instances[i].cfg.sync_group {
            Some(g) => self.groups[g]
                .cfg
                .members
                .iter()
                .all(|&m| m == i || self.instances[m].faults == 0),
            None => false,
        };
        self.instances[i].wantstate = State::Fault;
        if self.instances[i].state == State::Master {
            self.leave_master(i, State::Fault, true, now, out);
        } else {
            self.leave_fault(i, now, out);
        }
        if first_in_group {
            self.sync_fault(i, now, out);
        }
    }

    /// Every weight-0 object is up again (keepalived `try_up_instance`): leave FAULT.
    pub(crate) fn try_up(&mut self, i: usize, _leaving_init: bool, now: Instant, out: &mut Outbox) {
        let inst = &mut self.instances[i];
        let owner_master = inst.wantstate == State::Master && inst.base_priority == PRIORITY_OWNER;
        inst.wantstate = if owner_master {
            State::Master
        } else {
            State::Backup
        };
        inst.master_adver_int_us = inst.cfg.adver_int_us;
        inst.ms_down_timer_us = if owner_master {
            inst.master_adver_int_us + inst.skew_us()
        } else {
            inst.master_down_us()
        };
        if self.group_has(i, |m| m.faults > 0 || m.init_pending > 0) {
            return;
        }
        let wanted = self.instances[i].wantstate;
        if wanted == State::Master
            && self.instances[i].cfg.sync_group.is_some()
            && !self.can_goto_master(i)
        {
            self.instances[i].wantstate = State::Backup;
        }
        self.leave_fault(i, now, out);
        // Unicast: renew the peers' ARP/ND entry for us so their adverts reach us at once.
        if self.instances[i].cfg.is_unicast() {
            if let (Some(src), Some(ifx)) = (self.src_addr(i), self.instance_ifindex(i)) {
                log::debug!(
                    target: "vrrp",
                    "{}: sending gratuitous {} for {}",
                    self.instances[i].cfg.name,
                    if src.is_ipv4() { "ARP" } else { "NA" },
                    src
                );
                out.actions.push(match src {
                    std::net::IpAddr::V4(v) => Action::SendGarp {
                        ifindex: ifx,
                        vip: v,
                    },
                    std::net::IpAddr::V6(v) => Action::SendNa {
                        ifindex: ifx,
                        vip: v,
                    },
                });
            }
        }
        self.instances[i].wantstate = wanted;
        if self.instances[i].cfg.sync_group.is_some() {
            if self.instances[i].state == State::Master {
                self.sync_master(i, now, out);
            } else {
                self.sync_backup(i, now, out);
            }
        }
    }

    /// keepalived's `vrrp_set_effective_priority`: clamp, log, and move a running
    /// master-down timer by the change of Master_Down_Interval (§3.6).
    pub(crate) fn set_effective_priority(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let inst = &mut self.instances[i];
        // An owner stays at 255 whatever its trackers say (a reload may make one).
        let new = effective_priority(inst.base_priority, inst.total_priority);
        if new == inst.effective_priority {
            return;
        }
        log::info!(
            target: "vrrp",
            "({}) Changing effective priority from {} to {}",
            inst.cfg.name,
            inst.effective_priority,
            new
        );
        let old_down = inst.ms_down_timer_us;
        inst.effective_priority = new;
        inst.ms_down_timer_us = inst.master_down_us();
        if inst.state == State::Backup {
            if let Some(s) = inst.sands {
                let new_down = inst.ms_down_timer_us;
                inst.sands = Some(if new_down >= old_down {
                    s.saturating_add_micros(new_down - old_down)
                } else {
                    Instant::from_micros(s.as_micros().saturating_sub(old_down - new_down))
                });
            }
        }
        let _ = now;
        let group_notify = inst
            .cfg
            .sync_group
            .is_some_and(|g| self.groups[g].cfg.notify_priority_changes);
        let inst = &self.instances[i];
        if inst.cfg.notify_priority_changes || group_notify {
            match inst.state {
                State::Master => self.notify_event(i, NotifyState::MasterPriority, out),
                State::Backup => self.notify_event(i, NotifyState::BackupPriority, out),
                _ => {}
            }
        }
    }

    // ------------------------------------------------------------------ sync groups

    /// keepalived's `vrrp_sync_can_goto_master`: only if every other member wants MASTER
    /// ("prefer backup state to avoid thrashing").
    pub(crate) fn can_goto_master(&self, i: usize) -> bool {
        let Some(g) = self.instances[i].cfg.sync_group else {
            return true;
        };
        let grp = &self.groups[g];
        if grp.state == State::Master {
            return true;
        }
        grp.cfg
            .members
            .iter()
            .all(|&m| m == i || self.instances[m].wantstate == State::Master)
    }

    /// keepalived's transition matrix (`VRRP_TSM`): to MASTER pulls the group to MASTER,
    /// MASTER to BACKUP pushes it to BACKUP.
    pub(crate) fn tsm(&mut self, prev: State, i: usize, now: Instant, out: &mut Outbox) {
        if self.instances[i].cfg.sync_group.is_none() {
            return;
        }
        match (prev, self.instances[i].state) {
            (State::Backup | State::Master | State::Fault, State::Master) => {
                self.sync_master(i, now, out)
            }
            (State::Master, State::Backup) => self.sync_backup(i, now, out),
            _ => {}
        }
    }

    fn members_except(&self, i: usize) -> Vec<usize> {
        match self.instances[i].cfg.sync_group {
            Some(g) => self.groups[g]
                .cfg
                .members
                .iter()
                .copied()
                .filter(|&m| m != i)
                .collect(),
            None => Vec::new(),
        }
    }

    pub(crate) fn sync_master(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let Some(g) = self.instances[i].cfg.sync_group else {
            return;
        };
        if self.groups[g].state == State::Master || !self.can_goto_master(i) {
            return;
        }
        log::info!(
            target: "vrrp",
            "VRRP_Group({}) Syncing instances to MASTER state",
            self.groups[g].cfg.name
        );
        for m in self.members_except(i) {
            if self.instances[m].state != State::Master {
                self.instances[m].wantstate = State::Master;
                self.goto_master(m, now, out);
            }
        }
        self.groups[g].state = State::Master;
        self.notify_group(g, out);
    }

    pub(crate) fn sync_backup(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let Some(g) = self.instances[i].cfg.sync_group else {
            return;
        };
        if self.groups[g].state == State::Backup {
            return;
        }
        log::info!(
            target: "vrrp",
            "VRRP_Group({}) Syncing instances to BACKUP state",
            self.groups[g].cfg.name
        );
        for m in self.members_except(i) {
            let inst = &self.instances[m];
            if inst.state == State::Backup || inst.faults > 0 || inst.init_pending > 0 {
                continue;
            }
            self.instances[m].wantstate = State::Backup;
            match self.instances[m].state {
                State::Fault => self.leave_fault(m, now, out),
                State::Master => self.leave_master(m, State::Backup, false, now, out),
                _ => {}
            }
        }
        self.groups[g].state = State::Backup;
        self.notify_group(g, out);
    }

    pub(crate) fn sync_fault(&mut self, i: usize, now: Instant, out: &mut Outbox) {
        let Some(g) = self.instances[i].cfg.sync_group else {
            return;
        };
        if self.groups[g].state == State::Fault {
            return;
        }
        log::info!(
            target: "vrrp",
            "VRRP_Group({}) Syncing instances to FAULT state",
            self.groups[g].cfg.name
        );
        for m in self.members_except(i) {
            if self.instances[m].state == State::Fault {
                continue;
            }
            self.instances[m].wantstate = State::Fault;
            match self.instances[m].state {
                State::Master => self.leave_master(m, State::Fault, false, now, out),
                State::Backup | State::Init => {
                    self.set_state(m, State::Fault, now);
                    self.instances[m].sands = None;
                    self.notify_instance(m, out);
                }
                _ => {}
            }
        }
        self.groups[g].state = State::Fault;
        self.notify_group(g, out);
    }
}

/// Adverts per group the spread aims at: a group goes out in one wake-up, in well under a
/// millisecond, and is read by a backup in two or three system calls.
const SPREAD_GROUP: usize = 64;

/// How much earlier than one interval instance `i` (of `n`) sends its second advert after
/// entering MASTER: slot s/S of half an interval, S the power of two (at most 16) that makes
/// groups of about SPREAD_GROUP adverts, s = the low bits of `i` reversed (0 for the first
/// instance, then S/2, S/4, 3S/4, ...). Fewer, fuller groups mean fewer wake-ups on both
/// sides (255 instances: 4 groups of 64, not 16 of 16); more than 16 groups would not
/// shorten them further where it matters.
fn advert_spread_us(i: usize, n: usize, adver_int_us: u64) -> u64 {
    let slots = n.div_ceil(SPREAD_GROUP).next_power_of_two().min(16);
    let slots_log2 = slots.trailing_zeros();
    if slots_log2 == 0 {
        return 0;
    }
    let slot = u64::from((i as u32).reverse_bits() >> (32 - slots_log2));
    ((adver_int_us / 2) * slot) >> slots_log2
}
