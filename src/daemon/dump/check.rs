//! The checker process's keepalived_check.data on SIGUSR1: keepalived 2.2.7 writes its
//! global definitions (as the parent's) and then its LVS topology, health checkers and
//! BFD tracking, in the format checked against keepalived 2.2.7 run under QEMU with IPVS.
//!
//! Approximations (state we do not keep, printed as keepalived prints it idle): a
//! MISC_CHECK's `Last ran` / `Last status` (never ran: the epoch and 0), `Retries
//! iterations` once a checker has run (0: between retries keepalived counts them),
//! `Current weight` and `previous effective_weight` (0: what keepalived keeps there was
//! not captured with a weight set), virtual server group `Alive:` counts (the virtual servers using the entry),
//! and `Enabled` (yes: `ha_suspend` is not applied). Lines for settings never seen in a
//! keepalived dump (bind options, GUE/GRE tunnels, SSL_GET, regex, the checkers we do not
//! run) follow keepalived's wording elsewhere and may differ.

use super::cfmt::{cmd_str, ctime24_us};
use super::global::default_script_ids;
use super::DumpCtx;
use crate::check::view::CheckerView;
use crate::check::{Healthcheckers, Machine};
use crate::config::model::lvs::{
    format_trio, Checker, CheckerKind, FileCheck, ForwardingMethod, HttpProtocol, IpFamily,
    LvsConfig, PersistenceGranularity, Protocol, RealServer, Scheduler, TunnelCsum, TunnelType,
    VirtualServer, VirtualServerGroup, VsAddress, VsgEntry,
};
use crate::config::model::Script;
use crate::lvs::{Lvs, RsRef};
use std::fmt::Write as _;

macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

/// keepalived's LVS version line (the kernel interface it is built for).
const LVS_VERSION: &str = "1.2.1";

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "ON"
    } else {
        "OFF"
    }
}

fn enabled(b: bool) -> &'static str {
    if b {
        "enabled"
    } else {
        "disabled"
    }
}

/// `%f` of microseconds as seconds.
fn secs(us: u64) -> String {
    format!("{:.6}", us as f64 / 1e6)
}

fn fwd_str(f: ForwardingMethod) -> String {
    match f {
        ForwardingMethod::Nat => "NAT".into(),
        ForwardingMethod::Dr => "DR".into(),
        ForwardingMethod::Tun { tunnel, csum } => {
            let mut s = match tunnel {
                TunnelType::Ipip => "TUN, type = IPIP".to_string(),
                TunnelType::Gue { port } => format!("TUN, type = GUE, port = {port}"),
                TunnelType::Gre => "TUN, type = GRE".to_string(),
            };
            match csum {
                TunnelCsum::NoCsum => {}
                TunnelCsum::Csum => s.push_str(", csum"),
                TunnelCsum::RemCsum => s.push_str(", remcsum"),
            }
            s
        }
    }
}

fn proto_str(p: Option<Protocol>) -> &'static str {
    match p {
        Some(Protocol::Tcp) => "TCP",
        Some(Protocol::Udp) => "UDP",
        Some(Protocol::Sctp) => "SCTP",
        None => "none",
    }
}

/// A configured script: `cmd_str` with the resolved program and its uid:gid.
fn script_parts(c: &DumpCtx<'_>, s: &Script) -> (String, u32, u32) {
    let mut argv = crate::config::lexer::split_script_argv(&s.command)
        .unwrap_or_else(|_| vec![s.command.clone()]);
    if let Some(first) = argv.first_mut() {
        if !c.model.global.use_symlink_paths {
            if let Some(f) = c.host.script_file(first) {
                *first = f.path.to_string_lossy().into_owned();
            }
        }
    }
    let (uid, mut gid) = match s.user.as_deref() {
        Some(u) => c.host.user(u).unwrap_or((0, 0)),
        None => default_script_ids(c),
    };
    if s.user.is_some() {
        if let Some(g) = s.group.as_deref().and_then(|g| c.host.group(g)) {
            gid = g;
        }
    }
    (cmd_str(&argv), uid, gid)
}

fn script_line(c: &DumpCtx<'_>, s: &Script) -> String {
    let (cmd, uid, gid) = script_parts(c, s);
    format!("{cmd}, uid:gid {uid}:{gid}")
}

fn vs_family(vs: &VirtualServer, cfg: &LvsConfig) -> IpFamily {
    if let Some(f) = vs.family {
        return f;
    }
    match &vs.address {
        VsAddress::Ip { addr, .. } => IpFamily::of(addr),
        VsAddress::Group(g) => cfg
            .group(g)
            .and_then(|g| {
                g.entries.iter().find_map(|e| match e {
                    VsgEntry::Range { first, .. } => Some(IpFamily::of(first)),
                    VsgEntry::Fwmark { family, .. } => *family,
                })
            })
            .unwrap_or(IpFamily::Inet),
        VsAddress::Fwmark(_) => IpFamily::Inet,
    }
}

/// `keepalived_check.data`.
pub fn check_data(c: &DumpCtx<'_>, hc: &Healthcheckers) -> String {
    let mut o = super::global::global_data(c, super::Prog::Parent);
    let cfg = &c.model.lvs;
    let lvs = hc.lvs();
    w!(o, "------< LVS Topology >------");
    w!(o, " System is compiled with LVS v{LVS_VERSION}");
    if !cfg.virtual_server_groups.is_empty() {
        w!(o, " ------< Virtual server group >------");
        for g in &cfg.virtual_server_groups {
            group(&mut o, g, cfg);
        }
    }
    for (v, vs) in cfg.virtual_servers.iter().enumerate() {
        virtual_server(&mut o, c, v, vs, cfg, lvs, hc);
    }
    w!(o, "------< Health checkers >------");
    // keepalived 2.2.7 lists the FILE_CHECKs after the other checkers.
    let is_file = |ck: &CheckerView<'_>| matches!(ck.machine, Machine::File(_));
    for ck in hc.checker_views().filter(|k| !is_file(k)) {
        checker(&mut o, c, &ck);
    }
    for ck in hc.checker_views().filter(is_file) {
        checker(&mut o, c, &ck);
    }
    track_files(&mut o, c, hc);
    // BFD tracking: each session followed by a BFD_CHECK, with its real servers.
    let mut bfds: Vec<(&str, Vec<&str>)> = Vec::new();
    for ck in hc.checker_views() {
        if let CheckerKind::Bfd(b) = &ck.cfg.kind {
            match bfds.iter_mut().find(|(n, _)| *n == b.name) {
                Some((_, rss)) => rss.push(ck.rs_name),
                None => bfds.push((&b.name, vec![ck.rs_name])),
            }
        }
    }
    if !bfds.is_empty() {
        w!(o, "------< Checker track BFDs >------");
        for (name, rss) in bfds {
            w!(o, " Checker Track BFD = {name}");
            w!(o, "   Tracking RS :");
            for rs in rss {
                w!(o, "   {rs}");
            }
        }
    }
    o
}

fn group(o: &mut String, g: &VirtualServerGroup, cfg: &LvsConfig) {
    let fam = |f: IpFamily| {
        g.entries.iter().any(|e| match e {
            VsgEntry::Range { first, .. } => IpFamily::of(first) == f,
            VsgEntry::Fwmark { family, .. } => *family == Some(f),
        })
    };
    w!(
        o,
        " Virtual Server Group = {}, IPv4 = {}, IPv6 = {}",
        g.name,
        yes_no(fam(IpFamily::Inet)),
        yes_no(fam(IpFamily::Inet6))
    );
    let users: Vec<&VirtualServer> = cfg
        .virtual_servers
        .iter()
        .filter(|vs| vs.group_name() == Some(g.name.as_str()))
        .collect();
    let by_proto = |p: Protocol| users.iter().filter(|vs| vs.protocol == Some(p)).count();
    for e in &g.entries {
        match e {
            VsgEntry::Range {
                first, last, port, ..
            } => {
                if first == last {
                    w!(o, "   VIP = {first}, VPORT = {port}");
                } else {
                    w!(o, "   VIP Range = {first}-{last}, VPORT = {port}");
                }
                w!(
                    o,
                    "     Alive: {} tcp, {} udp, {} sctp",
                    by_proto(Protocol::Tcp),
                    by_proto(Protocol::Udp),
                    by_proto(Protocol::Sctp)
                );
            }
            VsgEntry::Fwmark { mark, family, .. } => {
                w!(o, "   FWMARK = {mark}");
                let fam_of = |vs: &VirtualServer| vs.family.or(*family).unwrap_or(IpFamily::Inet);
                let n4 = users
                    .iter()
                    .filter(|vs| fam_of(vs) == IpFamily::Inet)
                    .count();
                let n6 = users.len() - n4;
                w!(o, "     Alive: {n4} IPv4, {n6} IPv6");
            }
        }
        w!(o, "     reloaded = False");
    }
}

fn virtual_server(
    o: &mut String,
    c: &DumpCtx<'_>,
    v: usize,
    vs: &VirtualServer,
    cfg: &LvsConfig,
    lvs: &Lvs,
    hc: &Healthcheckers,
) {
    w!(o, " ------< Virtual server >------");
    match &vs.address {
        VsAddress::Ip { addr, port } => w!(o, " VS VIP = {addr}, VPORT = {port}"),
        VsAddress::Fwmark(m) => w!(o, " VS FWMARK = {m}"),
        VsAddress::Group(_) => w!(o, " VS GROUP = {}", vs.display_name()),
    }
    if let Some(h) = &vs.virtualhost {
        w!(o, "   VirtualHost = {h}");
    }
    let fam = vs_family(vs, cfg);
    w!(
        o,
        "   Address family = {}",
        if fam == IpFamily::Inet6 {
            "inet6"
        } else {
            "inet"
        }
    );
    w!(o, "   connection timeout = {}", secs(vs.connect_timeout_us));
    w!(o, "   delay_loop = {}", secs(vs.delay_loop_us));
    w!(o, "   lvs_sched = {}", vs.scheduler.name());
    w!(o, "   Hashed = disabled");
    let f = &vs.flags;
    match vs.scheduler {
        Scheduler::Sh | Scheduler::Mh => {
            let n = vs.scheduler.name();
            w!(o, "   {n}-port = {}", enabled(f.sched2));
            w!(o, "   {n}-fallback = {}", enabled(f.sched1));
        }
        _ => {
            w!(o, "   flag-1 = {}", enabled(f.sched1));
            w!(o, "   flag-2 = {}", enabled(f.sched2));
            w!(o, "   flag-3 = {}", enabled(f.sched3));
        }
    }
    w!(o, "   One packet scheduling = {}", enabled(f.one_packet));
    if let Some(t) = vs.persistence_timeout_s {
        w!(o, "   persistence timeout = {t}");
    }
    match vs.persistence_granularity {
        Some(PersistenceGranularity::V4Netmask(m)) => {
            w!(o, "   persistence granularity = {m}")
        }
        Some(PersistenceGranularity::V6PrefixLen(l)) => {
            w!(o, "   persistence granularity = {l}")
        }
        None => {}
    }
    if let Some(pe) = &vs.persistence_engine {
        w!(o, "   persistence engine = {pe}");
    }
    w!(o, "   protocol = {}", proto_str(vs.protocol));
    w!(o, "   alpha is {}", on_off(vs.alpha));
    w!(o, "   omega is {}", on_off(vs.omega));
    w!(
        o,
        "   Inhibit on failure is {}",
        on_off(vs.inhibit_on_failure)
    );
    w!(
        o,
        "   quorum = {}, hysteresis = {}",
        vs.quorum,
        vs.hysteresis
    );
    if let Some(s) = &vs.quorum_up {
        w!(o, "   Quorum up notify script = {}", script_line(c, s));
    }
    if let Some(s) = &vs.quorum_down {
        w!(o, "   Quorum down notify script = {}", script_line(c, s));
    }
    if vs.ha_suspend {
        w!(o, "   Using HA suspend");
    }
    w!(
        o,
        "   Using smtp notification = {}",
        yes_no(vs.smtp_alert == Some(true))
    );
    w!(
        o,
        "   default forwarding method = {}",
        fwd_str(vs.forwarding)
    );
    if let Some(ss) = &vs.sorry_server {
        w!(
            o,
            "   sorry server = {}",
            format_trio(&ss.addr, vs.protocol, ss.port)
        );
        w!(o, "     forwarding method = {}", fwd_str(ss.forwarding));
        w!(o, "     Inhibit on failure is {}", on_off(ss.inhibit));
    }
    w!(o, "   alive = {}", u8::from(!lvs.is_stopped()));
    w!(
        o,
        "   quorum_state_up = {}",
        u8::from(lvs.quorum_up(v).unwrap_or(false))
    );
    w!(o, "   reloaded = 0");
    let sorry = lvs.sorry_active(v).unwrap_or(false);
    for (r, rs) in vs.real_servers.iter().enumerate() {
        real_server(o, c, RsRef { vs: v, rs: r }, rs, sorry, lvs, hc);
    }
}

fn real_server(
    o: &mut String,
    c: &DumpCtx<'_>,
    id: RsRef,
    rs: &RealServer,
    sorry: bool,
    lvs: &Lvs,
    hc: &Healthcheckers,
) {
    let g = &c.model.global;
    let alive = lvs.rs_alive(id).unwrap_or(false);
    // A misc_dynamic checker's weight, else the configured one. With FILE_CHECKs keepalived
    // shows the weight in the table as WEIGHT and the unclamped sum as the effective one.
    let (shown, eff) = match hc.checkers().file_sum(id, rs.weight) {
        Some(sum) => (lvs.rs_weight(id).unwrap_or(rs.weight).to_string(), sum),
        None => {
            let w = lvs.rs_weight(id).unwrap_or(rs.weight);
            (rs.weight.to_string(), i64::from(w))
        }
    };
    w!(o, "   ------< Real server >------");
    w!(
        o,
        "   RIP = {}, RPORT = {}, WEIGHT = {} EFF WEIGHT = {}",
        rs.addr,
        rs.port,
        shown,
        eff
    );
    w!(o, "   forwarding method = {}", fwd_str(rs.forwarding));
    w!(o, "   Alpha is {}", on_off(rs.alpha));
    w!(o, "   connection timeout = {}", secs(rs.connect_timeout_us));
    w!(
        o,
        "   connection limit range = {} -> {}",
        rs.l_threshold,
        rs.u_threshold
    );
    w!(o, "   Delay loop = {}", secs(rs.delay_loop_us));
    w!(
        o,
        "   Inhibit on failure is {}",
        on_off(rs.inhibit_on_failure)
    );
    if let Some(h) = &rs.virtualhost {
        w!(o, "    VirtualHost = '{h}'");
    }
    if let Some(s) = &rs.notify_up {
        w!(o, "     RS up notify script = {}", script_line(c, s));
    }
    if let Some(s) = &rs.notify_down {
        w!(o, "     RS down notify script = {}", script_line(c, s));
    }
    let smtp = rs
        .smtp_alert
        .or(g.smtp_alert_checker)
        .or(g.smtp_alert)
        .unwrap_or(true);
    w!(o, "   Using smtp notification = {}", yes_no(smtp));
    w!(o, "   initial weight = {}", rs.weight);
    w!(o, "   effective weight = {eff}");
    w!(o, "   previous effective_weight = 0");
    w!(o, "   alive = {}", u8::from(alive));
    w!(
        o,
        "   num failed checkers = {}",
        hc.checkers().failed_count(id)
    );
    let set = !lvs.is_stopped() && (rs.inhibit_on_failure || (alive && !sorry));
    w!(o, "   RS set = {}", u8::from(set));
    w!(o, "   reloaded = 0");
    let files: Vec<String> = rs
        .checkers
        .iter()
        .filter_map(|k| match &k.kind {
            CheckerKind::File(f) => Some(file_weight_text(f)),
            _ => None,
        })
        .collect();
    if !files.is_empty() {
        w!(o, "   Tracked Files");
        for f in files {
            w!(o, "     {f}");
        }
    }
    let bfds: Vec<&str> = rs
        .checkers
        .iter()
        .filter_map(|k| match &k.kind {
            CheckerKind::Bfd(b) => Some(b.name.as_str()),
            _ => None,
        })
        .collect();
    if !bfds.is_empty() {
        w!(o, "   Tracked BFDs");
        for b in bfds {
            w!(o, "     {b}");
        }
    }
}

/// A FILE_CHECK's weight as keepalived shows it: `W[ reverse]`.
fn file_weight_text(f: &FileCheck) -> String {
    format!(
        "{}, weight {}{}",
        f.track_file,
        f.weight.unwrap_or(1),
        if f.reverse { " reverse" } else { "" }
    )
}

/// "Checker track files": each track file a FILE_CHECK follows, its last value and the
/// checkers following it.
fn track_files(o: &mut String, c: &DumpCtx<'_>, hc: &Healthcheckers) {
    let mut names: Vec<&str> = Vec::new();
    for ck in hc.checker_views() {
        if let CheckerKind::File(f) = &ck.cfg.kind {
            if !names.contains(&f.track_file.as_str()) {
                names.push(&f.track_file);
            }
        }
    }
    if names.is_empty() {
        return;
    }
    w!(o, "------< Checker track files >------");
    for tf in c.model.vrrp.track_files.iter() {
        if !names.contains(&tf.name.as_str()) {
            continue;
        }
        let mut value = 0;
        let mut users = Vec::new();
        for ck in hc.checker_views() {
            if let (Machine::File(m), CheckerKind::File(f)) = (ck.machine, &ck.cfg.kind) {
                if f.track_file == tf.name {
                    value = m.value.unwrap_or(value);
                    users.push(format!(
                        "{} -> {}, weight {}{}",
                        ck.vs_name,
                        ck.rs_name,
                        f.weight.unwrap_or(1),
                        if f.reverse { " reverse" } else { "" }
                    ));
                }
            }
        }
        w!(o, " Track file = {}", tf.name);
        w!(o, "   File = {}", tf.path);
        w!(o, "   Status = {value}");
        w!(
            o,
            "   Weight = {}{}",
            tf.weight,
            if tf.weight_reverse { " reverse" } else { "" }
        );
        w!(o, "   Tracking instances :");
        for u in users {
            w!(o, "     {u}");
        }
    }
}

/// keepalived's per-kind default `delay_before_retry`.
fn default_delay_before_retry_us(k: &CheckerKind) -> u64 {
    match k {
        CheckerKind::Http(_) => 3_000_000,
        _ => 1_000_000,
    }
}

fn checker(o: &mut String, c: &DumpCtx<'_>, ck: &CheckerView<'_>) {
    let cfg: &Checker = ck.cfg;
    w!(o, " {} -> {}", ck.vs_name, ck.rs_name);
    w!(o, "   Enabled = yes");
    w!(o, "   Up = {}", yes_no(ck.up));
    w!(o, "   Has run = {}", yes_no(ck.has_run));
    if let (Machine::File(m), CheckerKind::File(f)) = (ck.machine, &cfg.kind) {
        // keepalived 2.2.7 shows a FILE_CHECK without timing.
        w!(o, "   Current weight = {}", m.status);
        w!(o, "   Log all failures = {}", yes_no(cfg.log_all_failures));
        w!(o, "   Keepalive method = FILE_CHECK");
        w!(o, "     Tracked file = {}", f.track_file);
        w!(o, "     Reloaded = No");
        return;
    }
    w!(o, "   Current weight = 0");
    w!(o, "   Alpha = {}", yes_no(cfg.alpha));
    let bfd = matches!(ck.machine, Machine::Bfd(_));
    if bfd {
        // keepalived leaves a BFD_CHECK's timing unset (-1).
        w!(o, "   Delay loop = {} us", u64::MAX);
        w!(o, "   Warmup = {} us", u64::MAX);
        w!(o, "   Retries = {}", u32::MAX);
        w!(o, "   Delay before retry = {} us", u64::MAX);
        w!(o, "   Retries iterations = {}", u32::MAX);
    } else {
        w!(o, "   Delay loop = {} us", cfg.delay_loop_us);
        w!(o, "   Warmup = {} us", cfg.warmup_us);
        w!(o, "   Retries = {}", cfg.retry);
        if cfg.retry != 0 {
            w!(
                o,
                "   Delay before retry = {} us",
                cfg.delay_before_retry_us
            );
            // Before the first result the counter starts exhausted; afterwards we show
            // keepalived's idle value.
            let it = if ck.has_run { 0 } else { cfg.retry };
            w!(o, "   Retries iterations = {it}");
        }
    }
    w!(
        o,
        "   Default delay before retry = {} us",
        default_delay_before_retry_us(&cfg.kind)
    );
    w!(o, "   Log all failures = {}", yes_no(cfg.log_all_failures));
    if let Some(co) = &cfg.conn {
        w!(o, "   Connection");
        w!(o, "     Dest = [{}]:{}", co.dst_addr, co.dst_port);
        if let Some(b) = co.bind_addr {
            w!(o, "     Bind = [{b}]:{}", co.bind_port.unwrap_or(0));
        }
        if let Some(i) = &co.bind_if {
            w!(o, "     Bind interface = {i}");
        }
        if co.fwmark != 0 {
            w!(o, "     Mark = {}", co.fwmark);
        }
        w!(o, "     Timeout = {}", secs(co.connect_timeout_us));
    }
    match &cfg.kind {
        CheckerKind::Tcp => w!(o, "   Keepalive method = TCP_CHECK"),
        CheckerKind::Http(h) => {
            let proto = match h.http_protocol {
                HttpProtocol::V1_0 => "1.0",
                HttpProtocol::V1_0C => "1.0C",
                HttpProtocol::V1_1 => "1.1",
            };
            let kw = if h.tls { "SSL_GET" } else { "HTTP_GET" };
            w!(o, "   Keepalive method = {kw}, http protocol {proto}");
            if let Some(v) = &h.virtualhost {
                w!(o, "   Virtualhost = {v}");
            }
            if h.enable_sni {
                w!(o, "   Enable SNI set");
            } else {
                w!(o, "   Enable SNI unset");
            }
            if let Some(n) = &h.sni_name {
                w!(o, "   SNI name = {n}");
            }
            w!(
                o,
                "   Fast recovery {}",
                if h.fast_recovery { "set" } else { "unset" }
            );
            for u in &h.urls {
                w!(o, "   Checked url = {}", u.path);
                if let Some(d) = &u.digest {
                    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
                    w!(o, "     digest = {hex}");
                }
                w!(o, "     HTTP Status Code(s)");
                for (lo, hi) in u.status_codes.ranges() {
                    if lo == hi {
                        w!(o, "       {lo}");
                    } else {
                        w!(o, "       {lo}-{hi}");
                    }
                }
                if let Some(v) = &u.configured_virtualhost {
                    w!(o, "     Virtual host = {v}");
                }
                if let Some(r) = &u.regex {
                    w!(o, "     Regex = \"{}\"", r.pattern);
                }
            }
        }
        CheckerKind::Misc(m) => {
            let (cmd, uid, gid) = script_parts(c, &m.script);
            w!(o, "   Keepalive method = MISC_CHECK");
            w!(o, "   script = {cmd}");
            w!(
                o,
                "   timeout = {}",
                m.configured_timeout_us.unwrap_or(0) / 1_000_000
            );
            w!(o, "   dynamic = {}", if m.dynamic { "YES" } else { "NO" });
            w!(o, "   uid:gid = {uid}:{gid}");
            // We keep no record of the last run: keepalived's never-ran values.
            w!(
                o,
                "   Last ran = 0.000000 ({})",
                ctime24_us(&c.sys.tz, 0, 0)
            );
            w!(o, "   Last status = 0");
        }
        CheckerKind::Bfd(b) => {
            w!(o, "   Keepalive method = BFD_CHECK");
            w!(o, "   Name = {}", b.name);
            w!(o, "   Alpha is {}", on_off(cfg.alpha));
        }
        k => w!(o, "   Keepalive method = {}", k.keyword()),
    }
}
