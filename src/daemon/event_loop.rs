//! The daemon's event loop: the scheduler's [`scheduler::Loop`] with the daemon as its state.
//! Signals are threads like everything else (signalfd): SIGHUP reloads, SIGTERM and SIGINT
//! stop (SIGINT not with `--ignore-sigint`), SIGUSR1/SIGUSR2 write keepalived's dumps. VRRP
//! sockets and the netlink monitor are read threads; the VRRP engine has one timer thread,
//! moved only when its `poll_timeout()` changes (DESIGN.md section 2).

use super::dump;
use super::lifecycle::Daemon;
use super::linux::{LinuxEnv, Spawn};
use super::record::Recorder;
use super::trackers;
use super::vrrp::VrrpService;
use crate::os::host::LinuxHost;
use crate::vrrp::Input;
use log::{error, info, warn};
use scheduler::{signals, ChildStatus, Ctx, Fired, Loop, READ_BUDGET};
use std::os::fd::{AsFd, AsRawFd};

type C = Ctx<Daemon>;

/// How late the engine's timer may fire and still be run at its own deadline (see `after`).
/// Under half the shortest VRRP interval (10 ms), so that a late advert and the next one
/// stay apart.
const ON_TIME: std::time::Duration = std::time::Duration::from_millis(4);

/// Runs until a stop signal, then stops the VRRP side in order. The caller removes the pid
/// files and logs the final lines.
pub fn run(daemon: &mut Daemon) -> std::io::Result<()> {
    let mut lp: Loop<Daemon> = Loop::new()?;
    lp.add_signal(signals::SIGHUP, |ctx, d: &mut Daemon, _| reload(ctx, d))?;
    lp.add_signal(signals::SIGTERM, |ctx, d: &mut Daemon, _| stop(ctx, d))?;
    lp.add_signal(signals::SIGINT, |ctx, d: &mut Daemon, _| {
        if !d.opts.ignore_sigint {
            stop(ctx, d);
        }
    })?;
    lp.add_signal(signals::SIGUSR1, |_, d: &mut Daemon, _| dump::data(d))?;
    lp.add_signal(signals::SIGUSR2, |_, d: &mut Daemon, _| {
        dump::stats(d, false)
    })?;
    lp.add_signal(signals::sigstats_clear(), |_, d: &mut Daemon, _| {
        dump::stats(d, true)
    })?;
    lp.add_signal(signals::sigjson(), |_, d: &mut Daemon, _| dump::json(d))?;
    if daemon.current.config.has_vrrp() && !daemon.opts.check_only {
        start_vrrp(&mut lp, daemon);
    }
    // The checkers first: a BFD session that comes Up at once finds its BFD_CHECKs.
    super::lvs::start(&mut lp, daemon);
    super::bfd::start(&mut lp, daemon);
    tune(daemon);
    lp.run(daemon)
}

/// Opens the environment, the sockets and the engine.
fn start_vrrp(ctx: &mut C, d: &mut Daemon) {
    // BFD may have opened the environment already (a reload added VRRP to a BFD-only
    // configuration): keep its sockets.
    let mut env = match d.env.take().map_or_else(LinuxEnv::open, Ok) {
        Ok(e) => e,
        Err(e) => {
            error!(target: "vrrp", "cannot open netlink: {e}; VRRP not started");
            return;
        }
    };
    let model = env.apply_vmacs(&d.current.config);
    let keys = env.prepare(&model);
    let now = ctx.update_now();
    let ifaces = env.ifaces.all();
    if let Some(path) = d.opts.record.clone() {
        match Recorder::create(&path) {
            Ok(mut r) => {
                let text = std::fs::read_to_string(&d.current.path).unwrap_or_default();
                // The id the configuration was loaded with (-i, else the host name), so
                // `@ID` lines replay the same way.
                let id = d
                    .opts
                    .config_id
                    .clone()
                    .unwrap_or_else(super::load::default_config_id);
                r.start(now, &d.current.path, Some(&id), &text, &ifaces);
                d.recorder = Some(r);
            }
            Err(e) => error!("cannot record to {}: {e}", path.display()),
        }
    }
    match VrrpService::new(&model, &ifaces, now, &mut env) {
        Ok(svc) => {
            if let Some(r) = d.recorder.as_mut() {
                r.observe(now, svc.router());
            }
            d.vrrp = Some(svc);
        }
        Err(e) => {
            error!(target: "vrrp", "{e}; VRRP not started");
            d.env = Some(env);
            return;
        }
    }
    // Freed before `after` gives free memory back (it is as large as the configuration).
    drop(model);
    if let Some(m) = env.monitor.as_ref() {
        watch_monitor(ctx, m.as_raw_fd());
    }
    d.env = Some(env);
    for k in keys {
        watch_socket(ctx, d, k);
    }
    start_trackers(ctx, d);
    info!("Startup complete");
    after(ctx, d);
}

/// track_file values (now and on every inotify event) and vrrp_track_process counts (now
/// and once a second).
fn start_trackers(ctx: &mut C, d: &mut Daemon) {
    let v = &d.current.config.vrrp;
    trackers::init_files(v);
    let mut inputs = trackers::file_inputs(v);
    inputs.extend(trackers::process_inputs(v));
    let has_procs = !v.track_processes.is_empty();
    d.inotify = trackers::watch_files(v);
    for i in inputs {
        feed(ctx, d, i);
    }
    if let Some(fd) = d.inotify.as_ref().map(|i| i.as_fd().as_raw_fd()) {
        watch_files(ctx, fd);
    }
    if has_procs {
        ctx.add_timer(std::time::Duration::from_secs(1), scan_processes);
    }
}

fn watch_files(ctx: &mut C, fd: i32) {
    let r = ctx.add_read(fd, None, move |ctx, d: &mut Daemon, _| {
        if d.inotify.as_ref().is_some_and(trackers::drain) {
            for i in trackers::file_inputs(&d.current.config.vrrp) {
                feed(ctx, d, i);
            }
        }
        watch_files(ctx, fd);
        after(ctx, d);
    });
    if let Err(e) = r {
        error!(target: "vrrp", "cannot watch track files: {e}");
    }
}

fn scan_processes(ctx: &mut C, d: &mut Daemon, _: Fired) {
    if d.vrrp.is_none() {
        return;
    }
    for i in trackers::process_inputs(&d.current.config.vrrp) {
        feed(ctx, d, i);
    }
    ctx.add_timer(std::time::Duration::from_secs(1), scan_processes);
    after(ctx, d);
}

fn watch_socket(ctx: &mut C, d: &Daemon, key: (u32, u8, u8)) {
    let Some(fd) = d
        .env
        .as_ref()
        .and_then(|e| e.sockets.get(&key))
        .map(|s| s.as_raw_fd())
    else {
        return;
    };
    if let Err(e) = ctx.add_read(fd, None, move |ctx, d: &mut Daemon, _| {
        on_socket(ctx, d, key)
    }) {
        error!(target: "vrrp", "cannot watch VRRP socket: {e}");
    }
}

/// Drains up to READ_BUDGET adverts, many per system call (a master with many instances
/// sends its adverts in bursts), then re-arms.
fn on_socket(ctx: &mut C, d: &mut Daemon, key: (u32, u8, u8)) {
    let Some(mut batch) = d.env.as_mut().and_then(|e| e.rx_batch.take()) else {
        return;
    };
    let mut read = 0;
    while read < READ_BUDGET {
        let Some(sock) = d.env.as_mut().and_then(|e| e.sockets.get_mut(&key)) else {
            break;
        };
        let n = match sock.recv_batch(&mut batch) {
            Ok(n) => n,
            Err(e) => {
                warn!(target: "vrrp", "VRRP socket read: {e}");
                0
            }
        };
        read += n;
        for (rx, bytes) in batch.packets() {
            let input = Input::Packet {
                ifindex: key.0,
                src: rx.src,
                dst: rx.dst,
                ttl: rx.ttl,
                payload: bytes.to_vec(),
            };
            feed(ctx, d, input);
        }
        if n < crate::os::vrrp_socket::RX_BATCH {
            // Fewer than asked for: the queue is empty.
            if let Some(fd) = d.env.as_ref().and_then(|e| e.sockets.get(&key)) {
                ctx.fd_drained(fd.as_raw_fd());
            }
            break;
        }
    }
    if let Some(e) = d.env.as_mut() {
        e.rx_batch = Some(batch);
    }
    watch_socket(ctx, d, key);
    after(ctx, d);
}

fn watch_monitor(ctx: &mut C, fd: i32) {
    if let Err(e) = ctx.add_read(fd, None, move |ctx, d: &mut Daemon, _| {
        on_monitor(ctx, d, fd)
    }) {
        error!(target: "os", "cannot watch netlink monitor: {e}");
    }
}

/// Link and address changes become engine inputs.
fn on_monitor(ctx: &mut C, d: &mut Daemon, fd: i32) {
    let mut events = Vec::new();
    if let Some(env) = d.env.as_mut() {
        if let Some(m) = env.monitor.as_mut() {
            if let Err(e) = m.read_events(&mut events, READ_BUDGET) {
                warn!(target: "os", "netlink monitor: {e}");
            }
        }
    }
    for ev in events {
        let inputs = match (&ev, d.env.as_mut()) {
            (crate::os::link_monitor::NetEvent::ResyncNeeded, Some(env)) => {
                match super::linux::Interfaces::load(&mut env.nl) {
                    Ok(t) => env.ifaces = t,
                    Err(e) => warn!(target: "os", "netlink resync: {e}"),
                }
                env.ifaces.all().into_iter().map(Input::Interface).collect()
            }
            (_, Some(env)) => env.apply_event(&ev),
            (_, None) => Vec::new(),
        };
        for input in inputs {
            feed(ctx, d, input);
        }
    }
    watch_monitor(ctx, fd);
    after(ctx, d);
}

/// One input into the engine (recorded first with `--record`).
pub(super) fn feed(ctx: &mut C, d: &mut Daemon, input: Input) {
    let now = ctx.update_now();
    if let Some(r) = d.recorder.as_mut() {
        r.record(now, &input);
    }
    if let (Some(svc), Some(env)) = (d.vrrp.as_mut(), d.env.as_mut()) {
        svc.handle(now, input, env);
        if let Some(r) = d.recorder.as_mut() {
            r.observe(now, svc.router());
        }
    }
}

/// After every engine call: start the children it asked for, and keep the engine's timer
/// thread at its `poll_timeout()`.
pub(super) fn after(ctx: &mut C, d: &mut Daemon) {
    loop {
        let Some(spawn) = d.env.as_mut().and_then(|e| e.spawns.pop()) else {
            break;
        };
        match spawn {
            Spawn::Track {
                script,
                mut command,
                timeout_us,
            } => {
                let timeout = Some(std::time::Duration::from_micros(timeout_us.max(1)));
                let started =
                    ctx.spawn_child(&mut command, timeout, move |ctx, d: &mut Daemon, fired| {
                        let ok = matches!(
                            fired,
                            Fired::Child {
                                status: ChildStatus::Exited(0),
                                ..
                            }
                        );
                        feed(ctx, d, Input::ScriptResult { script, ok });
                        after(ctx, d);
                    });
                if let Err(e) = started {
                    warn!(target: "vrrp", "cannot run track script: {e}");
                    feed(ctx, d, Input::ScriptResult { script, ok: false });
                }
            }
            Spawn::Notify {
                mut command,
                timeout_us,
            } => {
                let timeout = timeout_us.map(std::time::Duration::from_micros);
                if let Err(e) = ctx.spawn_child(&mut command, timeout, |_, _, _| {}) {
                    warn!(target: "vrrp", "cannot run notify script: {e}");
                }
            }
        }
    }
    if d.vrrp.as_mut().is_some_and(|v| v.take_burst_ended()) {
        crate::os::release_free_memory();
    }
    // `lvs_sync_daemon ... inst VI`: the IPVS sync daemon follows VI's state.
    super::lvs::vrrp_stepped(d);
    let want = d.vrrp.as_ref().and_then(|v| v.poll_timeout());
    let have = d.vrrp_timer.map(|(_, t)| t);
    if want == have {
        return;
    }
    if let Some((id, _)) = d.vrrp_timer.take() {
        ctx.cancel(id);
    }
    if let Some(t) = want {
        let id = ctx.add_timer_at(t, move |ctx, d: &mut Daemon, _| {
            d.vrrp_timer = None;
            // The engine runs at its own deadline `t` when the wake-up is less than ON_TIME
            // late: its next deadlines are then `t + interval`, so the wake-up latency does
            // not accumulate (otherwise every advert goes out ~0.15 ms later than the one
            // before, as keepalived's do), and instances due at different instants keep their
            // own phase instead of merging at a late wake-up into one burst for ever after.
            // Later than that, the real time less ON_TIME: no catch-up after a stall. Never
            // before an input already fed (the engine's time does not go back).
            let now = ctx.update_now();
            let mut at = t.max(now.saturating_sub(ON_TIME));
            if let Some(svc) = d.vrrp.as_ref() {
                at = at.max(svc.last_now());
            }
            if let Some(r) = d.recorder.as_mut() {
                r.record_timeout(at);
            }
            if let (Some(svc), Some(env)) = (d.vrrp.as_mut(), d.env.as_mut()) {
                svc.handle_timeout(at, env);
                if let Some(r) = d.recorder.as_mut() {
                    r.observe(at, svc.router());
                }
            }
            after(ctx, d);
        });
        d.vrrp_timer = Some((id, t));
    }
}

/// SIGHUP: a configuration with errors is refused (the running one stays); otherwise the
/// engine diffs old and new.
fn reload(ctx: &mut C, d: &mut Daemon) {
    if !d.reload(&LinuxHost) {
        return;
    }
    let wants_vrrp = d.current.config.has_vrrp() && !d.opts.check_only;
    match (d.vrrp.is_some(), wants_vrrp) {
        (false, true) => start_vrrp(ctx, d),
        (true, _) => {
            let now = ctx.update_now();
            // The same VMAC rewrite as at start, so matched instances stay on their VMAC.
            let model = match d.env.as_mut() {
                Some(env) => env.apply_vmacs(&d.current.config),
                None => d.current.config.clone(),
            };
            let keys = d
                .env
                .as_mut()
                .map(|e| e.prepare(&model))
                .unwrap_or_default();
            for k in keys {
                watch_socket(ctx, d, k);
            }
            if let Some(r) = d.recorder.as_mut() {
                let text = std::fs::read_to_string(&d.current.path).unwrap_or_default();
                r.record_reload(now, &d.current.path, &text);
            }
            if let (Some(svc), Some(env)) = (d.vrrp.as_mut(), d.env.as_mut()) {
                match svc.reload(&model, now, env) {
                    Err(e) => error!(target: "vrrp", "reload: {e}"),
                    Ok(()) => env.prune_vmacs(),
                }
                if let Some(r) = d.recorder.as_mut() {
                    r.observe(now, svc.router());
                }
            }
            after(ctx, d);
        }
        (false, false) => {}
    }
    super::lvs::reload(ctx, d);
    super::bfd::reload(ctx, d);
    tune(d);
}

/// The process settings of `global_defs` (nice, real-time priority, no_swap) for the parts
/// that run.
fn tune(d: &Daemon) {
    let c = &d.current.config;
    super::tuning::Tuning::from_config(c, d.vrrp.is_some(), c.has_bfd()).apply();
}

/// SIGTERM/SIGINT: priority-0 adverts, VIPs removed, STOP notifies, then leave the loop.
fn stop(ctx: &mut C, d: &mut Daemon) {
    let now = ctx.update_now();
    if let Some(r) = d.recorder.as_mut() {
        r.record(now, &Input::Shutdown);
    }
    if let (Some(svc), Some(env)) = (d.vrrp.as_mut(), d.env.as_mut()) {
        svc.shutdown(now, env);
        if let Some(r) = d.recorder.as_mut() {
            r.observe(now, svc.router());
            r.flush();
        }
        // STOP scripts outlive us if need be; keepalived gives them a second.
        for s in env.spawns.drain(..) {
            let cmd = match s {
                Spawn::Notify { command, .. } | Spawn::Track { command, .. } => command,
            };
            let mut cmd = cmd;
            let _ = cmd.spawn();
        }
        env.cleanup();
    }
    super::bfd::stop(ctx, d);
    super::lvs::stop(ctx, d);
    ctx.stop();
}
