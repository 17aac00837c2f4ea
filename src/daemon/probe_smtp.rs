//! The probes of SMTP_CHECK (L3): a non-blocking TCP connection per attempt, watched by
//! the loop (`connect_timeout` for the connect and for each read), whose events go to the
//! sans-IO conversation (`check::smtp`, through `Healthcheckers::smtp_event`), which says
//! what to send and when the attempt is over.

use super::lifecycle::Daemon;
use super::probe::{
    connect_ended, current, probes, schedule, timeout_of, watch_connect, Connected,
};
use crate::check::smtp::{Failure, SmtpEvent, SmtpNext};
use crate::check::CheckerId;
use crate::os::check_socket::{read_some, send_all, tcp_connect, Connect};
use scheduler::{Ctx, Fired, Ready};
use std::os::fd::{AsRawFd, OwnedFd};

type C = Ctx<Daemon>;

/// Reads per wakeup before the loop gets the thread back.
const READS_PER_WAKEUP: usize = 16;

/// A connect error, as the conversation names it.
fn connect_failure(e: &std::io::Error) -> Failure {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => Failure::Refused,
        Some(libc::ENETUNREACH) | Some(libc::EHOSTUNREACH) => Failure::Unreachable,
        Some(libc::ETIMEDOUT) => Failure::ConnectTimeout,
        _ => Failure::ConnectError,
    }
}

/// The checker's timer: connects.
pub(super) fn attempt(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64) {
    let Some(conn) = d
        .lvs
        .as_ref()
        .and_then(|s| s.healthcheckers().checkers().config(id))
        .and_then(|c| c.conn.clone())
    else {
        return;
    };
    match tcp_connect(&conn) {
        Ok(Connect::Done(fd)) => event(ctx, d, id, epoch, fd, SmtpEvent::Connected),
        Ok(Connect::InProgress(fd)) => {
            if let Err(e) = watch_connect(ctx, d, id, epoch, fd, connected) {
                log::warn!(target: "check", "cannot watch a checker socket: {e}");
                end(ctx, d, id, Failure::ConnectError);
            }
        }
        Err(e) => {
            log::debug!(target: "check", "connect to {}: {e}", conn.dst_addr);
            end(ctx, d, id, connect_failure(&e));
        }
    }
}

/// The connect ended (or timed out).
fn connected(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fired: Fired) {
    match connect_ended(d, id, epoch, fired) {
        None => {}
        Some(Connected::Socket(fd)) => event(ctx, d, id, epoch, fd, SmtpEvent::Connected),
        Some(Connected::TimedOut) => end(ctx, d, id, Failure::ConnectTimeout),
        Some(Connected::Failed(e)) => end(ctx, d, id, connect_failure(&e)),
    }
}

/// Hands an event to the conversation and does what it says.
fn event(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fd: OwnedFd, ev: SmtpEvent<'_>) {
    let log_all = d.current.config.global.checker_log_all_failures;
    let next = d
        .lvs
        .as_mut()
        .and_then(|s| s.with_checkers(|hc, out| hc.smtp_event(id, ev, log_all, out)));
    match next {
        Some(SmtpNext::Read) => wait(ctx, d, id, epoch, fd),
        Some(SmtpNext::Send(cmd)) => {
            if send_all(&fd, &cmd).is_err() {
                return event(
                    ctx,
                    d,
                    id,
                    epoch,
                    fd,
                    SmtpEvent::Failed(Failure::WriteFailure),
                );
            }
            wait(ctx, d, id, epoch, fd);
        }
        Some(SmtpNext::Next(us)) => schedule(ctx, d, id, Some(us)),
        None => schedule(ctx, d, id, None),
    }
}

/// Waits up to `connect_timeout` for more from the server.
fn wait(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fd: OwnedFd) {
    let timeout = timeout_of(d, id);
    match ctx.add_read(fd.as_raw_fd(), Some(timeout), move |ctx, d, fired| {
        readable(ctx, d, id, epoch, fired)
    }) {
        Ok(t) => {
            if let Some(p) = probes(d) {
                p.threads.insert(id, t);
                p.socks.insert(id, fd);
            }
        }
        Err(e) => {
            log::warn!(target: "check", "cannot watch a checker socket: {e}");
            event(
                ctx,
                d,
                id,
                epoch,
                fd,
                SmtpEvent::Failed(Failure::ReadFailure),
            );
        }
    }
}

/// The server sent something (or closed, or the timeout passed).
fn readable(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fired: Fired) {
    let Some(p) = current(d, id, epoch) else {
        return;
    };
    let Some(fd) = p.socks.remove(&id) else {
        return;
    };
    if fired == Fired::Io(Ready::TimedOut) {
        return event(
            ctx,
            d,
            id,
            epoch,
            fd,
            SmtpEvent::Failed(Failure::ReadTimeout),
        );
    }
    let mut buf = [0u8; 1024];
    for _ in 0..READS_PER_WAKEUP {
        match read_some(&fd, &mut buf) {
            Ok(Some(0)) => return event(ctx, d, id, epoch, fd, SmtpEvent::Eof),
            Ok(Some(n)) => {
                let log_all = d.current.config.global.checker_log_all_failures;
                let next = d.lvs.as_mut().and_then(|s| {
                    s.with_checkers(|hc, out| {
                        hc.smtp_event(id, SmtpEvent::Data(&buf[..n]), log_all, out)
                    })
                });
                match next {
                    Some(SmtpNext::Read) => continue,
                    Some(SmtpNext::Send(cmd)) => {
                        if send_all(&fd, &cmd).is_err() {
                            let ev = SmtpEvent::Failed(Failure::WriteFailure);
                            return event(ctx, d, id, epoch, fd, ev);
                        }
                        continue;
                    }
                    Some(SmtpNext::Next(us)) => return schedule(ctx, d, id, Some(us)),
                    None => return schedule(ctx, d, id, None),
                }
            }
            Ok(None) => break,
            Err(_) => {
                return event(
                    ctx,
                    d,
                    id,
                    epoch,
                    fd,
                    SmtpEvent::Failed(Failure::ReadFailure),
                )
            }
        }
    }
    wait(ctx, d, id, epoch, fd);
}

/// An attempt that ended before it had a connection.
fn end(ctx: &mut C, d: &mut Daemon, id: CheckerId, why: Failure) {
    let log_all = d.current.config.global.checker_log_all_failures;
    let next = d.lvs.as_mut().and_then(|s| {
        s.with_checkers(|hc, out| hc.smtp_event(id, SmtpEvent::Failed(why), log_all, out))
    });
    let next = match next {
        Some(SmtpNext::Next(us)) => Some(us),
        _ => None,
    };
    schedule(ctx, d, id, next);
}
