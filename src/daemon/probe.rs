//! The probes of the checkers that probe (L3): TCP_CHECK's connects and HTTP_GET's fetches
//! on non-blocking sockets watched by the loop (`connect_timeout` is the connect and the
//! read timeout), and MISC_CHECK's scripts as child threads killed after `misc_timeout`.
//! What an outcome means (retries, up/down, keepalived's lines) is decided by the sans-IO
//! core (`check::probe`, `check::http`, through `Healthcheckers`); this only opens,
//! connects, writes, reads and closes sockets, starts scripts, and keeps one thread per
//! checker.
//!
//! A (re)start bumps the epoch: threads of the previous configuration are cancelled, and
//! any that still fires does nothing.

use super::lifecycle::Daemon;
use crate::check::http::{Fetch, Response};
use crate::check::probe::{first_delay_us, Attempt, MiscExit};
use crate::check::CheckerId;
use crate::config::model::lvs::{CheckerKind, MiscCheck};
use crate::os::check_socket::{connect_error, read_some, send_all, tcp_connect, Connect};
use scheduler::{ChildStatus, Ctx, Fired, Ready, ThreadId};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

type C = Ctx<Daemon>;

/// The most an HTTP_GET fetch reads (the body is hashed as it streams; no page a checker
/// fetches comes near this).
const MAX_RESPONSE: usize = 64 << 20;

/// The probe threads of the checker side.
pub struct Probes {
    pub(super) epoch: u64,
    /// The pending thread of each probing checker (timer, or socket while connecting).
    pub(super) threads: BTreeMap<CheckerId, ThreadId>,
    /// The socket of each attempt in flight.
    pub(super) socks: BTreeMap<CheckerId, OwnedFd>,
    /// The response of each HTTP_GET fetch in flight.
    responses: BTreeMap<CheckerId, Response>,
    /// SSL_GET's client context.
    pub(super) tls: super::probe_tls::TlsContext,
    pub(super) rng: crate::bfd::Rng,
}

impl Probes {
    pub fn new(seed: u64) -> Probes {
        Probes {
            epoch: 0,
            threads: BTreeMap::new(),
            socks: BTreeMap::new(),
            responses: BTreeMap::new(),
            tls: Default::default(),
            rng: crate::bfd::Rng::new(seed),
        }
    }

    /// Attempts in flight (sockets open).
    pub fn in_flight(&self) -> usize {
        self.socks.len()
    }
}

pub(super) fn probes(d: &mut Daemon) -> Option<&mut Probes> {
    d.lvs.as_mut().map(|s| &mut s.probes)
}

/// The connect (and read) timeout of checker `id` (keepalived's 5 s default when it has
/// no connection options).
pub(super) fn timeout_of(d: &Daemon, id: CheckerId) -> Duration {
    let us = d
        .lvs
        .as_ref()
        .and_then(|s| s.healthcheckers().checkers().config(id))
        .and_then(|c| c.conn.as_ref())
        .map_or(5_000_000, |c| c.connect_timeout_us);
    Duration::from_micros(us)
}

/// A connect in progress: `then` runs when `fd` becomes writable or the connect timeout
/// passes; the thread and the socket are kept as the checker's. `Err` when the loop cannot
/// watch the socket (it is closed).
pub(super) fn watch_connect(
    ctx: &mut C,
    d: &mut Daemon,
    id: CheckerId,
    epoch: u64,
    fd: OwnedFd,
    then: fn(&mut C, &mut Daemon, CheckerId, u64, Fired),
) -> std::io::Result<()> {
    let timeout = timeout_of(d, id);
    let t = ctx.add_write(fd.as_raw_fd(), Some(timeout), move |ctx, d, fired| {
        then(ctx, d, id, epoch, fired)
    })?;
    if let Some(p) = probes(d) {
        p.threads.insert(id, t);
        p.socks.insert(id, fd);
    }
    Ok(())
}

/// How a connect in progress ended.
pub(super) enum Connected {
    Socket(OwnedFd),
    TimedOut,
    Failed(std::io::Error),
}

/// The start of a callback of [`watch_connect`]: `None` when the thread is stale; else the
/// socket is taken back from the checker's and the connect's outcome read.
pub(super) fn connect_ended(
    d: &mut Daemon,
    id: CheckerId,
    epoch: u64,
    fired: Fired,
) -> Option<Connected> {
    let fd = current(d, id, epoch)?.socks.remove(&id)?;
    if fired == Fired::Io(Ready::TimedOut) {
        return Some(Connected::TimedOut);
    }
    Some(match connect_error(&fd) {
        Ok(()) => Connected::Socket(fd),
        Err(e) => Connected::Failed(e),
    })
}

/// The start of every probe callback: `None` when the thread belongs to a configuration
/// that was reloaded or stopped since; else the checker's thread is done, and the probes
/// are handed over (with the attempt's socket, if any, still in `socks`).
pub(super) fn current(d: &mut Daemon, id: CheckerId, epoch: u64) -> Option<&mut Probes> {
    let p = probes(d)?;
    if p.epoch != epoch {
        return None;
    }
    p.threads.remove(&id);
    Some(p)
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
    p.responses.clear();
    p.tls = Default::default();
}

/// A reload renumbers the checkers: every probe starts over (the checkers' states were
/// carried over by the core).
pub(super) fn reload(ctx: &mut C, d: &mut Daemon) {
    stop(ctx, d);
    start(ctx, d);
}

/// The checker's timer: one connect attempt.
fn attempt(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64) {
    if current(d, id, epoch).is_none() {
        return;
    }
    let Some(cfg) = d
        .lvs
        .as_ref()
        .and_then(|s| s.healthcheckers().checkers().config(id))
    else {
        return;
    };
    match &cfg.kind {
        CheckerKind::Misc(m) => {
            let m = m.clone();
            return run_script(ctx, d, id, epoch, &m);
        }
        CheckerKind::Ping | CheckerKind::Udp(_) | CheckerKind::Dns(_) => {
            return super::probe_dgram::attempt(ctx, d, id, epoch);
        }
        CheckerKind::Smtp(_) => return super::probe_smtp::attempt(ctx, d, id, epoch),
        CheckerKind::Http(h) if h.tls => return super::probe_tls::attempt(ctx, d, id, epoch),
        _ => {}
    }
    let Some(conn) = cfg.conn.clone() else {
        return;
    };
    let http = matches!(cfg.kind, CheckerKind::Http(_));
    let fd = match tcp_connect(&conn) {
        Ok(Connect::Done(fd)) if http => {
            if let Some(p) = probes(d) {
                p.socks.insert(id, fd);
            }
            return http_send(ctx, d, id, epoch);
        }
        Ok(Connect::Done(_)) => return finish(ctx, d, id, Attempt::Succeeded),
        Ok(Connect::InProgress(fd)) => fd,
        Err(e) => {
            log::debug!(target: "check", "connect to {}: {e}", conn.dst_addr);
            if http {
                return finish_http(ctx, d, id, Fetch::Unreachable);
            }
            return finish(ctx, d, id, Attempt::Failed);
        }
    };
    let then = if http { http_connected } else { tcp_connected };
    if let Err(e) = watch_connect(ctx, d, id, epoch, fd, then) {
        log::warn!(target: "check", "cannot watch a checker socket: {e}");
        if http {
            finish_http(ctx, d, id, Fetch::ConnectFailed);
        } else {
            finish(ctx, d, id, Attempt::Failed);
        }
    }
}

/// TCP_CHECK's connect ended (or timed out). The socket is closed at once, with no data
/// (keepalived's TCP_CHECK).
fn tcp_connected(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fired: Fired) {
    let outcome = match connect_ended(d, id, epoch, fired) {
        None => return,
        Some(Connected::Socket(_)) => Attempt::Succeeded,
        Some(Connected::TimedOut) => Attempt::TimedOut,
        Some(Connected::Failed(_)) => Attempt::Failed,
    };
    finish(ctx, d, id, outcome);
}

/// HTTP_GET's connect ended (or timed out).
fn http_connected(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fired: Fired) {
    match connect_ended(d, id, epoch, fired) {
        None => {}
        Some(Connected::Socket(fd)) => {
            if let Some(p) = probes(d) {
                p.socks.insert(id, fd);
            }
            http_send(ctx, d, id, epoch);
        }
        Some(Connected::TimedOut) => finish_http(ctx, d, id, Fetch::ConnectTimeout),
        Some(Connected::Failed(_)) => finish_http(ctx, d, id, Fetch::ConnectFailed),
    }
}

/// HTTP_GET, connected: sends the request for the current url and waits for the answer.
fn http_send(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64) {
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    let req = svc.healthcheckers().checkers().http_request(id);
    let timeout = timeout_of(d, id).as_micros() as u64;
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    let (Some((_, req)), Some(fd)) = (req, svc.probes.socks.get(&id)) else {
        return;
    };
    if send_all(fd, &req).is_err() {
        svc.probes.socks.remove(&id);
        return finish_http(ctx, d, id, Fetch::SendFailed);
    }
    svc.probes.responses.insert(id, Response::new());
    http_wait(ctx, d, id, epoch, timeout);
}

/// Waits (up to the connect timeout, keepalived's read timeout) for more of the response.
fn http_wait(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, timeout_us: u64) {
    let Some(p) = probes(d) else {
        return;
    };
    let Some(raw) = p.socks.get(&id).map(|f| f.as_raw_fd()) else {
        return;
    };
    match ctx.add_read(
        raw,
        Some(Duration::from_micros(timeout_us)),
        move |ctx, d, fired| http_read(ctx, d, id, epoch, timeout_us, fired),
    ) {
        Ok(t) => {
            if let Some(p) = probes(d) {
                p.threads.insert(id, t);
            }
        }
        Err(e) => {
            log::warn!(target: "check", "cannot watch a checker socket: {e}");
            if let Some(p) = probes(d) {
                p.socks.remove(&id);
                p.responses.remove(&id);
            }
            finish_http(ctx, d, id, Fetch::ReadError);
        }
    }
}

/// Part of the response (or EOF, or the timeout) arrived.
fn http_read(
    ctx: &mut C,
    d: &mut Daemon,
    id: CheckerId,
    epoch: u64,
    timeout_us: u64,
    fired: Fired,
) {
    let Some(p) = current(d, id, epoch) else {
        return;
    };
    let done = if fired == Fired::Io(Ready::TimedOut) {
        let got = p.responses.get(&id).map_or(0, Response::received);
        Some(if got > 0 {
            Fetch::ReadTimeoutPartial
        } else {
            Fetch::ReadTimeout
        })
    } else {
        let mut buf = [0u8; 4096];
        let mut end = None;
        // Drain what is there; a fetch is small, and the budget bounds a chatty server.
        for _ in 0..64 {
            let (Some(fd), Some(resp)) = (p.socks.get(&id), p.responses.get_mut(&id)) else {
                return;
            };
            match read_some(fd, &mut buf) {
                Ok(Some(0)) => {
                    end = Some(Ok(()));
                    break;
                }
                Ok(Some(n)) => {
                    resp.feed(&buf[..n]);
                    if resp.overflowed() {
                        end = Some(Ok(()));
                        break;
                    }
                    if resp.received() > MAX_RESPONSE {
                        // A server that streams without end would hold the checker (and
                        // our hashing) forever: a read error, as keepalived would see
                        // none.
                        log::warn!(
                            target: "check",
                            "HTTP_GET: a response over {MAX_RESPONSE} bytes - giving up on it"
                        );
                        end = Some(Err(()));
                        break;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    end = Some(Err(()));
                    break;
                }
            }
        }
        match end {
            Some(Ok(())) => p.responses.remove(&id).map(Fetch::Done),
            Some(Err(())) => {
                p.responses.remove(&id);
                Some(Fetch::ReadError)
            }
            None => None,
        }
    };
    match done {
        Some(f) => {
            if let Some(p) = probes(d) {
                p.socks.remove(&id);
                p.responses.remove(&id);
            }
            finish_http(ctx, d, id, f);
        }
        None => http_wait(ctx, d, id, epoch, timeout_us),
    }
}

pub(super) fn finish_http(ctx: &mut C, d: &mut Daemon, id: CheckerId, fetch: Fetch) {
    let log_all = d.current.config.global.checker_log_all_failures;
    let next = d
        .lvs
        .as_mut()
        .and_then(|s| s.with_checkers(|hc, out| hc.http_fetch(id, fetch, log_all, out)));
    schedule(ctx, d, id, next);
}

/// MISC_CHECK: starts the script as its user, killed after `misc_timeout`.
fn run_script(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, m: &MiscCheck) {
    let run = match super::lvs::script_run(&m.script, &d.current.config) {
        Ok(r) => r,
        Err(e) => {
            log::warn!(target: "check", "cannot run {:?}: {e}", m.script.command);
            return finish_misc(ctx, d, id, MiscExit::Exited(127));
        }
    };
    let mut cmd = super::notify::command(&run);
    let timeout = Duration::from_micros(m.timeout_us.max(1));
    match ctx.spawn_child(&mut cmd, Some(timeout), move |ctx, d, fired| {
        script_ended(ctx, d, id, epoch, fired)
    }) {
        Ok((t, _pid)) => {
            if let Some(p) = probes(d) {
                p.threads.insert(id, t);
            }
        }
        Err(e) => {
            log::warn!(target: "check", "cannot run {:?}: {e}", m.script.command);
            finish_misc(ctx, d, id, MiscExit::Exited(127));
        }
    }
}

/// A MISC_CHECK script ended (or timed out: the loop terminates it).
fn script_ended(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fired: Fired) {
    if current(d, id, epoch).is_none() {
        return;
    }
    let exit = match fired {
        Fired::Child { status, .. } => match status {
            ChildStatus::Exited(c) => MiscExit::Exited(c),
            ChildStatus::Signaled(s) => MiscExit::Signaled(s),
            ChildStatus::TimedOut => MiscExit::TimedOut,
            ChildStatus::Lost => MiscExit::Exited(-1),
        },
        _ => MiscExit::TimedOut,
    };
    finish_misc(ctx, d, id, exit);
}

fn finish_misc(ctx: &mut C, d: &mut Daemon, id: CheckerId, exit: MiscExit) {
    let log_all = d.current.config.global.checker_log_all_failures;
    let next = d
        .lvs
        .as_mut()
        .and_then(|s| s.with_checkers(|hc, out| hc.misc_exit(id, exit, log_all, out)));
    schedule(ctx, d, id, next);
}

/// Hands an attempt to the core and schedules the next one.
fn finish(ctx: &mut C, d: &mut Daemon, id: CheckerId, outcome: Attempt) {
    let log_all = d.current.config.global.checker_log_all_failures;
    let next = d
        .lvs
        .as_mut()
        .and_then(|s| s.with_checkers(|hc, out| hc.tcp_attempt(id, outcome, log_all, out)));
    schedule(ctx, d, id, next);
}

/// The next attempt of checker `id`, `next` µs from now; then the notifications.
pub(super) fn schedule(ctx: &mut C, d: &mut Daemon, id: CheckerId, next: Option<u64>) {
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    if let Some(us) = next {
        let epoch = svc.probes.epoch;
        let t = ctx.add_timer(Duration::from_micros(us), move |ctx, d, _| {
            attempt(ctx, d, id, epoch)
        });
        svc.probes.threads.insert(id, t);
    }
    super::lvs::notify(ctx, d);
}
