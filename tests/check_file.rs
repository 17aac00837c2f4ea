//! FILE_CHECK end to end (a network namespace; needs root), in a configuration without
//! VRRP: our daemon follows a track file's value, the real servers' weights and health
//! follow it with keepalived's lines and notify scripts (wording and sequence checked
//! against keepalived 2.2.7's log in a QEMU guest with the same values: the weight lines,
//! "tracked file TF now FAULT state" / "leaving FAULT state", no weight line when a real
//! server leaves FAULT, the weight clamped to 0..=2^31-1, an out-of-range value ignored).

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{wait_until, Daemon, Lan, TestDir};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

#[test]
fn file_check_follows_its_track_file() {
    if !e2e_ready("file_check_follows_its_track_file", false) {
        return;
    }
    let lan = Lan::new("fck", 1);
    let dir = TestDir::new("fck");
    let tf = dir.join("tf");
    std::fs::write(&tf, "2\n").unwrap();
    let calls = dir.join("calls.log");
    let note = dir.write(
        "note.sh",
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", calls.display()),
        true,
    );
    let note = note.display();
    let rs = |n: u8| {
        format!(
            "    real_server 192.0.2.{n} 80 {{\n        weight {w}\n        \
             notify_up \"{note} up {n}\"\n        notify_down \"{note} down {n}\"\n        \
             FILE_CHECK {{\n            track_file TF\n{extra}        }}\n    }}\n",
            w = if n == 7 { 10 } else { 1 },
            extra = match n {
                7 => "            weight 2 reverse\n",
                8 => "            weight 0\n",
                _ => "",
            }
        )
    };
    let conf = format!(
        "global_defs {{\n    script_user root\n}}\n\
         track_file TF {{\n    file {tf}\n    weight 1\n}}\n\
         virtual_server 192.0.2.183 80 {{\n    delay_loop 1\n    lb_algo wrr\n    lb_kind NAT\n    \
         protocol TCP\n{}{}{}}}\n",
        rs(6),
        rs(7),
        rs(8),
        tf = tf.display()
    );
    let vs = "VS [192.0.2.183]:tcp:80";
    let ours = Daemon::ours(lan.host(1), &dir, "ours", &conf);
    // keepalived's lines about the checkers and the table, without the log's prefix.
    let lines = || -> Vec<String> {
        ours.log_text()
            .lines()
            .filter_map(|l| {
                let at = [
                    "Changing weight",
                    "([192.0.2.",
                    "Adding service",
                    "Removing service",
                    "Gained quorum",
                    "Lost quorum",
                    "Invalid number",
                    "Activating healthchecker",
                ]
                .iter()
                .filter_map(|w| l.find(w))
                .min()?;
                Some(l[at..].to_string())
            })
            .collect()
    };
    let calls_now = || std::fs::read_to_string(&calls).unwrap_or_default();
    let mut want: Vec<String> = Vec::new();
    let mut want_calls = String::new();
    let mut step = |what: &str, value: &str, add: &[String], add_calls: &str| {
        if !value.is_empty() {
            std::fs::write(&tf, value).unwrap();
        }
        want.extend(add.iter().cloned());
        want_calls.push_str(add_calls);
        wait_until(
            what,
            LIMIT,
            || lines() == want && calls_now() == want_calls,
            || format!("{}\n--- calls:\n{}", lines().join("\n"), calls_now()),
        );
    };
    let change = |n: u8, from: u64, to: u64| {
        format!(
            "Changing weight from {from} to {to} for active service [192.0.2.{n}]:tcp:80 of {vs}"
        )
    };
    let fault = |n: u8, now: bool| {
        format!(
            "([192.0.2.{n}]:tcp:80): tracked file TF {} FAULT state",
            if now { "now" } else { "leaving" }
        )
    };
    let adding = |n: u8| format!("Adding service [192.0.2.{n}]:tcp:80 to {vs}");
    let removing = |n: u8| format!("Removing service [192.0.2.{n}]:tcp:80 from {vs}");
    // Start at 2: weights 1+2 and 10-4, the weight-0 checker in FAULT (no line, no notify),
    // no "Activating healthchecker" line (no probe).
    step(
        "value 2 at start",
        "",
        &[format!("Gained quorum 1+0=1 <= 9 for {vs}")],
        "",
    );
    step(
        "value 0",
        "0\n",
        &[
            change(6, 3, 1),
            change(7, 6, 10),
            fault(8, false),
            adding(8),
        ],
        "up 8\n",
    );
    step(
        "value -1",
        "-1\n",
        &[
            change(6, 1, 0),
            change(7, 10, 12),
            fault(8, true),
            removing(8),
        ],
        "down 8\n",
    );
    // -2^31: the first checker in FAULT (its weight left alone), the second one clamped.
    step(
        "value -2^31",
        "-2147483648\n",
        &[fault(6, true), removing(6), change(7, 12, 2147483647)],
        "down 6\n",
    );
    step(
        "an out-of-range value",
        "3000000000\n",
        &[format!(
            "Invalid number 3000000000 read from {} - ignoring",
            tf.display()
        )],
        "",
    );
    // Leaving FAULT: back at weight 1+5 without a weight line.
    step(
        "value 5",
        "5\n",
        &[fault(6, false), adding(6), change(7, 2147483647, 0)],
        "up 6\n",
    );
    // The SIGUSR1 dump shows them as keepalived 2.2.7 does (its blocks as captured in the
    // QEMU guest: the table's weight and the unclamped sum, the FILE_CHECK blocks without
    // timing, "Checker track files").
    let dump = ours.tmp.join("keepalived_check.data");
    let _ = std::fs::remove_file(&dump);
    ours.signal_main(nix::sys::signal::Signal::SIGUSR1);
    wait_until(
        "keepalived_check.data",
        LIMIT,
        || std::fs::read_to_string(&dump).is_ok_and(|s| s.contains("Checker track files")),
        || ours.tail(20),
    );
    let text = std::fs::read_to_string(&dump).unwrap();
    let file_check = |n: u8, up: &str, weight: i64| {
        format!(
            " [192.0.2.183]:tcp:80 -> [192.0.2.{n}]:tcp:80\n   Enabled = yes\n   Up = {up}\n   \
             Has run = yes\n   Current weight = {weight}\n   Log all failures = no\n   \
             Keepalive method = FILE_CHECK\n     Tracked file = TF\n     Reloaded = No\n"
        )
    };
    for want in [
        "   RIP = 192.0.2.6, RPORT = 80, WEIGHT = 6 EFF WEIGHT = 6\n".to_string(),
        "   RIP = 192.0.2.7, RPORT = 80, WEIGHT = 0 EFF WEIGHT = 0\n".to_string(),
        "   initial weight = 10\n   effective weight = 0\n".to_string(),
        "   Tracked Files\n     TF, weight 2 reverse\n".to_string(),
        file_check(6, "yes", 5),
        file_check(7, "yes", -10),
        file_check(8, "no", 0),
        format!(
            "------< Checker track files >------\n Track file = TF\n   File = {}\n   \
             Status = 5\n   Weight = 1\n   Tracking instances :\n     \
             [192.0.2.183]:tcp:80 -> [192.0.2.6]:tcp:80, weight 1\n     \
             [192.0.2.183]:tcp:80 -> [192.0.2.7]:tcp:80, weight 2 reverse\n     \
             [192.0.2.183]:tcp:80 -> [192.0.2.8]:tcp:80, weight 0\n",
            tf.display()
        ),
    ] {
        assert!(text.contains(&want), "{want}\n--- not in:\n{text}");
    }
    // A removed file reads 0.
    std::fs::remove_file(&tf).unwrap();
    step(
        "file removed",
        "",
        &[
            change(6, 6, 1),
            change(7, 0, 10),
            fault(8, false),
            adding(8),
        ],
        "up 8\n",
    );
    // Nothing more while the value stays.
    std::fs::write(&tf, "0\n").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lines(), want);
    assert!(ours.running());
}
