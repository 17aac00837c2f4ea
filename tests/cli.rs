//! The command line as keepalived answers it: -v, -h, --signum, unknown options, and `-t`
//! exit codes (0 clean, 4 fatal, 5 config errors) with `file:line:col` diagnostics.

mod common;

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(common::our_bin()).args(args).output().unwrap()
}

fn tmp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kvrs-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn version_and_help_go_to_stderr_exit_0() {
    let v = run(&["-v"]);
    assert_eq!(v.status.code(), Some(0));
    let e = String::from_utf8_lossy(&v.stderr);
    assert!(e.starts_with("Keepalived-rs v"), "{e}");
    assert!(e.contains("Running on Linux"), "{e}");
    let h = run(&["--help"]);
    assert_eq!(h.status.code(), Some(0));
    let e = String::from_utf8_lossy(&h.stderr);
    for opt in [
        "--use-file",
        "--vrrp",
        "--log-console",
        "--config-test",
        "--signum",
        "--dont-fork",
    ] {
        assert!(e.contains(opt), "usage lacks {opt}: {e}");
    }
}

#[test]
fn signum_prints_numbers() {
    for (name, num) in [
        ("STOP", "15"),
        ("RELOAD", "1"),
        ("DATA", "10"),
        ("STATS", "12"),
    ] {
        let o = run(&[&format!("--signum={name}")]);
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), num);
    }
    // keepalived 2.2.7 on Linux: SIGRTMAX-1 = 63, SIGRTMIN+2 = 36.
    assert_eq!(
        String::from_utf8_lossy(&run(&["--signum=STATS_CLEAR"]).stdout).trim(),
        "63"
    );
    assert_eq!(
        String::from_utf8_lossy(&run(&["--signum=JSON"]).stdout).trim(),
        "36"
    );
    let bad = run(&["--signum=TDUMP"]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).trim(),
        "Unknown sigfunc TDUMP"
    );
}

#[test]
fn unknown_options_exit_1() {
    let o = run(&["-Z"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "Unknown option -Z"
    );
    let o = run(&["--frobnicate"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "Unknown option --frobnicate"
    );
    let o = run(&["-S", "local9"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "Invalid log facility 'local9'"
    );
}

#[test]
fn config_test_missing_file_is_fatal_4() {
    let o = run(&["-t", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn config_test_clean_is_0() {
    let p = tmp("clean.conf", "global_defs {\n    router_id r1\n}\n");
    let o = run(&["-t", "-f", p.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn config_test_errors_are_5_with_file_line_col() {
    let p = tmp("bad.conf", "global_defs {\n    router_idd r1\n}\n");
    let o = run(&["-t", "-f", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5));
    let e = String::from_utf8_lossy(&o.stderr);
    let want = format!(
        "{}:2:5: error: Unknown keyword 'router_idd' - did you mean 'router_id'?",
        p.display()
    );
    assert!(e.contains(&want), "want {want}\ngot {e}");
}

#[test]
fn config_test_report_to_file() {
    let p = tmp("bad2.conf", "bogus_block {\n}\n");
    let report = p.with_extension("log");
    let o = run(&[
        &format!("--config-test={}", report.display()),
        "-f",
        p.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(5));
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("Unknown keyword 'bogus_block'"), "{text}");
}

#[test]
fn unimplemented_options_are_reported() {
    let p = tmp("clean2.conf", "global_defs {\n    router_id r1\n}\n");
    let o = run(&["-t", "-x", "-f", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("-x/--snmp is accepted but not implemented"),
        "{e}"
    );
}
