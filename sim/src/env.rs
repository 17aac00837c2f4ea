//! [`SimEnv`]: the simulator's [`Env`]. It performs nothing; it records what the daemon
//! asked for (fake address, route and rule tables; adverts, GARPs, NAs, notifications and
//! script runs of the current step) for the world to route, schedule and check.

use keepalived_rs::config::model::vrrp::{RouteSpec, RuleSpec};
use keepalived_rs::daemon::env::{BfdSend, Env};
use keepalived_rs::daemon::notify::{HookEvent, ScriptRun};
use keepalived_rs::vrrp::{NotifyKind, ScriptId, VipSpec};
use keepalived_rs::wire::vrrp::Family;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

/// An advert the daemon sent.
#[derive(Clone, Debug)]
pub struct Sent {
    pub ifindex: u32,
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    /// Shared with the copies in flight.
    pub bytes: Rc<[u8]>,
}

/// A notification (instance or group, state word, FIFO line).
#[derive(Clone, Debug)]
pub struct Notified {
    pub kind: NotifyKind,
    pub name: String,
    pub fifo: String,
}

/// One node's fake kernel and the side effects of the current step.
#[derive(Debug, Default)]
pub struct SimEnv {
    /// Installed addresses: (ifindex, address) → prefix length.
    pub addrs: BTreeMap<(u32, IpAddr), u8>,
    pub routes: Vec<RouteSpec>,
    pub rules: Vec<RuleSpec>,
    // ---- this step
    pub sent: Vec<Sent>,
    pub garps: Vec<(u32, IpAddr)>,
    pub notified: Vec<Notified>,
    pub scripts: Vec<(ScriptId, String, u64)>,
    /// Env calls in this step (the outbox bound).
    pub calls: u64,
    /// Anything notable for `--trace` (and kernel-style complaints).
    pub notes: Vec<String>,
    pub trace: bool,
    /// TEST ONLY (`Sabotage::keep_vips`): removals are ignored.
    pub keep_addresses: bool,
    /// BFD datagrams of the current BFD step (`bfd.rs` routes them).
    pub bfd_sent: Vec<crate::bfd::BfdSent>,
}

impl SimEnv {
    /// Forgets the step's side effects (the tables stay).
    pub fn clear_step(&mut self) {
        self.sent.clear();
        self.garps.clear();
        self.notified.clear();
        self.scripts.clear();
        self.notes.clear();
        self.calls = 0;
    }

    pub fn holds(&self, addr: IpAddr) -> bool {
        self.addrs.keys().any(|(_, a)| *a == addr)
    }
}

impl Env for SimEnv {
    fn send_advert(
        &mut self,
        ifindex: u32,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        packet: &[u8],
    ) {
        self.calls += 1;
        self.sent.push(Sent {
            ifindex,
            family,
            src,
            dst,
            ttl,
            bytes: Rc::from(packet),
        });
    }

    fn add_address(&mut self, ifindex: u32, vip: &VipSpec) {
        self.calls += 1;
        if self
            .addrs
            .insert((ifindex, vip.addr), vip.prefix_len)
            .is_some()
            && self.trace
        {
            // The kernel answers EEXIST; the Linux Env logs it and goes on.
            self.notes.push(format!(
                "add {}/{}: already present (EEXIST)",
                vip.addr, vip.prefix_len
            ));
        } else if self.trace {
            self.notes.push(format!(
                "add {}/{} on ifindex {ifindex}",
                vip.addr, vip.prefix_len
            ));
        }
    }

    fn del_address(&mut self, ifindex: u32, vip: &VipSpec, may_be_absent: bool) {
        self.calls += 1;
        if self.keep_addresses {
            return;
        }
        let was = self.addrs.remove(&(ifindex, vip.addr)).is_some();
        if self.trace && (was || !may_be_absent) {
            self.notes.push(if was {
                format!("del {}/{} on ifindex {ifindex}", vip.addr, vip.prefix_len)
            } else {
                format!(
                    "del {}/{}: not present (EADDRNOTAVAIL)",
                    vip.addr, vip.prefix_len
                )
            });
        }
    }

    fn add_route(&mut self, route: &RouteSpec) {
        self.calls += 1;
        if !self.routes.contains(route) {
            self.routes.push(route.clone());
        }
    }

    fn del_route(&mut self, route: &RouteSpec) {
        self.calls += 1;
        self.routes.retain(|r| r != route);
    }

    fn add_rule(&mut self, rule: &RuleSpec) {
        self.calls += 1;
        if !self.rules.contains(rule) {
            self.rules.push(rule.clone());
        }
    }

    fn del_rule(&mut self, rule: &RuleSpec) {
        self.calls += 1;
        self.rules.retain(|r| r != rule);
    }

    fn send_garp(&mut self, ifindex: u32, vip: Ipv4Addr) {
        self.calls += 1;
        self.garps.push((ifindex, IpAddr::V4(vip)));
    }

    fn send_na(&mut self, ifindex: u32, vip: Ipv6Addr) {
        self.calls += 1;
        self.garps.push((ifindex, IpAddr::V6(vip)));
    }

    fn notify(&mut self, event: &HookEvent, _scripts: &[ScriptRun], fifo_line: &str) {
        self.calls += 1;
        self.notified.push(Notified {
            kind: event.kind,
            name: event.name.clone(),
            fifo: fifo_line.trim_end().to_string(),
        });
    }

    fn run_track_script(&mut self, script: ScriptId, run: &ScriptRun, timeout_us: u64) {
        self.calls += 1;
        let prog = run.argv.first().cloned().unwrap_or_default();
        self.scripts.push((script, prog, timeout_us));
    }

    fn send_bfd(&mut self, packet: &BfdSend<'_>) {
        self.bfd_sent.push(packet.into());
    }
}
