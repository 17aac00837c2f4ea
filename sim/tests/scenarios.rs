//! Every scenario shipped in conf/sim/ passes, with its own seed and with a few others
//! (the network jitter, clock offsets and script latencies change with the seed).

use sim::{run_scenario, scenario, SimOptions};
use std::path::PathBuf;

mod common;

use common::{load, scenario_path};

fn run_file(name: &str) {
    let path = scenario_path(name);
    let sc = load(name);
    assert!(!sc.timeline.is_empty(), "{name} has no timeline");
    let first = sc.default_seed.unwrap_or(1);
    for seed in [first, 2, 3, 4] {
        let opts = SimOptions {
            seed,
            reproduce: format!(
                "cargo run -p sim -- --scenario {} --seed {seed}",
                path.display()
            ),
            ..SimOptions::default()
        };
        let out = run_scenario(&sc, &opts);
        assert!(out.passed, "{name} seed {seed}:\n{}", out.output);
        assert!(out.output.contains("verdict: PASS"));
        // Every expectation of the file was evaluated and met.
        let expects = sc
            .timeline
            .iter()
            .filter(|t| matches!(t.action, scenario::Action::Expect(..)))
            .count();
        assert!(
            out.output
                .contains(&format!("{expects}/{expects} expectations met")),
            "{name} seed {seed}:\n{}",
            out.output
        );
    }
}

#[test]
fn basic_failover() {
    run_file("basic-failover.sim");
}

#[test]
fn failover_and_return_is_the_builtin_default() {
    run_file("failover-and-return.sim");
    let builtin = scenario::parse(sim::DEFAULT_SCENARIO, None).unwrap();
    assert_eq!(builtin.name, "failover-and-return");
    assert_eq!(builtin.nodes.len(), 3);
}

#[test]
fn preemption_back() {
    run_file("preemption-back.sim");
}

#[test]
fn nopreempt() {
    run_file("nopreempt.sim");
}

#[test]
fn split_brain_then_heal() {
    run_file("split-brain.sim");
}

#[test]
fn unicast() {
    run_file("unicast.sim");
}

#[test]
fn sync_group() {
    run_file("sync-group.sim");
}

#[test]
fn tracking_script_failure() {
    run_file("tracking-script.sim");
}

#[test]
fn bfd_failover() {
    run_file("bfd-failover.sim");
}

#[test]
fn bfd_loss() {
    run_file("bfd-loss.sim");
}

#[test]
fn bfd_partition() {
    run_file("bfd-partition.sim");
}

#[test]
fn bfd_check() {
    run_file("bfd-check.sim");
}

/// Every file in conf/sim/ is covered by a test above.
#[test]
fn no_scenario_left_untested() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conf/sim");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sim"))
        .collect();
    names.sort();
    let this = include_str!("scenarios.rs");
    for n in names {
        assert!(this.contains(&format!("\"{n}\"")), "{n} has no test");
    }
}

/// An expectation that does not hold fails the run, and says what it saw.
#[test]
fn a_wrong_expectation_fails() {
    let text = sim::DEFAULT_SCENARIO.replace(
        "at 10s  expect r2 MASTER within 4s",
        "at 10s  expect r3 MASTER within 4s",
    );
    let sc = scenario::parse(&text, None).unwrap();
    let out = run_scenario(
        &sc,
        &SimOptions {
            reproduce: "cargo run -p sim -- --scenario default --seed 1".into(),
            ..SimOptions::default()
        },
    );
    assert!(!out.passed);
    assert!(
        out.output
            .contains("FAILED: expect r3 MASTER within 4s (r3: VI_1 BACKUP)"),
        "{}",
        out.output
    );
    assert!(out
        .output
        .contains("reproduce: cargo run -p sim -- --scenario default --seed 1"));
}
