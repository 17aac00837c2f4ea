//! L4 wiring of the BFD engine (RFC 5880 asynchronous mode over RFC 5881/5883): the
//! [`BfdService`] owns the sans-IO [`BfdSet`], turns its actions into [`Env::send_bfd`]
//! calls, logs state changes with keepalived 2.2.7's wording, and queues each change for the
//! consumers (the VRRP engine's `track_bfd`; the checkers' `BFD_CHECK` once they exist).
//! Generic over `Env`, so production and the simulator run this very code.
//!
//! Unlike keepalived, which runs BFD in a child process and sends its events over a pipe
//! (issues #1351, #1374, #2702), BFD here runs in the same process and the same event loop
//! as VRRP: a state change reaches `track_bfd` in the same loop turn, with no pipe to fill.
//!
//! The second half of the file is the Linux side: [`BfdSockets`] (the receive sockets and
//! one send socket per session, held by `LinuxEnv`) and the event-loop threads (one wheel
//! entry for the whole set, read threads for the receive sockets, reload and stop hooks).

use super::env::{BfdSend, Env};
use crate::bfd::{Action, BfdSet, Diag, Input, Session, State};
use crate::config::model::bfd::BfdInstance;
use crate::os::bfd_socket::{BfdFamily, BfdRxSocket, BfdTxSocket};
use log::{info, warn};
use scheduler::Instant;
use std::net::IpAddr;

/// A session's state change, for its consumers. Anything but Up counts as Down (keepalived
/// sends `{name, Up or Down}` to the VRRP and checker processes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdEvent {
    pub name: String,
    pub up: bool,
    /// `track_bfd` in VRRP instances should hear of it (`vrrp` or neither keyword).
    pub to_vrrp: bool,
    /// `BFD_CHECK` checkers should hear of it (`checker` or neither keyword).
    pub to_checker: bool,
}

impl BfdEvent {
    /// What the VRRP engine hears of it (`track_bfd`), if it is for VRRP: the one mapping
    /// the event loop and the simulator share.
    pub fn vrrp_input(self) -> Option<crate::vrrp::Input> {
        self.to_vrrp.then_some(crate::vrrp::Input::Bfd {
            name: self.name,
            up: self.up,
        })
    }
}

/// The BFD side of the daemon.
pub struct BfdService {
    set: BfdSet,
    out: Vec<Action>,
    /// The configuration the sessions run, in configuration order.
    config: Vec<BfdInstance>,
    events: Vec<BfdEvent>,
    last_now: Instant,
    /// State changes seen, for tests and the dump.
    transitions: u64,
}

impl BfdService {
    /// Builds the sessions of `config` and performs their first actions.
    pub fn new(config: &[BfdInstance], seed: u64, now: Instant, env: &mut impl Env) -> Self {
        let mut svc = BfdService {
            set: BfdSet::new(config, seed, now),
            out: Vec::new(),
            config: config.to_vec(),
            events: Vec::new(),
            last_now: now,
            transitions: 0,
        };
        svc.flush(now, env);
        svc.tell_checkers_new(config, &[]);
        svc
    }

    /// A session starts Down, and keepalived's BFD process says so to the checkers as soon
    /// as it runs the session (captured from keepalived 2.2.7: "Received BFD event:
    /// instance NAME is in state Down" about 70 ms after start, and a non-alpha BFD_CHECK
    /// real server leaves its virtual server). Without it, a real server whose BFD peer
    /// never answers would stay in service. VRRP's `track_bfd` already starts Down, so this
    /// goes to the checkers only.
    fn tell_checkers_new(&mut self, config: &[BfdInstance], old: &[BfdInstance]) {
        for b in config {
            if b.to_checker() && !old.iter().any(|o| o.name == b.name) {
                self.events.push(BfdEvent {
                    name: b.name.clone(),
                    up: false,
                    to_vrrp: false,
                    to_checker: true,
                });
            }
        }
    }

    /// The engine never sees time go back.
    fn monotonic(&mut self, now: Instant) -> Instant {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    /// The latest instant given to the engine.
    pub fn last_now(&self) -> Instant {
        self.last_now
    }

    pub fn set(&self) -> &BfdSet {
        &self.set
    }

    /// The sessions' configuration, in configuration order.
    pub fn config(&self) -> &[BfdInstance] {
        &self.config
    }

    pub fn transitions(&self) -> u64 {
        self.transitions
    }

    /// A received packet (or any other input).
    pub fn handle(&mut self, now: Instant, input: Input, env: &mut impl Env) {
        let now = self.monotonic(now);
        self.set.handle(now, input, &mut self.out);
        self.flush(now, env);
    }

    /// The engine's timers, if any is due.
    pub fn handle_timeout(&mut self, now: Instant, env: &mut impl Env) {
        let now = self.monotonic(now);
        if self.set.poll_timeout().is_some_and(|t| t <= now) {
            self.set.handle_timeout(now, &mut self.out);
            self.flush(now, env);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.set.poll_timeout()
    }

    /// Reload: sessions kept by name keep their state; new ones start (and tell the
    /// checkers they are Down), removed ones stop.
    pub fn reconfigure(&mut self, now: Instant, config: &[BfdInstance], env: &mut impl Env) {
        let now = self.monotonic(now);
        self.set.reconfigure(now, config, &mut self.out);
        let old = std::mem::replace(&mut self.config, config.to_vec());
        self.flush(now, env);
        self.tell_checkers_new(config, &old);
    }

    /// Stop: every session AdminDown, one packet each (RFC 5880 §6.8.16).
    pub fn shutdown(&mut self, now: Instant, env: &mut impl Env) {
        self.handle(now, Input::Shutdown, env);
    }

    /// The state changes since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<BfdEvent> {
        std::mem::take(&mut self.events)
    }

    fn flush(&mut self, now: Instant, env: &mut impl Env) {
        for a in self.out.drain(..) {
            match a {
                Action::Send {
                    session,
                    local,
                    peer,
                    src_port,
                    dst_port,
                    ttl,
                    payload,
                } => env.send_bfd(&BfdSend {
                    session: session.0,
                    local,
                    peer,
                    src_port,
                    dst_port,
                    ttl,
                    payload: &payload,
                }),
                Action::StateChange {
                    session,
                    name,
                    from,
                    to,
                    diag,
                } => {
                    self.transitions += 1;
                    let s = self.set.session(session);
                    if to == State::Down && diag == Diag::ControlDetectionTimeExpired {
                        if let Some(s) = s {
                            log_expiry(&name, now, s);
                        }
                    }
                    let remote = s.map_or(Diag::NoDiagnostic, |s| s.remote_diag());
                    log_change(&name, from, to, diag, remote);
                    // As keepalived tells its consumers: on entering Up, and on falling
                    // from Up to Down unless the neighbour signalled AdminDown (RFC 5880
                    // §6.8.16: an administrative shutdown is not a path failure). Init and
                    // our own AdminDown say nothing.
                    let remote_admin = s.is_some_and(|s| s.remote_state() == State::AdminDown);
                    let tell = to == State::Up
                        || (from == State::Up && to == State::Down && !remote_admin);
                    let cfg = self.config.iter().find(|c| c.name == name);
                    if tell {
                        self.events.push(BfdEvent {
                            up: to == State::Up,
                            to_vrrp: cfg.map_or(true, BfdInstance::to_vrrp),
                            to_checker: cfg.map_or(true, BfdInstance::to_checker),
                            name,
                        });
                    }
                }
            }
        }
        // A burst (start-up, a reload) may have grown the outbox: do not keep it.
        if self.out.capacity() > 1024 {
            self.out.shrink_to(64);
        }
    }
}

/// keepalived's `bfd_expire_thread` line: time since the last packet, and how much later
/// than the Detection Time that is.
fn log_expiry(name: &str, now: Instant, s: &Session) {
    let Some(last) = s.last_rx else {
        return;
    };
    let dead = now.as_micros().saturating_sub(last.as_micros());
    let detect = s.detect_time_us().unwrap_or(0);
    warn!(
        target: "bfd",
        "({name}) Expired after {} ms ({} usec overdue)",
        dead / 1000,
        dead as i64 - detect as i64
    );
}

/// keepalived 2.2.7's lines (`bfd_scheduler.c`: `bfd_state_down`, `bfd_state_admindown`,
/// `bfd_state_rise`), as its log shows them (tests/fixtures/bfd/keepalived-2.2.7-a.log).
fn log_change(name: &str, _from: State, to: State, diag: Diag, remote: Diag) {
    match to {
        State::Down => warn!(
            target: "bfd",
            "({name}) Entering Down state (Local diagnostic - {diag}, Remote diagnostic - {remote})"
        ),
        State::AdminDown => warn!(target: "bfd", "({name}) Entering AdminDown state"),
        State::Init | State::Up => {
            info!(target: "bfd", "({name}) Entering {to} state")
        }
    }
}

// ------------------------------------------------------------------ Linux sockets

/// The BFD sockets of the Linux environment: receive sockets on the wildcard addresses and
/// one send socket per session (by session index), reopened when the session's source
/// address, port or family changes.
#[derive(Default)]
pub struct BfdSockets {
    pub rx: Vec<BfdRxSocket>,
    /// Which (family, port) the configuration's sessions use: their receive sockets are read.
    in_use: Vec<(BfdFamily, u16)>,
    /// The read thread of each receive socket, when it is watched.
    pub watch: Vec<Option<scheduler::ThreadId>>,
    /// Receive buffers, taken out while a read is fed to the engine.
    pub batch: Option<Box<crate::os::bfd_socket::BfdRxBatch>>,
    tx: Vec<Option<BfdTxSocket>>,
    /// Sends that failed (socket buffer full, no route, ...).
    pub send_errors: u64,
    /// Send sockets that could not be opened.
    pub open_errors: u64,
}

/// Logs the 1st, 2nd, 4th, 8th, ... occurrence: rate-limited without a clock.
fn worth_logging(count: u64) -> bool {
    count.is_power_of_two()
}

impl BfdSockets {
    /// Opens the receive sockets `config` needs that are not open yet: 3784 for IPv4 and
    /// IPv6 always, 4784 when a multihop session exists. Returns the indices of the new
    /// ones in [`BfdSockets::rx`].
    pub fn open_rx(&mut self, config: &[BfdInstance]) -> Vec<usize> {
        use crate::config::model::bfd::{BFD_PORT_MULTIHOP, BFD_PORT_SINGLE_HOP};
        self.in_use = config
            .iter()
            .map(|c| (BfdFamily::of(&c.neighbor), c.dst_port()))
            .collect();
        self.in_use.sort();
        self.in_use.dedup();
        if self.batch.is_none() {
            self.batch = Some(Box::default());
        }
        let mut want = vec![BFD_PORT_SINGLE_HOP];
        if config.iter().any(|c| c.multihop) {
            want.push(BFD_PORT_MULTIHOP);
        }
        let mut new = Vec::new();
        for port in want {
            for fam in [BfdFamily::V4, BfdFamily::V6] {
                if self
                    .rx
                    .iter()
                    .any(|s| s.family() == fam && s.port() == port)
                {
                    continue;
                }
                match BfdRxSocket::open(fam, port) {
                    Ok(s) => {
                        new.push(self.rx.len());
                        self.rx.push(s);
                    }
                    Err(e) => warn!(target: "bfd", "{e}"),
                }
            }
        }
        new
    }

    /// Whether some session uses receive socket `i`.
    pub fn used(&self, i: usize) -> bool {
        self.rx
            .get(i)
            .is_some_and(|s| self.in_use.contains(&(s.family(), s.port())))
    }

    /// Sends one packet on the session's socket, opening (or reopening) it as needed.
    /// Errors are counted and logged rate-limited, never fatal.
    pub fn send(&mut self, p: &BfdSend<'_>) {
        if self.tx.len() <= p.session {
            self.tx.resize_with(p.session + 1, || None);
        }
        let fam = BfdFamily::of(&p.peer);
        let slot = &mut self.tx[p.session];
        let fits = slot.as_ref().is_some_and(|s| {
            s.family() == fam && s.local() == p.local && s.requested_port() == p.src_port
        });
        if !fits {
            *slot = None;
            match BfdTxSocket::open_in_range(fam, p.local, p.src_port, p.ttl) {
                Ok(s) => *slot = Some(s),
                Err(e) => {
                    self.open_errors += 1;
                    if worth_logging(self.open_errors) {
                        warn!(target: "bfd", "cannot open BFD socket to {}: {e} ({} times)", p.peer, self.open_errors);
                    }
                    return;
                }
            }
        }
        let Some(s) = slot.as_mut() else {
            return;
        };
        if s.ttl() != p.ttl {
            if let Err(e) = s.set_ttl(p.ttl) {
                warn!(target: "bfd", "{e}");
            }
        }
        if let Err(e) = s.send(p.payload, p.peer, p.dst_port) {
            self.send_errors += 1;
            // The send socket is connected, so the peer's ICMP port unreachable comes back
            // as ECONNREFUSED: the peer's BFD is not running (yet), which the session's
            // state already says.
            if e.kind() == std::io::ErrorKind::ConnectionRefused {
                log::debug!(target: "bfd", "BFD send to [{}]:{}: {e}", p.peer, p.dst_port);
            } else if worth_logging(self.send_errors) {
                warn!(
                    target: "bfd",
                    "BFD send to [{}]:{} failed: {e} ({} send errors)",
                    p.peer, p.dst_port, self.send_errors
                );
            }
        }
    }

    /// Closes the send sockets of sessions at or beyond `n` (after a reload that removed
    /// sessions).
    pub fn truncate(&mut self, n: usize) {
        self.tx.truncate(n);
    }

    /// The send socket of a session (for the dump's `fd_out`).
    pub fn tx(&self, session: usize) -> Option<&BfdTxSocket> {
        self.tx.get(session).and_then(Option::as_ref)
    }
}

/// Builds the engine input of one received datagram.
pub fn rx_input(
    src: IpAddr,
    src_port: u16,
    dst: IpAddr,
    local_port: u16,
    ttl: u8,
    payload: &[u8],
) -> Input {
    Input::Packet {
        src,
        dst,
        src_port,
        local_port,
        ttl,
        payload: payload.to_vec(),
    }
}

/// A PRNG seed from the OS (`/dev/urandom`), for discriminators and jitter. Falls back to
/// the pid and the wall clock if the device cannot be read.
pub fn os_seed() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok()
    {
        return u64::from_ne_bytes(b);
    }
    #[allow(clippy::disallowed_methods)]
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ (u64::from(std::process::id()) << 32)
}

// ------------------------------------------------------------------ event-loop threads
//
// Receive path. Each datagram is fed to the engine with the time the kernel received it
// (`SO_TIMESTAMPNS`, mapped onto the monotonic clock), not the time it is read: a detection
// timer then runs from the packet's real arrival however late the loop reads it.
//
// That allows the steady state to cost one wake-up per transmitted packet instead of two.
// While every session is Up with no Poll Sequence and transmits at least every
// POLL_MAX_INTERVAL_US, the receive sockets are not watched: they are drained at every
// wake-up of the set's timer (each transmission), before the timers run, so no packet that
// arrived before a Detection Time expires is missed and none is processed more than one
// transmit interval late. Otherwise (a session coming up, a Poll Sequence, a session down,
// long intervals) the sockets are watched and read as soon as anything arrives.

use super::event_loop;
use super::lifecycle::Daemon;
use scheduler::{Ctx, READ_BUDGET};

type C = Ctx<Daemon>;

/// Most datagrams read from one socket before the set's timers run (a flood cannot hold
/// the loop for ever; short of one, the queue is always emptied first).
const DRAIN_BUDGET: usize = 64 * crate::os::bfd_socket::RX_BATCH;

/// Sessions transmitting less often than this keep their receive sockets watched.
const POLL_MAX_INTERVAL_US: u64 = 20_000;

/// Whether this run has a BFD side: sessions configured and no `-B`. (keepalived runs its
/// BFD child with `-P` or `-C` too.)
pub fn wanted(d: &Daemon) -> bool {
    d.current.config.has_bfd() && !d.opts.no_bfd
}

/// Opens the receive sockets and starts the sessions. Runs after the VRRP side started, so
/// that the first events reach `track_bfd`.
pub(super) fn start(ctx: &mut C, d: &mut Daemon) {
    if !wanted(d) || d.bfd.is_some() {
        return;
    }
    if d.env.is_none() {
        match super::linux::LinuxEnv::open() {
            Ok(e) => d.env = Some(e),
            Err(e) => {
                log::error!(target: "bfd", "cannot open netlink: {e}; BFD not started");
                return;
            }
        }
    }
    let Some(env) = d.env.as_mut() else {
        return;
    };
    let config = d.current.config.bfd.instances.clone();
    env.bfd.open_rx(&config);
    let now = ctx.update_now();
    d.bfd = Some(BfdService::new(&config, os_seed(), now, env));
    info!(target: "bfd", "BFD: {} session(s) started", config.len());
    after(ctx, d);
}

/// Whether the receive sockets can be left unwatched (see the section's comment).
fn polling(svc: &BfdService) -> bool {
    let mut any = false;
    for (_, s) in svc.set().sessions() {
        any = true;
        if s.state() != State::Up || s.poll.is_some() || s.tx_interval_us() > POLL_MAX_INTERVAL_US {
            return false;
        }
    }
    any
}

/// Keeps a read thread on each receive socket some session uses, unless polling.
fn watch_all(ctx: &mut C, d: &mut Daemon) {
    let poll = d.bfd.as_ref().is_some_and(polling);
    let Some(env) = d.env.as_mut() else {
        return;
    };
    let socks = &mut env.bfd;
    socks.watch.resize(socks.rx.len(), None);
    for i in 0..socks.rx.len() {
        let want = socks.used(i) && !poll;
        match (want, socks.watch[i]) {
            (true, None) => {
                let fd = socks.rx[i].as_raw_fd();
                match ctx.add_read(fd, None, move |ctx, d: &mut Daemon, _| on_socket(ctx, d, i)) {
                    Ok(id) => socks.watch[i] = Some(id),
                    Err(e) => log::error!(target: "bfd", "cannot watch BFD socket: {e}"),
                }
            }
            (false, Some(id)) => {
                ctx.cancel(id);
                socks.watch[i] = None;
            }
            _ => {}
        }
    }
}

/// The read thread of socket `i`.
fn on_socket(ctx: &mut C, d: &mut Daemon, i: usize) {
    if let Some(env) = d.env.as_mut() {
        if let Some(w) = env.bfd.watch.get_mut(i) {
            *w = None;
        }
    }
    if drain(ctx, d, i, READ_BUDGET) {
        if let Some(fd) = d
            .env
            .as_ref()
            .and_then(|e| e.bfd.rx.get(i))
            .map(|s| s.as_raw_fd())
        {
            // Read until the kernel had nothing left: re-watching needs no epoll_ctl.
            ctx.fd_drained(fd);
        }
    }
    after(ctx, d);
}

/// Feeds socket `i`'s queued datagrams (up to `budget`) to the engine, each at its receive
/// time. Returns true if the queue was emptied.
fn drain(ctx: &mut C, d: &mut Daemon, i: usize, budget: usize) -> bool {
    let Some(mut batch) = d.env.as_mut().and_then(|e| e.bfd.batch.take()) else {
        return false;
    };
    let mut read = 0;
    let mut drained = false;
    while read < budget {
        let (Some(svc), Some(env)) = (d.bfd.as_mut(), d.env.as_mut()) else {
            break;
        };
        let Some(sock) = env.bfd.rx.get_mut(i) else {
            break;
        };
        let n = match sock.recv_batch(&mut batch) {
            Ok(n) => n,
            Err(e) => {
                warn!(target: "bfd", "BFD socket read: {e}");
                0
            }
        };
        read += n;
        if n > 0 {
            let now = ctx.update_now();
            let wall = wall_us();
            for (rx, bytes) in batch.packets() {
                // The monotonic instant of the kernel's receive time: never later than now,
                // never before what the engine has already seen.
                let at = rx.rx_realtime_us.map_or(now, |t| {
                    let age = wall.saturating_sub(t);
                    scheduler::Instant::from_micros(now.as_micros().saturating_sub(age))
                });
                let input = rx_input(
                    rx.src.ip(),
                    rx.src.port(),
                    rx.dst,
                    rx.local_port,
                    rx.ttl,
                    bytes,
                );
                svc.handle(at.max(svc.last_now()), input, env);
            }
        }
        if n < crate::os::bfd_socket::RX_BATCH {
            drained = true;
            break;
        }
    }
    if let Some(e) = d.env.as_mut() {
        e.bfd.batch = Some(batch);
    }
    drained
}

/// The wall clock in µs (to map kernel receive stamps onto the monotonic clock).
fn wall_us() -> u64 {
    scheduler::realtime()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// After every engine call: hand the state changes to VRRP (`track_bfd`) in this same turn,
/// keep the set's one timer thread at its `poll_timeout()`, and watch or poll the sockets.
fn after(ctx: &mut C, d: &mut Daemon) {
    let events = d
        .bfd
        .as_mut()
        .map(BfdService::take_events)
        .unwrap_or_default();
    let mut fed = false;
    for e in events {
        if e.to_checker {
            super::lvs::on_bfd(ctx, d, &e.name, e.up);
        }
        if d.vrrp.is_none() {
            continue;
        }
        if let Some(input) = e.vrrp_input() {
            event_loop::feed(ctx, d, input);
            fed = true;
        }
    }
    if fed {
        event_loop::after(ctx, d);
    }
    watch_all(ctx, d);
    let want = d.bfd.as_ref().and_then(BfdService::poll_timeout);
    let have = d.bfd_timer.map(|(_, t)| t);
    if want == have {
        return;
    }
    if let Some((id, _)) = d.bfd_timer.take() {
        ctx.cancel(id);
    }
    if let Some(t) = want {
        let id = ctx.add_timer_at(t, move |ctx, d: &mut Daemon, _| on_timer(ctx, d, t));
        d.bfd_timer = Some((id, t));
    }
}

/// The set's timer: the receive sockets are drained first (watched or not: a packet that
/// arrived before a Detection Time ran out must count, however busy the loop was), then the
/// timers that are due run at the real time (a late wake-up sends late, and a detection
/// timer that fired late still expires; never early: the wheel rounds deadlines up).
fn on_timer(ctx: &mut C, d: &mut Daemon, t: scheduler::Instant) {
    d.bfd_timer = None;
    // By index, without collecting them: this runs at every transmit wake-up.
    let sockets = d.env.as_ref().map_or(0, |e| e.bfd.rx.len());
    for i in 0..sockets {
        if d.env.as_ref().is_some_and(|e| e.bfd.used(i)) {
            drain(ctx, d, i, DRAIN_BUDGET);
        }
    }
    let now = ctx.update_now().max(t);
    if let (Some(svc), Some(env)) = (d.bfd.as_mut(), d.env.as_mut()) {
        svc.handle_timeout(now, env);
    }
    after(ctx, d);
}

/// SIGHUP, after the new configuration was accepted (one with errors was refused and the
/// running sessions kept): sessions kept by name keep their state.
pub(super) fn reload(ctx: &mut C, d: &mut Daemon) {
    if d.bfd.is_none() {
        start(ctx, d);
        return;
    }
    let config = if wanted(d) {
        d.current.config.bfd.instances.clone()
    } else {
        Vec::new()
    };
    let now = ctx.update_now();
    if let (Some(svc), Some(env)) = (d.bfd.as_mut(), d.env.as_mut()) {
        env.bfd.open_rx(&config);
        svc.reconfigure(now, &config, env);
    }
    after(ctx, d);
}

/// SIGTERM/SIGINT: every session sends AdminDown once before the process exits.
pub(super) fn stop(ctx: &mut C, d: &mut Daemon) {
    let now = ctx.update_now();
    if let (Some(svc), Some(env)) = (d.bfd.as_mut(), d.env.as_mut()) {
        svc.shutdown(now, env);
        let _ = svc.take_events();
    }
    if let Some((id, _)) = d.bfd_timer.take() {
        ctx.cancel(id);
    }
}

// ------------------------------------------------------------------ SIGUSR1 dump

/// `keepalived_bfd.data` (keepalived's BFD child on SIGUSR1: `dump_global_data` then
/// `dump_bfd_data`), tests/fixtures/bfd/keepalived_bfd.data. keepalived prints its thread
/// pointers; we have no such pointers and print `0x(nil)` for a timer that is not armed and
/// `0x0x` + the deadline in µs (hex) for one that is. `send error` is per session there; here
/// it says whether any send failed.
pub fn format_bfd_data(
    c: &super::dump::DumpCtx<'_>,
    svc: &BfdService,
    socks: Option<&BfdSockets>,
) -> String {
    use super::dump::ctime24_us;
    use std::fmt::Write as _;
    let mut o = super::dump::format_parent_data(c);
    let yes = |b: bool| if b { "Yes" } else { "No" };
    let ptr = |t: Option<Instant>| match t {
        Some(t) => format!("0x0x{:x}", t.as_micros()),
        None => "0x(nil)".to_string(),
    };
    let fd_in = socks
        .and_then(|s| s.rx.first())
        .map_or(-1, BfdRxSocket::as_raw_fd);
    let _ = writeln!(o, "------< BFD Data >------");
    let _ = writeln!(o, " fd_in = {fd_in}");
    let _ = writeln!(
        o,
        " thread_in = {}",
        if fd_in >= 0 { "0x0x1" } else { "0x(nil)" }
    );
    let _ = writeln!(o, "------< BFD Topology >------");
    let send_error = socks.is_some_and(|s| s.send_errors > 0);
    for (idx, s) in svc.set().sessions() {
        let cfg = &s.config;
        let _ = writeln!(o, " BFD Instance = {}", cfg.name);
        let _ = writeln!(o, "   Neighbor IP = {}", cfg.neighbor);
        if let Some(src) = cfg.source {
            let _ = writeln!(o, "   Source IP = {src}");
        }
        let _ = writeln!(
            o,
            "   Required min RX interval = {} us",
            cfg.required_min_rx_us
        );
        let _ = writeln!(
            o,
            "   Desired min TX interval = {} us",
            cfg.desired_min_tx_us
        );
        let _ = writeln!(o, "   Desired idle TX interval = {} us", cfg.idle_tx_us);
        let _ = writeln!(o, "   Detection multiplier = {}", cfg.detect_mult);
        let ttl_kw = if cfg.neighbor.is_ipv4() {
            "TTL"
        } else {
            "hoplimit"
        };
        let _ = writeln!(o, "   {ttl_kw} = {}", cfg.ttl);
        let _ = writeln!(o, "   max_hops = {}", cfg.max_hops);
        let _ = writeln!(o, "   passive = {}", cfg.passive);
        let _ = writeln!(o, "   send event to VRRP process = {}", yes(cfg.to_vrrp()));
        let _ = writeln!(
            o,
            "   send event to checker process = {}",
            yes(cfg.to_checker())
        );
        let fd_out = socks
            .and_then(|k| k.tx(idx.0))
            .map_or(-1, BfdTxSocket::as_raw_fd);
        let _ = writeln!(o, "   fd_out {fd_out}");
        let _ = writeln!(o, "   thread_open_fd_out 0x(nil)");
        let _ = writeln!(o, "   thread_out {}", ptr(s.tx_deadline));
        let _ = writeln!(o, "   sands_out = [disabled]");
        let _ = writeln!(o, "   thread_exp {}", ptr(s.detect_deadline));
        let _ = writeln!(o, "   sands_exp = [disabled]");
        let _ = writeln!(o, "   thread_rst 0x(nil)");
        let _ = writeln!(o, "   sands_rst = [disabled]");
        let _ = writeln!(o, "   send error = {send_error}");
        let _ = writeln!(o, "   local state = {}", s.state());
        let _ = writeln!(o, "   remote state = {}", s.remote_state());
        let _ = writeln!(o, "   local discriminator = 0x{:08x}", s.local_discr());
        let _ = writeln!(o, "   remote discriminator = 0x{:08x}", s.remote_discr());
        let _ = writeln!(o, "   local diag = {}", s.local_diag());
        let _ = writeln!(o, "   remote diag = {}", s.remote_diag());
        let _ = writeln!(
            o,
            "   remote min tx intv = {} us",
            s.remote_desired_min_tx_us
        );
        let _ = writeln!(o, "   remote min rx intv = {} us", s.remote_min_rx_us);
        let _ = writeln!(o, "   local demand = 0");
        let _ = writeln!(o, "   remote demand = {}", u8::from(s.remote_demand));
        let _ = writeln!(o, "   remote detect multiplier = {}", s.remote_detect_mult);
        let _ = writeln!(
            o,
            "   {}poll, !final",
            if s.poll.is_some() { "" } else { "!" }
        );
        // keepalived's remote_tx_intv: the interval the peer sends at, as we expect it.
        let remote_tx = s.remote_desired_min_tx_us.max(s.rx_required_in_use_us);
        let _ = writeln!(o, "   local tx intv = {} us", s.tx_interval_us());
        let _ = writeln!(o, "   remote tx intv = {remote_tx} us");
        let _ = writeln!(
            o,
            "   local detection time = {} us",
            s.detect_time_us().unwrap_or(0)
        );
        let _ = writeln!(
            o,
            "   remote detection time = {} us",
            s.remote_detect_time_us()
        );
        let (secs, us) = s.last_rx.map_or((0, 0), |t| c.sys.wall(t));
        let _ = writeln!(
            o,
            "   last seen = {secs}.{us:06} ({})",
            ctime24_us(&c.sys.tz, secs, us)
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diag::Diagnostics;
    use crate::config::model::vrrp::{RouteSpec, RuleSpec};
    use crate::config::semantic::{self, PermissiveHost, SemanticOptions};
    use crate::config::{parse_str, LoadOptions};
    use crate::daemon::dump::{DumpCtx, SysInfo, Tz};
    use crate::daemon::notify::{HookEvent, ScriptRun};
    use crate::vrrp::params::VipSpec;
    use crate::vrrp::ScriptId;
    use crate::wire::vrrp::Family;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// One send: local, peer, source port, destination port, TTL, payload.
    type Sent = (Option<IpAddr>, IpAddr, u16, u16, u8, Vec<u8>);

    /// Collects BFD sends; nothing else happens.
    #[derive(Default)]
    struct TestEnv {
        sent: Vec<Sent>,
    }

    impl Env for TestEnv {
        fn send_advert(&mut self, _: u32, _: Family, _: IpAddr, _: IpAddr, _: u8, _: &[u8]) {}
        fn add_address(&mut self, _: u32, _: &VipSpec) {}
        fn del_address(&mut self, _: u32, _: &VipSpec, _: bool) {}
        fn add_route(&mut self, _: &RouteSpec) {}
        fn del_route(&mut self, _: &RouteSpec) {}
        fn add_rule(&mut self, _: &RuleSpec) {}
        fn del_rule(&mut self, _: &RuleSpec) {}
        fn send_garp(&mut self, _: u32, _: Ipv4Addr) {}
        fn send_na(&mut self, _: u32, _: Ipv6Addr) {}
        fn notify(&mut self, _: &HookEvent, _: &[ScriptRun], _: &str) {}
        fn run_track_script(&mut self, _: ScriptId, _: &ScriptRun, _: u64) {}
        fn send_bfd(&mut self, p: &BfdSend<'_>) {
            self.sent.push((
                p.local,
                p.peer,
                p.src_port,
                p.dst_port,
                p.ttl,
                p.payload.to_vec(),
            ));
        }
    }

    fn model(text: &str) -> crate::config::model::Config {
        let mut diags = Diagnostics::new();
        let tree = parse_str(text, "keepalived.conf", &LoadOptions::default(), &mut diags);
        semantic::build(
            &tree,
            &PermissiveHost,
            &SemanticOptions::default(),
            &mut diags,
        )
    }

    fn fixture(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bfd");
        std::fs::read_to_string(p.join(name)).unwrap()
    }

    /// Where a packet sent by one side came from, as the other side sees it.
    fn src_of(local: Option<IpAddr>, peer: IpAddr) -> IpAddr {
        local.unwrap_or(match peer {
            IpAddr::V4(_) => "192.0.2.201".parse().unwrap(),
            IpAddr::V6(_) => "fd00::c9".parse().unwrap(),
        })
    }

    /// keepalived's two configurations (tests/fixtures/bfd/keepalived-{a,b}.conf) run back to
    /// back in virtual time until both sessions are Up and settled; then A's
    /// keepalived_bfd.data has the fixture's lines in the fixture's order, with the same
    /// configuration, state and timer values.
    #[test]
    fn bfd_data_has_keepalived_shape() {
        let ma = model(&fixture("keepalived-a.conf"));
        let mb = model(&fixture("keepalived-b.conf"));
        let t0 = Instant::from_micros(1_000_000);
        let (mut ea, mut eb) = (TestEnv::default(), TestEnv::default());
        let mut a = BfdService::new(&ma.bfd.instances, 1, t0, &mut ea);
        let mut b = BfdService::new(&mb.bfd.instances, 2, t0, &mut eb);
        let mut now = t0;
        let end = Instant::from_micros(8_000_000);
        for _ in 0..100_000 {
            let sent_a = std::mem::take(&mut ea.sent);
            for (local, peer, sp, dp, ttl, payload) in sent_a {
                let src = src_of(local, peer);
                let input = Input::Packet {
                    src,
                    dst: peer,
                    src_port: sp,
                    local_port: dp,
                    ttl,
                    payload,
                };
                b.handle(now, input, &mut eb);
            }
            let sent_b = std::mem::take(&mut eb.sent);
            for (local, peer, sp, dp, ttl, payload) in sent_b {
                let src = local.unwrap_or(match peer {
                    IpAddr::V4(_) => "192.0.2.202".parse().unwrap(),
                    IpAddr::V6(_) => "fd00::ca".parse().unwrap(),
                });
                let input = Input::Packet {
                    src,
                    dst: peer,
                    src_port: sp,
                    local_port: dp,
                    ttl,
                    payload,
                };
                a.handle(now, input, &mut ea);
            }
            if !ea.sent.is_empty() || !eb.sent.is_empty() {
                continue;
            }
            let next = match (a.poll_timeout(), b.poll_timeout()) {
                (Some(x), Some(y)) => x.min(y),
                (x, y) => x.or(y).unwrap(),
            };
            if next > end {
                break;
            }
            now = next;
            a.handle_timeout(now, &mut ea);
            b.handle_timeout(now, &mut eb);
        }
        let ups: Vec<_> = a.take_events().into_iter().filter(|e| e.up).collect();
        assert_eq!(ups.len(), 2, "{ups:?}");
        let sys = SysInfo {
            pid: 4242,
            wall_offset_us: 1_795_481_730_000_000,
            umask: 0o177,
            tz: Tz::utc(),
            ..SysInfo::default()
        };
        let c = DumpCtx {
            model: &ma,
            host: &PermissiveHost,
            sys: &sys,
        };
        let ours = format_bfd_data(&c, &a, None);
        let want = fixture("keepalived_bfd.data");
        let bfd_part = |s: &str| -> Vec<String> {
            s.lines()
                .skip_while(|l| *l != "------< BFD Data >------")
                .map(str::to_string)
                .collect()
        };
        let (ours, want) = (bfd_part(&ours), bfd_part(&want));
        assert_eq!(ours.len(), want.len(), "{}", ours.join("\n"));
        // Values that differ by nature: fds, thread pointers, discriminators, times.
        let varies = [
            "fd_in",
            "thread_in",
            "fd_out",
            "thread_out",
            "thread_exp",
            "local discriminator",
            "remote discriminator",
            "last seen",
        ];
        for (o, w) in ours.iter().zip(&want) {
            let key = |l: &str| match l.split_once(" = ") {
                Some((k, _)) => k.to_string(),
                None => l.split_whitespace().next().unwrap_or("").to_string(),
            };
            assert_eq!(
                key(o),
                key(w),
                "line shape differs:\n ours: {o}\n want: {w}"
            );
            if !varies.contains(&key(w).trim()) {
                assert_eq!(o, w, "value differs");
            }
        }
    }
}
