//! Typed model of `global_defs` and of the root-level process keywords (`net_namespace`,
//! `instance`, `use_pid_dir`, `child_wait_time`, ...), with keepalived's defaults applied
//! (`core/global_data.c`).
//!
//! The VRRP defaults that instances inherit (`vrrp_version`, the GARP settings, strict mode,
//! ...) are in [`VrrpDefaults`]; the semantic pass resolves them into every
//! [`crate::config::model::vrrp::VrrpInstance`], so the engine never has to look here for
//! an instance setting. Durations are microseconds (`_us`).
//!
//! T3 keywords whose effect belongs to a subsystem that keepalived-rs does not have yet
//! (SNMP, DBus, netlink buffer sizes, realtime scheduling, ...) are validated and kept with
//! their arguments in [`GlobalDefs::accepted`], so a dump can show them and a later
//! implementation can pick them up.

use crate::config::ast::Span;
use crate::config::model::Script;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// keepalived's `smtp_connect_timeout` default (30 s).
pub const DEFAULT_SMTP_CONNECT_TIMEOUT_US: u64 = 30_000_000;
/// Default timeout of `startup_script` / `shutdown_script` (10 s).
pub const DEFAULT_START_STOP_SCRIPT_TIMEOUT_US: u64 = 10_000_000;
/// `child_wait_time` default (5 s).
pub const DEFAULT_CHILD_WAIT_TIME_US: u64 = 5_000_000;
/// The user keepalived runs scripts as when it exists and no `script_user` is given.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";
/// RFC 5798 §5.1.1.2: the IPv4 VRRP multicast group.
pub const VRRP_MCAST_GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// RFC 5798 §5.1.2.2: the IPv6 VRRP multicast group.
pub const VRRP_MCAST_GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// A script with what the semantic pass resolved for running it: the argv (keepalived's
/// quoting and escape rules applied to the command) and the uid/gid it runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecScript {
    /// The script as written (command string and optional user/group words).
    pub script: Script,
    /// The command split into words; `argv[0]` is the program.
    pub argv: Vec<String>,
    /// uid/gid the script runs as (explicit user, else `script_user`, else
    /// `keepalived_script` if it exists, else root). Set by the script-security pass.
    pub uid: u32,
    pub gid: u32,
}

/// `script_user USER [[:]GROUP]`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptUser {
    pub user: String,
    pub group: Option<String>,
    pub uid: u32,
    pub gid: u32,
    /// The group was written with a leading `:` (set supplementary groups too).
    pub supplementary_groups: bool,
    pub span: Span,
}

/// `smtp_server HOST [PORT]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpServer {
    /// An IP address or a host name, as written.
    pub host: String,
    pub port: u16,
}

/// `notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo` and their `*_script`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyFifo {
    pub path: String,
    /// Owner of the FIFO (`FIFO [user [group]]`).
    pub user: Option<String>,
    pub group: Option<String>,
    /// The reader script keepalived starts; the FIFO path is appended to its argv.
    pub script: Option<ExecScript>,
    pub span: Span,
}

/// How `lvs_flush_on_stop` flushes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LvsFlushOnStop {
    /// Flush the whole IPVS table.
    All,
    /// Only delete the virtual servers keepalived configured (`VS`).
    VirtualServers,
}

/// `lvs_sync_daemon IF [[inst] VI] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    pub interface: String,
    /// The VRRP instance that drives master/backup, if any.
    pub instance: Option<String>,
    /// Sync id; `None` means the VRID of `instance`, else 0.
    pub sync_id: Option<u8>,
    pub maxlen: Option<u16>,
    /// UDP port (8848 by default).
    pub port: u16,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
    pub span: Span,
}

/// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`; `None` keeps the kernel's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LvsTimeouts {
    pub tcp_s: Option<u32>,
    pub tcp_fin_s: Option<u32>,
    pub udp_s: Option<u32>,
}

/// `vrrp_garp_extra_if [all] SECS` / `garp_extra_if`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GarpExtraIf {
    pub interval_us: u64,
    /// `all`: every non-instance interface, not only VMAC ones.
    pub all: bool,
}

/// Instance defaults from `global_defs` (the `vrrp_*` keywords).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpDefaults {
    /// `vrrp_version` (2); IPv6 instances use 3 regardless.
    pub version: u8,
    pub mcast_group4: Ipv4Addr,
    pub mcast_group6: Ipv6Addr,
    pub garp_master_delay_us: u64,
    pub garp_master_repeat: u32,
    pub garp_master_refresh_us: u64,
    pub garp_master_refresh_repeat: u32,
    /// `None`: same as `garp_master_delay_us`.
    pub garp_lower_prio_delay_us: Option<u64>,
    /// `None`: same as `garp_master_repeat`.
    pub garp_lower_prio_repeat: Option<u32>,
    /// Minimum gap between gratuitous ARPs on one interface.
    pub garp_interval_us: u64,
    /// Minimum gap between unsolicited neighbour advertisements on one interface.
    pub gna_interval_us: u64,
    pub min_garp: bool,
    pub garp_extra_if: Option<GarpExtraIf>,
    /// Master_Down_Interval multiplier (RFC 5798 §6.1 uses 3).
    pub down_timer_adverts: u32,
    /// `None`: false, or true in strict mode.
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub owner_ignore_adverts: Option<bool>,
    pub check_unicast_src: bool,
    pub skip_check_adv_addr: bool,
    pub strict: bool,
    pub startup_delay_us: u64,
    pub delay_after_boot_us: u64,
    pub log_unknown_vrids: bool,
    pub v3_checksum_as_v2: bool,
    pub notify_priority_changes: bool,
    pub vmac_prefix: Option<String>,
    pub vmac_addr_prefix: Option<String>,
}

impl Default for VrrpDefaults {
    fn default() -> Self {
        VrrpDefaults {
            version: 2,
            mcast_group4: VRRP_MCAST_GROUP4,
            mcast_group6: VRRP_MCAST_GROUP6,
            garp_master_delay_us: 5_000_000,
            garp_master_repeat: 5,
            garp_master_refresh_us: 0,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_delay_us: None,
            garp_lower_prio_repeat: None,
            garp_interval_us: 0,
            gna_interval_us: 0,
            min_garp: false,
            garp_extra_if: None,
            down_timer_adverts: 3,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            owner_ignore_adverts: None,
            check_unicast_src: false,
            skip_check_adv_addr: false,
            strict: false,
            startup_delay_us: 0,
            delay_after_boot_us: 0,
            log_unknown_vrids: false,
            v3_checksum_as_v2: false,
            notify_priority_changes: false,
            vmac_prefix: None,
            vmac_addr_prefix: None,
        }
    }
}

/// `net_namespace_ipvs [NAME]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpvsNamespace {
    /// No NAME: the default namespace.
    Default,
    Named(String),
}

/// Everything in `global_defs` plus the root-level process keywords.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalDefs {
    // --- e-mail alerts
    /// `router_id`; `None` means the host name.
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    /// `None` means `<running user>@<hostname>`.
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_connect_timeout_us: u64,
    pub smtp_helo_name: Option<String>,
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    pub no_email_faults: bool,
    pub no_checker_emails: bool,
    pub checker_log_all_failures: bool,

    // --- scripts
    pub script_user: Option<ScriptUser>,
    pub enable_script_security: bool,
    pub startup_script: Option<ExecScript>,
    pub shutdown_script: Option<ExecScript>,
    pub startup_script_timeout_us: u64,
    pub shutdown_script_timeout_us: u64,
    pub use_symlink_paths: bool,
    pub set_supplementary_groups: bool,

    // --- scheduling
    /// `max_auto_priority`: `None` is off; with no argument the maximum RR priority (99).
    pub max_auto_priority: Option<i32>,
    pub min_auto_priority_delay_us: u64,

    // --- interfaces
    pub dynamic_interfaces: bool,
    pub allow_if_changes: bool,
    /// Interface for static addresses (and VIPs with no `dev` on an instance without one).
    pub default_interface: String,
    pub disable_local_igmp: bool,

    // --- VRRP defaults
    pub vrrp: VrrpDefaults,

    // --- IPVS
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub lvs_timeouts: LvsTimeouts,
    pub lvs_flush: bool,
    pub lvs_flush_on_stop: Option<LvsFlushOnStop>,

    // --- notification FIFOs
    pub notify_fifo: Option<NotifyFifo>,
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    pub lvs_notify_fifo: Option<NotifyFifo>,
    pub fifo_write_vrrp_states_on_reload: bool,
    pub rs_init_notifies: bool,

    // --- root-level process keywords
    pub net_namespace: Option<String>,
    pub net_namespace_ipvs: Option<IpvsNamespace>,
    pub namespace_with_ipsets: bool,
    /// `instance NAME`.
    pub instance_name: Option<String>,
    pub use_pid_dir: bool,
    pub child_wait_time_us: u64,
    pub linkbeat_use_polling: bool,

    /// Other T3 keywords (SNMP, DBus, nftables, process names and priorities, netlink
    /// buffers, reload and dump files, ...): validated, not implemented, kept with their
    /// arguments as written. Keyed by keyword; a repeated keyword keeps the last value.
    pub accepted: BTreeMap<String, Vec<String>>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout_us: DEFAULT_SMTP_CONNECT_TIMEOUT_US,
            smtp_helo_name: None,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            no_checker_emails: false,
            checker_log_all_failures: false,
            script_user: None,
            enable_script_security: false,
            startup_script: None,
            shutdown_script: None,
            startup_script_timeout_us: DEFAULT_START_STOP_SCRIPT_TIMEOUT_US,
            shutdown_script_timeout_us: DEFAULT_START_STOP_SCRIPT_TIMEOUT_US,
            use_symlink_paths: false,
            set_supplementary_groups: false,
            max_auto_priority: None,
            min_auto_priority_delay_us: 1_000_000,
            dynamic_interfaces: false,
            allow_if_changes: false,
            default_interface: "eth0".to_string(),
            disable_local_igmp: false,
            vrrp: VrrpDefaults::default(),
            lvs_sync_daemon: None,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_flush_on_stop: None,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            fifo_write_vrrp_states_on_reload: false,
            rs_init_notifies: false,
            net_namespace: None,
            net_namespace_ipvs: None,
            namespace_with_ipsets: false,
            instance_name: None,
            use_pid_dir: false,
            child_wait_time_us: DEFAULT_CHILD_WAIT_TIME_US,
            linkbeat_use_polling: false,
            accepted: BTreeMap::new(),
        }
    }
}

impl GlobalDefs {
    /// The first argument of an accepted keyword (see [`GlobalDefs::accepted`]) as a number.
    pub fn accepted_num(&self, kw: &str) -> Option<i64> {
        self.accepted.get(kw)?.first()?.parse().ok()
    }

    /// The scripts the parent process runs (`startup_script`, `shutdown_script`).
    pub fn scripts(&self) -> Vec<&Script> {
        [&self.startup_script, &self.shutdown_script]
            .into_iter()
            .flatten()
            .map(|s| &s.script)
            .collect()
    }

    /// FIFO reader scripts (`*_notify_fifo_script`), run by the VRRP or checker process.
    pub fn fifo_scripts(&self) -> Vec<&Script> {
        [
            &self.notify_fifo,
            &self.vrrp_notify_fifo,
            &self.lvs_notify_fifo,
        ]
        .into_iter()
        .flatten()
        .filter_map(|f| f.script.as_ref())
        .map(|s| &s.script)
        .collect()
    }

    /// smtp_alert default for VRRP instances and sync groups (smtp_alert_vrrp, then
    /// smtp_alert, then off).
    pub fn vrrp_smtp_alert(&self) -> bool {
        self.smtp_alert_vrrp.or(self.smtp_alert).unwrap_or(false)
    }
}
