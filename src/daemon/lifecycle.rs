//! The daemon's life: start (keepalived's start lines, "already running" check, config load,
//! pid files), reload (transactional: a configuration with errors is refused and the running
//! one kept, which keepalived does not do), and orderly stop. The event loop calls into
//! this; nothing here blocks.

use super::cli::{self, Options};
use super::load::{self, Loaded};
use super::pidfile::{self, PidFile};
use crate::config::diag::Severity;
use crate::config::semantic::Host;
use log::{error, info, warn};
use std::path::PathBuf;

/// Why the daemon did not start.
#[derive(Debug, PartialEq, Eq)]
pub enum StartError {
    /// Another instance holds the pid file: keepalived logs and exits 0.
    AlreadyRunning,
    /// The configuration is unusable (fatal diagnostics): exit status.
    Config(i32),
    /// A pid file could not be written.
    PidFile(String),
}

/// A running daemon's state outside the event loop.
pub struct Daemon {
    pub opts: Options,
    pub current: Loaded,
    pidfiles: Vec<PidFile>,
    pub reloads: u64,
    /// The VRRP side, when the configuration has one (keepalived's VRRP child).
    pub vrrp: Option<super::vrrp::VrrpService>,
    /// The Linux environment the VRRP side acts through.
    pub env: Option<super::linux::LinuxEnv>,
    /// The engine's one wheel entry and the deadline it is armed for.
    pub vrrp_timer: Option<(scheduler::ThreadId, scheduler::Instant)>,
    /// inotify watching the track files' directories.
    pub inotify: Option<nix::sys::inotify::Inotify>,
    /// `--record FILE`: every engine input with its time, for replay in the simulator.
    pub recorder: Option<super::record::Recorder>,
    /// The BFD side, when the configuration has sessions and `-B` was not given (in this
    /// process and loop, where keepalived runs a BFD child).
    pub bfd: Option<super::bfd::BfdService>,
    /// The BFD set's one wheel entry and the deadline it is armed for.
    pub bfd_timer: Option<(scheduler::ThreadId, scheduler::Instant)>,
    /// The checker side (IPVS and the checkers), when the configuration has virtual servers
    /// and `-P` was not given (keepalived's checker child).
    pub lvs: Option<super::lvs::LvsService>,
}

/// The pid files this run writes: the main one always; the VRRP, checkers and BFD ones when
/// that subsystem has configuration (one process serves all three, so they hold our pid and
/// tools that signal `/run/vrrp.pid` reach us).
pub fn pid_paths(o: &Options, loaded: &Loaded) -> Vec<PathBuf> {
    let c = &loaded.config;
    let pick = |p: &Option<PathBuf>, d: &str| p.clone().unwrap_or_else(|| PathBuf::from(d));
    let mut v = vec![pick(&o.pid_file, cli::DEFAULT_PID)];
    if c.has_vrrp() && !o.check_only {
        v.push(pick(&o.vrrp_pid_file, cli::DEFAULT_VRRP_PID));
    }
    if c.has_lvs() && !o.vrrp_only {
        v.push(pick(&o.checkers_pid_file, cli::DEFAULT_CHECKERS_PID));
    }
    if c.has_bfd() && !o.no_bfd {
        v.push(pick(&o.bfd_pid_file, cli::DEFAULT_BFD_PID));
    }
    v
}

/// keepalived's "Command line:" rendering: each argument single-quoted.
pub fn command_line(args: &[String]) -> String {
    args.iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Logs each diagnostic at the level its severity deserves, with its place.
pub fn log_diagnostics(loaded: &Loaded) {
    for d in &loaded.diags.items {
        let line = crate::config::diag::Diagnostics::render_one(d, &loaded.sources);
        match d.severity {
            Severity::Error => error!(target: "config", "{line}"),
            Severity::Warning => warn!(target: "config", "{line}"),
            Severity::Note => info!(target: "config", "{line}"),
        }
    }
}

impl Daemon {
    /// Start-up up to (not including) the event loop.
    pub fn start(opts: Options, args: &[String], host: &dyn Host) -> Result<Daemon, StartError> {
        info!("Starting {}", super::VERSION_LINE);
        if let Ok(u) = nix::sys::utsname::uname() {
            info!(
                "Running on {} {} {}",
                u.sysname().to_string_lossy(),
                u.release().to_string_lossy(),
                u.version().to_string_lossy()
            );
        }
        info!("Command line: {}", command_line(args));
        for o in &opts.unimplemented {
            warn!("option {o} is accepted but not implemented by keepalived-rs yet");
        }
        let main_pid = opts
            .pid_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(cli::DEFAULT_PID));
        let loaded = load::load(&opts, host, true);
        info!("Configuration file {}", loaded.path.display());
        // keepalived checks every pid file it would write for a live owner.
        let paths = pid_paths(&opts, &loaded);
        if std::iter::once(&main_pid)
            .chain(paths.iter())
            .any(|p| pidfile::running_pid(p).is_some())
        {
            info!("daemon is already running");
            return Err(StartError::AlreadyRunning);
        }
        log_diagnostics(&loaded);
        if loaded.diags.exit_code() == 4 {
            error!("Stopping: fatal configuration error");
            return Err(StartError::Config(loaded.diags.exit_code()));
        }
        if opts.dump_conf {
            dump(&loaded);
        }
        if !loaded.config.has_vrrp() && !loaded.config.has_lvs() && !loaded.config.has_bfd() {
            warn!("Warning - keepalived has no configuration to run");
        }
        let mut pidfiles = Vec::new();
        for p in &paths {
            match PidFile::create(p) {
                Ok(f) => pidfiles.push(f),
                Err(e) => return Err(StartError::PidFile(format!("{}: {e}", p.display()))),
            }
        }
        Ok(Daemon {
            opts,
            current: loaded,
            pidfiles,
            reloads: 0,
            vrrp: None,
            env: None,
            vrrp_timer: None,
            inotify: None,
            recorder: None,
            bfd: None,
            bfd_timer: None,
            lvs: None,
        })
    }

    /// SIGHUP: re-read the configuration; apply it only if it has no errors. Returns true if
    /// the new configuration was applied.
    pub fn reload(&mut self, host: &dyn Host) -> bool {
        info!("Reloading ...");
        let next = load::load(&self.opts, host, true);
        info!("Configuration file {}", next.path.display());
        log_diagnostics(&next);
        if next.rejects_reload() {
            let n = next
                .diags
                .items
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            error!("Reload aborted: the new configuration has {n} error(s); keeping the running configuration");
            return false;
        }
        if self.opts.dump_conf {
            dump(&next);
        }
        self.current = next;
        self.reloads += 1;
        info!("Reload complete");
        true
    }

    /// Orderly stop: pid files removed, keepalived's closing lines.
    pub fn stop(&mut self) {
        info!("Stopping");
        for p in &mut self.pidfiles {
            p.remove();
        }
        info!("Stopped");
        info!("Stopped {}", super::VERSION_LINE);
    }

    pub fn pidfile_paths(&self) -> Vec<PathBuf> {
        self.pidfiles
            .iter()
            .map(|p| p.path().to_path_buf())
            .collect()
    }
}

/// `-d`: the parsed model, to the log.
fn dump(loaded: &Loaded) {
    for line in format!("{:#?}", loaded.config).lines() {
        info!(target: "config", "{line}");
    }
}
