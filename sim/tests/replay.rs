//! Record and replay: a node's inputs recorded with the daemon's `Recorder` (the format of
//! `keepalived-rs --record`) replay through the same `VrrpService` to the same state
//! transitions, at the same instants.

use keepalived_rs::daemon::record::{parse_recording, RecordedInput};
use sim::{replay, run_scenario, scenario, SimOptions};

/// Everything that reaches a daemon as an input: adverts, link changes, script results, an
/// address deleted behind its back, a pause (late timers), a reload, an orderly stop and a
/// new start.
const SCENARIO: &str = r#"
name record-replay
latency 300us
jitter 200us
segment lan
config base <<END
global_defs {
    enable_script_security
}
vrrp_script chk {
    script "/usr/local/bin/check"
    interval 1
    fall 2
    rise 2
    weight -80
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
@r1 priority 150
@r2 priority 200
@r3 priority 100
    advert_int 1
    track_script { chk }
    virtual_ipaddress { 192.0.2.100/24 }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    version 3
    advert_int 0.5
@r1 priority 200
@r2 priority 150
@r3 priority 100
    virtual_ipaddress { fd00::100/64 }
}
END
config alt <<END
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
@r2 priority 90
    advert_int 1
    virtual_ipaddress { 192.0.2.100/24 }
}
END
node r1 config=base eth0=lan
node r2 config=base eth0=lan
node r3 config=base eth0=lan
at 6s  script r2 chk fail
at 12s script r2 chk ok
at 18s link r2 eth0 down
at 20s link r2 eth0 up
at 26s remove-address r2 192.0.2.100
at 30s freeze r2
at 33s resume r2
at 36s crash r1
at 42s start r1
at 48s reload r2 alt
at 54s stop r2
at 56s start r2
duration 62s
"#;

fn recorded_run(seed: u64) -> (String, Vec<String>) {
    let sc = scenario::parse(SCENARIO, None).unwrap();
    let out = run_scenario(
        &sc,
        &SimOptions {
            seed,
            record: Some("r2".into()),
            ..SimOptions::default()
        },
    );
    assert!(out.passed, "{}", out.output);
    // r2's transitions as the simulator's timeline shows them.
    let timeline: Vec<String> = out
        .output
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<&str>>())
        .filter(|w| w.len() > 5 && w[1] == "r2" && w[4] == "->")
        .map(|w| format!("{} {}", w[2], w[5]))
        .collect();
    (out.recording.expect("a recording"), timeline)
}

#[test]
fn a_recorded_node_replays_to_the_same_transitions() {
    for seed in [1, 2, 3] {
        let (rec, timeline) = recorded_run(seed);
        let recs = parse_recording(&rec).unwrap();
        // The recording holds every kind of input the scenario produced.
        let has = |f: &dyn Fn(&RecordedInput) -> bool| recs.iter().any(|(_, r)| f(r));
        assert!(has(&|r| matches!(r, RecordedInput::Start { .. })));
        assert!(has(&|r| matches!(r, RecordedInput::Timeout)));
        assert!(has(&|r| matches!(r, RecordedInput::Reload { .. })));
        assert!(has(&|r| format!("{r:?}").contains("Packet")));
        assert!(has(&|r| format!("{r:?}").contains("ScriptResult")));
        assert!(has(&|r| format!("{r:?}").contains("Interface(")));
        assert!(has(&|r| format!("{r:?}").contains("AddressDeleted")));
        assert!(has(&|r| format!("{r:?}").contains("Shutdown")));
        let starts = recs
            .iter()
            .filter(|(_, r)| matches!(r, RecordedInput::Start { .. }))
            .count();
        assert_eq!(starts, 2, "r2 started twice");

        let r = replay::replay(&rec, None, false).unwrap();
        assert!(r.matches, "seed {seed}:\n{}", r.output);
        assert!(
            r.output.contains("the same as recorded (same instants)"),
            "{}",
            r.output
        );
        assert_eq!(r.replayed, r.recorded);
        // And the same transitions as the simulator's own timeline, in order.
        let replayed: Vec<String> = r
            .replayed
            .iter()
            .map(|(_, name, st)| format!("{name} {st}"))
            .collect();
        assert_eq!(replayed, timeline, "seed {seed}:\n{}", r.output);
        assert!(replayed.len() >= 10, "{replayed:?}");
    }
}

/// Without TIMEOUT records (an older or hand-made recording) the replay runs timers at
/// their deadlines and still finds the same transitions here (the simulator's driver runs
/// them exactly at their deadlines too).
#[test]
fn replay_without_timer_records_runs_timers_at_their_deadlines() {
    let (rec, _) = recorded_run(1);
    let stripped: String = rec
        .lines()
        .filter(|l| !l.ends_with(" TIMEOUT"))
        .map(|l| format!("{l}\n"))
        .collect();
    let r = replay::replay(&stripped, None, false).unwrap();
    assert!(r.matches, "{}", r.output);
    assert!(r.output.contains("timers run at their deadlines"));
}

/// A tampered recording is reported as a mismatch, not accepted.
#[test]
fn a_different_transition_is_a_mismatch() {
    let (rec, _) = recorded_run(1);
    let tampered = rec.replacen("STATE VI_1 MASTER", "STATE VI_1 FAULT", 1);
    assert_ne!(tampered, rec);
    let r = replay::replay(&tampered, None, false).unwrap();
    assert!(!r.matches);
    assert!(r.output.contains("MISMATCH"), "{}", r.output);
}

#[test]
fn bad_recordings_are_errors() {
    assert!(replay::replay("", None, false).is_err());
    assert!(replay::replay("10 TIMEOUT\n", None, false).is_err());
    assert!(replay::replay("10 PACKET 2 1.2.3.4 224.0.0.18 255 45\n", None, false).is_err());
    assert!(replay::replay("x\n", None, false).is_err());
}
