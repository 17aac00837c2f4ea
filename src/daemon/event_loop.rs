//! The daemon's event loop: the scheduler's [`scheduler::Loop`] with the daemon as its state.
//! Signals are threads like everything else (signalfd): SIGHUP reloads, SIGTERM and SIGINT
//! stop (SIGINT not with `--ignore-sigint`), SIGUSR1/SIGUSR2 and the JSON and STATS_CLEAR
//! signals are caught so they never kill the daemon.

use super::lifecycle::Daemon;
use crate::os::host::LinuxHost;
use log::warn;
use scheduler::{signals, Loop};

/// Runs until a stop signal. The caller performs the orderly stop.
pub fn run(daemon: &mut Daemon) -> std::io::Result<()> {
    let mut lp: Loop<Daemon> = Loop::new()?;
    lp.add_signal(signals::SIGHUP, |_, d: &mut Daemon, _| {
        d.reload(&LinuxHost);
    })?;
    lp.add_signal(signals::SIGTERM, |ctx, _, _| ctx.stop())?;
    lp.add_signal(signals::SIGINT, |ctx, d: &mut Daemon, _| {
        if !d.opts.ignore_sigint {
            ctx.stop();
        }
    })?;
    // The dumps themselves (keepalived.data, .stats, .json) come with the VRRP engine; until
    // then say so rather than pretend.
    for (sig, name) in [
        (signals::SIGUSR1, "SIGUSR1 (data dump)"),
        (signals::SIGUSR2, "SIGUSR2 (stats dump)"),
        (signals::sigjson(), "JSON dump signal"),
        (signals::sigstats_clear(), "STATS_CLEAR signal"),
    ] {
        lp.add_signal(sig, move |_, _, _| {
            warn!("{name} received: state dumps are not implemented yet");
        })?;
    }
    lp.run(daemon)
}
