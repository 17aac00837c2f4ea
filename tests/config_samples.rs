//! `-t` on every sample configuration that keepalived ships gives the same verdict (exit
//! code) as the real keepalived 2.2.7, both run inside a network namespace that has the
//! interfaces the samples name (eth0..eth3 and eth0.1). Needs root, iproute2 and keepalived.

mod common;

use common::{e2e_ready, our_bin, Netns};
use std::path::PathBuf;

const SAMPLES: &str = "/usr/share/doc/keepalived/samples";

fn samples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(SAMPLES)
        .unwrap_or_else(|e| panic!("{SAMPLES}: {e} (install keepalived)"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("keepalived.conf"))
        })
        .collect();
    v.sort();
    v
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[test]
fn sample_verdicts_match_keepalived() {
    if !e2e_ready("sample_verdicts_match_keepalived", true) {
        return;
    }
    let ns = Netns::new("samples");
    for (i, name) in ["eth0", "eth1", "eth2", "eth3", "eth0.1"]
        .iter()
        .enumerate()
    {
        ns.add_veth(name, &format!("peer{i}"));
    }
    let list = samples();
    assert!(
        list.len() >= 20,
        "expected keepalived's samples, found {}",
        list.len()
    );
    let mut mismatches = Vec::new();
    for s in &list {
        let f = s.to_str().unwrap();
        let theirs = ns.cmd("keepalived").args(["-t", "-f", f]).output().unwrap();
        let ours = ns.cmd(our_bin()).args(["-t", "-f", f]).output().unwrap();
        let (t, o) = (code(&theirs), code(&ours));
        eprintln!(
            "{:50} keepalived={t} ours={o}",
            s.file_name().unwrap().to_string_lossy()
        );
        if t != o {
            mismatches.push(format!(
                "{f}: keepalived exit {t}, ours {o}\n--- keepalived:\n{}--- ours:\n{}",
                String::from_utf8_lossy(&theirs.stderr),
                String::from_utf8_lossy(&ours.stderr)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "verdict mismatches:\n{}",
        mismatches.join("\n")
    );
}

/// The same samples with the interfaces missing: keepalived and ours both reject the ones
/// that name interfaces.
#[test]
fn sample_verdicts_without_interfaces_match_keepalived() {
    if !e2e_ready("sample_verdicts_without_interfaces_match_keepalived", true) {
        return;
    }
    let ns = Netns::new("samples-noif");
    let mut mismatches = Vec::new();
    for s in samples() {
        let f = s.to_str().unwrap();
        let t = code(&ns.cmd("keepalived").args(["-t", "-f", f]).output().unwrap());
        let o = code(&ns.cmd(our_bin()).args(["-t", "-f", f]).output().unwrap());
        if t != o {
            mismatches.push(format!("{f}: keepalived exit {t}, ours {o}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "verdict mismatches:\n{}",
        mismatches.join("\n")
    );
}
