//! L4: the daemon. Command line, logging, pid files, configuration load and reload, and the
//! event loop that routes inputs to the engines.

pub mod bfd;
pub mod check_file;
pub mod cli;
pub mod dump;
pub mod env;
pub mod event_loop;
pub mod genhash;
pub mod lifecycle;
pub mod linux;
pub mod load;
pub mod log;
pub mod lvs;
pub mod notify;
pub mod pidfile;
pub mod probe;
pub mod probe_dgram;
pub mod probe_smtp;
pub mod probe_tls;
pub mod record;
pub mod trackers;
pub mod tuning;
pub mod vrrp;

use crate::os::host::LinuxHost;
use cli::{Command, Options};

/// The version line, in keepalived's shape so tools that parse `Keepalived v` still work.
pub const VERSION_LINE: &str = concat!(
    "Keepalived-rs v",
    env!("CARGO_PKG_VERSION"),
    " (keepalived 2.2.7 compatible)"
);

/// Entry point: `args` is the whole argv. Returns the exit status.
pub fn main_with_args(args: &[String]) -> i32 {
    if genhash::wanted(args).is_some() {
        return genhash::main(args);
    }
    let cmd = match cli::parse(args.get(1..).unwrap_or(&[])) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e.0);
            return 1;
        }
    };
    match cmd {
        Command::Help => {
            eprint!("{}", cli::usage());
            0
        }
        Command::Version => {
            eprint!("{}", version_text());
            0
        }
        Command::Signum(n) => {
            println!("{n}");
            0
        }
        Command::Run(o) => {
            if o.config_test.is_some() {
                config_test(&o)
            } else {
                run(&o, args)
            }
        }
    }
}

/// `-v`: version and build options, on stderr like keepalived.
pub fn version_text() -> String {
    let uts = nix::sys::utsname::uname().ok();
    let running = uts
        .map(|u| {
            format!(
                "{} {} {}",
                u.sysname().to_string_lossy(),
                u.release().to_string_lossy(),
                u.version().to_string_lossy()
            )
        })
        .unwrap_or_else(|| "unknown".into());
    format!(
        "{VERSION_LINE}\n\nCopyright(C) 2026 keepalived-rs developers (GPL-2.0-or-later)\n\n\
         Running on {running}\n\n\
         Build options:  VRRP LVS BFD SINGLE_PROCESS EVENT_LOOP=mio TIMER_WHEEL{}\n",
        if cfg!(target_feature = "crt-static") {
            " STATIC"
        } else {
            ""
        }
    )
}

/// `-t`: check the configuration, report to stderr (or the `-t FILE`), exit 0/4/5/6.
fn config_test(o: &Options) -> i32 {
    let loaded = load::load(o, &LinuxHost, true);
    let mut report = loaded.diags.render(&loaded.sources);
    for opt in &o.unimplemented {
        report.push_str(&format!(
            "note: option {opt} is accepted but not implemented by keepalived-rs yet\n"
        ));
    }
    match o.config_test.as_ref().and_then(|f| f.as_ref()) {
        Some(file) => {
            if let Err(e) = std::fs::write(file, report) {
                eprintln!("cannot write config test report to {}: {e}", file.display());
            }
        }
        None => eprint!("{report}"),
    }
    if o.dump_conf {
        eprintln!("{:#?}", loaded.config);
    }
    loaded.diags.exit_code()
}

/// Set in the environment of the re-executed child that becomes the daemon.
const DAEMON_CHILD_ENV: &str = "KVRS_DAEMON_CHILD";

/// The daemon proper: background unless `-n`, start, run the event loop until SIGTERM or
/// SIGINT, stop in order.
fn run(o: &Options, args: &[String]) -> i32 {
    let child = std::env::var_os(DAEMON_CHILD_ENV).is_some();
    if !o.dont_fork && !child {
        return background(args);
    }
    if child {
        // Our own session, detached from the terminal's job control (keepalived's daemon()).
        let _ = nix::unistd::setsid();
    }
    if let Some(mask) = o.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    log::init(&log::LogConfig {
        console: o.log_console,
        syslog: !o.no_syslog,
        facility: o.log_facility.unwrap_or(3),
        detail: o.log_detail,
        file: o
            .log_file
            .clone()
            .map(|f| f.unwrap_or_else(|| "/tmp/keepalived.log".into())),
        flush_file: o.flush_log_file,
    });
    let mut daemon = match lifecycle::Daemon::start(o.clone(), args, &LinuxHost) {
        Ok(d) => d,
        Err(lifecycle::StartError::AlreadyRunning) => return 0,
        Err(lifecycle::StartError::Config(code)) => return code,
        Err(lifecycle::StartError::PidFile(e)) => {
            ::log::error!("cannot write pid file {e}");
            return 1;
        }
    };
    if child {
        tell_parent_ready(o.log_console);
    }
    match event_loop::run(&mut daemon) {
        Ok(()) => {
            daemon.stop();
            0
        }
        Err(e) => {
            ::log::error!("event loop failed: {e}");
            daemon.stop();
            1
        }
    }
}

/// Without `-n`: re-execute ourselves as the daemon (in a new session) and return once it
/// reports that it started, with its exit status if it did not. Re-executing rather than
/// fork(2) keeps the crate free of `unsafe` and the child free of inherited loop state.
fn background(args: &[String]) -> i32 {
    use std::io::Read;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot find own executable: {e}");
            return 1;
        }
    };
    let spawned = std::process::Command::new(exe)
        .args(args.get(1..).unwrap_or(&[]))
        .env(DAEMON_CHILD_ENV, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot start daemon: {e}");
            return 1;
        }
    };
    let mut buf = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut buf);
    }
    if buf.starts_with(b"ready") {
        return 0;
    }
    child.wait().ok().and_then(|s| s.code()).unwrap_or(1)
}

/// In the re-executed daemon: tell the waiting parent we started, then point stdout (and
/// stderr, unless `-l` asked for the console) at /dev/null, detaching from the caller's
/// terminal or pipes as daemon(3) does. Start-up errors before this point still reach the
/// caller's stderr.
fn tell_parent_ready(keep_console: bool) {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let mut out = std::io::stdout();
    let _ = out.write_all(b"ready\n");
    let _ = out.flush();
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2(null.as_raw_fd(), 1);
        if !keep_console {
            let _ = nix::unistd::dup2(null.as_raw_fd(), 2);
        }
    }
}
