//! Health-checker blocks: the keywords every checker shares (keepalived's
//! `check/check_api.c`), TCP_CHECK and PING_CHECK, and the resolution of inherited values
//! (checker ← real_server ← virtual_server ← built-in default) done in
//! `validate_check_config`.

use super::lvs::{kl_bool, kl_timer, kl_uint, parse_addr, RsBuild};
use super::{Ctx, Kw, Tier};
use crate::config::ast::Node;
use crate::config::model::lvs::*;
use crate::config::model::Config;

/// A checker being read.
pub(super) struct CheckBuild {
    pub c: Checker,
    /// Extra targets from SMTP_CHECK's deprecated `host { }` sub-blocks, with the
    /// `connect_timeout` given inside each.
    pub smtp_hosts: Vec<(ConnOpts, Option<u64>)>,
    /// Some connection keyword was given at the checker's own level.
    pub conn_touched: bool,
    /// An error removed the checker (keepalived's `dequeue_new_checker`).
    pub dropped: bool,
}

impl CheckBuild {
    /// A checker of `kind` for `rs`, with a connection aimed at the real server unless
    /// `with_conn` is false (MISC, FILE, BFD).
    pub fn new(kind: CheckerKind, rs: &RealServer, node: &Node, with_conn: bool) -> Self {
        let conn = with_conn.then_some(ConnOpts {
            dst_addr: rs.addr,
            dst_port: rs.configured_port,
            connect_ip: None,
            connect_port: None,
            bind_addr: None,
            bind_port: None,
            bind_if: None,
            fwmark: 0,
            connect_timeout_us: DEFAULT_CONNECT_TIMEOUT_US,
        });
        CheckBuild {
            c: Checker {
                kind,
                conn,
                delay_loop_us: DEFAULT_DELAY_LOOP_US,
                retry: 1,
                delay_before_retry_us: 1_000_000,
                warmup_us: DEFAULT_DELAY_LOOP_US,
                alpha: false,
                log_all_failures: false,
                timing: Timing::default(),
                span: node.span(),
            },
            smtp_hosts: Vec::new(),
            conn_touched: false,
            dropped: false,
        }
    }
}

/// The keywords common to checkers; `conn` adds the connection keywords (all but MISC).
pub(super) fn common_keywords(conn: bool) -> Vec<Kw<CheckBuild>> {
    use Tier::*;
    let mut t = Vec::new();
    if conn {
        t.extend([
            Kw::new(
                "connect_ip",
                T2,
                co_ip as fn(&mut Ctx<'_>, &Node, &mut CheckBuild),
            ),
            Kw::new("connect_port", T1, co_port),
            Kw::new("bindto", T2, co_bindto),
            Kw::accepted("bind_port", T3, co_bind_port),
            Kw::accepted("bind_if", T3, co_bind_if),
            Kw::new("connect_timeout", T1, co_timeout),
            Kw::accepted("fwmark", T3, co_fwmark),
        ]);
    }
    t.extend([
        Kw::new(
            "retry",
            T1,
            |c: &mut Ctx<'_>, n: &Node, b: &mut CheckBuild| {
                if let Some(v) = kl_uint(c, n, 0, 0, u64::from(u32::MAX), |s| {
                    format!("Invalid retry connection value '{s}'")
                }) {
                    b.c.timing.retry = Some(v as u32);
                }
            },
        ) as Kw<CheckBuild>,
        Kw::new("delay_before_retry", T1, |c, n, b| {
            if let Some(v) = kl_timer(c, n, 0, u64::MAX, |s| {
                format!("Invalid delay_before_retry connection value '{s}'")
            }) {
                b.c.timing.delay_before_retry_us = Some(v);
            }
        }),
        Kw::accepted("warmup", T3, |c, n, b| {
            if let Some(v) = kl_timer(c, n, 0, u64::MAX, |s| {
                format!("Invalid warmup connection value '{s}'")
            }) {
                b.c.timing.warmup_us = Some(v);
            }
        }),
        Kw::new("delay_loop", T2, |c, n, b| {
            if let Some(v) = kl_timer(c, n, 1, u64::MAX, |s| {
                format!("delay_loop '{s}' is invalid - ignoring")
            }) {
                b.c.timing.delay_loop_us = Some(v);
            }
        }),
        Kw::accepted("alpha", T3, |c, n, b| {
            if let Some(v) = kl_bool(c, n, |s| format!("Invalid alpha parameter {s}")) {
                b.c.timing.alpha = Some(v);
            }
        }),
        Kw::accepted("log_all_failures", T3, |c, n, b| {
            if let Some(v) = kl_bool(c, n, |s| format!("Invalid log_all_failures parameter {s}")) {
                b.c.log_all_failures = v;
            }
        }),
    ]);
    t
}

fn conn_of(b: &mut CheckBuild) -> Option<&mut ConnOpts> {
    b.conn_touched = true;
    b.c.conn.as_mut()
}

fn co_ip(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    let Some(w) = ctx.arg(node, 0, "address") else {
        return;
    };
    let Some(co) = conn_of(b) else { return };
    match parse_addr(&w.text) {
        None => ctx.error(
            w.span,
            format!("Invalid connect_ip address {} - ignoring", w.text),
        ),
        Some(a) if co.bind_addr.is_some_and(|x| x.is_ipv4() != a.is_ipv4()) => {
            ctx.error(
                w.span,
                format!(
                    "connect_ip address {} does not match address family of bindto - skipping",
                    w.text
                ),
            );
        }
        Some(a) => {
            co.connect_ip = Some(a);
            co.dst_addr = a;
        }
    }
}

fn co_port(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    let p = kl_uint(ctx, node, 0, 1, 65535, |s| {
        format!("Invalid checker connect_port '{s}'")
    });
    if let (Some(p), Some(co)) = (p, conn_of(b)) {
        co.connect_port = Some(p as u16);
        co.dst_port = p as u16;
    }
}

fn co_bindto(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    let Some(w) = ctx.arg(node, 0, "address") else {
        return;
    };
    let Some(co) = conn_of(b) else { return };
    match parse_addr(&w.text) {
        None => ctx.error(
            w.span,
            format!("Invalid bindto address {} - ignoring", w.text),
        ),
        Some(a) if a.is_ipv4() != co.dst_addr.is_ipv4() => ctx.error(
            w.span,
            format!(
                "bindto address {} does not match address family of connect_ip - skipping",
                w.text
            ),
        ),
        Some(a) => co.bind_addr = Some(a),
    }
}

fn co_bind_port(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    let p = kl_uint(ctx, node, 0, 1, 65535, |s| {
        format!("Invalid checker bind_port '{s}'")
    });
    if let (Some(p), Some(co)) = (p, conn_of(b)) {
        co.bind_port = Some(p as u16);
    }
}

fn co_bind_if(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    let Some(w) = ctx.arg(node, 0, "interface") else {
        return;
    };
    let Some(co) = conn_of(b) else { return };
    if w.text.len() > 15 {
        ctx.error(
            w.span,
            format!("Interface name {} is too long - ignoring", w.text),
        );
        return;
    }
    co.bind_if = Some(w.text.clone());
}

fn co_timeout(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    b.conn_touched = true;
    if let Some(v) = kl_timer(ctx, node, 1, u64::from(u32::MAX), |s| {
        format!("connect_timeout {s} invalid - ignoring")
    }) {
        b.c.timing.connect_timeout_us = Some(v);
    }
}

fn co_fwmark(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    let v = kl_uint(ctx, node, 0, 0, u64::from(u32::MAX), |s| {
        format!("Invalid fwmark connection value '{s}'")
    });
    if let (Some(v), Some(co)) = (v, conn_of(b)) {
        co.fwmark = v as u32;
    }
}

/// keepalived's `check_conn_opts`: an IPv6 link-local target needs `bind_if`.
pub(super) fn conn_ok(ctx: &mut Ctx<'_>, co: &ConnOpts, node: &Node) -> bool {
    if let std::net::IpAddr::V6(a) = co.dst_addr {
        if a.segments()[0] & 0xffc0 == 0xfe80 && co.bind_if.is_none() {
            ctx.error(
                node.span(),
                format!(
                    "Checker link local address {} requires a bind_if",
                    co.dst_addr
                ),
            );
            return false;
        }
    }
    true
}

/// Reads a checker block with `table` and adds it to the real server if it is usable.
pub(super) fn read_checker(
    ctx: &mut Ctx<'_>,
    node: &Node,
    b: &mut RsBuild,
    kind: CheckerKind,
    table: &[Kw<CheckBuild>],
    end: fn(&mut Ctx<'_>, &Node, &mut RsBuild, CheckBuild),
) {
    if !super::lvs::need_block(ctx, node) {
        return;
    }
    let with_conn = !matches!(
        kind,
        CheckerKind::Misc(_) | CheckerKind::File(_) | CheckerKind::Bfd(_)
    );
    let mut cb = CheckBuild::new(kind, &b.rs, node, with_conn);
    ctx.dispatch(node.children(), table, &mut cb);
    if !cb.dropped {
        end(ctx, node, b, cb);
    }
}

/// The usual end of a checker block: check the connection, then keep it.
pub(super) fn end_simple(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild, cb: CheckBuild) {
    if let Some(co) = &cb.c.conn {
        if !conn_ok(ctx, co, node) {
            return;
        }
    }
    b.rs.checkers.push(cb.c);
}

pub(super) fn tcp_check(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild) {
    read_checker(
        ctx,
        node,
        b,
        CheckerKind::Tcp,
        &common_keywords(true),
        end_simple,
    );
}

pub(super) fn ping_check(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild) {
    read_checker(
        ctx,
        node,
        b,
        CheckerKind::Ping,
        &common_keywords(true),
        end_simple,
    );
}

/// Per-type defaults: (retry, delay_before_retry; `None` = delay_loop).
fn type_defaults(kind: &CheckerKind) -> (u32, Option<u64>) {
    match kind {
        CheckerKind::Http(_) => (1, Some(3_000_000)),
        CheckerKind::Dns(_) => (3, None),
        CheckerKind::Misc(_) => (0, Some(1_000_000)),
        _ => (1, Some(1_000_000)),
    }
}

/// Resolves every checker of `vs` after its real servers were resolved.
pub(super) fn resolve_checkers(_ctx: &mut Ctx<'_>, vs: &mut VirtualServer) {
    let vs_timing = vs.timing;
    let vs_delay_loop = vs.delay_loop_us;
    let vs_vhost = vs.virtualhost.clone();
    for rs in &mut vs.real_servers {
        // The real server's own values, else the virtual server's.
        let rs_retry = rs.timing.retry.or(vs_timing.retry);
        let rs_dbr = rs
            .timing
            .delay_before_retry_us
            .or(vs_timing.delay_before_retry_us);
        let rs_warmup = rs.timing.warmup_us.or(vs_timing.warmup_us);
        let rs_vhost = rs.virtualhost.clone().or_else(|| vs_vhost.clone());
        for c in &mut rs.checkers {
            let t = c.timing;
            let (def_retry, def_dbr) = type_defaults(&c.kind);
            c.alpha = t.alpha.unwrap_or(rs.alpha);
            c.delay_loop_us = t.delay_loop_us.unwrap_or(rs.delay_loop_us);
            c.retry = t.retry.or(rs_retry).unwrap_or(def_retry);
            c.warmup_us = t.warmup_us.or(rs_warmup).unwrap_or(c.delay_loop_us);
            c.delay_before_retry_us = t
                .delay_before_retry_us
                .or(rs_dbr)
                .or(def_dbr)
                .unwrap_or(c.delay_loop_us);
            if let Some(co) = &mut c.conn {
                co.connect_timeout_us = t.connect_timeout_us.unwrap_or(rs.connect_timeout_us);
                if co.connect_port.is_none() {
                    co.dst_port = rs.port;
                }
            }
            match &mut c.kind {
                CheckerKind::Misc(m) => {
                    m.timeout_us = m.configured_timeout_us.unwrap_or(vs_delay_loop);
                }
                CheckerKind::File(_) => {
                    // The file's value is known at once: never in alpha mode.
                    c.alpha = false;
                }
                CheckerKind::Http(h) => {
                    let chk_vhost = h.virtualhost.clone().or_else(|| rs_vhost.clone());
                    for u in &mut h.urls {
                        u.virtualhost = u
                            .configured_virtualhost
                            .clone()
                            .or_else(|| chk_vhost.clone());
                    }
                }
                _ => {}
            }
        }
    }
}

/// FILE_CHECK and BFD_CHECK name other blocks: check they exist, and drop the checkers
/// whose block does not (keepalived checks while parsing, so there a `track_file` or
/// `bfd_instance` must come before its use; here the order does not matter). Runs after the
/// VRRP and BFD sections were validated.
pub(super) fn validate_references(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    // The checker process only learns of the BFD instances that report to it.
    let bfd_names: Option<Vec<String>> = Some(
        cfg.bfd
            .instances
            .iter()
            .filter(|b| b.to_checker())
            .map(|b| b.name.clone())
            .collect(),
    );
    let track_files: Option<Vec<(String, i32, bool)>> = Some(
        cfg.vrrp
            .track_files
            .iter()
            .map(|t| (t.name.clone(), t.weight, t.weight_reverse))
            .collect(),
    );
    for vs in &mut cfg.lvs.virtual_servers {
        let proto = vs.protocol;
        for rs in &mut vs.real_servers {
            let rs_name = format_trio(&rs.addr, proto, rs.configured_port);
            rs.checkers.retain(|c| match &c.kind {
                CheckerKind::Bfd(b) => {
                    if bfd_names.as_ref().is_some_and(|n| !n.contains(&b.name)) {
                        ctx.error(
                            c.span,
                            format!("({rs_name}) BFD_CHECK - BFD {} not configured", b.name),
                        );
                        false
                    } else if b.name.len() >= super::check_file::BFD_INAME_MAX {
                        ctx.error(
                            c.span,
                            format!("({rs_name}) BFD_CHECK - BFD name {} too long", b.name),
                        );
                        false
                    } else {
                        true
                    }
                }
                CheckerKind::File(f)
                    if track_files
                        .as_ref()
                        .is_some_and(|n| !n.iter().any(|t| t.0 == f.track_file)) =>
                {
                    ctx.error(c.span, format!("track_file {} not found", f.track_file));
                    ctx.error(c.span, "FILE_CHECK has no track_file specified - ignoring");
                    false
                }
                _ => true,
            });
            // A FILE_CHECK without its own weight takes the track_file's.
            for c in &mut rs.checkers {
                if let CheckerKind::File(f) = &mut c.kind {
                    if f.weight.is_none() {
                        let tf = track_files
                            .as_ref()
                            .and_then(|v| v.iter().find(|t| t.0 == f.track_file));
                        if let Some(t) = tf {
                            f.weight = Some(t.1);
                            f.reverse = t.2;
                        }
                    }
                }
            }
        }
    }
}
