//! SIGHUP reload (reference §3.13, keepalived `vrrp_daemon.c:reload_vrrp_thread`,
//! `vrrp_data.c:clear_diff_vrrp`): old and new instances are matched by (VRID, family,
//! configured interface, unicast mode and source, multicast address), not by name. Matched
//! instances keep their state, timers and statistics, and their VIPs, routes and rules are
//! diffed; unmatched old masters send priority 0 and release everything; new instances
//! start as at startup.

use scheduler::Instant;

use crate::config::ast::Span;
use crate::config::model::vrrp::{RouteSpec, RuleSpec};

use super::instance::Instance;
use super::io::{Action, Outbox, State};
use super::params::RouterConfig;
use super::router::{new_trackers, Router};

fn same_route(a: &RouteSpec, b: &RouteSpec) -> bool {
    let mut a = a.clone();
    a.span = Span::default();
    let mut b = b.clone();
    b.span = Span::default();
    a == b
}

fn same_rule(a: &RuleSpec, b: &RuleSpec) -> bool {
    let mut a = a.clone();
    a.span = Span::default();
    let mut b = b.clone();
    b.span = Span::default();
    a == b
}

impl Router {
    pub(crate) fn reconfigure(&mut self, now: Instant, cfg: RouterConfig, out: &mut Outbox) {
        // Match new instances to old ones, first unused match in configuration order.
        let mut used = vec![false; self.instances.len()];
        let matched: Vec<Option<usize>> = cfg
            .instances
            .iter()
            .map(|n| {
                let key = n.reload_key();
                let k = self
                    .instances
                    .iter()
                    .enumerate()
                    .position(|(k, o)| !used[k] && o.cfg.reload_key() == key)?;
                used[k] = true;
                Some(k)
            })
            .collect();

        // Phase 1, with the old configuration in place: release what goes away.
        let removed: Vec<usize> = (0..used.len()).filter(|&k| !used[k]).collect();
        if self.started {
            for k in removed {
                self.delete_instance(k, now, out);
            }
        }
        for (j, m) in matched.iter().enumerate() {
            if let Some(k) = *m {
                self.release_removed(k, &cfg.instances[j], out);
            }
        }

        // Phase 2: the new configuration.
        let old_instances = std::mem::take(&mut self.instances);
        let old_trackers = std::mem::take(&mut self.trackers);
        let old_groups = std::mem::take(&mut self.groups);
        self.trackers = new_trackers(&cfg, Some(&old_trackers));
        self.install_config(cfg, now);
        if !self.started {
            return;
        }

        // Phase 3: matched instances take over their old run-time state.
        let mut fresh = Vec::new();
        for (j, m) in matched.iter().enumerate() {
            match m {
                Some(k) => {
                    take_over(&mut self.instances[j], &old_instances[*k]);
                    self.install_added(j, &old_instances[*k], now, out);
                }
                None => fresh.push(j),
            }
        }
        // Groups whose members all survived keep a state derived from them, without
        // notifications; the others start as at startup.
        for g in 0..self.groups.len() {
            let members = self.groups[g].cfg.members.clone();
            if members.iter().all(|&m| matched[m].is_some()) {
                let states: Vec<State> = members.iter().map(|&m| self.instances[m].state).collect();
                let st = if states.contains(&State::Fault) {
                    State::Fault
                } else if !states.is_empty() && states.iter().all(|s| *s == State::Master) {
                    State::Master
                } else {
                    State::Backup
                };
                let grp = &mut self.groups[g];
                grp.state = st;
                grp.notified = old_groups
                    .iter()
                    .find(|o| o.cfg.name == grp.cfg.name)
                    .and_then(|o| o.notified)
                    .or(Some(st));
            }
        }
        for (j, m) in matched.iter().enumerate() {
            if m.is_some() {
                self.retrack(j, now, out);
            }
        }

        // Phase 4: new instances start as at startup.
        for &j in &fresh {
            self.refresh_tracking(j);
        }
        let new_groups: Vec<usize> = (0..self.groups.len())
            .filter(|&g| {
                self.groups[g]
                    .cfg
                    .members
                    .iter()
                    .any(|&m| matched[m].is_none())
            })
            .collect();
        self.init_group_states(&new_groups);
        for &g in &new_groups {
            let st = self.groups[g].state;
            if st == State::Fault || st == State::Backup {
                self.notify_group(g, out);
            }
        }
        for j in fresh {
            self.init_instance(j, now, out);
        }
    }

    /// An instance the new configuration does not have: a master sends priority 0 and
    /// releases its addresses; it reports DELETED (or FAULT without `notify_deleted`).
    fn delete_instance(&mut self, k: usize, now: Instant, out: &mut Outbox) {
        let inst = &self.instances[k];
        if inst.state == State::Master || inst.vip_set {
            let adv = inst.state == State::Master;
            self.restore_interface(k, adv, false, now, out);
        }
        let inst = &mut self.instances[k];
        if inst.state != State::Deleted {
            log::info!(target: "vrrp", "({}) removed by reload", inst.cfg.name);
        }
        inst.state = State::Deleted;
        inst.sands = None;
        self.notify_instance(k, out);
    }

    /// Removes the VIPs, routes and rules a matched master no longer has (old specs).
    fn release_removed(&mut self, k: usize, new: &super::params::InstanceConfig, out: &mut Outbox) {
        let inst = &self.instances[k];
        if !inst.vip_set {
            return;
        }
        let idx = k as u32;
        for (excluded, old_list, new_list) in [
            (false, &inst.cfg.vips, &new.vips),
            (true, &inst.cfg.evips, &new.evips),
        ] {
            for vip in old_list {
                if new_list.iter().any(|n| n.same_address(vip)) {
                    continue;
                }
                if let Some(ifindex) = self.ifindex_of(&vip.dev) {
                    out.actions.push(Action::DelAddress {
                        instance: idx,
                        ifindex,
                        vip: vip.clone(),
                        excluded,
                        may_be_absent: false,
                    });
                }
            }
        }
        for r in &inst.cfg.routes {
            if !new.routes.iter().any(|n| same_route(n, r)) {
                out.actions.push(Action::DelRoute {
                    instance: idx,
                    route: r.clone(),
                });
            }
        }
        for r in &inst.cfg.rules {
            if !new.rules.iter().any(|n| same_rule(n, r)) {
                out.actions.push(Action::DelRule {
                    instance: idx,
                    rule: r.clone(),
                });
            }
        }
    }

    /// Installs the VIPs, routes and rules a matched master gained, and re-announces.
    fn install_added(&mut self, j: usize, old: &Instance, now: Instant, out: &mut Outbox) {
        let inst = &self.instances[j];
        if !inst.vip_set {
            return;
        }
        let idx = j as u32;
        let mut added = false;
        for (excluded, new_list, old_list) in [
            (false, &inst.cfg.vips, &old.cfg.vips),
            (true, &inst.cfg.evips, &old.cfg.evips),
        ] {
            for vip in new_list {
                if old_list.iter().any(|o| o.same_address(vip)) {
                    continue;
                }
                if let Some(ifindex) = self.ifindex_of(&vip.dev) {
                    added = true;
                    out.actions.push(Action::AddAddress {
                        instance: idx,
                        ifindex,
                        vip: vip.clone(),
                        excluded,
                    });
                }
            }
        }
        for r in &inst.cfg.routes {
            if !old.cfg.routes.iter().any(|o| same_route(o, r)) {
                out.actions.push(Action::AddRoute {
                    instance: idx,
                    route: r.clone(),
                });
            }
        }
        for r in &inst.cfg.rules {
            if !old.cfg.rules.iter().any(|o| same_rule(o, r)) {
                out.actions.push(Action::AddRule {
                    instance: idx,
                    rule: r.clone(),
                });
            }
        }
        if added || inst.cfg.garp.master_refresh_us > 0 {
            let rep = inst.cfg.garp.master_repeat;
            self.link_update(j, rep, now, out);
        }
    }
}

/// Copies the run-time state of a matched old instance into its new incarnation.
fn take_over(new: &mut Instance, old: &Instance) {
    new.state = old.state;
    new.wantstate = old.wantstate;
    new.notified = old.notified;
    new.effective_priority = old.effective_priority;
    new.total_priority = old.total_priority;
    new.faults = old.faults;
    new.init_pending = old.init_pending;
    new.master_adver_int_us = old.master_adver_int_us;
    new.ms_down_timer_us = old.ms_down_timer_us;
    new.sands = old.sands;
    new.preempt_time = old.preempt_time;
    new.master_priority = old.master_priority;
    new.master_addr = old.master_addr;
    new.vip_set = old.vip_set;
    new.last_transition = old.last_transition;
    new.ip_id = old.ip_id;
    new.ah_seq = old.ah_seq;
    new.tx_old_unicast = old.tx_old_unicast || new.tx_old_unicast;
    new.stats = old.stats.clone();
    new.garp.second_burst_at = old.garp.second_burst_at;
    new.garp.lower_prio_at = old.garp.lower_prio_at;
    new.garp.refresh_at = old.garp.refresh_at;
    new.log_window = old.log_window;
    if new.cfg.version != old.cfg.version || new.cfg.adver_int_us != old.cfg.adver_int_us {
        new.master_adver_int_us = new.cfg.adver_int_us;
    }
    // A new master-down interval takes effect with the next advert heard.
    new.ms_down_timer_us = new.master_down_us();
}
