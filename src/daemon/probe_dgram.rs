//! The probes of PING_CHECK, UDP_CHECK and DNS_CHECK (L3): one connected datagram socket
//! per attempt, one datagram sent, and whatever comes back (datagrams, socket errors such
//! as an ICMP port unreachable, the `connect_timeout`) handed to the sans-IO core
//! (`check::ping`, `check::udp`, `check::dns`, through `Healthcheckers::dgram_event`),
//! which decides what it means. A datagram the core says is not for this attempt (a late
//! echo reply, a DNS response with another ID) leaves the attempt waiting until its
//! deadline.

use super::lifecycle::Daemon;
use super::probe::{current, probes, schedule};
use crate::check::probe::{Dgram, DgramNext};
use crate::check::CheckerId;
use crate::config::model::lvs::CheckerKind;
use crate::os::check_socket::{dgram_connect, recv_dgram, send_all, DgramKind};
use scheduler::{Ctx, Fired, Instant, Ready};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

type C = Ctx<Daemon>;

/// The largest datagram (a UDP reply is judged on its whole length).
const MAX_DGRAM: usize = 65536;
/// Datagrams read per wakeup before the loop gets the thread back (a flood of datagrams
/// that are not ours cannot hold the loop).
const READS_PER_WAKEUP: usize = 16;

/// The checker's timer: sends the attempt's datagram and waits for what follows.
pub(super) fn attempt(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64) {
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    let Some(cfg) = svc.healthcheckers().checkers().config(id) else {
        return;
    };
    let kind = match cfg.kind {
        CheckerKind::Ping => DgramKind::Ping,
        _ => DgramKind::Udp,
    };
    let Some(conn) = cfg.conn.clone() else {
        return;
    };
    let Some(req) = svc.dgram_request(id) else {
        return;
    };
    let fd = match dgram_connect(&conn, kind) {
        Ok(fd) => fd,
        Err(e) => {
            log::warn!(target: "check", "checker socket to {}: {e}", conn.dst_addr);
            return finish(ctx, d, id, Dgram::SendFailed(e.raw_os_error().unwrap_or(0)));
        }
    };
    if let Err(e) = send_all(&fd, &req) {
        log::debug!(target: "check", "send to {}: {e}", conn.dst_addr);
        return finish(ctx, d, id, Dgram::SendFailed(e.raw_os_error().unwrap_or(0)));
    }
    let deadline = ctx.now() + Duration::from_micros(conn.connect_timeout_us);
    wait(ctx, d, id, epoch, deadline, fd);
}

/// Waits until `deadline` for the socket to have something.
fn wait(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, deadline: Instant, fd: OwnedFd) {
    let left = deadline.saturating_duration_since(ctx.now());
    match ctx.add_read(fd.as_raw_fd(), Some(left), move |ctx, d, fired| {
        readable(ctx, d, id, epoch, deadline, fired)
    }) {
        Ok(t) => {
            if let Some(p) = probes(d) {
                p.threads.insert(id, t);
                p.socks.insert(id, fd);
            }
        }
        Err(e) => {
            log::warn!(target: "check", "cannot watch a checker socket: {e}");
            finish(ctx, d, id, Dgram::Error(e.raw_os_error().unwrap_or(0)));
        }
    }
}

/// The socket has something (or the deadline passed).
fn readable(
    ctx: &mut C,
    d: &mut Daemon,
    id: CheckerId,
    epoch: u64,
    deadline: Instant,
    fired: Fired,
) {
    let Some(p) = current(d, id, epoch) else {
        return;
    };
    let Some(fd) = p.socks.remove(&id) else {
        return;
    };
    if fired == Fired::Io(Ready::TimedOut) {
        return finish(ctx, d, id, Dgram::TimedOut);
    }
    let log_all = d.current.config.global.checker_log_all_failures;
    let mut buf = vec![0u8; MAX_DGRAM];
    for _ in 0..READS_PER_WAKEUP {
        let ev = match recv_dgram(&fd, &mut buf) {
            Ok(Some(n)) => Dgram::Reply(&buf[..n]),
            Ok(None) => break,
            Err(e) => Dgram::Error(e),
        };
        let Some(svc) = d.lvs.as_mut() else {
            return;
        };
        match svc.with_checkers(|hc, out| hc.dgram_event(id, ev, log_all, out)) {
            Some(DgramNext::Wait) => continue,
            Some(DgramNext::Next(us)) => return schedule(ctx, d, id, Some(us)),
            None => return schedule(ctx, d, id, None),
        }
    }
    if deadline <= ctx.now() {
        return finish(ctx, d, id, Dgram::TimedOut);
    }
    wait(ctx, d, id, epoch, deadline, fd);
}

/// Hands an event that ends the attempt to the core and schedules the next attempt.
fn finish(ctx: &mut C, d: &mut Daemon, id: CheckerId, ev: Dgram<'_>) {
    let log_all = d.current.config.global.checker_log_all_failures;
    let next = d
        .lvs
        .as_mut()
        .and_then(|s| s.with_checkers(|hc, out| hc.dgram_event(id, ev, log_all, out)));
    let next = match next {
        Some(DgramNext::Next(us)) => Some(us),
        // Only a datagram can be "not ours"; anything else ends the attempt.
        Some(DgramNext::Wait) | None => None,
    };
    schedule(ctx, d, id, next);
}
