//! keepalived's state dumps: SIGUSR1 writes `$TMPDIR/keepalived.data`, SIGUSR2
//! `$TMPDIR/keepalived.stats`, the JSON signal `$TMPDIR/keepalived.json`, in keepalived
//! 2.2.7's formats (see the team's reference examples).

use super::lifecycle::Daemon;
use log::{info, warn};
use std::fmt::Write as _;
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
        .join(name)
}

fn write(name: &str, text: &str) {
    let p = tmp(name);
    if let Err(e) = std::fs::write(&p, text) {
        warn!("cannot write {}: {e}", p.display());
    }
}

/// SIGUSR2 (and STATS_CLEAR): per-instance advert and error counters.
pub fn stats(d: &mut Daemon, clear: bool) {
    info!(
        "Printing VRRP stats for process({}) on signal",
        std::process::id()
    );
    let mut out = String::new();
    if let Some(v) = d.vrrp.as_ref() {
        for inst in v.router().instances() {
            let s = inst.stats();
            let _ = write!(
                out,
                "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  Became master: {}\n  \
                 Released master: {}\n  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    \
                 Advertisement Interval: {}\n    Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
                 Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    Sent: {}\n",
                inst.config().name,
                s.advert_rcvd,
                s.advert_sent,
                s.become_master,
                s.release_master,
                s.packet_len_err,
                s.ip_ttl_err,
                s.invalid_type_rcvd,
                s.advert_interval_err,
                s.addr_list_err,
                s.invalid_authtype,
                s.authtype_mismatch,
                s.auth_failure,
                s.pri_zero_rcvd,
                s.pri_zero_sent,
            );
        }
    }
    write("keepalived.stats", &out);
    if clear {
        warn!("STATS_CLEAR: clearing counters is not implemented yet; stats written only");
    }
}

/// SIGUSR1: the VRRP topology part of keepalived.data.
pub fn data(d: &mut Daemon) {
    info!(
        "Printing VRRP data for process({}) on signal",
        std::process::id()
    );
    let mut out = String::from("------< VRRP Topology >------\n");
    if let Some(v) = d.vrrp.as_ref() {
        for inst in v.router().instances() {
            let c = inst.config();
            let _ = writeln!(out, " VRRP Instance = {}", c.name);
            let _ = writeln!(out, "   VRRP Version = {}", c.version.number());
            let _ = writeln!(out, "   State = {}", inst.state());
            let _ = writeln!(out, "   Wantstate = {}", inst.wantstate());
            let _ = writeln!(
                out,
                "   Master down timer = {} usecs",
                inst.master_down_timer_us()
            );
            let _ = writeln!(
                out,
                "   Interface = {}",
                c.interface.as_deref().unwrap_or("(none)")
            );
            let _ = writeln!(out, "   Virtual Router ID = {}", c.vrid);
            let _ = writeln!(out, "   Priority = {}", inst.base_priority());
            let _ = writeln!(out, "   Effective priority = {}", inst.effective_priority());
            let _ = writeln!(out, "   Total priority = {}", inst.total_priority());
            let _ = writeln!(
                out,
                "   Advert interval = {} milli-sec",
                c.adver_int_us / 1000
            );
            let _ = writeln!(
                out,
                "   Preempt = {}",
                if c.nopreempt { "disabled" } else { "enabled" }
            );
            let _ = writeln!(out, "   Virtual IP ({}):", c.vips.len());
            for vip in &c.vips {
                let _ = writeln!(out, "     {}/{} dev {}", vip.addr, vip.prefix_len, vip.dev);
            }
        }
    }
    write("keepalived.data", &out);
}

/// The JSON signal: keepalived's `[{"data":{...},"stats":{...}}]` per instance.
pub fn json(d: &mut Daemon) {
    info!(
        "Printing VRRP as json for process({}) on signal",
        std::process::id()
    );
    let mut items = Vec::new();
    if let Some(v) = d.vrrp.as_ref() {
        for inst in v.router().instances() {
            let c = inst.config();
            let s = inst.stats();
            items.push(format!(
                "{{\"data\":{{\"iname\":\"{}\",\"vrid\":{},\"base_priority\":{},\"effective_priority\":{},\
                 \"state\":{},\"wantstate\":{},\"version\":{}}},\"stats\":{{\"advert_rcvd\":{},\"advert_sent\":{},\
                 \"become_master\":{},\"release_master\":{},\"packet_len_err\":{},\"advert_interval_err\":{},\
                 \"ip_ttl_err\":{},\"invalid_type_rcvd\":{},\"addr_list_err\":{},\"invalid_authtype\":{},\
                 \"authtype_mismatch\":{},\"auth_failure\":{},\"pri_zero_rcvd\":{},\"pri_zero_sent\":{}}}}}",
                c.name.replace('"', "\\\""),
                c.vrid,
                inst.base_priority(),
                inst.effective_priority(),
                inst.state().number(),
                inst.wantstate().number(),
                c.version.number(),
                s.advert_rcvd,
                s.advert_sent,
                s.become_master,
                s.release_master,
                s.packet_len_err,
                s.advert_interval_err,
                s.ip_ttl_err,
                s.invalid_type_rcvd,
                s.addr_list_err,
                s.invalid_authtype,
                s.authtype_mismatch,
                s.auth_failure,
                s.pri_zero_rcvd,
                s.pri_zero_sent,
            ));
        }
    }
    write("keepalived.json", &format!("[{}]", items.join(",")));
}
