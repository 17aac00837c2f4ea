//! Semantic pass for `global_defs` (keepalived's `core/global_parser.c`) and the root-level
//! process keywords (`net_namespace`, `net_namespace_ipvs`, `namespace_with_ipsets`,
//! `instance`, `use_pid_dir`, `child_wait_time`, `linkbeat_use_polling`).
//!
//! keepalived reads `global_defs` before everything else, so its values apply to instances
//! wherever the block is in the file; the VRRP pass resolves instance defaults in its
//! `validate`, after every block was read.
//!
//! T3 keywords whose whole effect is in the model the VRRP engine consumes (GARP and timer
//! defaults, multicast groups, strict-mode companions) are typed and marked implemented;
//! the other T3 keywords are validated, kept in [`GlobalDefs::accepted`] and reported once
//! as not implemented.

use super::vals::{self, need};
use super::{scripts, Ctx, Kw, Tier};
use crate::config::ast::Node;
use crate::config::model::global::*;
use crate::config::model::Config;
use crate::config::values;
use std::net::IpAddr;

/// Root-level keywords this section owns.
pub fn root_keywords() -> Vec<Kw<Config>> {
    vec![
        Kw::new("global_defs", Tier::T1, global_defs_handler),
        Kw::new("net_namespace", Tier::T2, net_namespace_handler),
        Kw::accepted("net_namespace_ipvs", Tier::T3, net_namespace_ipvs_handler),
        Kw::accepted("namespace_with_ipsets", Tier::T3, |ctx, n, c| {
            c.global.namespace_with_ipsets = vals::bare_flag(ctx, n)
        }),
        Kw::accepted("instance", Tier::T3, instance_handler),
        Kw::accepted("use_pid_dir", Tier::T3, |ctx, n, c| {
            c.global.use_pid_dir = vals::bare_flag(ctx, n)
        }),
        Kw::new("child_wait_time", Tier::T3, child_wait_time_handler),
        Kw::accepted("linkbeat_use_polling", Tier::T3, |ctx, n, c| {
            c.global.linkbeat_use_polling = vals::bare_flag(ctx, n)
        }),
    ]
}

/// Cross-checks after every block was read.
pub fn validate(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let g = &mut cfg.global;
    for (kw, slot) in [
        ("notify_fifo", &mut g.notify_fifo),
        ("vrrp_notify_fifo", &mut g.vrrp_notify_fifo),
        ("lvs_notify_fifo", &mut g.lvs_notify_fifo),
    ] {
        if let Some(f) = slot.as_ref().filter(|f| f.path.is_empty()) {
            ctx.note(
                f.span,
                format!("{kw}_script specified without {kw} - ignoring the script"),
            );
            *slot = None;
        }
    }
}

/// Reports a keyword that needs a `{` block but has none.
pub(crate) fn require_block(ctx: &mut Ctx<'_>, node: &Node) -> bool {
    if node.block.is_none() {
        ctx.error(
            node.span(),
            format!(
                "Missing '{{' at beginning of configuration block ({})",
                node.keyword()
            ),
        );
        return false;
    }
    true
}

fn global_defs_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if !require_block(ctx, node) {
        return;
    }
    let table = global_table();
    ctx.dispatch(node.children(), &table, &mut cfg.global);
    // vrrp_min_garp: one GARP per address and no repeats, for whatever the block did not
    // set explicitly.
    let g = &mut cfg.global.vrrp;
    if g.min_garp {
        let set = |kw: &str| node.children().iter().any(|c| c.keyword() == kw);
        if !set("vrrp_garp_master_repeat") {
            g.garp_master_repeat = 1;
        }
        if !set("vrrp_garp_master_refresh") {
            g.garp_master_refresh_us = 0;
        }
        if !set("vrrp_garp_master_refresh_repeat") {
            g.garp_master_refresh_repeat = 0;
        }
        if !set("vrrp_garp_master_delay") {
            g.garp_master_delay_us = 0;
        }
    }
}

fn net_namespace_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if let Some(w) = need(ctx, node, 0) {
        if cfg.global.net_namespace.is_some() {
            ctx.error(w.span, "Duplicate net_namespace definition - ignoring");
        } else {
            cfg.global.net_namespace = Some(w.text.clone());
        }
    }
}

fn net_namespace_ipvs_handler(_ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    cfg.global.net_namespace_ipvs = Some(match node.args().first() {
        Some(w) => IpvsNamespace::Named(w.text.clone()),
        None => IpvsNamespace::Default,
    });
}

fn instance_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if let Some(w) = need(ctx, node, 0) {
        if cfg.global.instance_name.is_some() {
            ctx.error(w.span, "Duplicate instance definition - ignoring");
        } else {
            cfg.global.instance_name = Some(w.text.clone());
        }
    }
}

fn child_wait_time_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if let Some(v) = vals::uint(ctx, node, 0, 0, u64::from(u32::MAX), |s| {
        format!("Invalid child_wait_time {s}")
    }) {
        cfg.global.child_wait_time_us = v * 1_000_000;
    }
}

/// The `global_defs` keyword table.
fn global_table() -> Vec<Kw<GlobalDefs>> {
    let mut t: Vec<Kw<GlobalDefs>> = vec![
        // e-mail
        Kw::new("router_id", Tier::T1, |ctx, n, g| match n.args().first() {
            Some(w) => g.router_id = Some(w.text.clone()),
            None => ctx.error(n.span(), "routerid name missing - ignoring"),
        }),
        Kw::new("notification_email", Tier::T1, notification_email),
        Kw::new("notification_email_from", Tier::T1, |ctx, n, g| {
            if let Some(w) = need(ctx, n, 0) {
                g.notification_email_from = Some(w.text.clone());
            }
        }),
        Kw::new("smtp_server", Tier::T1, smtp_server),
        Kw::new("smtp_connect_timeout", Tier::T1, smtp_connect_timeout),
        Kw::accepted("smtp_helo_name", Tier::T3, |ctx, n, g| {
            if let Some(w) = need(ctx, n, 0) {
                g.smtp_helo_name = Some(w.text.clone());
            }
        }),
        Kw::new("smtp_alert", Tier::T2, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for global smtp_alert specified")
            }) {
                g.smtp_alert = Some(b);
            }
        }),
        Kw::accepted("smtp_alert_vrrp", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for global smtp_alert_vrrp specified")
            }) {
                g.smtp_alert_vrrp = Some(b);
            }
        }),
        Kw::accepted("smtp_alert_checker", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for global smtp_alert_checker specified")
            }) {
                g.smtp_alert_checker = Some(b);
            }
        }),
        Kw::accepted("no_email_faults", Tier::T3, |ctx, n, g| {
            g.no_email_faults = vals::bare_flag(ctx, n)
        }),
        Kw::accepted("no_checker_emails", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for no_checker_emails specified")
            }) {
                g.no_checker_emails = b;
            }
        }),
        Kw::accepted("checker_log_all_failures", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for checker_log_all_failures specified")
            }) {
                g.checker_log_all_failures = b;
            }
        }),
        // scripts
        Kw::new("script_user", Tier::T1, script_user),
        Kw::new("enable_script_security", Tier::T1, |ctx, n, g| {
            g.enable_script_security = vals::bare_flag(ctx, n)
        }),
        Kw::accepted("startup_script", Tier::T3, |ctx, n, g| {
            g.startup_script = scripts::read_script(ctx, n, 0, true)
        }),
        Kw::accepted("shutdown_script", Tier::T3, |ctx, n, g| {
            g.shutdown_script = scripts::read_script(ctx, n, 0, true)
        }),
        Kw::accepted("startup_script_timeout", Tier::T3, |ctx, n, g| {
            if let Some(v) = vals::uint(ctx, n, 0, 1, 1000, |s| {
                format!("startup_script_timeout '{s}' must be in [1, 1000] - ignoring")
            }) {
                g.startup_script_timeout_us = v * 1_000_000;
            }
        }),
        Kw::accepted("shutdown_script_timeout", Tier::T3, |ctx, n, g| {
            if let Some(v) = vals::uint(ctx, n, 0, 1, 1000, |s| {
                format!("shutdown_script_timeout '{s}' must be in [1, 1000] - ignoring")
            }) {
                g.shutdown_script_timeout_us = v * 1_000_000;
            }
        }),
        Kw::accepted("use_symlink_paths", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for use_symlink_paths specified")
            }) {
                g.use_symlink_paths = b;
            }
        }),
        Kw::accepted("set_supplementary_groups", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for set_supplementary_groups specified")
            }) {
                g.set_supplementary_groups = b;
            }
        }),
        // scheduling
        Kw::new("max_auto_priority", Tier::T2, |ctx, n, g| {
            if n.args().is_empty() {
                g.max_auto_priority = Some(99);
            } else if let Some(v) = vals::int(ctx, n, 0, -1, 99, |s| {
                format!("max_auto_priority '{s}' must be in [-1, 99] - ignoring")
            }) {
                g.max_auto_priority = (v > 0).then_some(v as i32);
            }
        }),
        Kw::accepted("min_auto_priority_delay", Tier::T3, |ctx, n, g| {
            if let Some(v) = vals::uint(ctx, n, 0, 1, 10_000_000, |s| {
                format!("min_auto_priority_delay '{s}' must be in [1, 10000000] - ignoring")
            }) {
                g.min_auto_priority_delay_us = v;
            }
        }),
        // interfaces
        Kw::new("dynamic_interfaces", Tier::T2, |ctx, n, g| {
            g.dynamic_interfaces = true;
            match n.args().first() {
                None => {}
                Some(w) if w.text == "allow_if_changes" => g.allow_if_changes = true,
                Some(w) => ctx.error(
                    w.span,
                    format!("Unknown dynamic_interfaces option '{}'", w.text),
                ),
            }
        }),
        Kw::new("default_interface", Tier::T3, |ctx, n, g| {
            if let Some(w) = need(ctx, n, 0) {
                g.default_interface = w.text.clone();
            }
        }),
        Kw::accepted("disable_local_igmp", Tier::T3, |ctx, n, g| {
            g.disable_local_igmp = vals::bare_flag(ctx, n)
        }),
        // VRRP defaults
        Kw::new("vrrp_version", Tier::T2, |ctx, n, g| {
            if let Some(v) = vals::uint(ctx, n, 0, 2, 3, |_| {
                "VRRP Error: Version must be either 2 or 3".to_string()
            }) {
                g.vrrp.version = v as u8;
            }
        }),
        Kw::new("vrrp_mcast_group4", Tier::T3, mcast_group4),
        Kw::new("vrrp_mcast_group6", Tier::T3, mcast_group6),
        Kw::new("vrrp_garp_master_delay", Tier::T2, |ctx, n, g| {
            if let Some(v) = vals::uint(ctx, n, 0, 0, 4294, |s| {
                format!("vrrp_garp_master_delay '{s}' invalid - ignoring")
            }) {
                g.vrrp.garp_master_delay_us = v * 1_000_000;
            }
        }),
        Kw::new("vrrp_garp_master_repeat", Tier::T2, |ctx, n, g| {
            g.vrrp.garp_master_repeat = repeat(ctx, n, "vrrp_garp_master_repeat");
        }),
        Kw::new("vrrp_garp_master_refresh", Tier::T2, |ctx, n, g| {
            if let Some(v) = vals::uint(ctx, n, 0, 0, 4294, |s| {
                format!("vrrp_garp_master_refresh '{s}' invalid - ignoring")
            }) {
                g.vrrp.garp_master_refresh_us = v * 1_000_000;
            }
        }),
        Kw::new("vrrp_garp_master_refresh_repeat", Tier::T3, |ctx, n, g| {
            g.vrrp.garp_master_refresh_repeat = repeat(ctx, n, "vrrp_garp_master_refresh_repeat");
        }),
        Kw::new("vrrp_garp_lower_prio_delay", Tier::T3, |ctx, n, g| {
            if let Some(v) = vals::uint(ctx, n, 0, 0, 4294, |s| {
                format!("vrrp_garp_lower_prio_delay '{s}' invalid - ignoring")
            }) {
                g.vrrp.garp_lower_prio_delay_us = Some(v * 1_000_000);
            }
        }),
        Kw::new("vrrp_garp_lower_prio_repeat", Tier::T3, |ctx, n, g| {
            if let Some(v) = vals::uint(ctx, n, 0, 0, u64::from(u32::MAX), |s| {
                format!("Invalid vrrp_garp_lower_prio_repeat '{s}'")
            }) {
                g.vrrp.garp_lower_prio_repeat = Some(v as u32);
            }
        }),
        Kw::new("vrrp_garp_interval", Tier::T1, |ctx, n, g| {
            if let Some(v) = vals::timer(ctx, n, 0, 0, 1_000_000_000, |s| {
                format!("vrrp_garp_interval '{s}' is invalid")
            }) {
                g.vrrp.garp_interval_us = v;
            }
        }),
        Kw::new("vrrp_gna_interval", Tier::T1, |ctx, n, g| {
            if let Some(v) = vals::timer(ctx, n, 0, 0, 1_000_000_000, |s| {
                format!("vrrp_gna_interval '{s}' is invalid")
            }) {
                g.vrrp.gna_interval_us = v;
            }
        }),
        Kw::new("vrrp_min_garp", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for vrrp_min_garp specified")
            }) {
                g.vrrp.min_garp = b;
            }
        }),
        Kw::accepted("vrrp_garp_extra_if", Tier::T3, |ctx, n, g| {
            g.vrrp.garp_extra_if = garp_extra_if(ctx, n);
        }),
        Kw::accepted("vrrp_vmac_garp_intvl", Tier::T3, |ctx, n, g| {
            g.vrrp.garp_extra_if = garp_extra_if(ctx, n);
        }),
        Kw::new("vrrp_down_timer_adverts", Tier::T3, |ctx, n, g| {
            if let Some(v) = vals::uint(ctx, n, 0, 1, 100, |s| {
                format!("Invalid vrrp_down_timer_adverts [1:100] '{s}'")
            }) {
                g.vrrp.down_timer_adverts = v as u32;
            }
        }),
        Kw::new("vrrp_lower_prio_no_advert", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for global vrrp_lower_prio_no_advert specified")
            }) {
                g.vrrp.lower_prio_no_advert = Some(b);
            }
        }),
        Kw::new("vrrp_higher_prio_send_advert", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for global vrrp_higher_prio_send_advert specified")
            }) {
                g.vrrp.higher_prio_send_advert = Some(b);
            }
        }),
        Kw::new("vrrp_owner_ignore_adverts", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for global vrrp_owner_ignore_adverts specified")
            }) {
                g.vrrp.owner_ignore_adverts = Some(b);
            }
        }),
        Kw::new("vrrp_check_unicast_src", Tier::T2, |ctx, n, g| {
            g.vrrp.check_unicast_src = vals::bare_flag(ctx, n)
        }),
        Kw::new("vrrp_skip_check_adv_addr", Tier::T1, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for global vrrp_skip_check_adv_addr specified")
            }) {
                g.vrrp.skip_check_adv_addr = b;
            }
        }),
        Kw::new("vrrp_strict", Tier::T1, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for global vrrp_strict specified")
            }) {
                g.vrrp.strict = b;
            }
        }),
        Kw::new("vrrp_startup_delay", Tier::T2, |ctx, n, g| {
            if let Some(v) = vals::timer(ctx, n, 0, 0, 1_000_000_000, |s| {
                format!("vrrp_startup_delay '{s}' is invalid")
            }) {
                g.vrrp.startup_delay_us = v;
            }
        }),
        Kw::accepted("vrrp_delay_after_boot", Tier::T3, |ctx, n, g| {
            if let Some(v) = vals::timer(ctx, n, 0, 0, 1_000_000_000, |s| {
                format!("vrrp_delay_after_boot '{s}' is invalid")
            }) {
                g.vrrp.delay_after_boot_us = v;
            }
        }),
        Kw::accepted("log_unknown_vrids", Tier::T3, |ctx, n, g| {
            g.vrrp.log_unknown_vrids = vals::bare_flag(ctx, n)
        }),
        Kw::new("v3_checksum_as_v2", Tier::T3, |ctx, n, g| {
            g.vrrp.v3_checksum_as_v2 = vals::bare_flag(ctx, n)
        }),
        Kw::accepted("vrrp_notify_priority_changes", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for vrrp_notify_priority_changes specified")
            }) {
                g.vrrp.notify_priority_changes = b;
            }
        }),
        Kw::accepted("vmac_prefix", Tier::T3, |ctx, n, g| {
            if let Some(w) = need(ctx, n, 0) {
                g.vrrp.vmac_prefix = Some(w.text.clone());
            }
        }),
        Kw::accepted("vmac_addr_prefix", Tier::T3, |ctx, n, g| {
            if let Some(w) = need(ctx, n, 0) {
                g.vrrp.vmac_addr_prefix = Some(w.text.clone());
            }
        }),
        // IPVS
        Kw::new("lvs_sync_daemon", Tier::T2, lvs_sync_daemon),
        Kw::new("lvs_timeouts", Tier::T3, lvs_timeouts),
        Kw::new("lvs_flush", Tier::T2, |ctx, n, g| {
            g.lvs_flush = vals::bare_flag(ctx, n)
        }),
        Kw::new("lvs_flush_on_stop", Tier::T3, lvs_flush_on_stop),
        Kw::new("lvs_flush_onstop", Tier::T3, lvs_flush_on_stop),
        // FIFOs
        Kw::new("notify_fifo", Tier::T2, |ctx, n, g| {
            fifo(ctx, n, &mut g.notify_fifo)
        }),
        Kw::new("vrrp_notify_fifo", Tier::T2, |ctx, n, g| {
            fifo(ctx, n, &mut g.vrrp_notify_fifo)
        }),
        Kw::new("lvs_notify_fifo", Tier::T3, |ctx, n, g| {
            fifo(ctx, n, &mut g.lvs_notify_fifo)
        }),
        Kw::accepted("notify_fifo_script", Tier::T3, |ctx, n, g| {
            fifo_script(ctx, n, &mut g.notify_fifo)
        }),
        Kw::accepted("vrrp_notify_fifo_script", Tier::T3, |ctx, n, g| {
            fifo_script(ctx, n, &mut g.vrrp_notify_fifo)
        }),
        Kw::new("lvs_notify_fifo_script", Tier::T3, |ctx, n, g| {
            fifo_script(ctx, n, &mut g.lvs_notify_fifo)
        }),
        Kw::accepted("fifo_write_vrrp_states_on_reload", Tier::T3, |ctx, n, g| {
            g.fifo_write_vrrp_states_on_reload = vals::bare_flag(ctx, n)
        }),
        Kw::new("rs_init_notifies", Tier::T3, |ctx, n, g| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!("Invalid value '{s}' for rs_init_notifies specified")
            }) {
                g.rs_init_notifies = b;
            }
        }),
    ];
    t.extend(T3_SIMPLE.iter().map(|(name, _)| {
        if IMPLEMENTED_SIMPLE.contains(name) {
            Kw::new(name, Tier::T3, t3_simple)
        } else {
            Kw::accepted(name, Tier::T3, t3_simple)
        }
    }));
    t
}

/// What a simple T3 keyword's arguments must look like.
#[derive(Clone, Copy)]
enum Check {
    /// No argument.
    Bare,
    /// Optional BOOL.
    Bool,
    /// One word.
    Word,
    /// Any number of words (at least one).
    Words,
    /// Optional words.
    AnyWords,
    /// One unsigned number in the range.
    Uint(u64, u64),
    /// One signed number in the range.
    Int(i64, i64),
    /// One TIMER (µs bounds).
    Timer(u64, u64),
    /// A process or comm name of at most 15 characters.
    ProcName,
}

/// The simple T3 keywords the daemon acts on (`daemon::tuning`): the process's scheduling
/// and memory settings for its VRRP and BFD work (one process does both).
pub const IMPLEMENTED_SIMPLE: &[&str] = &[
    "vrrp_priority",
    "bfd_priority",
    "vrrp_no_swap",
    "bfd_no_swap",
    "vrrp_rt_priority",
    "bfd_rt_priority",
    "cpu_dma_latency",
];

/// Simple T3 `global_defs` keywords: validated and kept in [`GlobalDefs::accepted`].
const T3_SIMPLE: &[(&str, Check)] = &[
    ("process_names", Check::Bare),
    ("process_name", Check::ProcName),
    ("vrrp_process_name", Check::ProcName),
    ("checker_process_name", Check::ProcName),
    ("lvs_process_name", Check::ProcName),
    ("bfd_process_name", Check::ProcName),
    ("vrrp_priority", Check::Int(-20, 19)),
    ("checker_priority", Check::Int(-20, 19)),
    ("bfd_priority", Check::Int(-20, 19)),
    ("vrrp_no_swap", Check::Bare),
    ("checker_no_swap", Check::Bare),
    ("bfd_no_swap", Check::Bare),
    ("vrrp_rt_priority", Check::Uint(1, 99)),
    ("checker_rt_priority", Check::Uint(1, 99)),
    ("bfd_rt_priority", Check::Uint(1, 99)),
    // Our extension (keepalived has none): hold a PM QoS CPU wake-up latency request of this
    // many µs while running (`daemon::tuning`).
    ("cpu_dma_latency", Check::Uint(0, 2_000_000_000)),
    ("vrrp_cpu_affinity", Check::Words),
    ("checker_cpu_affinity", Check::Words),
    ("bfd_cpu_affinity", Check::Words),
    ("vrrp_rlimit_rttime", Check::Uint(2, u32::MAX as u64)),
    ("checker_rlimit_rttime", Check::Uint(2, u32::MAX as u64)),
    ("bfd_rlimit_rttime", Check::Uint(2, u32::MAX as u64)),
    ("vrrp_rlimit_rtime", Check::Uint(2, u32::MAX as u64)),
    ("checker_rlimit_rtime", Check::Uint(2, u32::MAX as u64)),
    ("bfd_rlimit_rtime", Check::Uint(2, u32::MAX as u64)),
    ("vrrp_iptables", Check::AnyWords),
    ("vrrp_ipsets", Check::AnyWords),
    ("nftables", Check::AnyWords),
    (
        "nftables_priority",
        Check::Int(i32::MIN as i64, i32::MAX as i64),
    ),
    ("nftables_ifindex", Check::Bare),
    ("nftables_counters", Check::Bare),
    ("nftables_ipvs", Check::AnyWords),
    (
        "nftables_ipvs_priority",
        Check::Int(i32::MIN as i64, i32::MAX as i64),
    ),
    (
        "nftables_ipvs_start_fwmark",
        Check::Uint(1, u32::MAX as u64),
    ),
    ("snmp_socket", Check::Word),
    ("enable_traps", Check::Bare),
    ("enable_snmp_vrrp", Check::Bare),
    ("enable_snmp_keepalived", Check::Bare),
    ("enable_snmp_checker", Check::Bare),
    ("enable_snmp_rfc", Check::Bare),
    ("enable_snmp_rfcv2", Check::Bare),
    ("enable_snmp_rfcv3", Check::Bare),
    (
        "snmp_vs_stats_update_interval",
        Check::Timer(1_000, 30_000_000),
    ),
    (
        "snmp_rs_stats_update_interval",
        Check::Timer(1_000, 30_000_000),
    ),
    ("enable_dbus", Check::Bare),
    ("dbus_service_name", Check::Word),
    ("dbus_no_interface_name", Check::Word),
    ("vrrp_netlink_cmd_rcv_bufs", Check::Uint(0, u32::MAX as u64)),
    ("vrrp_netlink_cmd_rcv_bufs_force", Check::Bool),
    (
        "vrrp_netlink_monitor_rcv_bufs",
        Check::Uint(0, u32::MAX as u64),
    ),
    ("vrrp_netlink_monitor_rcv_bufs_force", Check::Bool),
    ("lvs_netlink_cmd_rcv_bufs", Check::Uint(0, u32::MAX as u64)),
    ("lvs_netlink_cmd_rcv_bufs_force", Check::Bool),
    (
        "lvs_netlink_monitor_rcv_bufs",
        Check::Uint(0, u32::MAX as u64),
    ),
    ("lvs_netlink_monitor_rcv_bufs_force", Check::Bool),
    ("process_monitor_rcv_bufs", Check::Uint(0, u32::MAX as u64)),
    ("process_monitor_rcv_bufs_force", Check::Bool),
    ("vrrp_rx_bufs_policy", Check::Word),
    ("vrrp_rx_bufs_multiplier", Check::Uint(1, u32::MAX as u64)),
    ("umask", Check::Word),
    ("random_seed", Check::Uint(0, u32::MAX as u64)),
    ("reload_check_config", Check::AnyWords),
    ("reload_time_file", Check::Word),
    ("reload_repeat", Check::Bare),
    ("reload_file", Check::AnyWords),
    ("include_check", Check::AnyWords),
    ("config_save_dir", Check::Word),
    ("tmp_config_directory", Check::Word),
    ("data_use_instance", Check::Bool),
    ("state_dump_file", Check::Word),
    ("stats_dump_file", Check::Word),
    ("json_dump_file", Check::Word),
    ("json_version", Check::Uint(1, 2)),
    ("iproute_usr_dir", Check::Word),
    ("iproute_etc_dir", Check::Word),
];

fn t3_simple(ctx: &mut Ctx<'_>, node: &Node, g: &mut GlobalDefs) {
    let kw = node.keyword();
    let Some((_, check)) = T3_SIMPLE.iter().find(|(n, _)| *n == kw) else {
        return;
    };
    let ok = match *check {
        Check::Bare => {
            vals::bare_flag(ctx, node);
            true
        }
        Check::Bool => vals::flag(ctx, node, |s| {
            format!("Invalid value '{s}' for {kw} specified")
        })
        .is_some(),
        Check::Word | Check::Words | Check::ProcName => match need(ctx, node, 0) {
            Some(w) if matches!(check, Check::ProcName) && w.text.chars().count() > 15 => {
                ctx.error(
                    w.span,
                    format!("{kw} '{}' is longer than 15 characters - ignoring", w.text),
                );
                false
            }
            Some(_) => true,
            None => false,
        },
        Check::AnyWords => true,
        Check::Uint(min, max) => vals::uint(ctx, node, 0, min, max, |s| {
            format!("{kw} '{s}' must be in [{min}, {max}] - ignoring")
        })
        .is_some(),
        Check::Int(min, max) => {
            let msg = match kw {
                "vrrp_priority" => "Invalid vrrp process priority specified".to_string(),
                "checker_priority" => "Invalid checker process priority specified".to_string(),
                "bfd_priority" => "Invalid bfd process priority specified".to_string(),
                _ => format!("{kw} must be in [{min}, {max}] - ignoring"),
            };
            vals::int(ctx, node, 0, min, max, |_| msg).is_some()
        }
        Check::Timer(min, max) => {
            vals::timer(ctx, node, 0, min, max, |s| format!("{kw} '{s}' is invalid")).is_some()
        }
    };
    if ok {
        g.accepted.insert(
            kw.to_string(),
            node.args().iter().map(|w| w.text.clone()).collect(),
        );
    }
}

fn notification_email(ctx: &mut Ctx<'_>, node: &Node, g: &mut GlobalDefs) {
    if !require_block(ctx, node) {
        return;
    }
    for item in node.children() {
        // An item is one address; quoted "Name <a@b>" is one word.
        g.notification_email
            .extend(item.words.iter().map(|w| w.text.clone()));
    }
}

fn smtp_server(ctx: &mut Ctx<'_>, node: &Node, g: &mut GlobalDefs) {
    let Some(host) = need(ctx, node, 0) else {
        return;
    };
    let mut port = 25;
    if let Some(p) = node.args().get(1) {
        match values::parse_uint_range(&p.text, 1, 65535) {
            Ok(v) => port = v as u16,
            Err(_) => {
                ctx.error(
                    p.span,
                    format!("Invalid SMTP server port '{}' - ignoring", p.text),
                );
                return;
            }
        }
    }
    g.smtp_server = Some(SmtpServer {
        host: host.text.clone(),
        port,
    });
}

fn smtp_connect_timeout(ctx: &mut Ctx<'_>, node: &Node, g: &mut GlobalDefs) {
    let Some(v) = vals::uint(ctx, node, 0, 0, 4294, |s| {
        format!("smtp_connect_timeout '{s}' must be in [0, 4294] - ignoring")
    }) else {
        return;
    };
    if v == 0 {
        // keepalived's message, spelling included.
        ctx.warning(
            node.args()[0].span,
            "smtp_conect_timeout must be greater than 0, setting to 1",
        );
        g.smtp_connect_timeout_us = 1_000_000;
    } else {
        g.smtp_connect_timeout_us = v * 1_000_000;
    }
}

fn script_user(ctx: &mut Ctx<'_>, node: &Node, g: &mut GlobalDefs) {
    let Some(u) = need(ctx, node, 0) else {
        return;
    };
    let group = node.args().get(1).map(|w| w.text.clone());
    match scripts::resolve_user(ctx, &u.text, group.as_deref()) {
        Some((uid, gid)) => {
            g.script_user = Some(ScriptUser {
                user: u.text.clone(),
                supplementary_groups: group.as_deref().is_some_and(|g| g.starts_with(':')),
                group: group
                    .map(|g| g.trim_start_matches(':').to_string())
                    .filter(|g| !g.is_empty()),
                uid,
                gid,
                span: u.span,
            })
        }
        None => ctx.error(u.span, "Error setting global script uid/gid"),
    }
}

fn mcast_group4(ctx: &mut Ctx<'_>, node: &Node, g: &mut GlobalDefs) {
    let Some(w) = need(ctx, node, 0) else {
        return;
    };
    match vals::ip(&w.text) {
        Some(IpAddr::V4(a)) if a.is_multicast() => g.vrrp.mcast_group4 = a,
        _ => ctx.error(
            w.span,
            format!("vrrp_mcast_group4 [{}] is not multicast. Skipping", w.text),
        ),
    }
}

fn mcast_group6(ctx: &mut Ctx<'_>, node: &Node, g: &mut GlobalDefs) {
    let Some(w) = need(ctx, node, 0) else {
        return;
    };
    match vals::ip(&w.text) {
        Some(IpAddr::V6(a)) if a.is_multicast() => {
            // ff02::/16-style: link-local scope is the low nibble of the second octet.
            if a.octets()[1] & 0x0f != 2 {
                ctx.warning(
                    w.span,
                    format!(
                        "vrrp_mcast_group6 [{}] should be link-local multicast.",
                        w.text
                    ),
                );
            }
            g.vrrp.mcast_group6 = a;
        }
        _ => ctx.error(
            w.span,
            format!("vrrp_mcast_group6 [{}] is not multicast. Skipping", w.text),
        ),
    }
}

/// A GARP repeat count: 0 becomes 1 with keepalived's warning.
fn repeat(ctx: &mut Ctx<'_>, node: &Node, kw: &str) -> u32 {
    match vals::uint(ctx, node, 0, 0, u64::from(u32::MAX), |s| {
        format!("Invalid {kw} '{s}'")
    }) {
        Some(0) => {
            ctx.warning(
                node.args()[0].span,
                format!("{kw} must be greater than 0, setting to 1"),
            );
            1
        }
        Some(v) => v as u32,
        None => match kw {
            "vrrp_garp_master_repeat" => 5,
            _ => 1,
        },
    }
}

/// `[all] SECS` of `vrrp_garp_extra_if` / `garp_extra_if`.
pub(crate) fn garp_extra_if(ctx: &mut Ctx<'_>, node: &Node) -> Option<GarpExtraIf> {
    let args = node.args();
    let (all, i) = match args.first() {
        Some(w) if w.text == "all" => (true, 1),
        _ => (false, 0),
    };
    let secs = vals::uint(ctx, node, i, 0, 86400, |s| {
        format!("Invalid {} '{s}' - ignoring", node.keyword())
    })?;
    (secs > 0).then_some(GarpExtraIf {
        interval_us: secs * 1_000_000,
        all,
    })
}

fn lvs_sync_daemon(ctx: &mut Ctx<'_>, node: &Node, g: &mut GlobalDefs) {
    if let Some(sd) = read_lvs_sync_daemon(ctx, node) {
        g.lvs_sync_daemon = Some(sd);
    }
}

fn read_lvs_sync_daemon(ctx: &mut Ctx<'_>, node: &Node) -> Option<LvsSyncDaemon> {
    let ifname = need(ctx, node, 0)?;
    let mut sd = LvsSyncDaemon {
        interface: ifname.text.clone(),
        instance: None,
        sync_id: None,
        maxlen: None,
        port: 8848,
        ttl: None,
        group: None,
        span: node.span(),
    };
    let args = node.args();
    let mut i = 1;
    while i < args.len() {
        let w = &args[i];
        let val = |ctx: &mut Ctx<'_>| vals::next_word(ctx, node, args, i).cloned();
        match w.text.as_str() {
            "inst" => {
                let v = val(ctx)?;
                sd.instance = Some(v.text);
                i += 2;
            }
            "id" => {
                let v = val(ctx)?;
                let id = vals::uint_w(ctx, &v, 0, 255, |s| {
                    format!("Invalid syncid ({s}) - defaulting to vrid")
                })?;
                sd.sync_id = Some(id as u8);
                i += 2;
            }
            "maxlen" => {
                let v = val(ctx)?;
                sd.maxlen = Some(vals::uint_w(ctx, &v, 1, 65535 - 20 - 8, |s| {
                    format!("Invalid lvs_sync_daemon maxlen ({s}) - ignoring")
                })? as u16);
                i += 2;
            }
            "port" => {
                let v = val(ctx)?;
                sd.port = vals::uint_w(ctx, &v, 1, 65535, |s| {
                    format!("Invalid lvs_sync_daemon port ({s}) - ignoring")
                })? as u16;
                i += 2;
            }
            "ttl" => {
                let v = val(ctx)?;
                sd.ttl = Some(vals::uint_w(ctx, &v, 1, 255, |s| {
                    format!("Invalid lvs_sync_daemon ttl ({s}) - ignoring")
                })? as u8);
                i += 2;
            }
            "group" => {
                let v = val(ctx)?;
                match vals::ip(&v.text).filter(|a| a.is_multicast()) {
                    Some(a) => sd.group = Some(a),
                    None => {
                        ctx.error(
                            v.span,
                            format!("Invalid lvs_sync_daemon group ({}) - ignoring", v.text),
                        );
                        return None;
                    }
                }
                i += 2;
            }
            _ if i == 1 => {
                // The instance name without `inst` (the old syntax).
                sd.instance = Some(w.text.clone());
                i += 1;
            }
            _ => {
                ctx.error(
                    w.span,
                    format!("Unknown option {} specified for lvs_sync_daemon", w.text),
                );
                i += 1;
            }
        }
    }
    Some(sd)
}

fn lvs_timeouts(ctx: &mut Ctx<'_>, node: &Node, g: &mut GlobalDefs) {
    let args = node.args();
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        let Some(v) = vals::next_word(ctx, node, args, i) else {
            return;
        };
        let secs = vals::uint_w(ctx, v, 0, 86400 * 31, |s| {
            format!("Invalid lvs_timeout {} ({s}) - ignoring", w.text)
        })
        .map(|s| s as u32);
        match w.text.as_str() {
            "tcp" => g.lvs_timeouts.tcp_s = secs,
            "tcpfin" => g.lvs_timeouts.tcp_fin_s = secs,
            "udp" => g.lvs_timeouts.udp_s = secs,
            _ => ctx.error(
                w.span,
                format!("Unknown option {} specified for lvs_timeouts", w.text),
            ),
        }
        i += 2;
    }
}

fn lvs_flush_on_stop(ctx: &mut Ctx<'_>, node: &Node, g: &mut GlobalDefs) {
    g.lvs_flush_on_stop = match node.args().first() {
        None => Some(LvsFlushOnStop::All),
        Some(w) if w.text == "VS" => Some(LvsFlushOnStop::VirtualServers),
        Some(w) => {
            ctx.error(
                w.span,
                format!("Invalid lvs_flush_on_stop option {}", w.text),
            );
            return;
        }
    };
}

fn fifo(ctx: &mut Ctx<'_>, node: &Node, slot: &mut Option<NotifyFifo>) {
    let Some(path) = need(ctx, node, 0) else {
        return;
    };
    let script = slot.take().and_then(|f| f.script);
    *slot = Some(NotifyFifo {
        path: path.text.clone(),
        user: node.args().get(1).map(|w| w.text.clone()),
        group: node.args().get(2).map(|w| w.text.clone()),
        script,
        span: path.span,
    });
}

fn fifo_script(ctx: &mut Ctx<'_>, node: &Node, slot: &mut Option<NotifyFifo>) {
    let Some(s) = scripts::read_script(ctx, node, 0, true) else {
        return;
    };
    match slot {
        Some(f) => f.script = Some(s),
        None => {
            // keepalived keeps the script and only uses it if the FIFO is also configured;
            // remember it on a FIFO with no path until one is.
            *slot = Some(NotifyFifo {
                path: String::new(),
                user: None,
                group: None,
                script: Some(s),
                span: node.span(),
            })
        }
    }
}
