//! keepalived's command line (`keepalived/core/main.c`), short and long options, through
//! getopts. Options we accept but do not implement yet are collected in
//! [`Options::unimplemented`] so the daemon reports each one clearly instead of silently
//! ignoring it.

use getopts::{HasArg, Occur};
use std::path::PathBuf;

/// The default configuration file, as keepalived's `${sysconfdir}/keepalived/keepalived.conf`.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";
/// Default pid files (RUNSTATEDIR=/run), as keepalived 2.2.7 names them.
pub const DEFAULT_PID: &str = "/run/keepalived.pid";
pub const DEFAULT_VRRP_PID: &str = "/run/vrrp.pid";
pub const DEFAULT_CHECKERS_PID: &str = "/run/checkers.pid";
pub const DEFAULT_BFD_PID: &str = "/run/bfd.pid";

/// What the command line asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub config_file: Option<PathBuf>,
    pub vrrp_only: bool,
    pub check_only: bool,
    pub no_bfd: bool,
    pub all: bool,
    pub log_console: bool,
    /// Number of `-D` given (1 = detail, 2 = extra detail).
    pub log_detail: u8,
    pub log_facility: Option<u8>,
    pub log_file: Option<Option<PathBuf>>,
    pub flush_log_file: bool,
    pub no_syslog: bool,
    pub umask: Option<u32>,
    pub release_vips: bool,
    pub dont_release_vrrp: bool,
    pub dont_release_ipvs: bool,
    pub dont_respawn: bool,
    pub dont_fork: bool,
    pub dump_conf: bool,
    pub pid_file: Option<PathBuf>,
    pub vrrp_pid_file: Option<PathBuf>,
    pub checkers_pid_file: Option<PathBuf>,
    pub bfd_pid_file: Option<PathBuf>,
    pub address_monitoring: bool,
    pub namespace: Option<String>,
    pub all_config: bool,
    pub config_id: Option<String>,
    /// `-t`: `Some(None)` checks to stderr, `Some(Some(file))` writes the report to a file.
    pub config_test: Option<Option<PathBuf>>,
    pub ignore_sigint: bool,
    /// `--record FILE`: record engine inputs with timestamps for replay in the simulator.
    pub record: Option<PathBuf>,
    /// Options that keepalived accepts and we parse but do not implement yet, as typed.
    pub unimplemented: Vec<String>,
}

/// What to do after parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Run(Box<Options>),
    Version,
    Help,
    /// `--signum=NAME`: print the signal number and exit.
    Signum(i32),
}

/// A command-line error, printed as keepalived prints it, exit status 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError(pub String);

fn spec() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.parsing_style(getopts::ParsingStyle::FloatingFrees);
    o.long_only(false);
    let f = |o: &mut getopts::Options, s: &str, l: &str, d: &str| {
        o.opt(s, l, d, "", HasArg::No, Occur::Multi);
    };
    let a = |o: &mut getopts::Options, s: &str, l: &str, d: &str, h: &str| {
        o.opt(s, l, d, h, HasArg::Yes, Occur::Multi);
    };
    let m = |o: &mut getopts::Options, s: &str, l: &str, d: &str, h: &str| {
        o.opt(s, l, d, h, HasArg::Maybe, Occur::Multi);
    };
    a(
        &mut o,
        "f",
        "use-file",
        "Use the specified configuration file",
        "FILE",
    );
    f(&mut o, "P", "vrrp", "Only run with VRRP subsystem");
    f(
        &mut o,
        "C",
        "check",
        "Only run with Health-checker subsystem",
    );
    f(&mut o, "B", "no_bfd", "Don't run BFD subsystem");
    f(
        &mut o,
        "",
        "all",
        "Force all child processes to run, even if have no configuration",
    );
    f(&mut o, "l", "log-console", "Log messages to local console");
    f(&mut o, "D", "log-detail", "Detailed log messages");
    a(
        &mut o,
        "S",
        "log-facility",
        "Set syslog facility",
        "([0-7]|local[0-7]|user|daemon)",
    );
    m(
        &mut o,
        "g",
        "log-file",
        "Also log to FILE (default /tmp/keepalived.log)",
        "FILE",
    );
    f(&mut o, "", "flush-log-file", "Flush log file on write");
    f(&mut o, "G", "no-syslog", "Don't log via syslog");
    a(
        &mut o,
        "u",
        "umask",
        "umask for file creation (in numeric form)",
        "MASK",
    );
    f(
        &mut o,
        "X",
        "release-vips",
        "Drop VIP on transition from signal.",
    );
    f(
        &mut o,
        "V",
        "dont-release-vrrp",
        "Don't remove VRRP VIPs and VROUTEs on daemon stop",
    );
    f(
        &mut o,
        "I",
        "dont-release-ipvs",
        "Don't remove IPVS topology on daemon stop",
    );
    f(&mut o, "R", "dont-respawn", "Don't respawn child processes");
    f(&mut o, "n", "dont-fork", "Don't fork the daemon process");
    f(&mut o, "d", "dump-conf", "Dump the configuration data");
    a(
        &mut o,
        "p",
        "pid",
        "Use specified pidfile for parent process",
        "FILE",
    );
    a(
        &mut o,
        "r",
        "vrrp_pid",
        "Use specified pidfile for VRRP child process",
        "FILE",
    );
    f(&mut o, "T", "genhash", "Enter into genhash utility mode");
    a(
        &mut o,
        "c",
        "checkers_pid",
        "Use specified pidfile for checkers child process",
        "FILE",
    );
    f(
        &mut o,
        "a",
        "address-monitoring",
        "Report all address additions/deletions",
    );
    a(
        &mut o,
        "b",
        "bfd_pid",
        "Use specified pidfile for BFD child process",
        "FILE",
    );
    f(&mut o, "x", "snmp", "Enable SNMP subsystem");
    a(
        &mut o,
        "A",
        "snmp-agent-socket",
        "Use the specified socket for master agent",
        "FILE",
    );
    a(
        &mut o,
        "s",
        "namespace",
        "Run in network namespace NAME (overrides config)",
        "NAME",
    );
    f(
        &mut o,
        "m",
        "core-dump",
        "Produce core dump if terminate abnormally",
    );
    m(
        &mut o,
        "M",
        "core-dump-pattern",
        "Also set /proc/sys/kernel/core_pattern",
        "PATN",
    );
    f(
        &mut o,
        "e",
        "all-config",
        "Error if any configuration file missing",
    );
    a(
        &mut o,
        "i",
        "config-id",
        "Skip '@' lines that don't match id",
        "id",
    );
    a(
        &mut o,
        "",
        "signum",
        "Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON",
        "SIGFUNC",
    );
    m(
        &mut o,
        "t",
        "config-test",
        "Check the configuration for obvious errors",
        "LOG_FILE",
    );
    f(&mut o, "", "ignore-sigint", "Don't terminate on SIGINT");
    a(
        &mut o,
        "",
        "config-fd",
        "Internal: configuration file descriptor",
        "N",
    );
    m(&mut o, "", "perf", "perf debugging", "all|run|end");
    m(&mut o, "", "debug", "debug options", "OPTS");
    f(&mut o, "", "no-mem-check", "Disable malloc checking");
    f(&mut o, "L", "mem-check-log", "Log malloc/frees to syslog");
    f(&mut o, "", "openssl-mem-check", "OpenSSL memory checking");
    a(
        &mut o,
        "",
        "record",
        "Record engine inputs with timestamps to FILE (keepalived-rs)",
        "FILE",
    );
    f(&mut o, "v", "version", "Display the version number");
    f(&mut o, "h", "help", "Display this help message");
    o
}

/// The usage text (`-h`).
pub fn usage() -> String {
    spec().usage("Usage: keepalived-rs [OPTION...]")
}

/// The signal number behind a `--signum` name (keepalived 2.2.7's names and numbers).
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => libc::SIGRTMAX() - 1,
        "JSON" => libc::SIGRTMIN() + 2,
        _ => return None,
    })
}

/// keepalived's `-S`: 0-7 (local0..7), `local0`..`local7`, `user` or `daemon`. Returns the
/// syslog facility code (LOG_LOCALn = 16+n, user = 1, daemon = 3).
pub fn parse_facility(s: &str) -> Option<u8> {
    let local = |n: &str| n.parse::<u8>().ok().filter(|n| *n <= 7).map(|n| 16 + n);
    match s {
        "user" => Some(1),
        "daemon" => Some(3),
        _ => match s.strip_prefix("local") {
            Some(n) => local(n),
            None => local(s),
        },
    }
}

/// Parses `args` (without argv[0]).
pub fn parse(args: &[String]) -> Result<Command, CliError> {
    let m = spec()
        .parse(args)
        .map_err(|e| CliError(cli_error_text(&e)))?;
    if let Some(extra) = m.free.first() {
        return Err(CliError(format!("Unknown option {extra}")));
    }
    if m.opt_present("T") {
        return Err(CliError(
            "genhash mode: give -T (--genhash) as a separate option".into(),
        ));
    }
    if m.opt_present("h") {
        return Ok(Command::Help);
    }
    if m.opt_present("v") {
        return Ok(Command::Version);
    }
    if let Some(s) = m.opt_strs("signum").last() {
        return signum(s)
            .map(Command::Signum)
            .ok_or_else(|| CliError(format!("Unknown sigfunc {s}")));
    }
    let last = |n: &str| m.opt_strs(n).last().cloned();
    let mut o = Options {
        config_file: last("f").map(PathBuf::from),
        vrrp_only: m.opt_present("P"),
        check_only: m.opt_present("C"),
        no_bfd: m.opt_present("B"),
        all: m.opt_present("all"),
        log_console: m.opt_present("l"),
        log_detail: m.opt_count("D").min(2) as u8,
        flush_log_file: m.opt_present("flush-log-file"),
        no_syslog: m.opt_present("G"),
        release_vips: m.opt_present("X"),
        dont_release_vrrp: m.opt_present("V"),
        dont_release_ipvs: m.opt_present("I"),
        dont_respawn: m.opt_present("R"),
        dont_fork: m.opt_present("n"),
        dump_conf: m.opt_present("d"),
        pid_file: last("p").map(PathBuf::from),
        vrrp_pid_file: last("r").map(PathBuf::from),
        checkers_pid_file: last("c").map(PathBuf::from),
        bfd_pid_file: last("b").map(PathBuf::from),
        address_monitoring: m.opt_present("a"),
        namespace: last("s"),
        all_config: m.opt_present("e"),
        config_id: last("i"),
        ignore_sigint: m.opt_present("ignore-sigint"),
        record: last("record").map(PathBuf::from),
        ..Options::default()
    };
    if let Some(f) = last("S") {
        o.log_facility = Some(
            parse_facility(&f).ok_or_else(|| CliError(format!("Invalid log facility '{f}'")))?,
        );
    }
    if let Some(u) = last("u") {
        o.umask = Some(parse_umask(&u).ok_or_else(|| CliError(format!("Invalid umask '{u}'")))?);
    }
    if m.opt_present("g") {
        o.log_file = Some(m.opt_default("g", "/tmp/keepalived.log").map(PathBuf::from));
    }
    if m.opt_present("t") {
        // keepalived: -t implies -n -R -G (no fork, no respawn, no syslog).
        o.config_test = Some(m.opt_str("t").filter(|s| !s.is_empty()).map(PathBuf::from));
        o.dont_fork = true;
        o.dont_respawn = true;
        o.no_syslog = true;
    }
    // Accepted as keepalived accepts them; not implemented (reported by the daemon).
    for (name, shown) in [
        ("x", "-x/--snmp"),
        ("A", "-A/--snmp-agent-socket"),
        ("m", "-m/--core-dump"),
        ("M", "-M/--core-dump-pattern"),
        ("config-fd", "--config-fd"),
        ("perf", "--perf"),
        ("debug", "--debug"),
        ("no-mem-check", "--no-mem-check"),
        ("L", "-L/--mem-check-log"),
        ("openssl-mem-check", "--openssl-mem-check"),
        ("s", "-s/--namespace"),
        ("X", "-X/--release-vips"),
    ] {
        if m.opt_present(name) {
            o.unimplemented.push(shown.to_string());
        }
    }
    Ok(Command::Run(Box::new(o)))
}

/// A umask as keepalived's `-u`: numeric, octal with a leading 0, decimal otherwise
/// (strtoul base 0), at most 0777.
fn parse_umask(s: &str) -> Option<u32> {
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse().ok()?
    };
    (v <= 0o777).then_some(v)
}

/// getopts' errors in keepalived's wording ("Unknown option -Z").
fn cli_error_text(e: &getopts::Fail) -> String {
    match e {
        getopts::Fail::UnrecognizedOption(o) => {
            let dash = if o.chars().count() == 1 { "-" } else { "--" };
            format!("Unknown option {dash}{o}")
        }
        getopts::Fail::ArgumentMissing(o) => format!("Missing parameter for option {o}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        match parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap() {
            Command::Run(o) => *o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn short_and_long() {
        let o = run(&[
            "-n", "-l", "-D", "-D", "-f", "/x.conf", "-p", "/p", "-r", "/r", "-P",
        ]);
        assert!(o.dont_fork && o.log_console && o.vrrp_only);
        assert_eq!(o.log_detail, 2);
        assert_eq!(o.config_file, Some(PathBuf::from("/x.conf")));
        assert_eq!(o.pid_file, Some(PathBuf::from("/p")));
        let o = run(&[
            "--use-file=/y.conf",
            "--log-console",
            "--dont-fork",
            "--vrrp_pid=/v",
        ]);
        assert_eq!(o.config_file, Some(PathBuf::from("/y.conf")));
        assert_eq!(o.vrrp_pid_file, Some(PathBuf::from("/v")));
        let o = run(&["-lnDf", "/z.conf"]);
        assert!(o.log_console && o.dont_fork);
        assert_eq!(o.config_file, Some(PathBuf::from("/z.conf")));
    }

    #[test]
    fn config_test_forms() {
        assert_eq!(run(&["-t"]).config_test, Some(None));
        assert_eq!(
            run(&["--config-test=/tmp/l"]).config_test,
            Some(Some("/tmp/l".into()))
        );
        let o = run(&["-t", "-f", "/a"]);
        assert!(o.dont_fork && o.no_syslog && o.dont_respawn);
        assert_eq!(o.config_file, Some(PathBuf::from("/a")));
    }

    #[test]
    fn signum_and_errors() {
        let p = |a: &[&str]| parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(p(&["--signum=RELOAD"]), Ok(Command::Signum(1)));
        assert_eq!(
            p(&["--signum=STATS_CLEAR"]),
            Ok(Command::Signum(libc::SIGRTMAX() - 1))
        );
        assert_eq!(
            p(&["--signum=JSON"]),
            Ok(Command::Signum(libc::SIGRTMIN() + 2))
        );
        assert_eq!(
            p(&["--signum=TDUMP"]),
            Err(CliError("Unknown sigfunc TDUMP".into()))
        );
        assert_eq!(p(&["-Z"]), Err(CliError("Unknown option -Z".into())));
        assert_eq!(p(&["--foo"]), Err(CliError("Unknown option --foo".into())));
        assert_eq!(
            p(&["-S", "9"]),
            Err(CliError("Invalid log facility '9'".into()))
        );
        assert_eq!(p(&["-v"]), Ok(Command::Version));
        assert_eq!(p(&["--help"]), Ok(Command::Help));
    }

    #[test]
    fn facilities_and_umask() {
        assert_eq!(parse_facility("daemon"), Some(3));
        assert_eq!(parse_facility("local7"), Some(23));
        assert_eq!(parse_facility("3"), Some(19));
        assert_eq!(parse_facility("local8"), None);
        assert_eq!(parse_umask("022"), Some(0o22));
        assert_eq!(parse_umask("1000"), None);
    }

    #[test]
    fn unimplemented_reported() {
        let o = run(&["-x", "-m", "--namespace=blue"]);
        assert_eq!(
            o.unimplemented,
            vec!["-x/--snmp", "-m/--core-dump", "-s/--namespace"]
        );
    }
}
