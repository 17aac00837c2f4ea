//! The `Env` trait: everything the L4 daemon asks of the outside world. Two
//! implementations: Linux (`daemon::linux`, real sockets, netlink, processes) and the
//! simulator's (`sim`, virtual network and fake tables). The daemon code that drives the
//! engines is the same for both (DESIGN.md section 1).

use crate::config::model::vrrp::{RouteSpec, RuleSpec};
use crate::vrrp::params::VipSpec;
use crate::vrrp::ScriptId;
use crate::wire::vrrp::Family;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::notify::{HookEvent, ScriptRun};

/// One BFD control packet to send (see [`Env::send_bfd`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdSend<'a> {
    /// The session's index in the engine (one send socket per session).
    pub session: usize,
    /// The session's source address, when configured.
    pub local: Option<IpAddr>,
    pub peer: IpAddr,
    /// 49152..=65535, the same for the whole session (RFC 5881 §4).
    pub src_port: u16,
    /// 3784 (single hop) or 4784 (multihop).
    pub dst_port: u16,
    pub ttl: u8,
    pub payload: &'a [u8],
}

/// Side effects of the VRRP engine and its hooks. Implementations report failures through
/// the log (and counters); they never stop the caller.
pub trait Env {
    /// Sends one advert: for IPv4 a complete IP datagram, for IPv6 the VRRP message.
    fn send_advert(
        &mut self,
        ifindex: u32,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        packet: &[u8],
    );
    /// Sends what [`Env::send_advert`] queued, if it queues: an environment may hold the
    /// adverts of one outbox back to send them in one system call. The engine's caller calls
    /// it at the end of each outbox and before any other side effect, so the order on the
    /// wire and against addresses, GARPs and notifies is the outbox's.
    fn flush_sends(&mut self) {}
    /// Adds a VIP or excluded VIP.
    fn add_address(&mut self, ifindex: u32, vip: &VipSpec);
    /// Removes one; `may_be_absent` for the start-up cleanup of a previous run's VIPs.
    fn del_address(&mut self, ifindex: u32, vip: &VipSpec, may_be_absent: bool);
    /// Accept mode off (`no_accept`, or strict mode on a non-owner; RFC 5798 §6.1): while
    /// `drop` is true, traffic addressed to `addr` must be dropped (IPv6 neighbour discovery
    /// excepted, RFC 9568 §6.4.3). Environments without a firewall ignore it.
    fn filter_vip(&mut self, _addr: IpAddr, _drop: bool) {}
    fn add_route(&mut self, route: &RouteSpec);
    fn del_route(&mut self, route: &RouteSpec);
    fn add_rule(&mut self, rule: &RuleSpec);
    fn del_rule(&mut self, rule: &RuleSpec);
    fn send_garp(&mut self, ifindex: u32, vip: Ipv4Addr);
    fn send_na(&mut self, ifindex: u32, vip: Ipv6Addr);
    /// A state change: run `scripts` (not waited for, except STOP) and write `fifo_line` to
    /// each notify FIFO.
    fn notify(&mut self, event: &HookEvent, scripts: &[ScriptRun], fifo_line: &str);
    /// Starts a tracking script; its outcome comes back later as `Input::ScriptResult`
    /// (a timeout counts as a failure).
    fn run_track_script(&mut self, script: ScriptId, run: &ScriptRun, timeout_us: u64);
    /// Sends one BFD control packet over UDP. Failures are counted and logged by the
    /// implementation, never reported back. The default drops it (environments without
    /// BFD; the simulator overrides it to carry BFD).
    fn send_bfd(&mut self, _packet: &BfdSend<'_>) {}
}
