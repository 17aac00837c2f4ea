//! The checker side of the daemon (keepalived's checker child): the IPVS engine and the
//! checkers that feed it (`check::Healthcheckers`), in this process and loop, and the
//! kernel's IPVS table they drive through `os::ipvs`.
//!
//! Real servers follow their checkers: today `BFD_CHECK`, fed in the same turn a BFD session
//! changes state (keepalived carries that over a pipe between two processes). The other
//! checker kinds are reported once at start as not implemented yet and are ignored.
//!
//! Without IPVS in the kernel the engine still runs (states, logs) and the error is logged
//! once; keepalived's checker child fails its start the same way.

use super::lifecycle::Daemon;
use super::notify::{Fifo, ScriptRun};
use crate::check::Healthcheckers;
use crate::config::model::global::LvsFlushOnStop;
use crate::config::model::{Config, Script};
use crate::lvs::event::Output;
use crate::lvs::kernel::{apply_ops, Applied};
use crate::lvs::LvsOptions;
use crate::os::ipvs::{Ipvs, SyncDaemon, SyncState};
use log::{error, info, warn};
use scheduler::Ctx;

type C = Ctx<Daemon>;

/// The checker side while it runs.
pub struct LvsService {
    hc: Healthcheckers,
    ipvs: Option<Ipvs>,
    out: Output,
    /// `notify_fifo` and `lvs_notify_fifo`.
    fifos: Vec<Fifo>,
    /// Operations the kernel refused.
    pub ipvs_errors: u64,
    /// The connection-sync daemons running (`lvs_sync_daemon`).
    syncd: Vec<SyncDaemon>,
    /// With `inst VI`: VI's index in the VRRP router and whether it was MASTER when the
    /// sync daemons were last brought in line, so that a VRRP step costs one look.
    syncd_vi: Option<(usize, bool)>,
    /// The probes of TCP_CHECK.
    pub(super) probes: super::probe::Probes,
    /// The track files FILE_CHECKs follow.
    pub(super) files: Option<super::check_file::FileWatch>,
}

impl LvsService {
    pub fn healthcheckers(&self) -> &Healthcheckers {
        &self.hc
    }

    /// The datagram of the next attempt of PING_CHECK, UDP_CHECK or DNS_CHECK `id`.
    pub(super) fn dgram_request(&mut self, id: crate::check::CheckerId) -> Option<Vec<u8>> {
        let random = self.probes.rng.next_u64();
        self.hc.dgram_request(id, random)
    }

    /// Runs `f` on the checkers with the engine's output (a probe's outcome, a BFD
    /// change), then hands the operations to the kernel.
    pub(super) fn with_checkers<T>(
        &mut self,
        f: impl FnOnce(&mut Healthcheckers, &mut Output) -> T,
    ) -> T {
        let mut out = std::mem::take(&mut self.out);
        let r = f(&mut self.hc, &mut out);
        self.out = out;
        self.apply();
        r
    }

    /// Hands the engine's operations to the kernel and its events to the log (the engine
    /// already logged keepalived's line for each).
    fn apply(&mut self) {
        let Some(ipvs) = self.ipvs.as_mut() else {
            self.out.ops.clear();
            return;
        };
        let mut ops = std::mem::take(&mut self.out.ops);
        let mut errors = 0;
        apply_ops(ipvs, &ops, self.hc.lvs().installed(), |a| match a {
            Applied::Done { .. } => {}
            Applied::Refused { error, .. } | Applied::ListFailed { error, .. } => {
                errors += 1;
                error!(target: "lvs", "IPVS: {error}");
            }
            Applied::Stale { service, dest } => info!(
                target: "lvs",
                "IPVS: removing {} left by a previous run from {}",
                crate::os::ipvs::dest_name(&dest),
                crate::os::ipvs::service_name(&service)
            ),
        });
        self.ipvs_errors += errors;
        ops.clear();
        self.out.ops = ops;
    }

    /// The events' notify scripts (`notify_up`, `notify_down`, `quorum_up`,
    /// `quorum_down`), to start, and their notify FIFO lines.
    fn take_notifies(&mut self, cfg: &Config) -> (Vec<ScriptRun>, Vec<String>) {
        let mut runs = Vec::new();
        let mut lines = Vec::new();
        for ev in self.out.events.drain(..) {
            if let Some(s) = ev.script() {
                match script_run(s, cfg) {
                    Ok(r) => runs.push(r),
                    Err(e) => warn!(target: "check", "cannot run {:?}: {e}", s.command),
                }
            }
            if let Some(l) = ev.fifo_line() {
                lines.push(l);
            }
        }
        (runs, lines)
    }
}

/// How a checker-side script runs: its argv split as keepalived splits it, as its own user,
/// else `script_user`, else root.
pub(super) fn script_run(s: &Script, cfg: &Config) -> Result<ScriptRun, String> {
    let argv = crate::config::lexer::split_script_argv(&s.command)?;
    if argv.is_empty() {
        return Err("empty command".into());
    }
    let (uid, gid) = match &s.user {
        Some(u) => {
            let user = nix::unistd::User::from_name(u)
                .ok()
                .flatten()
                .ok_or_else(|| format!("unknown user {u}"))?;
            let gid = match &s.group {
                Some(g) => nix::unistd::Group::from_name(g.trim_start_matches(':'))
                    .ok()
                    .flatten()
                    .ok_or_else(|| format!("unknown group {g}"))?
                    .gid
                    .as_raw(),
                None => user.gid.as_raw(),
            };
            (user.uid.as_raw(), gid)
        }
        None => cfg
            .global
            .script_user
            .as_ref()
            .map_or((0, 0), |u| (u.uid, u.gid)),
    };
    Ok(ScriptRun { argv, uid, gid })
}

/// Starts the scripts (not waited for; the loop reaps them) and writes the FIFO lines.
pub(super) fn notify(ctx: &mut C, d: &mut Daemon) {
    let cfg = &d.current.config;
    let Some((runs, lines)) = d.lvs.as_mut().map(|s| s.take_notifies(cfg)) else {
        return;
    };
    for run in runs {
        let mut cmd = super::notify::command(&run);
        if let Err(e) = ctx.spawn_child(&mut cmd, None, |_, _: &mut Daemon, _| {}) {
            warn!(target: "check", "cannot run {:?}: {e}", run.argv);
        }
    }
    write_lines(d, &lines);
}

/// Whether the configuration asks for the checker side (`-P` runs VRRP only).
pub fn wanted(d: &Daemon) -> bool {
    d.current.config.has_lvs() && !d.opts.vrrp_only
}

fn options(d: &Daemon) -> LvsOptions {
    LvsOptions {
        rs_init_notifies: d.current.config.global.rs_init_notifies,
    }
}

/// Opens IPVS, builds the engine and installs the table.
pub(super) fn start(ctx: &mut C, d: &mut Daemon) {
    if !wanted(d) || d.lvs.is_some() {
        return;
    }
    info!(target: "lvs", "Initializing ipvs");
    let ipvs = match Ipvs::open() {
        Ok(mut i) => {
            if d.current.config.global.lvs_flush {
                if let Err(e) = i.flush() {
                    error!(target: "lvs", "IPVS: flush: {e}");
                }
            }
            Some(i)
        }
        Err(e) => {
            error!(target: "lvs", "IPVS: Can't initialize ipvs: {e}");
            None
        }
    };
    let cfg = &d.current.config.lvs;
    let mut hc = Healthcheckers::new(cfg, options(d));
    for line in hc.checkers().unimplemented_summary() {
        warn!(target: "check", "{line}");
    }
    let mut out = Output::new();
    // FILE_CHECK: the files' values set the real servers' state before the table goes in.
    if d.vrrp.is_none() {
        super::trackers::init_files(&d.current.config.vrrp);
    }
    let files = super::check_file::FileWatch::new(&d.current.config, &hc.checkers().file_names());
    for (name, v) in files.read_all() {
        hc.on_file_value(&name, v, &mut out);
    }
    hc.start(&mut out);
    let mut svc = LvsService {
        hc,
        ipvs,
        out,
        fifos: open_fifos(&d.current.config),
        ipvs_errors: 0,
        syncd: Vec::new(),
        syncd_vi: None,
        probes: super::probe::Probes::new(super::bfd::os_seed()),
        files: Some(files),
    };
    svc.apply();
    info!(
        target: "check",
        "checkers: {} virtual server(s) started",
        d.current.config.lvs.virtual_servers.len()
    );
    d.lvs = Some(svc);
    set_timeouts(d);
    sync_daemons(d);
    start_fifo_readers(ctx, d);
    super::probe::start(ctx, d);
    super::check_file::arm(ctx, d);
    notify(ctx, d);
}

/// `lvs_timeouts`, when any is set (0 keeps the kernel's value of the others).
fn set_timeouts(d: &mut Daemon) {
    let t = d.current.config.global.lvs_timeouts;
    if t.tcp_s.is_none() && t.tcp_fin_s.is_none() && t.udp_s.is_none() {
        return;
    }
    if let Some(ipvs) = d.lvs.as_mut().and_then(|s| s.ipvs.as_mut()) {
        let v = |x: Option<u32>| x.unwrap_or(0);
        if let Err(e) = ipvs.set_timeouts(v(t.tcp_s), v(t.tcp_fin_s), v(t.udp_s)) {
            error!(target: "lvs", "IPVS: {e}");
        }
    }
}

/// The sync daemons `lvs_sync_daemon` asks for now: master and backup for the daemon's
/// lifetime without an instance; with `inst VI`, master while VI is MASTER and backup
/// otherwise (keepalived's VRRP side drives them so). The sync id is `id`, else VI's VRID,
/// else 0.
/// Also returns VI's index and whether it is MASTER.
fn wanted_sync_daemons(d: &Daemon) -> (Vec<SyncDaemon>, Option<(usize, bool)>) {
    let Some(c) = d.current.config.global.lvs_sync_daemon.as_ref() else {
        return (Vec::new(), None);
    };
    let vi = c.instance.as_deref().and_then(|name| {
        let r = d.vrrp.as_ref()?.router();
        let at = r.instances().iter().position(|i| i.cfg.name == name)?;
        Some((at, r.instance(at)?))
    });
    let sync_id = c
        .sync_id
        .or_else(|| vi.map(|(_, i)| i.cfg.vrid))
        .unwrap_or(0);
    let vi_master = vi.map(|(at, i)| (at, i.state() == crate::vrrp::State::Master));
    let states = match (&c.instance, vi_master) {
        (None, _) => vec![SyncState::Master, SyncState::Backup],
        (Some(_), Some((_, true))) => vec![SyncState::Master],
        (Some(_), _) => vec![SyncState::Backup],
    };
    let daemons = states
        .into_iter()
        .map(|state| SyncDaemon {
            state,
            interface: c.interface.clone(),
            sync_id,
            maxlen: c.maxlen,
            port: c.port,
            ttl: c.ttl,
            group: c.group,
        })
        .collect();
    (daemons, vi_master)
}

/// After a VRRP step (`lvs_sync_daemon ... inst VI`): the sync daemons are brought in line
/// only when VI has gone to or left MASTER since they last were.
pub(super) fn vrrp_stepped(d: &mut Daemon) {
    let Some((at, was_master)) = d.lvs.as_ref().and_then(|s| s.syncd_vi) else {
        return;
    };
    let is_master = d
        .vrrp
        .as_ref()
        .and_then(|v| v.router().instance(at))
        .is_some_and(|i| i.state() == crate::vrrp::State::Master);
    if is_master != was_master {
        sync_daemons(d);
    }
}

/// Brings the running sync daemons to what is wanted now: at start, at a reload, and after
/// a VRRP step that moved the instance driving them ([`vrrp_stepped`]).
pub(super) fn sync_daemons(d: &mut Daemon) {
    if d.lvs.as_ref().map_or(true, |s| s.ipvs.is_none()) {
        return;
    }
    let (want, vi) = wanted_sync_daemons(d);
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    svc.syncd_vi = vi;
    if svc.syncd == want {
        return;
    }
    let Some(ipvs) = svc.ipvs.as_mut() else {
        return;
    };
    // Stop what changes first: the kernel runs one daemon per state.
    for sd in svc.syncd.iter().filter(|sd| !want.contains(sd)) {
        info!(target: "lvs", "IPVS: stopping the {} sync daemon", sd.state.name());
        if let Err(e) = ipvs.stop_daemon(sd.state) {
            error!(target: "lvs", "IPVS: {e}");
        }
    }
    for sd in want.iter().filter(|sd| !svc.syncd.contains(sd)) {
        info!(
            target: "lvs",
            "IPVS: starting the {} sync daemon on {} (syncid {})",
            sd.state.name(),
            sd.interface,
            sd.sync_id
        );
        if let Err(e) = ipvs.start_daemon(sd) {
            error!(target: "lvs", "IPVS: {e}");
        }
    }
    svc.syncd = want;
}

/// The FIFO reader scripts (`lvs_notify_fifo_script`, and `notify_fifo_script` when no VRRP
/// side runs to start it), started once with the FIFO's path as their last argument, as
/// keepalived starts them.
fn start_fifo_readers(ctx: &mut C, d: &mut Daemon) {
    let g = &d.current.config.global;
    let mut fifos = vec![&g.lvs_notify_fifo];
    if d.vrrp.is_none() {
        fifos.push(&g.notify_fifo);
    }
    for f in fifos.into_iter().flatten() {
        let Some(run) = super::notify::fifo_reader(f) else {
            continue;
        };
        let mut cmd = super::notify::command(&run);
        if let Err(e) = ctx.spawn_child(&mut cmd, None, |_, _: &mut Daemon, _| {}) {
            warn!(target: "check", "cannot run {:?}: {e}", run.argv);
        }
    }
}

/// A BFD session reported to the checkers changed state.
pub(super) fn on_bfd(ctx: &mut C, d: &mut Daemon, name: &str, up: bool) {
    if let Some(svc) = d.lvs.as_mut() {
        svc.with_checkers(|hc, out| hc.on_bfd_state(name, up, out));
    }
    notify(ctx, d);
}

/// SIGHUP, after the new configuration was accepted: the table is diffed, real servers kept
/// keep their health.
pub(super) fn reload(ctx: &mut C, d: &mut Daemon) {
    match (d.lvs.is_some(), wanted(d)) {
        (false, true) => start(ctx, d),
        (true, false) => {
            stop(ctx, d);
            d.lvs = None;
        }
        (true, true) => {
            let cfg = d.current.config.lvs.clone();
            // FILE_CHECK: the new configuration's files, watched and read first.
            let fw = super::check_file::FileWatch::new(
                &d.current.config,
                &super::check_file::names(&cfg),
            );
            let values = fw.read_all();
            if let Some(svc) = d.lvs.as_mut() {
                if let Some(old) = svc.files.as_mut() {
                    old.cancel(ctx);
                }
                svc.files = Some(fw);
                let mut out = std::mem::take(&mut svc.out);
                svc.hc.reload_with_files(&cfg, &values, &mut out);
                svc.out = out;
                svc.apply();
            }
            super::probe::reload(ctx, d);
            super::check_file::arm(ctx, d);
            set_timeouts(d);
            sync_daemons(d);
            notify(ctx, d);
        }
        (false, false) => {}
    }
}

/// SIGTERM: the services and destinations we installed are removed (`-I` keeps them;
/// `lvs_flush_on_stop` flushes instead).
pub(super) fn stop(ctx: &mut C, d: &mut Daemon) {
    super::probe::stop(ctx, d);
    if let Some(fw) = d.lvs.as_mut().and_then(|s| s.files.as_mut()) {
        fw.cancel(ctx);
    }
    let keep = d.opts.dont_release_ipvs;
    let flush = d.current.config.global.lvs_flush_on_stop;
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    if let Some(ipvs) = svc.ipvs.as_mut() {
        for sd in std::mem::take(&mut svc.syncd) {
            if let Err(e) = ipvs.stop_daemon(sd.state) {
                error!(target: "lvs", "IPVS: {e}");
            }
        }
    }
    let mut out = std::mem::take(&mut svc.out);
    svc.hc.shutdown(&mut out);
    if keep {
        out.ops.clear();
    } else if flush == Some(LvsFlushOnStop::All) {
        out.ops.clear();
        if let Some(i) = svc.ipvs.as_mut() {
            if let Err(e) = i.flush() {
                error!(target: "lvs", "IPVS: flush: {e}");
            }
        }
    }
    svc.out = out;
    svc.apply();
    // Scripts of a shutdown (omega) outlive us if need be.
    let cfg = &d.current.config;
    if let Some((runs, lines)) = d.lvs.as_mut().map(|s| s.take_notifies(cfg)) {
        for run in runs {
            let _ = super::notify::command(&run).spawn();
        }
        write_lines(d, &lines);
    }
}

fn write_lines(d: &mut Daemon, lines: &[String]) {
    if let Some(svc) = d.lvs.as_mut() {
        for f in &mut svc.fifos {
            for l in lines {
                f.write_line(l);
            }
        }
    }
}

/// The checker side's notify FIFOs: the global `notify_fifo` and `lvs_notify_fifo` (as
/// keepalived's checker child writes to both), opened once at start (as the VRRP side's).
fn open_fifos(cfg: &Config) -> Vec<Fifo> {
    let g = &cfg.global;
    [&g.notify_fifo, &g.lvs_notify_fifo]
        .into_iter()
        .flatten()
        .filter_map(super::notify::open_notify_fifo)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ast::Span;

    fn script(command: &str, user: Option<&str>) -> Script {
        Script {
            command: command.into(),
            user: user.map(str::to_string),
            group: None,
            span: Span::default(),
        }
    }

    #[test]
    fn scripts_split_as_keepalived_and_run_as_their_user() {
        let cfg = Config::default();
        let r = script_run(&script("/bin/echo 'a b' c\\ d", None), &cfg).unwrap();
        assert_eq!(r.argv, vec!["/bin/echo", "a b", "c d"]);
        assert_eq!((r.uid, r.gid), (0, 0));
        let r = script_run(&script("/bin/true", Some("root")), &cfg).unwrap();
        assert_eq!((r.uid, r.gid), (0, 0));
        assert!(script_run(&script("/bin/true", Some("no-such-user-kvrs")), &cfg).is_err());
        assert!(script_run(&script("", None), &cfg).is_err());
    }
}
