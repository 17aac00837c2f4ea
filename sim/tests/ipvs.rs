//! The checker side in the simulator: BFD_CHECK real servers in a fake kernel IPVS table,
//! `expect N rs ...`, the timeline and trace lines, determinism, what a killed daemon
//! leaves behind, and proof that the IPVS invariants bite.

mod common;

use common::{load, opts, scenario_text};
use sim::swarm::{draw, run_seed};
use sim::{run_scenario, scenario, Sabotage, SimOptions};

/// The timeline carries the checker side's lines in keepalived's words, after the BFD
/// change that caused them, and the killed daemon's leftovers as the daemon logs them.
#[test]
fn timeline_shows_the_checker_side() {
    let out = run_scenario(&load("bfd-check.sim"), &opts(""));
    assert!(out.passed, "{}", out.output);
    for want in [
        "lb    check: Activating BFD healthchecker",
        "lb    check: Starting with quorum down 3-0=3 > 0 for VS [192.0.2.100]:udp:53",
        "lb    check: Adding sorry server [192.0.2.9]:udp:53 to VS [192.0.2.100]:udp:53",
        "lb    check: BFD check of [rs1] RS([192.0.2.2]:tcp:80) is DOWN",
        "lb    check: Removing service [192.0.2.2]:tcp:80 from VS [192.0.2.100]:tcp:80",
        "lb    check: Disabling service [192.0.2.3]:tcp:80 of VS [192.0.2.100]:tcp:80",
        "lb    check: Lost quorum 3-0=3 > 2 for VS [192.0.2.100]:udp:53",
        "lb    check: the kernel's IPVS table still holds 2 service(s) and 4 destination(s) \
         of the previous run",
        "lb    check: IPVS: add IPVS service TCP 192.0.2.100:80: File exists (os error 17)  \
         (left by the previous run)",
        "lb    check: IPVS: add IPVS destination 192.0.2.2:80 to TCP 192.0.2.100:80: File \
         exists (os error 17)  (left by the previous run)",
        "lb    check: IPVS: removing 192.0.2.2:53 left by a previous run from UDP 192.0.2.100:53",
        "ok: expect lb rs 192.0.2.100:80 192.0.2.2:80 out within 35ms (met after",
    ] {
        assert!(
            out.output.contains(want),
            "missing {want:?}:\n{}",
            out.output
        );
    }
    // At start the sessions are Down, and the checkers are told so at once (as by
    // keepalived's BFD process): the real server leaves before any BFD line.
    let first_down = out
        .output
        .find("lb    check: BFD check of [rs1] RS([192.0.2.2]:tcp:80) is DOWN")
        .unwrap();
    let first_bfd = out.output.find("lb    bfd: (rs1)").unwrap();
    assert!(first_down < first_bfd);
    // Later, the BFD change comes first, then what it does to the table.
    let bfd = out
        .output
        .find("lb    bfd: (rs1) Entering Down state")
        .unwrap();
    assert!(out.output[bfd..]
        .contains("lb    check: BFD check of [rs1] RS([192.0.2.2]:tcp:80) is DOWN"));
    // No operation is traced without --trace.
    assert!(!out.output.contains("[ipvs]"));
}

/// Same seed, same output, table operations and notify lines included; another seed
/// differs.
#[test]
fn checker_runs_are_deterministic() {
    let sc = load("bfd-check.sim");
    for trace in [false, true] {
        let o = SimOptions {
            seed: 5,
            trace,
            ..SimOptions::default()
        };
        let a = run_scenario(&sc, &o);
        let b = run_scenario(&sc, &o);
        assert!(a.passed, "{}", a.output);
        assert_eq!(a.output, b.output);
        assert_eq!(a.hash, b.hash);
        if trace {
            for want in [
                "lb    [ipvs] add IPVS service TCP 192.0.2.100:80 (rr)",
                "lb    [ipvs] add IPVS destination 192.0.2.9:53 to UDP 192.0.2.100:53 (weight 1)",
                "lb    [ipvs] delete IPVS destination 192.0.2.2:80 from TCP 192.0.2.100:80",
                "lb    [ipvs] edit IPVS destination 192.0.2.3:80 of TCP 192.0.2.100:80 (weight 0)",
                "lb    [ipvs] add IPVS destination 192.0.2.2:80 to TCP 192.0.2.100:80 (weight \
                 2): File exists (os error 17)",
                // What a killed run left is made to match, as the daemon does.
                "lb    [ipvs] edit IPVS service TCP 192.0.2.100:80 (rr)",
                // ... and what this run does not want leaves the services it took over.
                "lb    check: IPVS: removing 192.0.2.2:53 left by a previous run from UDP \
                 192.0.2.100:53",
                "lb    [notify] RS [192.0.2.2]:tcp:80 [192.0.2.100]:tcp:80 DOWN",
            ] {
                assert!(a.output.contains(want), "missing {want:?}:\n{}", a.output);
            }
        }
    }
    let other = run_scenario(
        &sc,
        &SimOptions {
            seed: 6,
            ..SimOptions::default()
        },
    );
    assert_ne!(other.hash, run_scenario(&sc, &opts("")).hash);
}

/// A power loss empties the kernel's table (a kill does not, see bfd-check.sim): the next
/// start installs everything afresh, with no refusal.
#[test]
fn a_power_loss_takes_the_table_with_it() {
    let text = scenario_text("bfd-check.sim")
        .replace("at 45s   kill lb", "at 45s   crash lb")
        .replace(
            "at 45s   expect lb rs 192.0.2.100:80 192.0.2.2:80 weight 2 for 1900ms",
            "at 45s   expect lb rs 192.0.2.100:80 192.0.2.2:80 out",
        )
        .replace(
            "at 47s   expect lb rs 192.0.2.100:53 192.0.2.2:53 weight 2\n",
            "at 47s   expect lb rs 192.0.2.100:53 192.0.2.2:53 out\n",
        )
        .replace(
            "at 47s   expect lb rs 192.0.2.100:53 192.0.2.3:53 weight 3 for 3s",
            "at 47s   expect lb rs 192.0.2.100:53 192.0.2.3:53 weight 3 within 2.5s",
        );
    let sc = scenario::parse(&text, None).unwrap();
    let out = run_scenario(&sc, &opts(""));
    assert!(out.passed, "{}", out.output);
    assert!(out.output.contains(">> crash lb"));
    assert!(
        !out.output.contains("left by the previous run"),
        "{}",
        out.output
    );
    assert!(!out.output.contains("File exists"), "{}", out.output);
}

/// A deliberately wrong expectation fails the run and says what the table holds.
#[test]
fn a_wrong_rs_expectation_fails_with_what_the_table_holds() {
    let text = scenario_text("bfd-check.sim")
        .replace(
            "at 15s   expect lb rs 192.0.2.100:80 192.0.2.2:80 weight 2 within 2.5s",
            "at 15s   expect lb rs 192.0.2.100:80 192.0.2.2:80 weight 5 within 2.5s",
        )
        .replace(
            "at 10s   expect lb rs 192.0.2.100:80 192.0.2.2:80 out within 35ms",
            "at 10s   expect lb rs 192.0.2.100:80 192.0.2.2:80 out within 20ms",
        );
    let sc = scenario::parse(&text, None).unwrap();
    let line = "cargo run -p sim -- --scenario conf/sim/bfd-check.sim --seed 1";
    let out = run_scenario(&sc, &opts(line));
    assert!(!out.passed);
    for want in [
        "FAILED: expect lb rs 192.0.2.100:80 192.0.2.2:80 weight 5 within 2.5s (lb: \
         192.0.2.2:80 has weight 2 in TCP 192.0.2.100:80)",
        // Within 20 ms of the crash the Detection Time (30 ms) has not passed.
        "FAILED: expect lb rs 192.0.2.100:80 192.0.2.2:80 out within 20ms (lb: 192.0.2.2:80 \
         has weight 2 in TCP 192.0.2.100:80)",
        "verdict: FAIL  0 violation(s), 34/36 expectations met",
    ] {
        assert!(
            out.output.contains(want),
            "missing {want:?}:\n{}",
            out.output
        );
    }
    assert!(out.output.contains(&format!("reproduce: {line}")));
}

/// The fake kernel ignores destination deletions (test-only sabotage): the model invariant
/// sees the table differ from what the checker side meant, at once.
#[test]
fn a_kernel_that_keeps_destinations_is_caught() {
    let out = run_scenario(
        &load("bfd-check.sim"),
        &SimOptions {
            sabotage: Sabotage {
                keep_ipvs_dests: true,
                ..Sabotage::default()
            },
            ..opts("cargo run -p sim")
        },
    );
    assert!(!out.passed, "{}", out.output);
    assert!(
        out.output.contains(
            "VIOLATION: the IPVS table is not what the checker side should have made it: \
             192.0.2.2:80 is in TCP 192.0.2.100:80 at weight 2, the model wants it absent"
        ),
        "{}",
        out.output
    );
    assert!(out.output.contains("reproduce: cargo run -p sim"));
}

/// The driver does not tell the checkers of BFD changes (test-only sabotage): once the
/// network is quiet, the convergence invariant sees real servers whose sessions are Up
/// kept down.
#[test]
fn checkers_that_are_never_told_are_caught() {
    let out = run_scenario(
        &load("bfd-check.sim"),
        &SimOptions {
            sabotage: Sabotage {
                deaf_checkers: true,
                ..Sabotage::default()
            },
            ..opts("cargo run -p sim")
        },
    );
    assert!(!out.passed, "{}", out.output);
    assert!(
        out.output.contains(
            "VIOLATION: IPVS did not converge after 8.014s without faults: real server \
             [192.0.2.2]:udp:53 of VS [192.0.2.100]:udp:53 follows BFD session(s) rs1 Up but \
             its checkers have it down"
        ),
        "{}",
        out.output
    );
}

/// `expect N rs VS RS in|out|weight W`: parsed, with errors naming the line.
#[test]
fn rs_expectations_parse() {
    use scenario::{Action, Mode, Predicate};
    use sim::ipvs::RsWant;
    let base = "segment lan\nconfig c <<E\nE\nnode lb config=c eth0=lan\n";
    let parse = |l: &str| scenario::parse(&format!("{base}{l}\n"), None);
    let sc = parse("at 1s expect lb rs 192.0.2.100:80 192.0.2.2:80 weight 3 within 2s").unwrap();
    assert_eq!(
        sc.timeline[0].action,
        Action::Expect(
            Predicate::Rs {
                node: 0,
                vs: "192.0.2.100:80".parse().unwrap(),
                rs: "192.0.2.2:80".parse().unwrap(),
                want: RsWant::Weight(3),
            },
            Mode::Within(2_000_000)
        )
    );
    let sc = parse("at 1s expect lb rs [fd00::100]:53 [fd00::2]:53 OUT for 1s").unwrap();
    assert!(matches!(
        &sc.timeline[0].action,
        Action::Expect(Predicate::Rs { want: RsWant::Out, vs, .. }, Mode::For(1_000_000))
            if vs.is_ipv6()
    ));
    let sc = parse("at 1s expect lb rs 192.0.2.100:80 192.0.2.2:80 in").unwrap();
    assert!(matches!(
        &sc.timeline[0].action,
        Action::Expect(
            Predicate::Rs {
                want: RsWant::In,
                ..
            },
            Mode::At
        )
    ));
    for (bad, want) in [
        (
            "at 1s expect lb rs 192.0.2.100:80 192.0.2.2:80 sideways",
            "line 5: rs state \"sideways\": in, out or weight W expected",
        ),
        (
            "at 1s expect lb rs 192.0.2.100 192.0.2.2:80 in",
            "line 5: bad address and port \"192.0.2.100\" (ADDR:PORT or [ADDR]:PORT)",
        ),
        (
            "at 1s expect lb rs 192.0.2.100:80 192.0.2.2:80 weight x",
            "line 5: rs weight \"x\": a number expected",
        ),
        (
            "at 1s expect lb rs 192.0.2.100:80",
            "line 5: expect NODE rs VSADDR:PORT RSADDR:PORT in|out|weight W",
        ),
        (
            "at 1s expect lb rs 192.0.2.100:80 192.0.2.2:80 in within",
            "line 5: expect NODE[/INSTANCE] STATE",
        ),
        (
            "at 1s expect lx rs 192.0.2.100:80 192.0.2.2:80 in",
            "line 5: unknown node \"lx\"",
        ),
    ] {
        let e = parse(bad).unwrap_err();
        assert!(e.contains(want), "{bad:?}: {e}");
    }
}

/// Some swarm seeds give r1 a virtual server whose real server r2 follows the BFD
/// session; they pass, and show the checker side at work.
#[test]
fn the_swarm_draws_virtual_servers_in_some_seeds() {
    let seeds: Vec<u64> = (1..=300)
        .filter(|&s| draw(s).text.contains("@r1 virtual_server 198.18.0.1 80 {"))
        .collect();
    assert!(seeds.len() >= 15, "only {} seeds with IPVS", seeds.len());
    for &s in seeds.iter().take(12) {
        let (d, out) = run_seed(s, &SimOptions::default(), "");
        assert!(
            d.summary.contains("ipvs on r1 (BFD_CHECK b1"),
            "{}",
            d.summary
        );
        assert!(out.passed, "seed {s}:\n{}{}", d.text, out.output);
        assert!(out
            .output
            .contains("r1    check: Activating BFD healthchecker"));
        let (_, again) = run_seed(s, &SimOptions::default(), "");
        assert_eq!(out.output, again.output, "seed {s}");
    }
}
