//! MISC_CHECK end to end (a network namespace; needs root): our daemon runs a check script
//! whose exit status a control file sets; the real server follows it with keepalived's
//! lines and notify scripts, a script that outlives `misc_timeout` is killed and counts as
//! a failure, and `retry` delays the down (wording checked against keepalived 2.2.7's log
//! in a QEMU guest: the program is named without its arguments).

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{wait_until, Daemon, Lan, TestDir};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

#[test]
fn misc_check_follows_its_script() {
    if !e2e_ready("misc_check_follows_its_script", false) {
        return;
    }
    let lan = Lan::new("mck", 1);
    let dir = TestDir::new("mck");
    let ctl = dir.join("ctl");
    std::fs::write(&ctl, "0\n").unwrap();
    let runs = dir.join("runs.log");
    let check = dir.write(
        "check.sh",
        &format!(
            "#!/bin/sh\necho run >> {runs}\nc=$(cat {ctl})\n[ \"$c\" = sleep ] && exec sleep 5\n\
             exit $c\n",
            runs = runs.display(),
            ctl = ctl.display()
        ),
        true,
    );
    let down_log = dir.join("down.log");
    let down = dir.write(
        "down.sh",
        &format!("#!/bin/sh\necho down >> {}\n", down_log.display()),
        true,
    );
    let conf = format!(
        "global_defs {{\n    script_user root\n}}\n\
         virtual_server 192.0.2.181 80 {{\n    delay_loop 1\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 192.0.2.2 80 {{\n        notify_down {down}\n        MISC_CHECK {{\n            \
         misc_path \"{check}\"\n            misc_timeout 1\n        }}\n    }}\n    \
         real_server 192.0.2.3 80 {{\n        MISC_CHECK {{\n            misc_path \"{check} x\"\n            \
         retry 2\n            delay_before_retry 1\n        }}\n    }}\n}}\n",
        down = down.display(),
        check = check.display()
    );
    let rs2 = format!(
        "Misc check for [[192.0.2.2]:tcp:80 VS [192.0.2.181]:tcp:80] by [{}]",
        check.display()
    );
    let rs3 = format!(
        "Misc check for [[192.0.2.3]:tcp:80 VS [192.0.2.181]:tcp:80] by [{}]",
        check.display()
    );
    let ours = Daemon::ours(lan.host(1), &dir, "ours", &conf);
    wait_until(
        "both scripts succeed",
        LIMIT,
        || {
            ours.count(&format!("{rs2} succeeded.")) == 1
                && ours.count(&format!("{rs3} succeeded.")) == 1
        },
        || ours.tail(30),
    );
    // Exit status 1: the first real server (no retry) goes at once; the second only after
    // two retries, a second apart.
    std::fs::write(&ctl, "1\n").unwrap();
    wait_until(
        "the first real server down",
        LIMIT,
        || {
            ours.count(&format!(
                "{rs2} failed with retry disabled (exited with status 1)."
            )) == 1
                && std::fs::read_to_string(&down_log).is_ok_and(|s| s.lines().count() == 1)
        },
        || ours.tail(30),
    );
    assert_eq!(
        ours.count(&format!("{rs3} failed")),
        0,
        "retries first: {}",
        ours.tail(30)
    );
    wait_until(
        "the second real server down after its retries",
        LIMIT,
        || {
            ours.count(&format!(
                "{rs3} failed after 2 retries (exited with status 1)."
            )) == 1
        },
        || ours.tail(30),
    );
    assert_eq!(
        ours.count("Removing service [192.0.2.2]:tcp:80 from VS [192.0.2.181]:tcp:80"),
        1,
        "{}",
        ours.tail(30)
    );
    // Back to 0: up again.
    std::fs::write(&ctl, "0\n").unwrap();
    wait_until(
        "both up again",
        LIMIT,
        || {
            ours.count(&format!("{rs2} succeeded.")) == 2
                && ours.count(&format!("{rs3} succeeded.")) == 2
        },
        || ours.tail(30),
    );
    // A script that outlives misc_timeout is killed: a failure.
    std::fs::write(&ctl, "sleep\n").unwrap();
    wait_until(
        "the hanging script timed out",
        LIMIT,
        || ours.count(&format!("{rs2} timed out with retry disabled.")) >= 1,
        || ours.tail(30),
    );
    assert!(ours.running());
}

/// `misc_dynamic`: exit status 0 gives the configured weight, 1 takes the real server
/// down, 2..=255 keep it up at the status minus 2; each change is logged as keepalived
/// 2.2.7 logs it in the QEMU guest ("Changing weight ..." before "succeeded." at start, no
/// "succeeded." for a change while up, "inactive" for an alpha real server not yet in).
#[test]
fn misc_dynamic_sets_the_weight() {
    if !e2e_ready("misc_dynamic_sets_the_weight", false) {
        return;
    }
    let lan = Lan::new("mcd", 1);
    let dir = TestDir::new("mcd");
    let ctl = dir.join("ctl");
    std::fs::write(&ctl, "7\n").unwrap();
    let ctl_alpha = dir.join("ctl-alpha");
    std::fs::write(&ctl_alpha, "4\n").unwrap();
    let check = dir.write("check.sh", "#!/bin/sh\nexit $(cat \"$1\")\n", true);
    let conf = format!(
        "global_defs {{\n    script_user root\n}}\n\
         virtual_server 192.0.2.182 80 {{\n    delay_loop 1\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 192.0.2.4 80 {{\n        weight 3\n        MISC_CHECK {{\n            \
         misc_path \"{check} {ctl}\"\n            misc_dynamic\n        }}\n    }}\n    \
         real_server 192.0.2.5 80 {{\n        alpha\n        MISC_CHECK {{\n            \
         misc_path \"{check} {ctl_alpha}\"\n            misc_dynamic\n        }}\n    }}\n}}\n",
        check = check.display(),
        ctl = ctl.display(),
        ctl_alpha = ctl_alpha.display(),
    );
    let vs = "VS [192.0.2.182]:tcp:80";
    let rs = "[192.0.2.4]:tcp:80";
    let misc = format!("Misc check for [{rs} {vs}] by [{}]", check.display());
    let change = |from: u32, to: u32| {
        format!("Changing weight from {from} to {to} for active service {rs} of {vs}")
    };
    let ours = Daemon::ours(lan.host(1), &dir, "ours", &conf);
    // The lines about one real server, without the log's prefix.
    let lines = |rs: &str| -> Vec<String> {
        ours.lines_with(&format!("{rs} "))
            .iter()
            .filter_map(|l| {
                let at = ["Changing", "Misc", "Adding", "Removing"]
                    .iter()
                    .filter_map(|w| l.find(w))
                    .min()?;
                Some(l[at..].to_string())
            })
            .collect()
    };
    let wait = |what: &str, want: &[String]| {
        wait_until(what, LIMIT, || lines(rs) == want, || lines(rs).join("\n"));
    };
    // At start: the weight line, then "succeeded."; the alpha real server is not in yet.
    let mut want = vec![change(3, 5), format!("{misc} succeeded.")];
    wait("exit 7 at start", &want);
    let alpha = "[192.0.2.5]:tcp:80";
    wait_until(
        "the alpha real server up at weight 2",
        LIMIT,
        || {
            lines(alpha)
                == [
                    format!("Changing weight from 1 to 2 for inactive service {alpha} of {vs}"),
                    format!(
                        "Misc check for [{alpha} {vs}] by [{}] succeeded.",
                        check.display()
                    ),
                    format!("Adding service {alpha} to {vs}"),
                ]
        },
        || lines(alpha).join("\n"),
    );
    // 5 - 2 = 3: back to the configured weight, no "succeeded." while up.
    std::fs::write(&ctl, "5\n").unwrap();
    want.push(change(5, 3));
    wait("exit 5", &want);
    // Down, then up again at the configured weight (no weight line: it is 3 already).
    std::fs::write(&ctl, "1\n").unwrap();
    want.push(format!(
        "{misc} failed with retry disabled (exited with status 1)."
    ));
    want.push(format!("Removing service {rs} from {vs}"));
    wait("exit 1", &want);
    std::fs::write(&ctl, "0\n").unwrap();
    want.push(format!("{misc} succeeded."));
    want.push(format!("Adding service {rs} to {vs}"));
    wait("exit 0 after the down", &want);
    // 10: weight 8; 0: the configured weight again; 2: weight 0, still in.
    std::fs::write(&ctl, "10\n").unwrap();
    want.push(change(3, 8));
    wait("exit 10", &want);
    std::fs::write(&ctl, "0\n").unwrap();
    want.push(change(8, 3));
    wait("exit 0 while up", &want);
    std::fs::write(&ctl, "2\n").unwrap();
    want.push(change(3, 0));
    wait("exit 2", &want);
    // Nothing more while the status stays.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lines(rs), want);
    assert!(ours.running());
}
