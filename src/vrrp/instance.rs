//! The run-time state of one VRRP instance and the timer arithmetic of RFC 3768 §6.1,
//! RFC 5798 §6.1 and RFC 9568 §6.1, in integer microseconds (DESIGN.md §3).

use std::net::IpAddr;

use scheduler::Instant;

use crate::track::PRIORITY_OWNER;
use crate::wire::vrrp::Version;

use super::io::State;
use super::params::InstanceConfig;
use super::stats::InstanceStats;

/// One second, the VRRPv2 skew base (RFC 3768 §6.1: Skew_Time = (256 − Priority) / 256 s).
const SKEW_BASE_V2_US: u64 = 1_000_000;

/// Skew_Time in microseconds: RFC 3768 `(256 − prio) / 256` s for v2; RFC 5798/9568
/// `((256 − prio) × Master_Adver_Interval) / 256` for v3. Integer µs: never truncated to
/// centiseconds.
pub fn skew_time_us(version: Version, priority: u8, master_adver_int_us: u64) -> u64 {
    let base = match version {
        Version::V2 => SKEW_BASE_V2_US,
        Version::V3 => master_adver_int_us,
    };
    (256 - u64::from(priority)) * base / 256
}

/// keepalived's `VRRP_TIMER_SKEW_MIN`: the skew of the owner priority rounded as keepalived
/// does (`interval / 256`).
pub fn skew_min_us(version: Version, master_adver_int_us: u64) -> u64 {
    match version {
        Version::V2 => SKEW_BASE_V2_US / 256,
        Version::V3 => master_adver_int_us / 256,
    }
}

/// Master_Down_Interval = `down_timer_adverts` (3) × Master_Adver_Interval + Skew_Time.
pub fn master_down_interval_us(
    version: Version,
    priority: u8,
    master_adver_int_us: u64,
    down_timer_adverts: u32,
) -> u64 {
    u64::from(down_timer_adverts) * master_adver_int_us
        + skew_time_us(version, priority, master_adver_int_us)
}

/// GARP/NA bookkeeping of an instance (§3.7).
#[derive(Clone, Debug, Default)]
pub(crate) struct GarpState {
    /// The second burst after becoming MASTER (`garp_master_delay`).
    pub second_burst_at: Option<Instant>,
    /// The second burst after a lower-priority advert (`garp_lower_prio_delay`).
    pub lower_prio_at: Option<Instant>,
    /// The next `garp_master_refresh` (checked when an advert is sent, as keepalived does).
    pub refresh_at: Option<Instant>,
    /// Per address (VIPs then eVIPs): a GARP/NA waits for the interface's pacing.
    pub pending: Vec<bool>,
    pub any_pending: bool,
}

/// One instance: its configuration and everything that changes at run time.
#[derive(Clone, Debug)]
pub struct Instance {
    pub(crate) cfg: InstanceConfig,
    pub(crate) state: State,
    pub(crate) wantstate: State,
    /// The state last reported by an instance notification.
    pub(crate) notified: Option<State>,
    pub(crate) base_priority: u8,
    pub(crate) effective_priority: u8,
    pub(crate) total_priority: i64,
    /// Weight-0 trackers down (plus a missing source address).
    pub(crate) faults: u32,
    /// Weight-0 trackers not known yet.
    pub(crate) init_pending: u32,
    pub(crate) master_adver_int_us: u64,
    pub(crate) ms_down_timer_us: u64,
    /// The adver timer (MASTER) or the master-down timer (BACKUP).
    pub(crate) sands: Option<Instant>,
    pub(crate) preempt_time: Option<Instant>,
    pub(crate) master_priority: u8,
    pub(crate) master_addr: Option<IpAddr>,
    pub(crate) vip_set: bool,
    pub(crate) last_transition: Instant,
    pub(crate) ip_id: u16,
    pub(crate) ah_seq: u32,
    /// Auto-detected keepalived pre-1.3.6 unicast checksum on transmit.
    pub(crate) tx_old_unicast: bool,
    pub(crate) stats: InstanceStats,
    pub(crate) garp: GarpState,
    /// The VIP addresses carried in adverts, kept so emitting does not allocate.
    pub(crate) advert_addrs: Vec<IpAddr>,
    /// The same, inline when there are at most two (the usual case): the receive check of
    /// the address list then reads no VIP list on the heap, a cache miss per advert in a
    /// router with hundreds of instances.
    pub(crate) rx_vips: Option<([IpAddr; 2], u8)>,
    /// Receive-error log rate limit: window start and messages in it.
    pub(crate) log_window: (Instant, u32),
}

/// Receive errors logged per instance per second at most (DESIGN.md §6: rate-limited).
const RX_LOG_PER_SECOND: u32 = 10;

impl Instance {
    pub(crate) fn new(cfg: InstanceConfig, now: Instant) -> Instance {
        let advert_addrs: Vec<IpAddr> = cfg.vips.iter().map(|v| v.addr).collect();
        let rx_vips = (advert_addrs.len() <= 2).then(|| {
            let mut a = [IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED); 2];
            a[..advert_addrs.len()].copy_from_slice(&advert_addrs);
            (a, advert_addrs.len() as u8)
        });
        let pending = vec![false; cfg.vips.len() + cfg.evips.len()];
        let wantstate = if cfg.initial_master {
            State::Master
        } else {
            State::Backup
        };
        let mut i = Instance {
            state: State::Init,
            wantstate,
            notified: None,
            base_priority: cfg.priority,
            effective_priority: cfg.priority,
            total_priority: i64::from(cfg.priority),
            faults: 0,
            init_pending: 0,
            master_adver_int_us: cfg.adver_int_us,
            ms_down_timer_us: 0,
            sands: None,
            preempt_time: None,
            master_priority: 0,
            master_addr: None,
            vip_set: false,
            last_transition: now,
            ip_id: 0,
            ah_seq: 0,
            tx_old_unicast: cfg.old_unicast_checksum == Some(true),
            stats: InstanceStats::default(),
            garp: GarpState {
                pending,
                ..GarpState::default()
            },
            advert_addrs,
            rx_vips,
            log_window: (now, 0),
            cfg,
        };
        i.ms_down_timer_us = i.master_down_us();
        i
    }

    /// Skew_Time at the current effective priority and Master_Adver_Interval.
    pub(crate) fn skew_us(&self) -> u64 {
        skew_time_us(
            self.cfg.version,
            self.effective_priority,
            self.master_adver_int_us,
        )
    }

    /// Master_Down_Interval at the current effective priority.
    pub(crate) fn master_down_us(&self) -> u64 {
        master_down_interval_us(
            self.cfg.version,
            self.effective_priority,
            self.master_adver_int_us,
            self.cfg.down_timer_adverts,
        )
    }

    /// keepalived's `vrrp_init_instance_sands`.
    pub(crate) fn init_sands(&mut self, now: Instant) {
        self.sands = match self.state {
            State::Master => Some(now.saturating_add_micros(self.cfg.adver_int_us)),
            State::Backup => Some(now.saturating_add_micros(self.ms_down_timer_us)),
            _ => None,
        };
    }

    /// May a receive error be logged now?
    pub(crate) fn may_log(&mut self, now: Instant) -> bool {
        if now.micros_since(self.log_window.0) >= 1_000_000 {
            self.log_window = (now, 0);
        }
        self.log_window.1 += 1;
        self.log_window.1 <= RX_LOG_PER_SECOND
    }

    // --- read accessors for the SIGUSR1 / SIGUSR2 / JSON dumps

    pub fn name(&self) -> &str {
        &self.cfg.name
    }
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }
    pub fn state(&self) -> State {
        self.state
    }
    /// The state the instance would be in disregarding its sync group.
    pub fn wantstate(&self) -> State {
        self.wantstate
    }
    /// "Priority": the base priority (255 for an owner, lowered to 254 on an owner clash).
    pub fn base_priority(&self) -> u8 {
        self.base_priority
    }
    /// "Effective priority": what adverts carry.
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }
    /// "Total priority": base plus tracker weights, before clamping.
    pub fn total_priority(&self) -> i64 {
        self.total_priority
    }
    /// Priority of the last master heard (0 if none).
    pub fn master_priority(&self) -> u8 {
        self.master_priority
    }
    /// Source address of the last master heard.
    pub fn master_addr(&self) -> Option<IpAddr> {
        self.master_addr
    }
    /// "Last transition" (monotonic; L4 adds the wall clock).
    pub fn last_transition(&self) -> Instant {
        self.last_transition
    }
    /// "Read timeout": when the adver timer or the master-down timer fires.
    pub fn read_timeout(&self) -> Option<Instant> {
        self.sands
    }
    /// "Master down timer" in microseconds.
    pub fn master_down_timer_us(&self) -> u64 {
        self.ms_down_timer_us
    }
    /// Master_Adver_Interval (a v3 backup adopts the master's).
    pub fn master_adver_int_us(&self) -> u64 {
        self.master_adver_int_us
    }
    /// VIPs installed ("set" in the dumps, `vipset` in JSON).
    pub fn vips_set(&self) -> bool {
        self.vip_set
    }
    /// "Number of interface and track script faults".
    pub fn faults(&self) -> u32 {
        self.faults
    }
    /// "Number of track scripts init".
    pub fn init_pending(&self) -> u32 {
        self.init_pending
    }
    /// When a running `preempt_delay` ends.
    pub fn preempt_time(&self) -> Option<Instant> {
        self.preempt_time
    }
    pub fn stats(&self) -> &InstanceStats {
        &self.stats
    }
    pub fn is_owner(&self) -> bool {
        self.base_priority == PRIORITY_OWNER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_and_down_interval_in_micros() {
        // keepalived.data: priority 150, v2, 1 s: "Master down timer = 3414062 usecs".
        assert_eq!(
            master_down_interval_us(Version::V2, 150, 1_000_000, 3),
            3_414_062
        );
        // protocol-notes: v2 prio 100 -> 3.609 s, v3 10 ms prio 254 -> 30.078 ms.
        assert_eq!(
            master_down_interval_us(Version::V2, 100, 1_000_000, 3),
            3_609_375
        );
        assert_eq!(skew_time_us(Version::V3, 254, 10_000), 78);
        assert_eq!(master_down_interval_us(Version::V3, 254, 10_000, 3), 30_078);
        assert_eq!(master_down_interval_us(Version::V3, 100, 10_000, 3), 36_093);
        // v2 skew does not depend on the interval.
        assert_eq!(skew_time_us(Version::V2, 254, 5_000_000), 7_812);
        assert_eq!(skew_min_us(Version::V3, 1_000_000), 3_906);
    }
}
