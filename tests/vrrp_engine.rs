//! VRRP engine scenarios on a virtual network: election, exact takeover timing, priority 0,
//! preemption rules, owner, tracking, sync groups and their notify order, reload, GARP.

mod vrrp_engine_support;

use keepalived_rs::track::{ScriptId, Target, TrackRef};
use keepalived_rs::vrrp::{
    master_down_interval_us, skew_time_us, Action, Input, InstanceConfig, NotifyState,
    RouterConfig, ScriptConfig, State, SyncGroupConfig, VipSpec,
};
use keepalived_rs::wire::vrrp::{Family, Version};
use scheduler::Instant;
use vrrp_engine_support::*;

const T0: Instant = Instant::from_secs(1000);

fn two_nodes(a: InstanceConfig, b: InstanceConfig) -> Net {
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a]));
    net.add(2, router_config(2, vec![b]));
    net
}

fn assert_vips_only_on_master(net: &Net, name: &str, vip: &str) {
    for (n, node) in net.nodes.iter().enumerate() {
        if !node.up {
            continue;
        }
        let has = node.installed.contains(&ip(vip));
        let master = node.state(name) == State::Master;
        assert_eq!(
            has, master,
            "node {n}: VIP {vip} installed={has}, master={master}"
        );
    }
}

#[test]
fn election_highest_priority_wins() {
    let mut net = Net::new(T0);
    for (id, prio) in [(1, 100), (2, 150), (3, 120)] {
        let c = inst("VI_1", 51, Family::Ipv4, prio, "192.0.2.100");
        net.add(id, router_config(id, vec![c]));
    }
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![1]);
    assert_eq!(net.nodes[0].state("VI_1"), State::Backup);
    assert_eq!(net.nodes[2].state("VI_1"), State::Backup);
    assert_vips_only_on_master(&net, "VI_1", "192.0.2.100");
    // The winner's down timer fired first: (256-150)/256 s skew.
    let t = net.nodes[1].notify_times("VI_1", NotifyState::Master);
    assert_eq!(t, vec![T0.saturating_add_micros(3_000_000 + 414_062)]);
    // Nobody else ever became master.
    assert!(net.nodes[0]
        .notify_times("VI_1", NotifyState::Master)
        .is_empty());
    assert!(net.nodes[2]
        .notify_times("VI_1", NotifyState::Master)
        .is_empty());
}

#[test]
fn equal_priority_higher_address_wins() {
    for family in [Family::Ipv4, Family::Ipv6] {
        let vip = if family == Family::Ipv4 {
            "192.0.2.100"
        } else {
            "fe80::100"
        };
        // Both start as masters at once (state MASTER is not enough: they are not owners),
        // so both time out together and the tie is broken by the source address.
        let mut net = two_nodes(
            inst("VI_1", 7, family, 100, vip),
            inst("VI_1", 7, family, 100, vip),
        );
        net.run_for_s(12);
        assert_eq!(net.masters("VI_1"), vec![1], "{family:?}");
        let first = &net.nodes[0];
        assert_eq!(first.notify_times("VI_1", NotifyState::Master).len(), 1);
        assert_eq!(first.notify_times("VI_1", NotifyState::Backup).len(), 2);
        assert_vips_only_on_master(&net, "VI_1", vip);
    }
}

/// The backup declares the master down exactly Master_Down_Interval after the last advert
/// it accepted, to the microsecond.
fn takeover_exact(family: Family, version: Version, master_int_us: u64, backup_prio: u8) {
    let vip = if family == Family::Ipv4 {
        "192.0.2.100"
    } else {
        "fe80::100"
    };
    // The master outranks the backup (an owner when the backup is 254).
    let master_prio = if backup_prio >= 254 { 255 } else { 254 };
    let mut a = inst("VI_1", 9, family, master_prio, vip);
    a.version = version;
    a.adver_int_us = master_int_us;
    let mut b = inst("VI_1", 9, family, backup_prio, vip);
    b.version = version;
    // The backup's own interval differs for v3: it must adopt the master's.
    b.adver_int_us = if version == Version::V3 {
        1_000_000
    } else {
        master_int_us
    };
    let mut net = two_nodes(a, b);
    net.run_for_us(20 * master_int_us + 5_000_000);
    assert_eq!(net.masters("VI_1"), vec![0]);
    let crash_at = net.now;
    net.crash(0);
    net.run_for_us(10 * master_int_us + 5_000_000);
    assert_eq!(net.masters("VI_1"), vec![1]);
    let last_rx = net.nodes[1]
        .received
        .iter()
        .filter(|r| r.0 <= crash_at)
        .map(|r| r.0)
        .max()
        .unwrap();
    let became = net.nodes[1].notify_times("VI_1", NotifyState::Master)[0];
    let expect = master_down_interval_us(version, backup_prio, master_int_us, 3);
    assert_eq!(
        became.micros_since(last_rx),
        expect,
        "{family:?} {version:?} int {master_int_us} prio {backup_prio}"
    );
    // The master-down timer the dump shows is the same figure.
    assert_eq!(
        net.nodes[1]
            .router
            .instance_by_name("VI_1")
            .unwrap()
            .master_down_timer_us(),
        expect
    );
}

#[test]
fn takeover_timing_is_exact() {
    takeover_exact(Family::Ipv4, Version::V2, 1_000_000, 100);
    takeover_exact(Family::Ipv4, Version::V2, 3_000_000, 200);
    takeover_exact(Family::Ipv4, Version::V3, 1_000_000, 100);
    takeover_exact(Family::Ipv6, Version::V3, 1_000_000, 100);
    takeover_exact(Family::Ipv4, Version::V3, 10_000, 254);
    takeover_exact(Family::Ipv6, Version::V3, 10_000, 100);
    // protocol-notes §2.1 worked numbers.
    assert_eq!(master_down_interval_us(Version::V3, 254, 10_000, 3), 30_078);
    assert_eq!(
        master_down_interval_us(Version::V2, 100, 1_000_000, 3),
        3_609_375
    );
}

#[test]
fn v3_backup_adopts_master_interval_and_recomputes_skew() {
    let mut a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    a.version = Version::V3;
    a.adver_int_us = 50_000;
    let mut b = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    b.version = Version::V3;
    b.adver_int_us = 2_000_000;
    let mut net = two_nodes(a, b);
    net.run_for_s(10);
    let bi = net.nodes[1].router.instance_by_name("VI_1").unwrap();
    assert_eq!(bi.master_adver_int_us(), 50_000);
    assert_eq!(bi.master_down_timer_us(), 3 * 50_000 + (156 * 50_000) / 256);
    assert_eq!(bi.master_priority(), 200);
    assert_eq!(bi.master_addr(), Some(ip("192.0.2.1")));
    // On becoming master it goes back to its own interval.
    net.crash(0);
    net.run_for_s(5);
    assert_eq!(net.masters("VI_1"), vec![1]);
    let bi = net.nodes[1].router.instance_by_name("VI_1").unwrap();
    assert_eq!(bi.master_adver_int_us(), 2_000_000);
    let sent: Vec<_> = net.sent_by(1).iter().map(|s| s.at).collect();
    assert!(sent
        .windows(2)
        .all(|w| w[1].micros_since(w[0]) == 2_000_000));
}

#[test]
fn v2_interval_mismatch_is_dropped_and_counted() {
    let a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    let mut b = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    b.adver_int_us = 2_000_000;
    let mut net = two_nodes(a, b);
    net.run_for_s(20);
    // RFC 3768 §7.1: both become master (the adverts are discarded).
    assert_eq!(net.masters("VI_1"), vec![0, 1]);
    assert!(
        net.nodes[1]
            .router
            .instance_by_name("VI_1")
            .unwrap()
            .stats()
            .advert_interval_err
            > 5
    );
}

#[test]
fn priority_zero_on_shutdown_takeover_after_skew_only() {
    for (family, version) in [
        (Family::Ipv4, Version::V2),
        (Family::Ipv4, Version::V3),
        (Family::Ipv6, Version::V3),
    ] {
        let vip = if family == Family::Ipv4 {
            "192.0.2.100"
        } else {
            "fe80::100"
        };
        let mut a = inst("VI_1", 9, family, 200, vip);
        a.version = version;
        let mut b = inst("VI_1", 9, family, 100, vip);
        b.version = version;
        let mut net = two_nodes(a, b);
        net.run_for_s(10);
        assert_eq!(net.masters("VI_1"), vec![0]);
        net.run_for_us(300_000);
        let stop_at = net.now;
        net.input(0, Input::Shutdown);
        // A priority 0 advert, VIPs removed, STOP notified.
        let zero: Vec<_> = net
            .sent_by(0)
            .into_iter()
            .filter(|s| s.priority == 0)
            .collect();
        assert_eq!(zero.len(), 1);
        assert_eq!(zero[0].at, stop_at);
        assert!(net.nodes[0].installed.is_empty());
        assert_eq!(
            net.nodes[0].fifo().last().unwrap(),
            "INSTANCE \"VI_1\" STOP 200"
        );
        let a0 = net.nodes[0].router.instance_by_name("VI_1").unwrap();
        assert_eq!(a0.stats().pri_zero_sent, 1);
        assert_eq!(net.nodes[0].router.poll_timeout(), None);
        net.run_for_s(5);
        let became = net.nodes[1].notify_times("VI_1", NotifyState::Master)[0];
        assert_eq!(
            became.micros_since(stop_at),
            skew_time_us(version, 100, 1_000_000),
            "{family:?} {version:?}"
        );
        assert_eq!(
            net.nodes[1]
                .router
                .instance_by_name("VI_1")
                .unwrap()
                .stats()
                .pri_zero_rcvd,
            1
        );
    }
}

#[test]
fn preemption_back_when_higher_priority_returns() {
    let a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    let b = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    let mut net = two_nodes(a.clone(), b);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    net.crash(0);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![1]);
    let back_at = net.now;
    net.restart(0, router_config(1, vec![a]));
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    assert_vips_only_on_master(&net, "VI_1", "192.0.2.100");
    // The returning node ignored the lower-priority adverts and took over after its own
    // master-down interval.
    let became = net.nodes[0].notify_times("VI_1", NotifyState::Master);
    let became = *became.last().unwrap();
    assert_eq!(became.micros_since(back_at), 3_000_000 + 218_750);
    assert!(
        net.nodes[0]
            .router
            .instance_by_name("VI_1")
            .unwrap()
            .stats()
            .lower_prio_ignored
            >= 3
    );
    let b1 = net.nodes[1].router.instance_by_name("VI_1").unwrap();
    assert_eq!(b1.state(), State::Backup);
    assert_eq!(b1.stats().release_master, 1);
}

#[test]
fn nopreempt_keeps_lower_master() {
    let a = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a]));
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    let mut b = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    b.nopreempt = true;
    net.add(2, router_config(2, vec![b]));
    net.run_for_s(60);
    assert_eq!(net.masters("VI_1"), vec![0]);
    // ... until the lower master goes away.
    net.crash(0);
    net.run_for_s(5);
    assert_eq!(net.masters("VI_1"), vec![1]);
}

#[test]
fn preempt_delay_defers_takeover() {
    let a = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a]));
    net.run_for_s(10);
    let mut b = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    b.preempt_delay_us = 5_000_000;
    let joined = net.now;
    net.add(2, router_config(2, vec![b]));
    net.run_for_s(30);
    assert_eq!(net.masters("VI_1"), vec![1]);
    let rx: Vec<_> = net.nodes[1].received.iter().map(|r| r.0).collect();
    let first = rx[0];
    // Adverts are accepted while the delay runs (preempt_time > now), then ignored.
    let delay_end = first.saturating_add_micros(5_000_000);
    let last_accepted = rx.iter().copied().filter(|t| *t < delay_end).max().unwrap();
    let became = net.nodes[1].notify_times("VI_1", NotifyState::Master)[0];
    assert_eq!(
        became.micros_since(last_accepted),
        master_down_interval_us(Version::V2, 200, 1_000_000, 3)
    );
    assert!(became.micros_since(joined) > 5_000_000);
}

#[test]
fn owner_goes_master_at_once_and_keeps_255() {
    let mut a = inst("VI_1", 9, Family::Ipv4, 255, "192.0.2.100");
    a.tracks.push(TrackRef {
        target: Target::Interface("eth1".into()),
        weight: -50,
        reverse: false,
    });
    let b = inst("VI_1", 9, Family::Ipv4, 254, "192.0.2.100");
    let mut net = two_nodes(a, b);
    net.run_for_us(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    assert_eq!(
        net.nodes[0].notify_times("VI_1", NotifyState::Master),
        vec![T0.saturating_add_micros(1)]
    );
    // No BACKUP (init) notify for the owner.
    assert_eq!(net.nodes[0].fifo(), vec!["INSTANCE \"VI_1\" MASTER 255"]);
    let mut eth1 = interfaces(1).remove(1);
    eth1.running = false;
    net.input(0, Input::Interface(eth1));
    net.run_for_s(10);
    let a0 = net.nodes[0].router.instance_by_name("VI_1").unwrap();
    assert_eq!(a0.effective_priority(), 255);
    assert_eq!(a0.total_priority(), 205);
    assert_eq!(net.masters("VI_1"), vec![0]);
    assert!(net.sent_by(0).iter().all(|s| s.priority == 255));
}

#[test]
fn two_owners_lower_address_yields() {
    let a = inst("VI_1", 9, Family::Ipv4, 255, "192.0.2.100");
    let b = inst("VI_1", 9, Family::Ipv4, 255, "192.0.2.100");
    let mut net = two_nodes(a, b);
    net.run_for_s(20);
    assert_eq!(net.masters("VI_1"), vec![1]);
    let a0 = net.nodes[0].router.instance_by_name("VI_1").unwrap();
    assert_eq!(a0.base_priority(), 254);
    assert_vips_only_on_master(&net, "VI_1", "192.0.2.100");
}

fn with_script(mut c: InstanceConfig, weight: i32) -> InstanceConfig {
    c.tracks.push(TrackRef {
        target: Target::Script(ScriptId(0)),
        weight,
        reverse: false,
    });
    c
}

fn script_cfg(node: u8, c: InstanceConfig, rise: u32, fall: u32) -> RouterConfig {
    let mut rc = router_config(node, vec![c]);
    rc.scripts.push(ScriptConfig {
        name: "chk".into(),
        rise,
        fall,
        init_fail: false,
    });
    rc
}

#[test]
fn tracking_script_failure_lowers_priority_and_preempts() {
    let a = with_script(inst("VI_1", 9, Family::Ipv4, 150, "192.0.2.100"), -60);
    let b = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    let mut net = Net::new(T0);
    net.add(1, script_cfg(1, a, 1, 2));
    net.add(2, router_config(2, vec![b]));
    net.input(
        0,
        Input::ScriptResult {
            script: ScriptId(0),
            ok: true,
        },
    );
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    // fall = 2: one failure changes nothing.
    net.input(
        0,
        Input::ScriptResult {
            script: ScriptId(0),
            ok: false,
        },
    );
    assert_eq!(
        net.nodes[0]
            .router
            .instance_by_name("VI_1")
            .unwrap()
            .effective_priority(),
        150
    );
    net.input(
        0,
        Input::ScriptResult {
            script: ScriptId(0),
            ok: false,
        },
    );
    let a0 = net.nodes[0].router.instance_by_name("VI_1").unwrap();
    assert_eq!(a0.effective_priority(), 90);
    assert_eq!(a0.total_priority(), 90);
    let failed_at = net.now;
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![1]);
    // The next advert carried 90; the backup ignored it, so its timer, started by the last
    // 150 advert, fired.
    let last_150 = net
        .sent_by(0)
        .iter()
        .filter(|s| s.priority == 150)
        .map(|s| s.at)
        .max()
        .unwrap();
    assert!(last_150 <= failed_at);
    let became = net.nodes[1].notify_times("VI_1", NotifyState::Master)[0];
    assert_eq!(became.micros_since(last_150), 3_000_000 + 609_375);
    // Recovery (rise 1) preempts back.
    net.input(
        0,
        Input::ScriptResult {
            script: ScriptId(0),
            ok: true,
        },
    );
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
}

#[test]
fn priority_change_moves_running_master_down_timer() {
    let a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    let b = with_script(inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100"), 50);
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a]));
    net.add(2, script_cfg(2, b, 1, 1));
    net.run_for_s(10);
    let before = net.nodes[1]
        .router
        .instance_by_name("VI_1")
        .unwrap()
        .read_timeout();
    net.input(
        1,
        Input::ScriptResult {
            script: ScriptId(0),
            ok: true,
        },
    );
    let bi = net.nodes[1].router.instance_by_name("VI_1").unwrap();
    assert_eq!(bi.effective_priority(), 150);
    // skew(100) - skew(150) = 609375 - 414062
    assert_eq!(
        before.unwrap().micros_since(bi.read_timeout().unwrap()),
        609_375 - 414_062
    );
}

#[test]
fn weight_zero_tracker_faults_and_recovers() {
    let mut a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    a.tracks.push(TrackRef {
        target: Target::Interface("eth1".into()),
        weight: 0,
        reverse: false,
    });
    let b = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    let mut net = two_nodes(a, b);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    let mut eth1 = interfaces(1).remove(1);
    eth1.running = false;
    let down_at = net.now;
    net.input(0, Input::Interface(eth1.clone()));
    assert_eq!(net.nodes[0].state("VI_1"), State::Fault);
    assert!(net.nodes[0].installed.is_empty());
    // Priority 0 (sent twice, as keepalived's leave_master + restore_interface do).
    let zeros = net.sent_by(0).iter().filter(|s| s.priority == 0).count();
    assert!(zeros >= 1);
    assert_eq!(
        net.nodes[0].fifo().last().unwrap(),
        "INSTANCE \"VI_1\" FAULT 200"
    );
    assert_eq!(
        net.nodes[0]
            .router
            .instance_by_name("VI_1")
            .unwrap()
            .faults(),
        1
    );
    net.run_for_s(5);
    assert_eq!(net.masters("VI_1"), vec![1]);
    let became = net.nodes[1].notify_times("VI_1", NotifyState::Master)[0];
    assert_eq!(became.micros_since(down_at), 609_375);
    // FAULT ignores adverts.
    assert!(
        net.nodes[0]
            .router
            .instance_by_name("VI_1")
            .unwrap()
            .stats()
            .ignored_in_state
            > 0
    );
    eth1.running = true;
    net.input(0, Input::Interface(eth1));
    assert_eq!(net.nodes[0].state("VI_1"), State::Backup);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    assert_eq!(
        net.nodes[0].fifo(),
        vec![
            "INSTANCE \"VI_1\" BACKUP 200",
            "INSTANCE \"VI_1\" MASTER 200",
            "INSTANCE \"VI_1\" FAULT 200",
            "INSTANCE \"VI_1\" BACKUP 200",
            "INSTANCE \"VI_1\" MASTER 200",
        ]
    );
}

#[test]
fn own_interface_down_faults_unless_dont_track_primary() {
    for dont_track in [false, true] {
        let mut a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
        if dont_track {
            a.tracks.clear();
        }
        let mut net = Net::new(T0);
        net.add(1, router_config(1, vec![a]));
        net.run_for_s(5);
        let mut eth0 = interfaces(1).remove(0);
        eth0.up = false;
        net.input(0, Input::Interface(eth0));
        let want = if dont_track {
            State::Master
        } else {
            State::Fault
        };
        assert_eq!(net.nodes[0].state("VI_1"), want);
    }
}

#[test]
fn instance_starts_in_fault_when_interface_down_and_waits_for_init_scripts() {
    let mut rc = router_config(1, vec![inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100")]);
    rc.interfaces[0].running = false;
    let mut net = Net::new(T0);
    net.add(1, rc);
    assert_eq!(net.nodes[0].state("VI_1"), State::Fault);
    assert_eq!(net.nodes[0].fifo(), vec!["INSTANCE \"VI_1\" FAULT 200"]);
    // A weight-0 script that has not run holds the instance (no notification), and one
    // success is enough.
    let c = with_script(inst("VI_2", 10, Family::Ipv4, 200, "192.0.2.101"), 0);
    let mut net = Net::new(T0);
    net.add(1, script_cfg(1, c, 3, 3));
    assert_eq!(net.nodes[0].state("VI_2"), State::Fault);
    assert!(net.nodes[0].fifo().is_empty());
    assert_eq!(net.nodes[0].router.instances()[0].init_pending(), 1);
    net.run_for_s(20);
    assert_eq!(net.nodes[0].state("VI_2"), State::Fault);
    net.input(
        0,
        Input::ScriptResult {
            script: ScriptId(0),
            ok: true,
        },
    );
    assert_eq!(net.nodes[0].state("VI_2"), State::Backup);
    net.run_for_s(5);
    assert_eq!(
        net.nodes[0].fifo(),
        vec![
            "INSTANCE \"VI_2\" BACKUP 200",
            "INSTANCE \"VI_2\" MASTER 200"
        ]
    );
}

#[test]
fn file_and_process_trackers() {
    use keepalived_rs::track::{FileId, ProcId};
    use keepalived_rs::vrrp::{FileConfig, ProcessConfig};
    let mut c = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    c.tracks.push(TrackRef {
        target: Target::File(FileId(0)),
        weight: 2,
        reverse: false,
    });
    c.tracks.push(TrackRef {
        target: Target::Process(ProcId(0)),
        weight: 0,
        reverse: false,
    });
    let mut rc = router_config(1, vec![c]);
    rc.files.push(FileConfig { name: "f".into() });
    rc.processes.push(ProcessConfig {
        name: "p".into(),
        quorum: 2,
        quorum_max: None,
        fork_delay_us: 0,
        terminate_delay_us: 1_500_000,
    });
    let mut net = Net::new(T0);
    net.add(1, rc);
    assert_eq!(net.nodes[0].state("VI_1"), State::Fault);
    net.input(
        0,
        Input::ProcessCount {
            process: ProcId(0),
            count: 2,
        },
    );
    assert_eq!(net.nodes[0].state("VI_1"), State::Backup);
    net.input(
        0,
        Input::FileValue {
            file: FileId(0),
            value: 30,
        },
    );
    let i0 = &net.nodes[0].router.instances()[0];
    assert_eq!(i0.effective_priority(), 160);
    net.input(
        0,
        Input::FileValue {
            file: FileId(0),
            value: -127,
        },
    );
    assert_eq!(net.nodes[0].state("VI_1"), State::Fault);
    net.input(
        0,
        Input::FileValue {
            file: FileId(0),
            value: -10,
        },
    );
    assert_eq!(net.nodes[0].router.instances()[0].effective_priority(), 80);
    net.run_for_s(5);
    assert_eq!(net.nodes[0].state("VI_1"), State::Master);
    // Losing the quorum is debounced by terminate_delay.
    net.input(
        0,
        Input::ProcessCount {
            process: ProcId(0),
            count: 1,
        },
    );
    assert_eq!(net.nodes[0].state("VI_1"), State::Master);
    let lost = net.now;
    net.run_for_s(3);
    assert_eq!(net.nodes[0].state("VI_1"), State::Fault);
    let t = net.nodes[0].notify_times("VI_1", NotifyState::Fault);
    assert_eq!(t.last().unwrap().micros_since(lost), 1_500_000);
}

#[test]
fn bfd_tracking() {
    use keepalived_rs::track::BfdId;
    let mut c = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    c.tracks.push(TrackRef {
        target: Target::Bfd(BfdId(0)),
        weight: 30,
        reverse: false,
    });
    let mut rc = router_config(1, vec![c]);
    rc.bfds.push("peer".into());
    let mut net = Net::new(T0);
    net.add(1, rc);
    assert_eq!(net.nodes[0].router.instances()[0].effective_priority(), 100);
    net.input(
        0,
        Input::Bfd {
            name: "peer".into(),
            up: true,
        },
    );
    assert_eq!(net.nodes[0].router.instances()[0].effective_priority(), 130);
}

/// The exact FIFO sequence keepalived 2.2.7 wrote for examples/sync-group.conf.
#[test]
fn sync_group_notify_order_matches_keepalived() {
    // reference/examples/vrrp-notify-fifo.txt: start (BACKUP), election (MASTER), SIGTERM.
    let expected = vec![
        "GROUP \"G1\" BACKUP 0",
        "INSTANCE \"VI_1\" BACKUP 150",
        "INSTANCE \"VI_1\" MASTER 150",
        "GROUP \"G1\" MASTER 0",
        "INSTANCE \"VI_1\" STOP 150",
        "GROUP \"G1\" STOP 0",
    ];
    let mut c = inst("VI_1", 51, Family::Ipv4, 150, "192.0.2.100");
    c.sync_group = Some(0);
    let mut rc = router_config(1, vec![c]);
    rc.sync_groups.push(SyncGroupConfig {
        name: "G1".into(),
        members: vec![0],
        notify_priority_changes: false,
    });
    let mut net = Net::new(T0);
    net.add(1, rc);
    net.run_for_s(5);
    net.input(0, Input::Shutdown);
    assert_eq!(net.nodes[0].fifo(), expected);
    let g = &net.nodes[0].router.sync_groups()[0];
    assert_eq!(g.state(), State::Stop);
}

fn group_node(node: u8, prio: u8, with_eth1: bool) -> RouterConfig {
    let mut a = inst("VI_1", 1, Family::Ipv4, prio, "192.0.2.100");
    let mut b = inst("VI_2", 2, Family::Ipv4, prio, "192.0.2.200");
    a.sync_group = Some(0);
    b.sync_group = Some(0);
    if with_eth1 {
        b.tracks.push(TrackRef {
            target: Target::Interface("eth1".into()),
            weight: 0,
            reverse: false,
        });
    }
    let mut rc = router_config(node, vec![a, b]);
    rc.sync_groups.push(SyncGroupConfig {
        name: "G1".into(),
        members: vec![0, 1],
        notify_priority_changes: false,
    });
    rc
}

#[test]
fn sync_group_members_move_together() {
    let mut net = Net::new(T0);
    net.add(1, group_node(1, 150, true));
    net.add(2, group_node(2, 100, false));
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    assert_eq!(net.masters("VI_2"), vec![0]);
    assert_eq!(
        net.nodes[0].fifo(),
        vec![
            "GROUP \"G1\" BACKUP 0",
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_2\" BACKUP 150",
            "INSTANCE \"VI_2\" MASTER 150",
            "INSTANCE \"VI_1\" MASTER 150",
            "GROUP \"G1\" MASTER 0",
        ]
    );
    // VI_2's tracked interface fails: the whole group goes FAULT, the peer's group takes
    // both instances.
    let mut eth1 = interfaces(1).remove(1);
    eth1.up = false;
    net.log_clear();
    net.input(0, Input::Interface(eth1.clone()));
    assert_eq!(net.nodes[0].state("VI_1"), State::Fault);
    assert_eq!(net.nodes[0].state("VI_2"), State::Fault);
    assert_eq!(
        net.nodes[0].fifo(),
        vec![
            "INSTANCE \"VI_2\" FAULT 150",
            "INSTANCE \"VI_1\" FAULT 150",
            "GROUP \"G1\" FAULT 0",
        ]
    );
    net.run_for_s(5);
    assert_eq!(net.masters("VI_1"), vec![1]);
    assert_eq!(net.masters("VI_2"), vec![1]);
    assert!(net.nodes[0].installed.is_empty());
    // Recovery: both back to BACKUP together, then both preempt.
    eth1.up = true;
    net.input(0, Input::Interface(eth1));
    assert_eq!(net.nodes[0].state("VI_1"), State::Backup);
    assert_eq!(net.nodes[0].state("VI_2"), State::Backup);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    assert_eq!(net.masters("VI_2"), vec![0]);
    assert_eq!(net.nodes[1].router.sync_groups()[0].state(), State::Backup);
    // Shutdown: every instance STOP, then the group.
    net.log_clear();
    net.input(0, Input::Shutdown);
    assert_eq!(
        net.nodes[0].fifo(),
        vec![
            "INSTANCE \"VI_1\" STOP 150",
            "INSTANCE \"VI_2\" STOP 150",
            "GROUP \"G1\" STOP 0",
        ]
    );
}

#[test]
fn sync_group_member_yielding_pulls_group_to_backup() {
    let mut net = Net::new(T0);
    net.add(1, group_node(1, 100, false));
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    // A peer that only runs VI_1, with a higher priority: VI_1 yields, VI_2 follows.
    let mut rc = router_config(2, vec![inst("VI_1", 1, Family::Ipv4, 200, "192.0.2.100")]);
    rc.instances[0].initial_master = false;
    net.add(2, rc);
    net.run_for_s(10);
    assert_eq!(net.nodes[0].state("VI_1"), State::Backup);
    assert_eq!(net.nodes[0].state("VI_2"), State::Backup);
    assert_eq!(net.nodes[0].router.sync_groups()[0].state(), State::Backup);
    // VI_2 alone would want MASTER but the group holds it in BACKUP.
    assert_eq!(
        net.nodes[0]
            .router
            .instance_by_name("VI_2")
            .unwrap()
            .wantstate(),
        State::Master
    );
}

#[test]
fn reload_keeps_master_without_flap_and_diffs_vips() {
    let mut a = inst("VI_1", 51, Family::Ipv4, 200, "192.0.2.100");
    a.vips.push(VipSpec::new(ip("192.0.2.101"), "eth0"));
    let old_only = inst("VI_OLD", 60, Family::Ipv4, 200, "192.0.2.160");
    let b = inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100");
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a, old_only]));
    net.add(2, router_config(2, vec![b]));
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    let sent_before = net.nodes[0].router.instances()[0].stats().advert_sent;
    let transitions_before = net.nodes[0].router.instances()[0].last_transition();

    // New configuration: VI_1 renamed (matched by VRID/interface), VIP .100 replaced by
    // .102, VI_OLD gone, VI_NEW added.
    let mut a2 = inst("VI_RENAMED", 51, Family::Ipv4, 200, "192.0.2.101");
    a2.vips.push(VipSpec::new(ip("192.0.2.102"), "eth0"));
    let new_inst = inst("VI_NEW", 70, Family::Ipv4, 100, "192.0.2.170");
    net.log_clear();
    let cfg = router_config(1, vec![new_inst, a2]);
    net.input(0, Input::Reconfigure(Box::new(cfg)));
    let log: Vec<Action> = net.nodes[0].log.iter().map(|l| l.action.clone()).collect();
    let del: Vec<_> = log
        .iter()
        .filter_map(|a| match a {
            Action::DelAddress { vip, .. } => Some(vip.addr),
            _ => None,
        })
        .collect();
    let add: Vec<_> = log
        .iter()
        .filter_map(|a| match a {
            Action::AddAddress { vip, .. } => Some(vip.addr),
            _ => None,
        })
        .collect();
    // VI_OLD released (its master sends priority 0), .100 removed, .102 added; the new
    // instance's start-up clean-up removes .170 in case a previous run left it.
    assert_eq!(
        del,
        vec![ip("192.0.2.160"), ip("192.0.2.100"), ip("192.0.2.170")]
    );
    assert_eq!(add, vec![ip("192.0.2.102")]);
    assert_eq!(
        net.nodes[0].fifo(),
        vec![
            "INSTANCE \"VI_OLD\" FAULT 200",
            "INSTANCE \"VI_NEW\" BACKUP 100"
        ]
    );
    let zero: Vec<_> = net
        .sent
        .iter()
        .filter(|s| s.node == 0 && s.priority == 0)
        .collect();
    assert_eq!(zero.len(), 1);
    assert_eq!(zero[0].vrid, 60);
    // The renamed instance is at index 1 now and kept its state and counters.
    let r = &net.nodes[0].router.instances()[1];
    assert_eq!(r.name(), "VI_RENAMED");
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.stats().advert_sent, sent_before);
    assert_eq!(r.last_transition(), transitions_before);
    assert!(net.nodes[0].count(|a| matches!(a, Action::SendGarp { .. })) >= 2);
    net.run_for_s(30);
    assert_eq!(net.masters("VI_RENAMED"), vec![0]);
    // No flap anywhere: the peer never went master, the master never left.
    assert!(net.nodes[1]
        .notify_times("VI_1", NotifyState::Master)
        .is_empty());
    assert!(net.nodes[0]
        .notify_times("VI_RENAMED", NotifyState::Backup)
        .is_empty());
    assert_eq!(
        net.nodes[0].installed,
        [ip("192.0.2.101"), ip("192.0.2.102"), ip("192.0.2.170")]
            .into_iter()
            .collect()
    );
    // The advert cadence continued: no gap longer than the interval.
    let times: Vec<_> = net
        .sent_by(0)
        .iter()
        .filter(|s| s.vrid == 51)
        .map(|s| s.at)
        .collect();
    assert!(times
        .windows(2)
        .all(|w| w[1].micros_since(w[0]) <= 1_000_000));
}

#[test]
fn reload_with_same_config_is_a_no_op() {
    let a = inst("VI_1", 51, Family::Ipv4, 200, "192.0.2.100");
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a.clone()]));
    net.run_for_s(10);
    let before = net.nodes[0].router.instances()[0].read_timeout();
    net.log_clear();
    net.input(0, Input::Reconfigure(Box::new(router_config(1, vec![a]))));
    assert!(net.nodes[0].log.is_empty(), "{:?}", net.nodes[0].log);
    assert_eq!(net.nodes[0].router.instances()[0].read_timeout(), before);
}

#[test]
fn garp_counts_and_timing() {
    let mut a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    a.vips.push(VipSpec::new(ip("192.0.2.101"), "eth0"));
    a.evips.push(VipSpec::new(ip("fe80::55"), "eth0"));
    a.garp.master_refresh_us = 10_000_000;
    a.garp.master_refresh_repeat = 2;
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a]));
    net.run_for_s(30);
    let became = net.nodes[0].notify_times("VI_1", NotifyState::Master)[0];
    let garps: Vec<_> = net.nodes[0]
        .log
        .iter()
        .filter(|l| matches!(l.action, Action::SendGarp { .. }))
        .map(|l| l.at)
        .collect();
    let nas: Vec<_> = net.nodes[0]
        .log
        .iter()
        .filter(|l| matches!(l.action, Action::SendNa { .. }))
        .map(|l| l.at)
        .collect();
    let at = |t: Instant| garps.iter().filter(|g| **g == t).count();
    // 5 per VIP at the transition, 5 per VIP garp_master_delay (5 s) later.
    assert_eq!(at(became), 10);
    assert_eq!(at(became.saturating_add_micros(5_000_000)), 10);
    // Refresh: 2 per VIP at the first advert after 10 s, then every 10 s.
    let refresh1 = became.saturating_add_micros(11_000_000);
    assert_eq!(at(refresh1), 4);
    assert_eq!(at(became.saturating_add_micros(22_000_000)), 4);
    assert_eq!(garps.len(), 10 + 10 + 4 + 4);
    // IPv6 addresses get unsolicited NAs: 5 + 5 + 2 + 2.
    assert_eq!(nas.len(), 14);
    // The GARP is for the VIP on eth0.
    assert!(net.nodes[0].log.iter().any(|l| l.action
        == Action::SendGarp {
            ifindex: ETH0,
            vip: "192.0.2.101".parse().unwrap()
        }));
}

#[test]
fn garp_pacing_per_interface() {
    let mut a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    a.vips.push(VipSpec::new(ip("192.0.2.101"), "eth0"));
    a.vips.push(VipSpec::new(ip("192.0.2.102"), "eth0"));
    a.garp.master_delay_us = 0;
    let mut rc = router_config(1, vec![a]);
    rc.garp_interval_us = 100_000;
    let mut net = Net::new(T0);
    net.add(1, rc);
    net.run_for_s(10);
    let became = net.nodes[0].notify_times("VI_1", NotifyState::Master)[0];
    let garps: Vec<_> = net.nodes[0]
        .log
        .iter()
        .filter_map(|l| match l.action {
            Action::SendGarp { vip, .. } => Some((l.at.micros_since(became), vip)),
            _ => None,
        })
        .collect();
    // One immediately, then one per 100 ms. keepalived keeps one pending flag per address,
    // so the four queued repeats of each address collapse into one each.
    assert_eq!(
        garps,
        vec![
            (0, "192.0.2.100".parse().unwrap()),
            (100_000, "192.0.2.100".parse().unwrap()),
            (200_000, "192.0.2.101".parse().unwrap()),
            (300_000, "192.0.2.102".parse().unwrap()),
        ]
    );
}

#[test]
fn lower_priority_advert_to_master_triggers_readvert_and_garp() {
    // A master hears a lower-priority master (split brain healing): it re-advertises at
    // once, sends garp_lower_prio_repeat GARPs and notifies MASTER_RX_LOWER_PRI.
    let a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    let b = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    let mut net = two_nodes(a, b);
    net.mute.insert(0);
    net.mute.insert(1);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0, 1]);
    // First only the lower master is heard.
    net.mute.remove(&1);
    net.log_clear();
    net.run_for_us(1_500_000);
    assert_eq!(
        net.nodes[0].count(|a| matches!(
            a,
            Action::Notify {
                state: NotifyState::MasterRxLowerPri,
                ..
            }
        )),
        1
    );
    assert_eq!(
        net.nodes[0].count(|a| matches!(a, Action::SendGarp { .. })),
        5
    );
    let a0 = net.nodes[0].router.instance_by_name("VI_1").unwrap();
    assert_eq!(a0.state(), State::Master);
    net.mute.clear();
    net.run_for_s(3);
    assert_eq!(net.masters("VI_1"), vec![0]);
    assert!(net.nodes[1].installed.is_empty());
}

#[test]
fn unicast_and_authentication_elect() {
    use keepalived_rs::vrrp::{Auth, UnicastPeer};
    use keepalived_rs::wire::ah::AhKey;
    for auth in [
        Auth::Pass(*b"secret\0\0"),
        Auth::Ah(AhKey::from_auth_pass(b"secret")),
        Auth::None,
    ] {
        let mk = |prio: u8, peer: u8| {
            let mut c = inst("VI_1", 9, Family::Ipv4, prio, "192.0.2.100");
            c.auth = auth.clone();
            c.unicast_peers = vec![UnicastPeer {
                addr: std::net::IpAddr::V4(v4(peer)),
                min_ttl: None,
                max_ttl: None,
            }];
            c.check_unicast_src = true;
            c
        };
        let mut net = two_nodes(mk(200, 2), mk(100, 1));
        net.run_for_s(10);
        assert_eq!(net.masters("VI_1"), vec![0], "{auth:?}");
        assert!(net.sent_by(0).iter().all(|s| s.dst == ip("192.0.2.2")));
        let b = net.nodes[1].router.instance_by_name("VI_1").unwrap();
        assert!(b.stats().advert_rcvd >= 5, "{auth:?} {:?}", b.stats());
        assert_eq!(b.stats().auth_failure, 0);
        net.crash(0);
        net.run_for_s(5);
        assert_eq!(net.masters("VI_1"), vec![1]);
    }
}

#[test]
fn same_inputs_same_outputs() {
    let run = || {
        let mut net = Net::new(T0);
        net.add(1, group_node(1, 150, true));
        net.add(2, group_node(2, 100, false));
        net.run_for_s(10);
        let mut eth1 = interfaces(1).remove(1);
        eth1.up = false;
        net.input(0, Input::Interface(eth1));
        net.run_for_s(10);
        net.input(1, Input::Shutdown);
        net.run_for_s(10);
        let mut trace = Vec::new();
        for n in &net.nodes {
            for l in &n.log {
                trace.push(format!("{:?} {:?}", l.at, l.action));
            }
        }
        for s in &net.sent {
            trace.push(format!("{:?} {} {:?}", s.at, s.node, s.bytes));
        }
        trace
    };
    assert_eq!(run(), run());
}

trait LogClear {
    fn log_clear(&mut self);
}

impl LogClear for Net {
    fn log_clear(&mut self) {
        for n in &mut self.nodes {
            n.log.clear();
        }
    }
}

#[test]
fn startup_delay_holds_everything() {
    let mut rc = router_config(1, vec![inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100")]);
    rc.startup_delay_us = 2_000_000;
    let mut net = Net::new(T0);
    net.add(1, rc);
    assert_eq!(net.nodes[0].state("VI_1"), State::Init);
    assert_eq!(
        net.nodes[0].router.poll_timeout(),
        Some(T0.saturating_add_micros(2_000_000))
    );
    net.run_for_s(10);
    let became = net.nodes[0].notify_times("VI_1", NotifyState::Master)[0];
    assert_eq!(became.micros_since(T0), 2_000_000 + 3_000_000 + 218_750);
}

#[test]
fn higher_prio_send_advert_and_lower_prio_no_advert() {
    // A lower master with higher_prio_send_advert sends one advert before yielding.
    let mut a = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    a.higher_prio_send_advert = true;
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a]));
    net.run_for_s(5);
    let b = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    net.add(2, router_config(2, vec![b]));
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![1]);
    let yielded = net.nodes[0].notify_times("VI_1", NotifyState::Backup)[1];
    let at_yield: Vec<_> = net
        .sent_by(0)
        .into_iter()
        .filter(|s| s.at == yielded)
        .map(|s| s.priority)
        .collect();
    assert_eq!(at_yield, vec![100]);

    // A master with lower_prio_no_advert does not answer a lower advert, and keeps its
    // advert cadence.
    let mut a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    a.lower_prio_no_advert = true;
    a.garp.lower_prio_repeat = 0;
    let b = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    let mut net = two_nodes(a, b);
    net.mute.insert(0);
    net.mute.insert(1);
    net.run_for_s(10);
    net.mute.remove(&1);
    net.run_for_s(3);
    let times: Vec<_> = net.sent_by(0).iter().map(|s| s.at).collect();
    assert!(times
        .windows(2)
        .all(|w| w[1].micros_since(w[0]) == 1_000_000));
    assert_eq!(
        net.nodes[0].count(|a| matches!(a, Action::SendGarp { .. })),
        10
    );
}

#[test]
fn advert_envelope_ip_id_and_unicast_fan_out() {
    use keepalived_rs::vrrp::UnicastPeer;
    use keepalived_rs::wire::vrrp::parse_ipv4_datagram;
    let mut a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    a.unicast_peers = vec![
        UnicastPeer {
            addr: ip("192.0.2.2"),
            min_ttl: None,
            max_ttl: None,
        },
        UnicastPeer {
            addr: ip("192.0.2.3"),
            min_ttl: None,
            max_ttl: None,
        },
    ];
    a.unicast_ttl = Some(64);
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a]));
    net.run_for_s(6);
    let sent = net.sent_by(0);
    assert!(sent.len() >= 6);
    let mut ids = Vec::new();
    for pair in sent.chunks(2) {
        assert_eq!(pair[0].at, pair[1].at);
        assert_eq!(pair[0].dst, ip("192.0.2.2"));
        assert_eq!(pair[1].dst, ip("192.0.2.3"));
        let d0 = parse_ipv4_datagram(&pair[0].bytes, Some(Version::V2)).unwrap();
        let d1 = parse_ipv4_datagram(&pair[1].bytes, Some(Version::V2)).unwrap();
        // One identification per advert, shared by its copies (keepalived vrrp_update_pkt).
        assert_eq!(d0.ip.identification, d1.ip.identification);
        assert_eq!(d0.ip.tos, 0xc0);
        assert_eq!(d0.ip.ttl, 64);
        assert_eq!(
            d0.ip.src,
            "192.0.2.1".parse::<std::net::Ipv4Addr>().unwrap()
        );
        ids.push(d0.ip.identification);
    }
    assert_eq!(ids, (1..=ids.len() as u16).collect::<Vec<_>>());
    let s = net.nodes[0].router.instances()[0].stats();
    assert_eq!(s.advert_sent, ids.len() as u64);
}

#[test]
fn ah_sequence_numbers_increase() {
    use keepalived_rs::vrrp::Auth;
    use keepalived_rs::wire::ah::AhKey;
    use keepalived_rs::wire::vrrp::parse_ipv4_datagram;
    let mut a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    a.auth = Auth::Ah(AhKey::from_auth_pass(b"pw"));
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a]));
    net.run_for_s(8);
    let seqs: Vec<u32> = net
        .sent_by(0)
        .iter()
        .map(|s| {
            let d = parse_ipv4_datagram(&s.bytes, None).unwrap();
            assert!(keepalived_rs::wire::ah::verify_icv(
                &s.bytes,
                &AhKey::from_auth_pass(b"pw"),
                false
            )
            .unwrap());
            d.ah.unwrap().sequence_number
        })
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u32).collect::<Vec<_>>());
}

#[test]
fn reload_priority_change_and_notify_deleted() {
    let a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    let mut gone = inst("VI_GONE", 10, Family::Ipv4, 100, "192.0.2.110");
    gone.notify_deleted = true;
    let b = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    let mut net = Net::new(T0);
    net.add(1, router_config(1, vec![a, gone]));
    net.add(2, router_config(2, vec![b]));
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    // Reload with a lower priority: still master (no flap), but the peer preempts it.
    let low = inst("VI_1", 9, Family::Ipv4, 50, "192.0.2.100");
    net.input(0, Input::Reconfigure(Box::new(router_config(1, vec![low]))));
    assert_eq!(net.nodes[0].state("VI_1"), State::Master);
    assert_eq!(
        net.nodes[0].fifo().last().unwrap(),
        "INSTANCE \"VI_GONE\" DELETED 100"
    );
    assert_eq!(net.nodes[0].router.instances()[0].effective_priority(), 50);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![1]);
    // Reload making it the owner: 255 at once, and it takes over.
    let owner = inst("VI_1", 9, Family::Ipv4, 255, "192.0.2.100");
    net.input(
        0,
        Input::Reconfigure(Box::new(router_config(1, vec![owner]))),
    );
    assert_eq!(net.nodes[0].router.instances()[0].effective_priority(), 255);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
}

#[test]
fn vip_deleted_behind_our_back() {
    let mut a = inst("VI_1", 9, Family::Ipv4, 200, "192.0.2.100");
    let mut untracked = VipSpec::new(ip("192.0.2.101"), "eth0");
    untracked.no_track = true;
    a.vips.push(untracked);
    let b = inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100");
    let mut net = two_nodes(a, b);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    // no_track: nothing happens.
    net.input(
        0,
        Input::AddressDeleted {
            ifindex: ETH0,
            addr: ip("192.0.2.101"),
        },
    );
    assert_eq!(net.nodes[0].state("VI_1"), State::Master);
    // Tracked: FAULT (priority 0, peer takes over), then BACKUP again.
    net.input(
        0,
        Input::AddressDeleted {
            ifindex: ETH0,
            addr: ip("192.0.2.100"),
        },
    );
    assert_eq!(net.nodes[0].state("VI_1"), State::Backup);
    let tail: Vec<_> = net.nodes[0].fifo().into_iter().rev().take(2).collect();
    assert_eq!(
        tail,
        vec![
            "INSTANCE \"VI_1\" BACKUP 200",
            "INSTANCE \"VI_1\" FAULT 200"
        ]
    );
    net.run_for_s(1);
    assert_eq!(net.masters("VI_1"), vec![1]);
    // ... and the higher priority takes it back, re-adding the VIPs.
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    assert!(net.nodes[0].installed.contains(&ip("192.0.2.100")));
}

#[test]
fn priority_change_notifications() {
    let mut a = with_script(inst("VI_1", 9, Family::Ipv4, 100, "192.0.2.100"), 20);
    a.notify_priority_changes = true;
    let mut net = Net::new(T0);
    net.add(1, script_cfg(1, a, 1, 1));
    net.input(
        0,
        Input::ScriptResult {
            script: ScriptId(0),
            ok: true,
        },
    );
    net.run_for_s(5);
    net.input(
        0,
        Input::ScriptResult {
            script: ScriptId(0),
            ok: false,
        },
    );
    assert_eq!(
        net.nodes[0].fifo(),
        vec![
            "INSTANCE \"VI_1\" BACKUP 100",
            "INSTANCE \"VI_1\" BACKUP_PRIORITY 120",
            "INSTANCE \"VI_1\" MASTER 120",
            "INSTANCE \"VI_1\" MASTER_PRIORITY 100",
        ]
    );
}
