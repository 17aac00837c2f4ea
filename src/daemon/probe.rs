//! The probes of the checkers that probe (L3): TCP_CHECK's connect attempts, on non-blocking
//! sockets watched by the loop, with `connect_timeout` as the thread's timeout. What an
//! attempt means (retries, up/down, keepalived's lines) is decided by the sans-IO core
//! (`check::probe`, through `Healthcheckers::tcp_attempt`); this only opens, connects and
//! closes sockets and keeps one thread per checker.
//!
//! A (re)start bumps the epoch: threads of the previous configuration are cancelled, and
//! any that still fires does nothing.

use super::lifecycle::Daemon;
use crate::check::probe::{first_delay_us, Attempt};
use crate::check::CheckerId;
use crate::os::check_socket::{connect_error, tcp_connect, Connect};
use scheduler::{Ctx, Fired, Ready, ThreadId};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

type C = Ctx<Daemon>;

/// The probe threads of the checker side.
pub struct Probes {
    epoch: u64,
    /// The pending thread of each probing checker (timer, or socket while connecting).
    threads: BTreeMap<CheckerId, ThreadId>,
    /// The socket of each attempt in flight.
    socks: BTreeMap<CheckerId, OwnedFd>,
    rng: crate::bfd::Rng,
}

impl Probes {
    pub fn new(seed: u64) -> Probes {
        Probes {
            epoch: 0,
            threads: BTreeMap::new(),
            socks: BTreeMap::new(),
            rng: crate::bfd::Rng::new(seed),
        }
    }

    /// Attempts in flight (sockets open).
    pub fn in_flight(&self) -> usize {
        self.socks.len()
    }
}

fn probes(d: &mut Daemon) -> Option<&mut Probes> {
    d.lvs.as_mut().map(|s| &mut s.probes)
}

/// Schedules every probing checker's first attempt (1 s + random part of its warmup).
pub(super) fn start(ctx: &mut C, d: &mut Daemon) {
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    let epoch = svc.probes.epoch;
    let ids = svc.healthcheckers().checkers().probes();
    for id in ids {
        let random = svc.probes.rng.next_u64();
        let Some(cfg) = svc.healthcheckers().checkers().config(id) else {
            continue;
        };
        let delay = first_delay_us(cfg, random);
        let t = ctx.add_timer(Duration::from_micros(delay), move |ctx, d, _| {
            attempt(ctx, d, id, epoch)
        });
        svc.probes.threads.insert(id, t);
    }
}

/// Cancels every probe thread and closes their sockets.
pub(super) fn stop(ctx: &mut C, d: &mut Daemon) {
    let Some(p) = probes(d) else {
        return;
    };
    p.epoch += 1;
    for (_, t) in std::mem::take(&mut p.threads) {
        ctx.cancel(t);
    }
    p.socks.clear();
}

/// A reload renumbers the checkers: every probe starts over (the checkers' states were
/// carried over by the core).
pub(super) fn reload(ctx: &mut C, d: &mut Daemon) {
    stop(ctx, d);
    start(ctx, d);
}

/// The checker's timer: one connect attempt.
fn attempt(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64) {
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    if svc.probes.epoch != epoch {
        return;
    }
    svc.probes.threads.remove(&id);
    let Some(conn) = svc
        .healthcheckers()
        .checkers()
        .config(id)
        .and_then(|c| c.conn.clone())
    else {
        return;
    };
    let fd = match tcp_connect(&conn) {
        Ok(Connect::Done(_)) => return finish(ctx, d, id, Attempt::Succeeded),
        Ok(Connect::InProgress(fd)) => fd,
        Err(e) => {
            log::debug!(target: "check", "TCP connect to {}: {e}", conn.dst_addr);
            return finish(ctx, d, id, Attempt::Failed);
        }
    };
    let raw = fd.as_raw_fd();
    let timeout = Duration::from_micros(conn.connect_timeout_us);
    match ctx.add_write(raw, Some(timeout), move |ctx, d, fired| {
        connected(ctx, d, id, epoch, fired)
    }) {
        Ok(t) => {
            svc.probes.threads.insert(id, t);
            svc.probes.socks.insert(id, fd);
        }
        Err(e) => {
            log::warn!(target: "check", "cannot watch a checker socket: {e}");
            drop(fd);
            finish(ctx, d, id, Attempt::Failed);
        }
    }
}

/// The socket of an attempt became writable (the connect ended) or timed out.
fn connected(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fired: Fired) {
    let Some(p) = probes(d) else {
        return;
    };
    if p.epoch != epoch {
        return;
    }
    p.threads.remove(&id);
    // Closed at once, with no data (keepalived's TCP_CHECK).
    let sock = p.socks.remove(&id);
    let outcome = match (fired, sock) {
        (Fired::Io(Ready::TimedOut), _) => Attempt::TimedOut,
        (_, Some(fd)) if connect_error(&fd).is_ok() => Attempt::Succeeded,
        _ => Attempt::Failed,
    };
    finish(ctx, d, id, outcome);
}

/// Hands an attempt to the core and schedules the next one.
fn finish(ctx: &mut C, d: &mut Daemon, id: CheckerId, outcome: Attempt) {
    let log_all = d.current.config.global.checker_log_all_failures;
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    let next = svc.tcp_attempt(id, outcome, log_all);
    if let Some(us) = next {
        let epoch = svc.probes.epoch;
        let t = ctx.add_timer(Duration::from_micros(us), move |ctx, d, _| {
            attempt(ctx, d, id, epoch)
        });
        svc.probes.threads.insert(id, t);
    }
    super::lvs::notify(ctx, d);
}
