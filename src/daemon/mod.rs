//! L4: the daemon. Command line, logging, pid files, configuration load and reload, and the
//! event loop that routes inputs to the engines.

pub mod cli;
pub mod lifecycle;
pub mod load;
pub mod log;
pub mod pidfile;

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

/// The daemon proper (filled in by the event-loop module).
fn run(o: &Options, args: &[String]) -> i32 {
    let _ = (o, args);
    0
}
