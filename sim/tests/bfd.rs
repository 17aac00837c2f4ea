//! BFD in the simulator: sessions from keepalived.conf text run in the production
//! `BfdService` over the simulated network, feed `track_bfd`, show up in the timeline, and
//! the BFD invariants catch a broken detection timer and sessions that never come Up.

mod common;

use common::{load, opts};
use sim::swarm::{draw, run_seed};
use sim::{run_scenario, scenario, Sabotage, SimOptions};

/// The timeline carries the daemon's own BFD lines (keepalived's wording), with their
/// cause, and the VRRP transitions they drive.
#[test]
fn timeline_shows_bfd_changes_and_what_they_drive() {
    let out = run_scenario(&load("bfd-failover.sim"), &opts(""));
    assert!(out.passed, "{}", out.output);
    for want in [
        "r1    bfd: (gw) Entering Up state  (packet from 192.0.2.3: state Init",
        "bfd: (gw) Entering Down state (Local diagnostic - Control Detection Time \
         Expired, Remote diagnostic - No Diagnostic)  (timer)",
        "r1    bfd: (gw) Expired after 30 ms (",
        "gw    bfd: (r1) Entering Down state",
        "r1    VI_1 MASTER -> FAULT  (Tracked BFD instance gw is DOWN)",
        "r1    VI_1 FAULT -> BACKUP  (Tracked BFD instance gw is UP)",
        "ok: expect r1 bfd gw down within 35ms",
    ] {
        assert!(
            out.output.contains(want),
            "missing {want:?}:\n{}",
            out.output
        );
    }
}

/// The test-only broken timer fires the BFD timer one microsecond early: a Detection Time
/// expiry is declared before the Detection Time has passed since the last packet, and the
/// invariant says so with a reproduce line. Without it the same run passes.
#[test]
fn early_detection_is_caught_with_a_reproduce_line() {
    let sc = load("bfd-failover.sim");
    let line = "cargo run -p sim -- --scenario conf/sim/bfd-failover.sim --seed 1 --broken-timer 1";
    let out = run_scenario(
        &sc,
        &SimOptions {
            broken_timer_us: 1,
            ..opts(line)
        },
    );
    assert!(!out.passed, "{}", out.output);
    assert!(
        out.output
            .contains("declared Down (Control Detection Time Expired)")
            && out
                .output
                .contains("earlier than its Detection Time of 30ms"),
        "{}",
        out.output
    );
    assert!(
        out.output.contains(&format!("reproduce: {line}")),
        "{}",
        out.output
    );
    assert!(run_scenario(&sc, &opts("")).passed);
}

/// A node that hears nothing (test-only sabotage, not counted as a fault) keeps the
/// sessions with it from coming Up: once the quiet window opens, the invariant that
/// sessions whose two ends run are Up catches it.
#[test]
fn a_session_that_never_comes_up_is_caught() {
    let out = run_scenario(
        &load("bfd-partition.sim"),
        &SimOptions {
            sabotage: Sabotage {
                deaf: Some("gw".into()),
                ..Sabotage::default()
            },
            ..opts("cargo run -p sim")
        },
    );
    assert!(!out.passed, "{}", out.output);
    assert!(
        out.output.contains("BFD session gw is Init after")
            || out.output.contains("BFD session r1 is Down after")
            || out.output.contains("BFD session r2 is Down after"),
        "{}",
        out.output
    );
    assert!(out.output.contains("reproduce: cargo run -p sim"));
}

/// Same seed, same output, with BFD's random discriminators, ports and jitter (the set's
/// seed comes from the node's stream), also under loss and with --trace.
#[test]
fn bfd_runs_are_deterministic() {
    let sc = load("bfd-loss.sim");
    for trace in [false, true] {
        let o = SimOptions {
            seed: 7,
            trace,
            ..SimOptions::default()
        };
        let a = run_scenario(&sc, &o);
        let b = run_scenario(&sc, &o);
        assert!(a.passed, "{}", a.output);
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.output, b.output);
    }
    let a = run_scenario(
        &sc,
        &SimOptions {
            seed: 7,
            ..SimOptions::default()
        },
    );
    let b = run_scenario(
        &sc,
        &SimOptions {
            seed: 8,
            ..SimOptions::default()
        },
    );
    assert_ne!(a.hash, b.hash);
}

/// Some swarm seeds run a BFD session between r1 and r2 tracked by VI_1; they pass.
#[test]
fn the_swarm_draws_bfd_in_some_seeds() {
    let seeds: Vec<u64> = (1..=200)
        .filter(|&s| draw(s).text.contains("bfd_instance b1"))
        .collect();
    assert!(seeds.len() >= 20, "only {} BFD seeds", seeds.len());
    for &s in seeds.iter().take(10) {
        let (d, out) = run_seed(s, &SimOptions::default(), "");
        assert!(d.summary.contains("bfd r1<->r2"), "{}", d.summary);
        assert!(out.passed, "seed {s}:\n{}{}", d.text, out.output);
        assert!(out.output.contains("bfd: (b1) Entering Up state"));
    }
}

/// `expect N bfd NAME up|down`.
#[test]
fn bfd_expectations_parse() {
    let base = "segment lan\nconfig c <<E\nE\nnode r1 config=c eth0=lan\n";
    let sc = scenario::parse(
        &format!("{base}at 1s expect r1 bfd b1 up within 2s\n"),
        None,
    )
    .unwrap();
    assert!(matches!(
        &sc.timeline[0].action,
        scenario::Action::Expect(
            scenario::Predicate::Bfd { node: 0, name, up: true },
            scenario::Mode::Within(2_000_000)
        ) if name == "b1"
    ));
    let sc = scenario::parse(&format!("{base}at 1s expect r1 bfd b1 DOWN\n"), None).unwrap();
    assert!(matches!(
        &sc.timeline[0].action,
        scenario::Action::Expect(
            scenario::Predicate::Bfd { up: false, .. },
            scenario::Mode::At
        )
    ));
    let e = scenario::parse(&format!("{base}at 1s expect r1 bfd b1 sideways\n"), None).unwrap_err();
    assert!(e.contains("up or down expected"), "{e}");
}
