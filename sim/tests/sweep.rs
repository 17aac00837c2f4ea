//! The randomized sweep (200 seeds, each drawing its own topology, keepalived.conf and
//! faults), determinism (the same seed twice gives byte-identical output), and proof that
//! the invariants bite: with a deliberately broken timer the sweep fails and prints the
//! reproduce line.

use sim::swarm::{run_seed, sweep};
use sim::SimOptions;

#[test]
fn sweep_of_200_seeds_passes() {
    let mut failures = String::new();
    let s = sweep(1, 200, &SimOptions::default(), "", false, &mut |t| {
        if t.contains("verdict: FAIL") {
            failures.push_str(t);
        }
    });
    assert!(
        s.failed.is_empty(),
        "failing seeds {:?}:\n{failures}",
        s.failed
    );
    assert_eq!(s.passed, 200);
}

#[test]
fn same_seed_twice_gives_identical_output() {
    for seed in [1, 7, 42, 99, 123_456_789] {
        let (d1, a) = run_seed(seed, &SimOptions::default(), "");
        let (d2, b) = run_seed(seed, &SimOptions::default(), "");
        assert_eq!(d1.text, d2.text, "seed {seed}: different draws");
        assert_eq!(a.output, b.output, "seed {seed}: different output");
        assert_eq!(a.hash, b.hash);
        assert!(a
            .output
            .starts_with("keepalived-rs simulator: scenario swarm-"));
        assert!(a.output.contains(&format!("seed {seed} ")));
    }
    // The sweep's hash covers every run's output.
    let h1 = sweep(1, 30, &SimOptions::default(), "", false, &mut |_| {}).hash;
    let h2 = sweep(1, 30, &SimOptions::default(), "", false, &mut |_| {}).hash;
    assert_eq!(h1, h2);
    // Different seeds differ.
    let (_, a) = run_seed(1, &SimOptions::default(), "");
    let (_, b) = run_seed(2, &SimOptions::default(), "");
    assert_ne!(a.hash, b.hash);
}

#[test]
fn trace_mode_is_deterministic_too() {
    let opts = SimOptions {
        trace: true,
        ..SimOptions::default()
    };
    let (_, a) = run_seed(5, &opts, "");
    let (_, b) = run_seed(5, &opts, "");
    assert_eq!(a.output, b.output);
    assert!(a.output.contains("[rx] advert from"));
}

/// The simulated driver fires every timer one microsecond early (a deliberately broken
/// timer, test-only): backups declare the master down before the RFC Master_Down_Interval
/// after the last advert, and the sweep must catch it and say how to reproduce it.
#[test]
fn broken_timer_makes_the_sweep_fail_with_a_reproduce_line() {
    let opts = SimOptions {
        broken_timer_us: 1,
        ..SimOptions::default()
    };
    let mut out = String::new();
    let s = sweep(1, 200, &opts, " --broken-timer 1", false, &mut |t| {
        out.push_str(t)
    });
    assert!(
        s.failed.len() > 50,
        "only {} of 200 seeds caught the broken timer",
        s.failed.len()
    );
    let first = s.failed[0];
    assert!(
        out.contains(&format!(
            "reproduce: cargo run -p sim -- --seed {first} --broken-timer 1"
        )),
        "{out}"
    );
    assert!(out.contains("earlier than the RFC 5798"), "{out}");
    // The same seed without the broken timer passes: the failure is the timer's.
    let (_, ok) = run_seed(first, &SimOptions::default(), "");
    assert!(ok.passed, "{}", ok.output);
}

/// The other invariants bite too: each test-only sabotage of the simulated driver or
/// kernel is caught by the invariant it breaks.
#[test]
fn each_invariant_catches_its_sabotage() {
    use sim::{run_scenario, scenario, Sabotage};
    let sc = scenario::parse(sim::DEFAULT_SCENARIO, None).unwrap();
    let cases = [
        (
            Sabotage {
                drop_garps: true,
                ..Sabotage::default()
            },
            "no gratuitous ARP/NA for 192.0.2.100",
        ),
        (
            Sabotage {
                keep_vips: true,
                ..Sabotage::default()
            },
            "is BACKUP but 192.0.2.100 is still installed",
        ),
        (
            Sabotage {
                deaf: Some("r3".into()),
                ..Sabotage::default()
            },
            "2 MASTER(s) for VRID 51 IPv4 on segment lan",
        ),
    ];
    for (sabotage, want) in cases {
        let opts = SimOptions {
            sabotage: sabotage.clone(),
            reproduce: "cargo run -p sim".into(),
            ..SimOptions::default()
        };
        let out = run_scenario(&sc, &opts);
        assert!(!out.passed, "{sabotage:?} not caught:\n{}", out.output);
        assert!(out.output.contains(want), "{sabotage:?}:\n{}", out.output);
        assert!(out.output.contains("reproduce: cargo run -p sim"));
    }
}
