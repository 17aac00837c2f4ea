//! The `sim` command line: the built-in scenario, swarms, reproduction, replay, exit codes.

use std::process::Command;

fn sim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn no_argument_runs_the_builtin_scenario() {
    let (code, out, _) = sim(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("keepalived-rs simulator: scenario failover-and-return"));
    assert!(out.contains("seed 1 "));
    // A readable timeline: virtual time, node, transition, reason.
    assert!(
        out.contains("r1    VI_1 BACKUP -> MASTER  (master down timer expired)"),
        "{out}"
    );
    assert!(out.contains(">> crash r1"));
    assert!(
        out.contains("r2    VI_1 BACKUP -> MASTER  (master down: no advert for 3.609375s"),
        "{out}"
    );
    assert!(out.contains("Master received advert from 192.0.2.1 with higher priority 150"));
    assert!(out.contains("verdict: PASS"));
    assert!(out.contains("trace hash: "));
    // Byte-identical the second time.
    assert_eq!(sim(&[]).1, out);
}

#[test]
fn seed_runs_one_randomized_run_reproducibly() {
    let (code, a, _) = sim(&["--seed", "12"]);
    assert_eq!(code, 0, "{a}");
    assert!(a.contains("# drawn by the swarm from seed 12"));
    assert!(a.contains("verdict: PASS"));
    assert_eq!(sim(&["--seed", "12"]).1, a);
    let (code, dump, _) = sim(&["--seed", "12", "--dump-scenario"]);
    assert_eq!(code, 0);
    assert!(dump.starts_with("# drawn by the swarm from seed 12"));
    assert!(a.contains(&dump));
}

#[test]
fn seeds_runs_a_swarm() {
    let (code, out, _) = sim(&["--seeds", "20", "--seed", "100"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("seed 100: "));
    assert!(out.contains("seed 119: PASS"));
    assert!(out.contains("swarm: 20/20 seeds passed"));
}

#[test]
fn a_failure_exits_1_with_the_reproduce_line() {
    let (code, out, _) = sim(&["--seeds", "10", "--broken-timer", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("VIOLATION"));
    assert!(out.contains("reproduce: cargo run -p sim -- --seed "));
    assert!(out.contains(" --broken-timer 1\n"));
    // The printed line reproduces it.
    let line = out
        .lines()
        .find(|l| l.starts_with("reproduce: "))
        .unwrap()
        .to_string();
    let args: Vec<&str> = line.split_whitespace().skip(6).collect();
    let (code, again, _) = sim(&args);
    assert_eq!(code, 1);
    assert!(again.contains(&line));
}

#[test]
fn scenario_files_and_seeds() {
    let (code, out, _) = sim(&["--scenario", "conf/sim/split-brain.sim"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("scenario split-brain (conf/sim/split-brain.sim)"));
    let (code, out, _) = sim(&["--scenario", "conf/sim/unicast.sim", "--seeds", "3"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("unicast: 3/3 seeds passed"));
    let (code, out, _) = sim(&["--scenario", "default", "--seed", "4", "--trace"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("[info] (VI_1) Entering MASTER STATE"));
    assert!(out.contains("[rx] advert from 192.0.2.1 to 224.0.0.18 vrid 51 priority 150"));
}

#[test]
fn bad_input_exits_2() {
    assert_eq!(sim(&["--bogus"]).0, 2);
    assert_eq!(sim(&["--seed", "x"]).0, 2);
    assert_eq!(sim(&["--scenario", "/nonexistent.sim"]).0, 2);
    assert_eq!(sim(&["--replay", "/nonexistent.rec"]).0, 2);
    let dir = std::env::temp_dir().join(format!("sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.sim");
    std::fs::write(&bad, "segment lan\nnode r1 config=missing eth0=lan\n").unwrap();
    let (code, _, err) = sim(&["--scenario", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("line 2: unknown config"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_of_a_recording() {
    use sim::{run_scenario, scenario, SimOptions};
    let sc = scenario::parse(sim::DEFAULT_SCENARIO, None).unwrap();
    let out = run_scenario(
        &sc,
        &SimOptions {
            record: Some("r2".into()),
            ..SimOptions::default()
        },
    );
    let dir = std::env::temp_dir().join(format!("sim-cli-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("r2.rec");
    std::fs::write(&f, out.recording.unwrap()).unwrap();
    let (code, text, _) = sim(&["--replay", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("(VI_1) Entering MASTER STATE"));
    assert!(
        text.contains("the same as recorded (same instants)"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
