//! The probes of SSL_GET (L3): HTTP_GET's fetch (`daemon::probe`) over TLS. A
//! non-blocking TCP connect, then a [`TlsFetch`] driven by the loop's read and write
//! threads (`connect_timeout` for the connect and for every wait, as keepalived's SSL
//! checker does), whose outcome goes to the HTTP engine (`check::http`) like HTTP_GET's.
//! The TLS session of a fetch lives in the pending thread's callback: cancelling the
//! thread (stop, reload) drops it with the socket.

use super::lifecycle::Daemon;
use super::probe::{
    connect_ended, current, finish_http, probes, timeout_of, watch_connect, Connected,
};
use crate::check::http::Fetch;
use crate::check::CheckerId;
use crate::config::model::lvs::CheckerKind;
use crate::os::check_socket::{read_some, send_some, tcp_connect, Connect};
use crate::os::tls::{self, TlsFetch, Want};
use scheduler::{Ctx, Fired, Ready};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

type C = Ctx<Daemon>;

/// The client context of the SSL_GET checkers, built at their first fetch after a
/// (re)start from the root `SSL { }` block.
#[derive(Default)]
pub struct TlsContext {
    config: Option<Arc<rustls::ClientConfig>>,
}

/// A checker socket as the TLS session's byte stream (`WouldBlock`: wait).
struct Sock<'a>(&'a OwnedFd);

impl std::io::Read for Sock<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        read_some(self.0, buf)?.ok_or_else(|| std::io::ErrorKind::WouldBlock.into())
    }
}

impl std::io::Write for Sock<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        send_some(self.0, buf)?.ok_or_else(|| std::io::ErrorKind::WouldBlock.into())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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
        Ok(Connect::Done(fd)) => start(ctx, d, id, epoch, fd),
        Ok(Connect::InProgress(fd)) => {
            if let Err(e) = watch_connect(ctx, d, id, epoch, fd, connected) {
                log::warn!(target: "check", "cannot watch a checker socket: {e}");
                finish_http(ctx, d, id, Fetch::ConnectFailed);
            }
        }
        Err(e) => {
            log::debug!(target: "check", "connect to {}: {e}", conn.dst_addr);
            finish_http(ctx, d, id, Fetch::Unreachable);
        }
    }
}

/// The connect ended (or timed out).
fn connected(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fired: Fired) {
    match connect_ended(d, id, epoch, fired) {
        None => {}
        Some(Connected::Socket(fd)) => start(ctx, d, id, epoch, fd),
        Some(Connected::TimedOut) => finish_http(ctx, d, id, Fetch::ConnectTimeout),
        Some(Connected::Failed(e)) => {
            log::debug!(target: "check", "SSL_GET connect: {e}");
            finish_http(ctx, d, id, Fetch::ConnectFailed)
        }
    }
}

/// Connected: starts the TLS session for the current url.
fn start(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fd: OwnedFd) {
    let ssl = d.current.config.lvs.ssl.clone();
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    let config = match &svc.probes.tls.config {
        Some(c) => c.clone(),
        None => {
            let mut warnings = Vec::new();
            match tls::client_config(ssl.as_ref(), &mut warnings) {
                Ok(c) => {
                    for w in warnings {
                        log::error!(target: "check", "{w}");
                    }
                    svc.probes.tls.config = Some(c.clone());
                    c
                }
                Err(e) => {
                    log::error!(target: "check", "Error Initialize SSL, ctx Instance ({e})");
                    return finish_http(ctx, d, id, Fetch::TlsHandshake);
                }
            }
        }
    };
    let checkers = svc.healthcheckers().checkers();
    let (Some((url, request)), Some(cfg)) = (checkers.http_request(id), checkers.config(id)) else {
        return;
    };
    let (CheckerKind::Http(h), Some(conn)) = (&cfg.kind, &cfg.conn) else {
        return;
    };
    let name = tls::server_name(h, url, conn.dst_addr);
    match TlsFetch::new(config, name, request, tls::compliant(h, url)) {
        Ok(f) => drive(ctx, d, id, epoch, fd, f),
        Err(e) => {
            log::debug!(target: "check", "SSL_GET: {e}");
            finish_http(ctx, d, id, Fetch::TlsHandshake)
        }
    }
}

/// Runs the session until it waits for the socket (a read or write thread, up to the
/// connect timeout) or the fetch is over.
fn drive(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, fd: OwnedFd, mut f: TlsFetch) {
    let want = f.pump(&mut Sock(&fd));
    let timeout = timeout_of(d, id);
    let raw = fd.as_raw_fd();
    let mut session = Some(f);
    let cb = move |ctx: &mut C, d: &mut Daemon, fired: Fired| {
        if let Some(f) = session.take() {
            resumed(ctx, d, id, epoch, f, fired)
        }
    };
    let thread = match want {
        Want::Done(fetch) => return finish_http(ctx, d, id, fetch),
        Want::Read => ctx.add_read(raw, Some(timeout), cb),
        Want::Write => ctx.add_write(raw, Some(timeout), cb),
    };
    match thread {
        Ok(t) => {
            if let Some(p) = probes(d) {
                p.threads.insert(id, t);
                p.socks.insert(id, fd);
            }
        }
        Err(e) => {
            log::warn!(target: "check", "cannot watch a checker socket: {e}");
            finish_http(ctx, d, id, Fetch::TlsReadError);
        }
    }
}

/// The socket became ready (or the wait timed out).
fn resumed(ctx: &mut C, d: &mut Daemon, id: CheckerId, epoch: u64, f: TlsFetch, fired: Fired) {
    let Some(p) = current(d, id, epoch) else {
        return;
    };
    let Some(fd) = p.socks.remove(&id) else {
        return;
    };
    if fired == Fired::Io(Ready::TimedOut) {
        return finish_http(ctx, d, id, f.timed_out());
    }
    drive(ctx, d, id, epoch, fd, f)
}
