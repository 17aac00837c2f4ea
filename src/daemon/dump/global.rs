//! `------< Global definitions >------`: keepalived 2.2.7's `dump_global_data()`
//! (core/global_data.c), for the VRRP process's keepalived.data and the parent's
//! keepalived_parent.data. Settings keepalived-rs does not implement (SNMP, DBus,
//! process priorities, netlink buffers, ...) print their configured or default values as
//! keepalived would.

use super::cfmt::{c_g, cmd_str};
use super::{DumpCtx, Prog};
use crate::config::model::global::{ExecScript, IpvsNamespace, LvsFlushOnStop, NotifyFifo};
use std::fmt::Write as _;

/// keepalived's `PARAMETER_UNSET` printed with `%u`.
const PARAMETER_UNSET: u64 = u32::MAX as u64;
/// `RT_RLIMIT_DEFAULT`.
const RT_RLIMIT_DEFAULT: u64 = 10_000;

macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

/// The configured words of a T3 keyword kept in `GlobalDefs::accepted`.
fn acc<'a>(c: &'a DumpCtx<'_>, kw: &str) -> Option<&'a [String]> {
    c.model.global.accepted.get(kw).map(Vec::as_slice)
}

fn acc_num(c: &DumpCtx<'_>, kw: &str) -> Option<i64> {
    c.model.global.accepted_num(kw)
}

/// A bare flag or optional BOOL keyword: present and not false.
fn acc_flag(c: &DumpCtx<'_>, kw: &str) -> bool {
    match acc(c, kw) {
        None => false,
        Some(a) => !matches!(a.first().map(String::as_str), Some("false" | "off" | "no")),
    }
}

fn tf(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn on_off(v: Option<bool>) -> &'static str {
    match v {
        None => "unset",
        Some(true) => "on",
        Some(false) => "off",
    }
}

/// `cmd_str()` of a script, with the executable's canonical path as keepalived resolves it
/// (unless `use_symlink_paths`).
pub fn script_str(c: &DumpCtx<'_>, s: &ExecScript) -> String {
    let mut argv = s.argv.clone();
    if let Some(first) = argv.first_mut() {
        if !c.model.global.use_symlink_paths {
            if let Some(f) = c.host.script_file(first) {
                *first = f.path.to_string_lossy().into_owned();
            }
        }
    }
    cmd_str(&argv)
}

/// uid:gid of a notify FIFO's owner (root when none is configured or known).
fn fifo_ids(c: &DumpCtx<'_>, f: &NotifyFifo) -> (u32, u32) {
    let (uid, mut gid) = f
        .user
        .as_deref()
        .and_then(|u| c.host.user(u))
        .unwrap_or((0, 0));
    if let Some(g) = f.group.as_deref().and_then(|g| c.host.group(g)) {
        gid = g;
    }
    (uid, gid)
}

/// The user scripts run as by default: `script_user`, else `keepalived_script` if it
/// exists, else root.
pub fn default_script_ids(c: &DumpCtx<'_>) -> (u32, u32) {
    if let Some(u) = &c.model.global.script_user {
        return (u.uid, u.gid);
    }
    c.host.user("keepalived_script").unwrap_or((0, 0))
}

/// The name keepalived uses for `router_id`, the SMTP HELO and the e-mail sender when
/// they are not configured.
fn local_name<'a>(c: &'a DumpCtx<'_>) -> &'a str {
    c.sys.local_name.as_deref().unwrap_or("[unknown]")
}

/// `dump_global_data()`.
pub fn global_data(c: &DumpCtx<'_>, prog: Prog) -> String {
    let g = &c.model.global;
    let v = &g.vrrp;
    let mut o = String::new();
    w!(o, "------< Global definitions >------");
    if let Some(d) = acc(c, "config_save_dir").and_then(|a| a.first()) {
        w!(o, " Config save dir = {d}");
    }
    w!(
        o,
        " Network namespace = {}",
        g.net_namespace.as_deref().unwrap_or("(default)")
    );
    w!(
        o,
        " Network namespace ipvs = {}",
        match &g.net_namespace_ipvs {
            None => "(main namespace)",
            Some(IpvsNamespace::Default) => "(default)",
            Some(IpvsNamespace::Named(n)) => n.as_str(),
        }
    );
    if let Some(i) = &g.instance_name {
        w!(o, " Instance name = {i}");
    }
    let names = acc(c, "process_names").is_some();
    let pname = |kw: &str, dflt: &str| -> Option<String> {
        acc(c, kw)
            .and_then(|a| a.first().cloned())
            .or_else(|| names.then(|| dflt.to_string()))
    };
    if let Some(n) = pname("process_name", "keepalived") {
        w!(o, " Parent process name = {n}");
    }
    if let Some(n) = pname("vrrp_process_name", "keepalived_vrrp") {
        w!(o, " VRRP process name = {n}");
    }
    if let Some(n) = pname("lvs_process_name", "keepalived_ipvs")
        .or_else(|| acc(c, "checker_process_name").and_then(|a| a.first().cloned()))
    {
        w!(o, " LVS process name = {n}");
    }
    if let Some(n) = pname("bfd_process_name", "keepalived_bfd") {
        w!(o, " BFD process name = {n}");
    }
    w!(
        o,
        " Router ID = {}",
        g.router_id.as_deref().unwrap_or(local_name(c))
    );
    let known_name = c.sys.local_name.is_some();
    if let Some(s) = &g.smtp_server {
        w!(o, " Smtp server = {}", s.host);
        w!(o, " Smtp server port = {}", s.port);
    }
    let helo = g
        .smtp_helo_name
        .clone()
        .or_else(|| (g.smtp_server.is_some() && known_name).then(|| local_name(c).to_string()));
    if let Some(h) = helo {
        w!(o, " Smtp HELO name = {h}");
    }
    if g.smtp_server.is_some()
        || g.smtp_connect_timeout_us
            != crate::config::model::global::DEFAULT_SMTP_CONNECT_TIMEOUT_US
    {
        w!(
            o,
            " Smtp server connection timeout = {}",
            g.smtp_connect_timeout_us / 1_000_000
        );
    }
    let from = g.notification_email_from.clone().or_else(|| {
        (g.smtp_server.is_some() && known_name)
            .then(|| format!("{}@{}", c.sys.user_name, local_name(c)))
    });
    if let Some(f) = from {
        w!(o, " Email notification from = {f}");
        w!(o, " Email notification to:");
        for e in &g.notification_email {
            w!(o, "   {e}");
        }
    }
    w!(o, " Default smtp_alert = {}", on_off(g.smtp_alert));
    w!(
        o,
        " Default smtp_alert_vrrp = {}",
        on_off(g.smtp_alert_vrrp)
    );
    w!(
        o,
        " Default smtp_alert_checker = {}",
        on_off(g.smtp_alert_checker)
    );
    w!(
        o,
        " Checkers log all failures = {}",
        tf(g.checker_log_all_failures)
    );
    match acc(c, "reload_check_config") {
        Some(a) => w!(
            o,
            " Test config before reload, log to {}",
            a.first().map(String::as_str).unwrap_or("/dev/null")
        ),
        None => w!(o, " No test config before reload"),
    }
    if let Some(f) = acc(c, "reload_time_file").and_then(|a| a.first()) {
        w!(
            o,
            " Reload time file = {f}{}",
            if acc(c, "reload_repeat").is_some() {
                " (repeat)"
            } else {
                ""
            }
        );
        w!(o, " No reload scheduled");
    }
    if let Some(a) = acc(c, "reload_file") {
        let f = match a.first() {
            Some(f) => f.clone(),
            None => match (&g.instance_name, g.use_pid_dir) {
                (Some(i), _) => format!("/run/keepalived/keepalived_{i}.reload"),
                (None, true) => "/run/keepalived/keepalived.reload".to_string(),
                (None, false) => "/run/keepalived.reload".to_string(),
            },
        };
        w!(o, " Reload_file = {f}");
    }
    if let Some(d) = acc(c, "tmp_config_directory").and_then(|a| a.first()) {
        w!(o, " config save directory = {d}");
    }
    if acc_flag(c, "data_use_instance") {
        w!(o, " Use instance name in data dumps");
    }
    if let Some(s) = &g.startup_script {
        w!(
            o,
            " Startup script = {}, uid:gid {}:{}, timeout {}",
            script_str(c, s),
            s.uid,
            s.gid,
            g.startup_script_timeout_us / 1_000_000
        );
    }
    if let Some(s) = &g.shutdown_script {
        w!(
            o,
            " Shutdown script = {}, uid:gid {}:{} timeout {}",
            script_str(c, s),
            s.uid,
            s.gid,
            g.shutdown_script_timeout_us / 1_000_000
        );
    }
    w!(o, " Dynamic interfaces = {}", tf(g.dynamic_interfaces));
    if g.dynamic_interfaces {
        w!(o, " Allow interface changes = {}", tf(g.allow_if_changes));
    }
    if g.no_email_faults {
        w!(o, " Send emails for fault transitions = off");
    }
    if let Some(t) = g.lvs_timeouts.tcp_s {
        w!(o, " LVS TCP timeout = {t}");
    }
    if let Some(t) = g.lvs_timeouts.tcp_fin_s {
        w!(o, " LVS TCP FIN timeout = {t}");
    }
    if let Some(t) = g.lvs_timeouts.udp_s {
        // sic: keepalived labels the UDP timeout "TCP".
        w!(o, " LVS TCP timeout = {t}");
    }
    if prog == Prog::Vrrp {
        w!(o, " Default interface = {}", g.default_interface);
    }
    w!(
        o,
        " Disable local IGMP = {}",
        if g.disable_local_igmp { "yes" } else { "no" }
    );
    if let Some(s) = &g.lvs_sync_daemon {
        if let Some(i) = &s.instance {
            if prog == Prog::Vrrp && c.model.vrrp.instance(i).is_some() {
                w!(o, " LVS syncd vrrp instance = {i}");
            } else {
                w!(o, " LVS syncd vrrp name = {i}");
            }
        }
        w!(o, " LVS syncd interface = {}", s.interface);
        let syncid = s
            .sync_id
            .map(u64::from)
            .or_else(|| {
                s.instance
                    .as_deref()
                    .and_then(|i| c.model.vrrp.instance(i))
                    .map(|i| u64::from(i.vrid))
            })
            .unwrap_or(PARAMETER_UNSET);
        w!(o, " LVS syncd syncid = {syncid}");
        if let Some(m) = s.maxlen {
            w!(o, " LVS syncd maxlen = {m}");
        }
        if let Some(gr) = s.group {
            w!(o, " LVS mcast group {gr}");
        }
        if s.port != 0 {
            w!(o, " LVS syncd mcast port = {}", s.port);
        }
        if let Some(t) = s.ttl {
            w!(o, " LVS syncd mcast ttl = {t}");
        }
    }
    w!(o, " LVS flush = {}", tf(g.lvs_flush));
    w!(
        o,
        " LVS flush on stop = {}",
        match g.lvs_flush_on_stop {
            Some(LvsFlushOnStop::All) => "full",
            Some(LvsFlushOnStop::VirtualServers) => "VS",
            None => "disabled",
        }
    );
    for (label, f) in [
        ("Global", &g.notify_fifo),
        ("VRRP", &g.vrrp_notify_fifo),
        ("LVS", &g.lvs_notify_fifo),
    ] {
        let Some(f) = f else { continue };
        let (uid, gid) = fifo_ids(c, f);
        let l = if label == "Global" {
            "Global notify fifo".to_string()
        } else {
            format!("{label} notify fifo")
        };
        w!(o, " {l} = {}, uid:gid {uid}:{gid}", f.path);
        if let Some(s) = &f.script {
            w!(
                o,
                " {l} script = {}, uid:gid {}:{}",
                script_str(c, s),
                s.uid,
                s.gid
            );
        }
    }
    w!(
        o,
        " FIFO write vrrp states on reload = {}",
        tf(g.fifo_write_vrrp_states_on_reload)
    );
    w!(
        o,
        " VRRP notify priority changes = {}",
        tf(v.notify_priority_changes)
    );
    w!(o, " VRRP IPv4 mcast group = {}", v.mcast_group4);
    w!(o, " VRRP IPv6 mcast group = {}", v.mcast_group6);
    w!(
        o,
        " Gratuitous ARP delay = {}",
        v.garp_master_delay_us / 1_000_000
    );
    w!(o, " Gratuitous ARP repeat = {}", v.garp_master_repeat);
    w!(
        o,
        " Gratuitous ARP refresh timer = {}",
        v.garp_master_refresh_us / 1_000_000
    );
    w!(
        o,
        " Gratuitous ARP refresh repeat = {}",
        v.garp_master_refresh_repeat
    );
    // The VRRP process resolves the unset lower-priority values; the parent prints them raw.
    let (lp_delay, lp_rep) = match prog {
        Prog::Vrrp => (
            v.garp_lower_prio_delay_us.unwrap_or(v.garp_master_delay_us) / 1_000_000,
            u64::from(v.garp_lower_prio_repeat.unwrap_or(v.garp_master_repeat)),
        ),
        Prog::Parent => (
            v.garp_lower_prio_delay_us
                .map(|d| d / 1_000_000)
                .unwrap_or(PARAMETER_UNSET),
            v.garp_lower_prio_repeat
                .map(u64::from)
                .unwrap_or(PARAMETER_UNSET),
        ),
    };
    w!(o, " Gratuitous ARP lower priority delay = {lp_delay}");
    w!(o, " Gratuitous ARP lower priority repeat = {lp_rep}");
    w!(o, " Num adverts before down = {}", v.down_timer_adverts);
    let (all, secs) = v
        .garp_extra_if
        .map(|e| (e.all, e.interval_us / 1_000_000))
        .unwrap_or((false, 0));
    w!(
        o,
        " Gratuitous ARP for each secondary {} = {secs}s",
        if all { "i/f" } else { "VMAC" }
    );
    w!(
        o,
        " Send advert after receive lower priority advert = {}",
        tf(!v.lower_prio_no_advert.unwrap_or(v.strict))
    );
    w!(
        o,
        " Send advert after receive higher priority advert = {}",
        tf(v.higher_prio_send_advert.unwrap_or(v.strict))
    );
    w!(
        o,
        " Gratuitous ARP interval = {:.6}",
        v.garp_interval_us as f64 / 1e6
    );
    w!(
        o,
        " Gratuitous NA interval = {:.6}",
        v.gna_interval_us as f64 / 1e6
    );
    w!(o, " VRRP default protocol version = {}", v.version);
    nftables(c, prog, &mut o);
    w!(o, " VRRP check unicast_src = {}", tf(v.check_unicast_src));
    w!(
        o,
        " VRRP skip check advert addresses = {}",
        tf(v.skip_check_adv_addr)
    );
    w!(o, " VRRP strict mode = {}", tf(v.strict));
    w!(
        o,
        " Max auto priority = {}",
        g.max_auto_priority.unwrap_or(0)
    );
    w!(
        o,
        " Min auto priority delay = {} usecs",
        g.min_auto_priority_delay_us
    );
    for (label, kw) in [("VRRP", "vrrp"), ("Checker", "checker"), ("BFD", "bfd")] {
        w!(
            o,
            " {label} process priority = {}",
            acc_num(c, &format!("{kw}_priority")).unwrap_or(0)
        );
        w!(
            o,
            " {label} don't swap = {}",
            tf(acc(c, &format!("{kw}_no_swap")).is_some())
        );
        w!(
            o,
            " {label} realtime priority = {}",
            acc_num(c, &format!("{kw}_rt_priority")).unwrap_or(0)
        );
        if let Some(a) = acc(c, &format!("{kw}_cpu_affinity")) {
            w!(o, " {label} CPU Affinity = {}", a.join(" "));
        }
        let limit = acc_num(c, &format!("{kw}_rlimit_rttime"))
            .or_else(|| acc_num(c, &format!("{kw}_rlimit_rtime")))
            .map(|v| v as u64)
            .unwrap_or(RT_RLIMIT_DEFAULT);
        w!(o, " {label} realtime limit = {limit}");
    }
    let en = |b: bool| if b { "enabled" } else { "disabled" };
    let snmp_rfc = acc(c, "enable_snmp_rfc").is_some();
    w!(
        o,
        " SNMP vrrp {}",
        en(acc(c, "enable_snmp_vrrp").is_some() || acc(c, "enable_snmp_keepalived").is_some())
    );
    w!(
        o,
        " SNMP checker {}",
        en(acc(c, "enable_snmp_checker").is_some())
    );
    w!(
        o,
        " SNMP RFCv2 {}",
        en(snmp_rfc || acc(c, "enable_snmp_rfcv2").is_some())
    );
    w!(
        o,
        " SNMP RFCv3 {}",
        en(snmp_rfc || acc(c, "enable_snmp_rfcv3").is_some())
    );
    w!(o, " SNMP traps {}", en(acc(c, "enable_traps").is_some()));
    w!(
        o,
        " SNMP socket = {}",
        acc(c, "snmp_socket")
            .and_then(|a| a.first())
            .map(String::as_str)
            .unwrap_or("default (unix:/var/agentx/master)")
    );
    w!(o, " DBus {}", en(acc(c, "enable_dbus").is_some()));
    w!(
        o,
        " DBus service name = {}",
        acc(c, "dbus_service_name")
            .and_then(|a| a.first())
            .map(String::as_str)
            .unwrap_or("")
    );
    w!(o, " Script security {}", en(g.enable_script_security));
    let (uid, gid) = default_script_ids(c);
    w!(o, " Default script uid:gid {uid}:{gid}");
    for kw in [
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs",
        "process_monitor_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs",
    ] {
        w!(o, " {kw} = {}", acc_num(c, kw).unwrap_or(0));
        let force = format!("{kw}_force");
        w!(o, " {force} = {}", i32::from(acc_flag(c, &force)));
    }
    w!(o, " rs_init_notifies = {}", i32::from(g.rs_init_notifies));
    w!(o, " no_checker_emails = {}", i32::from(g.no_checker_emails));
    if let Some(p) = acc(c, "vrrp_rx_bufs_policy").and_then(|a| a.first()) {
        match p.as_str() {
            "MTU" => w!(o, " rx_bufs_policy = MTU"),
            "ADVERT" => w!(o, " rx_bufs_policy = ADVERT"),
            n => {
                if let Ok(n) = n.parse::<u64>() {
                    w!(o, " rx_bufs_size = {n}");
                }
            }
        }
    }
    w!(
        o,
        " rx_bufs_multiples = {}",
        acc_num(c, "vrrp_rx_bufs_multiplier").unwrap_or(3)
    );
    w!(o, " umask = 0{:o}", c.sys.umask);
    if v.startup_delay_us != 0 {
        w!(
            o,
            " vrrp_startup_delay = {}",
            c_g(v.startup_delay_us as f64 / 1e6)
        );
    }
    if v.log_unknown_vrids {
        w!(o, " log_unknown_vrids");
    }
    if let Some(p) = &v.vmac_prefix {
        w!(o, " VMAC prefix = {p}");
    }
    if let Some(p) = &v.vmac_addr_prefix {
        w!(o, " VMAC address prefix = {p}");
    }
    o
}

/// The nftables lines of keepalived's nftables build (the distribution's 2.2.7 is one).
fn nftables(c: &DumpCtx<'_>, prog: Prog, o: &mut String) {
    // The VRRP process falls back to a "keepalived" table when an instance needs a
    // firewall (no accept mode, strict mode) and none is configured.
    let needs_fw = prog == Prog::Vrrp
        && c.model
            .vrrp
            .instances
            .iter()
            .any(|i| !i.accept || i.vmac.is_some());
    let table = match acc(c, "nftables") {
        Some(a) => Some(a.first().cloned().unwrap_or_else(|| "keepalived".into())),
        None if acc(c, "vrrp_iptables").is_some() || needs_fw => Some("keepalived".into()),
        None => None,
    };
    if let Some(t) = table {
        w!(o, " nftables table name = {t}");
        w!(
            o,
            " nftables base chain priority = {}",
            acc_num(c, "nftables_priority").unwrap_or(-1)
        );
        w!(
            o,
            " nftables {}force use ifindex for link local IPv6",
            if acc(c, "nftables_ifindex").is_some() {
                ""
            } else {
                "don't "
            }
        );
    }
    if let Some(a) = acc(c, "nftables_ipvs") {
        w!(
            o,
            " ipvs nftables table name = {}",
            a.first().map(String::as_str).unwrap_or("keepalived_ipvs")
        );
        w!(
            o,
            " ipvs nftables base chain priority = {}",
            acc_num(c, "nftables_ipvs_priority").unwrap_or(-1)
        );
        w!(
            o,
            " ipvs nftables start fwmark = {}",
            acc_num(c, "nftables_ipvs_start_fwmark").unwrap_or(1000)
        );
    }
    w!(
        o,
        " nftables with{} counters",
        if acc(c, "nftables_counters").is_some() {
            ""
        } else {
            "out"
        }
    );
    // keepalived prints the libnftnl it was built against; this is the distribution's.
    w!(o, " libnftnl version 1.2.3");
}
