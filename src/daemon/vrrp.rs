//! L4 wiring of the VRRP engine: builds the [`Router`] from the configuration, schedules
//! the tracking scripts, turns the engine's actions into [`Env`] calls (notifications
//! become keepalived's scripts and FIFO lines) and applies reloads. Generic over `Env`, so
//! production and the simulator run this very code.

use super::env::Env;
use super::notify::{self, HookEvent, ScriptRun};
use crate::config::model::Config;
use crate::vrrp::{
    Action, Input, InterfaceInfo, NotifyKind, Outbox, Router, RouterConfig, ScriptId, Target,
};
use scheduler::Instant;
use std::time::Duration;

/// A tracking script's schedule: run every `interval`, never two at once.
#[derive(Clone, Debug)]
struct ScriptSlot {
    id: ScriptId,
    run: ScriptRun,
    interval_us: u64,
    timeout_us: u64,
    next: Instant,
    running: bool,
}

/// The VRRP side of the daemon.
pub struct VrrpService {
    router: Router,
    out: Outbox,
    model: Config,
    scripts: Vec<ScriptSlot>,
    /// See [`VrrpService::trim_outbox`].
    outbox_keep: usize,
    /// The latest instant given to the engine (see [`VrrpService::last_now`]).
    last_now: Instant,
    /// A burst of work ended (see [`VrrpService::take_burst_ended`]).
    burst_ended: bool,
}

impl VrrpService {
    /// Builds the engine for `model` on the interfaces the system has now, and performs the
    /// start-up actions (cleanup of VIPs a killed previous run may have left, initial
    /// notifies).
    pub fn new(
        model: &Config,
        interfaces: &[InterfaceInfo],
        now: Instant,
        env: &mut impl Env,
    ) -> Result<Self, String> {
        let cfg = RouterConfig::from_model(model, interfaces)?;
        let mut out = Outbox::new();
        let router = Router::new(cfg, now, &mut out);
        let mut svc = VrrpService {
            outbox_keep: outbox_keep(&router),
            last_now: now,
            burst_ended: true,
            router,
            out,
            model: model.clone(),
            scripts: Vec::new(),
        };
        svc.scripts = script_slots(model, svc.router_config_scripts(), now);
        svc.flush(env);
        svc.statics(env, true);
        svc.start_due_scripts(now, env);
        Ok(svc)
    }

    fn router_config_scripts(&self) -> Vec<ScriptId> {
        // Only scripts some instance tracks are run (keepalived: "script X is not used").
        let mut used: Vec<ScriptId> = self
            .router
            .instances()
            .iter()
            .flat_map(|i| i.config().tracks.iter())
            .filter_map(|t| match t.target {
                Target::Script(id) => Some(id),
                _ => None,
            })
            .collect();
        used.sort();
        used.dedup();
        used
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    pub fn model(&self) -> &Config {
        &self.model
    }

    /// STATS_CLEAR: zeroes the instances' counters.
    pub fn clear_stats(&mut self) {
        self.router.clear_stats();
    }

    /// An input from the outside world (packet, link change, script result, ...).
    pub fn handle(&mut self, now: Instant, input: Input, env: &mut impl Env) {
        let now = self.monotonic(now);
        if let Input::ScriptResult { script, .. } = &input {
            if let Some(s) = self.scripts.iter_mut().find(|s| s.id == *script) {
                s.running = false;
            }
        }
        self.router.handle(now, input, &mut self.out);
        self.flush(env);
        self.start_due_scripts(now, env);
    }

    /// Timers: the engine's, then any tracking script that is due.
    pub fn handle_timeout(&mut self, now: Instant, env: &mut impl Env) {
        let now = self.monotonic(now);
        if self.router.poll_timeout().is_some_and(|t| t <= now) {
            self.router.handle_timeout(now, &mut self.out);
            self.flush(env);
        }
        self.start_due_scripts(now, env);
    }

    /// The earliest instant something is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let scripts = self
            .scripts
            .iter()
            .filter(|s| !s.running)
            .map(|s| s.next)
            .min();
        match (self.router.poll_timeout(), scripts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reload: the engine keeps matched instances' state and diffs the rest.
    pub fn reload(
        &mut self,
        model: &Config,
        now: Instant,
        env: &mut impl Env,
    ) -> Result<(), String> {
        let now = self.monotonic(now);
        let interfaces: Vec<InterfaceInfo> = self.router.interfaces().cloned().collect();
        let cfg = RouterConfig::from_model(model, &interfaces)?;
        self.router
            .handle(now, Input::Reconfigure(Box::new(cfg)), &mut self.out);
        // Deleted instances are notified with the old configuration's hooks.
        self.outbox_keep = outbox_keep(&self.router);
        self.burst_ended = true;
        self.flush(env);
        self.model = model.clone();
        let used = self.router_config_scripts();
        let old = std::mem::replace(&mut self.scripts, script_slots(model, used, now));
        // A script still running from before the reload reports under its id; until it
        // does, do not start a second copy (never two at once).
        for s in &mut self.scripts {
            s.running = old.iter().any(|o| o.id == s.id && o.running);
        }
        self.start_due_scripts(now, env);
        Ok(())
    }

    /// Orderly stop: priority-0 adverts, VIPs removed, STOP notifies, static addresses,
    /// routes and rules removed.
    pub fn shutdown(&mut self, now: Instant, env: &mut impl Env) {
        let now = self.monotonic(now);
        self.router.handle(now, Input::Shutdown, &mut self.out);
        self.flush(env);
        self.statics(env, false);
        self.scripts.clear();
    }

    /// `static_ipaddress`, `static_routes`, `static_rules`: installed when the VRRP side
    /// starts, removed when it stops, never moved by elections. Addresses without `dev` go
    /// on `default_interface`.
    fn statics(&self, env: &mut impl Env, install: bool) {
        let v = &self.model.vrrp;
        let dflt = self.model.global.default_interface.as_str();
        for a in &v.static_addresses {
            let vip = crate::vrrp::params::convert_vip(a, dflt);
            let ifindex = self
                .router
                .interfaces()
                .find(|i| i.name == vip.dev)
                .map(|i| i.ifindex);
            let Some(ifindex) = ifindex else {
                log::warn!(target: "vrrp", "static address {}: interface {} not found", a.text, vip.dev);
                continue;
            };
            if install {
                env.add_address(ifindex, &vip);
            } else {
                env.del_address(ifindex, &vip, true);
            }
        }
        for r in &v.static_routes {
            if install {
                env.add_route(r)
            } else {
                env.del_route(r)
            }
        }
        for r in &v.static_rules {
            if install {
                env.add_rule(r)
            } else {
                env.del_rule(r)
            }
        }
    }

    /// The latest instant the engine was given. The driver may run a timer at its deadline,
    /// slightly in the past (event_loop::after); never before this.
    pub fn last_now(&self) -> Instant {
        self.last_now
    }

    /// The engine's time never goes back.
    fn monotonic(&mut self, now: Instant) -> Instant {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    fn start_due_scripts(&mut self, now: Instant, env: &mut impl Env) {
        for s in &mut self.scripts {
            if !s.running && s.next <= now {
                s.running = true;
                s.next = now.saturating_add(Duration::from_micros(s.interval_us));
                env.run_track_script(s.id, &s.run, s.timeout_us);
            }
        }
    }

    /// Performs and clears the outbox.
    fn flush(&mut self, env: &mut impl Env) {
        let mut queued = false;
        for action in &self.out.actions {
            let advert = matches!(action, Action::SendAdvert { .. });
            if queued && !advert {
                env.flush_sends();
                queued = false;
            }
            match action {
                Action::SendAdvert {
                    ifindex,
                    family,
                    src,
                    dst,
                    ttl,
                    ..
                } => {
                    env.send_advert(*ifindex, *family, *src, *dst, *ttl, self.out.packet(action));
                    queued = true;
                }
                Action::AddAddress {
                    instance,
                    ifindex,
                    vip,
                    ..
                } => {
                    env.add_address(*ifindex, vip);
                    if !self.accepts(*instance) {
                        env.filter_vip(vip.addr, true);
                    }
                }
                Action::DelAddress {
                    instance,
                    ifindex,
                    vip,
                    may_be_absent,
                    ..
                } => {
                    env.del_address(*ifindex, vip, *may_be_absent);
                    if !self.accepts(*instance) {
                        env.filter_vip(vip.addr, false);
                    }
                }
                Action::AddRoute { route, .. } => env.add_route(route),
                Action::DelRoute { route, .. } => env.del_route(route),
                Action::AddRule { rule, .. } => env.add_rule(rule),
                Action::DelRule { rule, .. } => env.del_rule(rule),
                Action::SendGarp { ifindex, vip } => env.send_garp(*ifindex, *vip),
                Action::SendNa { ifindex, vip } => env.send_na(*ifindex, *vip),
                Action::Notify {
                    kind,
                    name,
                    state,
                    priority,
                    ..
                } => {
                    let event = HookEvent {
                        kind: *kind,
                        name: name.clone(),
                        state: *state,
                        priority: *priority,
                    };
                    let hooks = match kind {
                        NotifyKind::Instance => self.model.vrrp.instance(name).map(|i| &i.notify),
                        NotifyKind::Group => self.model.vrrp.sync_group(name).map(|g| &g.notify),
                    };
                    let runs = hooks
                        .map(|h| notify::scripts_for(&event, h))
                        .unwrap_or_default();
                    let fifo = notify::fifo_line(&event);
                    env.notify(&event, &runs, &fifo);
                }
            }
        }
        if queued {
            env.flush_sends();
        }
        let n = self.out.actions.len();
        self.out.clear();
        self.trim_outbox(n);
    }

    /// A burst (start-up, a reload, a mass transition: about ten actions per instance) must
    /// not pin its peak capacity for the life of the daemon (an `Action` is a few hundred
    /// bytes: 255 instances starting left ~1 MiB behind). Steady state needs at most one
    /// advert per destination per instance per flush, so that much is kept and steady-state
    /// flushes do not allocate.
    fn trim_outbox(&mut self, flushed: usize) {
        let keep = self.outbox_keep;
        // More actions than a round of adverts: a burst (the backups' start-up is one too).
        if flushed > keep {
            self.burst_ended = true;
        }
        if self.out.actions.capacity() > 2 * keep {
            self.out.actions.shrink_to(keep);
            self.burst_ended = true;
        }
        let keep_bytes = 128 * keep;
        if self.out.bytes.capacity() > 2 * keep_bytes {
            self.out.bytes.shrink_to(keep_bytes);
        }
    }

    /// True once after start-up, a reload or a burst of actions: the moment for the Linux
    /// driver to give freed memory back (`os::release_free_memory`).
    pub fn take_burst_ended(&mut self) -> bool {
        std::mem::take(&mut self.burst_ended)
    }
}

/// Outbox capacity kept between flushes: the adverts of one round, plus some room (a flush
/// that needs more grows it once, to at most twice this, which is then kept).
fn outbox_keep(router: &Router) -> usize {
    let dests: usize = router
        .instances()
        .iter()
        .map(|i| i.config().unicast_peers.len().max(1))
        .sum();
    64 + dests
}

impl VrrpService {
    /// Accept mode of an instance (keepalived: on unless `no_accept` or strict, always on
    /// for an owner).
    fn accepts(&self, instance: u32) -> bool {
        self.router
            .instance(instance as usize)
            .map_or(true, |i| i.config().accept)
    }
}

/// The schedule of each tracked script: first run at start, then every interval.
fn script_slots(model: &Config, used: Vec<ScriptId>, now: Instant) -> Vec<ScriptSlot> {
    used.into_iter()
        .filter_map(|id| {
            let s = model.vrrp.vrrp_scripts.get(id.0 as usize)?;
            Some(ScriptSlot {
                id,
                run: ScriptRun {
                    argv: s.script.argv.clone(),
                    uid: s.script.uid,
                    gid: s.script.gid,
                },
                interval_us: s.interval_us.max(1),
                timeout_us: s.timeout_us,
                next: now,
                running: false,
            })
        })
        .collect()
}
