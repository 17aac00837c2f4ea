//! Semantic pass for the VRRP side: `vrrp_instance`, `vrrp_sync_group`, the static address,
//! route and rule blocks, `track_group`, `garp_group`, `linkbeat_interfaces` and
//! `interface_up_down_delays` (keepalived's `vrrp/vrrp_parser.c`), then keepalived's
//! `vrrp_complete_init` / `vrrp_complete_instance` checks and derivations in [`validate`].
//!
//! Messages use keepalived 2.2.7's wording (checked with its `-t`): an item keepalived
//! rejects is an error, a value it corrects and carries on with is a warning (both fail
//! `-t`, as `report_config_error` does), and what keepalived only logs is a note.

use super::addr::{self, AddrUse};
use super::track::{self, block_name, read_tracked, TrackKind};
use super::vals::{self, need};
use super::{global::require_block, scripts, Ctx, Kw, Tier};
use crate::config::ast::{Node, Span};
use crate::config::diag::{ErrorClass, Severity};
use crate::config::model::global::{GlobalDefs, LvsSyncDaemon};
use crate::config::model::vrrp::*;
use crate::config::model::Config;
use std::net::IpAddr;

/// Root-level keywords this section owns.
pub fn root_keywords() -> Vec<Kw<Config>> {
    let mut t = vec![
        Kw::new("vrrp_instance", Tier::T1, instance_handler),
        Kw::new("vrrp_sync_group", Tier::T2, sync_group_handler),
        Kw::new("static_ipaddress", Tier::T2, static_addresses_handler),
        Kw::new("static_routes", Tier::T2, static_routes_handler),
        Kw::new("static_rules", Tier::T3, static_rules_handler),
        Kw::accepted("track_group", Tier::T3, track_group_handler),
        Kw::accepted("linkbeat_interfaces", Tier::T3, linkbeat_handler),
        Kw::accepted("interface_up_down_delays", Tier::T3, up_down_delays_handler),
        Kw::accepted("garp_group", Tier::T3, garp_group_handler),
    ];
    t.extend(track::root_keywords());
    t
}

// ---------------------------------------------------------------------------------------
// Static blocks and helper groups.

/// The next auto-assigned rule preference per family: keepalived counts down from 16384 in
/// configuration order over static and virtual rules.
fn next_rule_priority(cfg: &Config, extra: &[RuleSpec]) -> [u32; 2] {
    let mut next = [RULE_AUTO_PRIORITY_START; 2];
    let all = cfg
        .vrrp
        .static_rules
        .iter()
        .chain(
            cfg.vrrp
                .instances
                .iter()
                .flat_map(|i| i.virtual_rules.iter()),
        )
        .chain(extra.iter());
    for r in all.filter(|r| r.priority_auto) {
        let slot = &mut next[usize::from(r.family == Family::Inet6)];
        *slot = (*slot).min(r.priority.saturating_sub(1));
    }
    next
}

fn static_addresses_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if !require_block(ctx, node) {
        return;
    }
    for item in node.children() {
        if let Some(a) = addr::parse_addr(ctx, item, AddrUse::Static, &cfg.vrrp.track_groups) {
            cfg.vrrp.static_addresses.push(a);
        }
    }
}

fn static_routes_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if !require_block(ctx, node) {
        return;
    }
    for item in node.children() {
        if let Some(r) = addr::parse_route(ctx, item, true, &cfg.vrrp.track_groups) {
            cfg.vrrp.static_routes.push(r);
        }
    }
}

fn static_rules_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if !require_block(ctx, node) {
        return;
    }
    for item in node.children() {
        let mut next = next_rule_priority(cfg, &[]);
        if let Some(r) = addr::parse_rule(ctx, item, true, &cfg.vrrp.track_groups, &mut next) {
            cfg.vrrp.static_rules.push(r);
        }
    }
}

fn track_group_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    let Some(name) = block_name(ctx, node) else {
        return;
    };
    if cfg.vrrp.track_groups.iter().any(|g| g.name == name) {
        ctx.error(
            node.args()[0].span,
            format!("track_group {name} already defined - ignoring"),
        );
        return;
    }
    let mut g = TrackGroup {
        name: name.to_string(),
        span: node.args()[0].span,
        instances: Vec::new(),
    };
    let table: Vec<Kw<TrackGroup>> = vec![Kw::accepted("group", Tier::T3, |ctx, n, g| {
        if !require_block(ctx, n) {
            return;
        }
        if !g.instances.is_empty() {
            ctx.error(
                n.span(),
                format!("Group list already specified for track group {}", g.name),
            );
            return;
        }
        for item in n.children() {
            g.instances
                .extend(item.words.iter().map(|w| w.text.clone()));
        }
    })];
    ctx.dispatch(node.children(), &table, &mut g);
    cfg.vrrp.track_groups.push(g);
}

fn linkbeat_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if !require_block(ctx, node) {
        return;
    }
    for item in node.children() {
        let method = match item.words.get(1).map(|w| w.text.as_str()) {
            None => None,
            Some("MII") => Some(LinkbeatMethod::Mii),
            Some("ETHTOOL") => Some(LinkbeatMethod::Ethtool),
            Some("IOCTL") => Some(LinkbeatMethod::Ioctl),
            Some(other) => {
                ctx.error(
                    item.words[1].span,
                    format!(
                        "Unknown linkbeat type {other} for interface {} - ignoring",
                        item.keyword()
                    ),
                );
                continue;
            }
        };
        cfg.vrrp.linkbeat_interfaces.push(LinkbeatInterface {
            name: item.keyword().to_string(),
            method,
        });
    }
}

fn up_down_delays_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if !require_block(ctx, node) {
        return;
    }
    for item in node.children() {
        let name = item.keyword();
        let delay = |ctx: &mut Ctx<'_>, i: usize| {
            let w = &item.words[i];
            vals::timer_w(ctx, w, 0, 255_000_000, |s| {
                format!("Invalid delay {s} for interface {name} - ignoring")
            })
        };
        if item.words.len() < 2 {
            ctx.error(
                item.span(),
                format!("No delay specified for interface {name}"),
            );
            continue;
        }
        let Some(down_us) = delay(ctx, 1) else {
            continue;
        };
        let up_us = if item.words.len() > 2 {
            match delay(ctx, 2) {
                Some(v) => v,
                None => continue,
            }
        } else {
            0
        };
        cfg.vrrp.interface_up_down_delays.push(InterfaceDelay {
            name: name.to_string(),
            down_us,
            up_us,
        });
    }
}

fn garp_group_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if !require_block(ctx, node) {
        return;
    }
    let mut g = GarpGroup {
        span: node.span(),
        ..GarpGroup::default()
    };
    let table: Vec<Kw<GarpGroup>> = vec![
        Kw::accepted("garp_interval", Tier::T3, |ctx, n, g| {
            g.garp_interval_us = vals::timer(ctx, n, 0, 0, 1_000_000_000, |s| {
                format!("garp_group garp_interval '{s}' invalid")
            });
        }),
        Kw::accepted("gna_interval", Tier::T3, |ctx, n, g| {
            g.gna_interval_us = vals::timer(ctx, n, 0, 0, 1_000_000_000, |s| {
                format!("garp_group gna_interval '{s}' invalid")
            });
        }),
        Kw::accepted("interface", Tier::T3, |ctx, n, g| {
            if let Some(w) = need(ctx, n, 0) {
                if g.interfaces.contains(&w.text) {
                    ctx.error(
                        w.span,
                        format!("garp_group already has interface {}", w.text),
                    );
                } else {
                    g.interfaces.push(w.text.clone());
                }
            }
        }),
        Kw::accepted("interfaces", Tier::T3, |ctx, n, g| {
            if !require_block(ctx, n) {
                return;
            }
            for item in n.children() {
                g.interfaces
                    .extend(item.words.iter().map(|w| w.text.clone()));
            }
        }),
    ];
    ctx.dispatch(node.children(), &table, &mut g);
    if g.interfaces.is_empty() {
        ctx.error(node.span(), "garp_group has no interfaces - ignoring");
        return;
    }
    cfg.vrrp.garp_groups.push(g);
}

// ---------------------------------------------------------------------------------------
// vrrp_sync_group

struct GroupBuild {
    group: SyncGroup,
    /// `group { }` was given.
    has_group_list: bool,
    known: Known,
}

/// The trackers defined so far (keepalived resolves references when it reads them).
#[derive(Default)]
struct Known {
    scripts: Vec<(String, i32, bool)>,
    files: Vec<(String, i32, bool)>,
    processes: Vec<(String, i32, bool)>,
    bfds: Vec<(String, i32, bool)>,
}

impl Known {
    fn of(cfg: &Config) -> Known {
        let k = |kind| track::known(cfg, kind).unwrap_or_default();
        Known {
            scripts: k(TrackKind::Script),
            files: k(TrackKind::File),
            processes: k(TrackKind::Process),
            bfds: k(TrackKind::Bfd),
        }
    }

    fn get(&self, kind: TrackKind) -> Option<&[(String, i32, bool)]> {
        match kind {
            TrackKind::Interface => None,
            TrackKind::Script => Some(&self.scripts),
            TrackKind::File => Some(&self.files),
            TrackKind::Process => Some(&self.processes),
            TrackKind::Bfd => Some(&self.bfds),
        }
    }
}

fn sync_group_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if node.args().len() != 1 {
        ctx.error(node.span(), "vrrp_sync_group must have a name - skipping");
        return;
    }
    let name = node.args()[0].text.clone();
    if cfg.vrrp.sync_groups.iter().any(|g| g.name == name) {
        ctx.error(
            node.args()[0].span,
            format!("vrrp sync group {name} already defined"),
        );
        return;
    }
    if !require_block(ctx, node) {
        return;
    }
    let mut b = GroupBuild {
        group: SyncGroup {
            name,
            span: node.args()[0].span,
            members: Vec::new(),
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_bfds: Vec::new(),
            notify: NotifyScripts::default(),
            smtp_alert: false,
            smtp_alert_configured: None,
            tracking_weight: false,
            notify_priority_changes: None,
        },
        has_group_list: false,
        known: Known::of(cfg),
    };
    let table = sync_group_table();
    ctx.dispatch(node.children(), &table, &mut b);
    cfg.vrrp.sync_groups.push(b.group);
}

fn group_track(kind: TrackKind) -> fn(&mut Ctx<'_>, &Node, &mut GroupBuild) {
    match kind {
        TrackKind::Interface => |ctx, n, b| {
            let name = b.group.name.clone();
            read_tracked(
                ctx,
                n,
                &name,
                TrackKind::Interface,
                None,
                &mut b.group.track_interfaces,
            )
        },
        TrackKind::Script => |ctx, n, b| {
            let name = b.group.name.clone();
            let known = b.known.get(TrackKind::Script).map(|k| k.to_vec());
            read_tracked(
                ctx,
                n,
                &name,
                TrackKind::Script,
                known.as_deref(),
                &mut b.group.track_scripts,
            )
        },
        TrackKind::File => |ctx, n, b| {
            let name = b.group.name.clone();
            let known = b.known.get(TrackKind::File).map(|k| k.to_vec());
            read_tracked(
                ctx,
                n,
                &name,
                TrackKind::File,
                known.as_deref(),
                &mut b.group.track_files,
            )
        },
        TrackKind::Process => |ctx, n, b| {
            let name = b.group.name.clone();
            let known = b.known.get(TrackKind::Process).map(|k| k.to_vec());
            read_tracked(
                ctx,
                n,
                &name,
                TrackKind::Process,
                known.as_deref(),
                &mut b.group.track_processes,
            )
        },
        TrackKind::Bfd => |ctx, n, b| {
            let name = b.group.name.clone();
            let known = b.known.get(TrackKind::Bfd).map(|k| k.to_vec());
            read_tracked(
                ctx,
                n,
                &name,
                TrackKind::Bfd,
                known.as_deref(),
                &mut b.group.track_bfds,
            )
        },
    }
}

/// Sets a notify script slot, keeping the first one as keepalived does.
fn set_notify(
    ctx: &mut Ctx<'_>,
    n: &Node,
    owner: &str,
    slot: &mut Option<crate::config::model::global::ExecScript>,
) {
    if slot.is_some() {
        ctx.note(
            n.span(),
            format!(
                "({owner}) {} script already specified - ignoring {}",
                n.keyword(),
                n.args().first().map(|w| w.text.as_str()).unwrap_or("")
            ),
        );
        return;
    }
    *slot = scripts::read_script(ctx, n, 0, false);
}

fn sync_group_table() -> Vec<Kw<GroupBuild>> {
    vec![
        Kw::new("group", Tier::T2, |ctx, n, b| {
            if !require_block(ctx, n) {
                return;
            }
            if b.has_group_list {
                ctx.error(
                    n.span(),
                    format!(
                        "Group list already specified for sync group {}",
                        b.group.name
                    ),
                );
                return;
            }
            b.has_group_list = true;
            for item in n.children() {
                b.group
                    .members
                    .extend(item.words.iter().map(|w| w.text.clone()));
            }
        }),
        Kw::accepted(
            "track_interface",
            Tier::T3,
            group_track(TrackKind::Interface),
        ),
        Kw::accepted("track_script", Tier::T3, group_track(TrackKind::Script)),
        Kw::accepted("track_file", Tier::T3, group_track(TrackKind::File)),
        Kw::accepted("track_process", Tier::T3, group_track(TrackKind::Process)),
        Kw::new("track_bfd", Tier::T3, group_track(TrackKind::Bfd)),
        Kw::new("notify_master", Tier::T2, |ctx, n, b| {
            let o = b.group.name.clone();
            set_notify(ctx, n, &o, &mut b.group.notify.master)
        }),
        Kw::new("notify_backup", Tier::T2, |ctx, n, b| {
            let o = b.group.name.clone();
            set_notify(ctx, n, &o, &mut b.group.notify.backup)
        }),
        Kw::new("notify_fault", Tier::T2, |ctx, n, b| {
            let o = b.group.name.clone();
            set_notify(ctx, n, &o, &mut b.group.notify.fault)
        }),
        Kw::accepted("notify_stop", Tier::T3, |ctx, n, b| {
            let o = b.group.name.clone();
            set_notify(ctx, n, &o, &mut b.group.notify.stop)
        }),
        Kw::new("notify", Tier::T2, |ctx, n, b| {
            let o = b.group.name.clone();
            set_notify(ctx, n, &o, &mut b.group.notify.generic)
        }),
        Kw::accepted("smtp_alert", Tier::T3, |ctx, n, b| {
            if let Some(v) = vals::flag(ctx, n, |s| {
                format!("Invalid vrrp_group smtp_alert parameter {s}")
            }) {
                b.group.smtp_alert_configured = Some(v);
            }
        }),
        Kw::new("global_tracking", Tier::T3, |ctx, n, b| {
            ctx.warning(
                n.span(),
                format!(
                    "({}) global_tracking is deprecated. Use track_interface/script/file on the \
                     sync group",
                    b.group.name
                ),
            );
            b.group.tracking_weight = true;
        }),
        Kw::accepted("sync_group_tracking_weight", Tier::T3, |ctx, n, b| {
            b.group.tracking_weight = vals::bare_flag(ctx, n)
        }),
        Kw::accepted("notify_priority_changes", Tier::T3, |ctx, n, b| {
            if let Some(v) = vals::flag(ctx, n, |s| {
                format!("Invalid notify_priority_changes parameter {s}")
            }) {
                b.group.notify_priority_changes = Some(v);
            }
        }),
    ]
}

// ---------------------------------------------------------------------------------------
// vrrp_instance

/// An instance while it is read.
struct InstBuild {
    inst: VrrpInstance,
    known: Known,
    track_groups: Vec<TrackGroup>,
    /// Rules of this instance read so far, for the auto-preference counter.
    next_rule_priority: [u32; 2],
}

fn new_instance(name: &str, span: Span) -> VrrpInstance {
    VrrpInstance {
        name: name.to_string(),
        span,
        interface: None,
        vrid: 0,
        priority: PRIORITY_DEFAULT,
        initial_state: InitialState::Backup,
        version: VrrpVersion::V2,
        family: Family::Inet,
        advert_int_cs: 100,
        authentication: None,
        vips: Vec::new(),
        evips: Vec::new(),
        no_virtual_ipaddress: false,
        virtual_routes: Vec::new(),
        virtual_rules: Vec::new(),
        unicast_src_ip: None,
        unicast_peers: Vec::new(),
        unicast_ttl: None,
        unicast_fault_no_peer: false,
        check_unicast_src: false,
        mcast_src_ip: None,
        mcast_dst_ip: None,
        track_src_ip: false,
        dont_track_primary: false,
        track_interfaces: Vec::new(),
        track_scripts: Vec::new(),
        track_files: Vec::new(),
        track_processes: Vec::new(),
        track_bfds: Vec::new(),
        nopreempt: false,
        preempt_delay_us: 0,
        accept: true,
        strict_mode: false,
        skip_check_adv_addr: false,
        vmac: None,
        use_vmac_addr: false,
        ipvlan: None,
        promote_secondaries: false,
        garp: GarpSettings {
            master_delay_us: 5_000_000,
            master_repeat: 5,
            master_refresh_us: 0,
            master_refresh_repeat: 1,
            lower_prio_delay_us: 5_000_000,
            lower_prio_repeat: 5,
            extra_if: None,
        },
        down_timer_adverts: 3,
        lower_prio_no_advert: false,
        higher_prio_send_advert: false,
        owner_ignore_adverts: false,
        timer_expired_backup: None,
        kernel_rx_buf_size: None,
        v3_checksum_as_v2: false,
        old_unicast_checksum: None,
        vrf: None,
        notify: NotifyScripts::default(),
        notify_priority_changes: false,
        smtp_alert: false,
        sync_group: None,
        linkbeat_use_polling: false,
        lvs_sync_daemon_interface: None,
        debug: 0,
        configured: ConfiguredValues::default(),
    }
}

fn instance_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if node.args().len() != 1 {
        ctx.error(node.span(), "vrrp_instance must have a name");
        return;
    }
    let name = &node.args()[0];
    if cfg.vrrp.instances.iter().any(|i| i.name == name.text) {
        ctx.error(
            name.span,
            format!("vrrp instance {} already defined", name.text),
        );
        return;
    }
    if !require_block(ctx, node) {
        return;
    }
    let mut b = InstBuild {
        inst: new_instance(&name.text, name.span),
        known: Known::of(cfg),
        track_groups: cfg.vrrp.track_groups.clone(),
        next_rule_priority: next_rule_priority(cfg, &[]),
    };
    for child in node.children() {
        b.inst
            .configured
            .spans
            .entry(child.keyword().to_string())
            .or_insert(child.span());
    }
    let table = instance_table();
    ctx.dispatch(node.children(), &table, &mut b);
    cfg.vrrp.instances.push(b.inst);
}

/// `(NAME)` prefix of instance messages.
fn o(b: &InstBuild) -> String {
    format!("({})", b.inst.name)
}

/// Sets the instance family from an address, or reports a mismatch with `msg`.
fn family_ok(b: &mut InstBuild, a: &IpAddr) -> bool {
    let f = Family::of(a);
    match b.inst.configured.family {
        None => {
            b.inst.configured.family = Some(f);
            true
        }
        Some(cur) => cur == f,
    }
}

fn inst_flag(ctx: &mut Ctx<'_>, n: &Node, b: &InstBuild) -> Option<bool> {
    let owner = o(b);
    vals::flag(ctx, n, |s| {
        format!("{owner} invalid {} {s} specified", n.keyword())
    })
}

fn inst_track(kind: TrackKind) -> fn(&mut Ctx<'_>, &Node, &mut InstBuild) {
    fn run(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild, kind: TrackKind) {
        let owner = b.inst.name.clone();
        let known = b.known.get(kind).map(|k| k.to_vec());
        let out = match kind {
            TrackKind::Interface => &mut b.inst.track_interfaces,
            TrackKind::Script => &mut b.inst.track_scripts,
            TrackKind::File => &mut b.inst.track_files,
            TrackKind::Process => &mut b.inst.track_processes,
            TrackKind::Bfd => &mut b.inst.track_bfds,
        };
        read_tracked(ctx, n, &owner, kind, known.as_deref(), out);
    }
    match kind {
        TrackKind::Interface => |c, n, b| run(c, n, b, TrackKind::Interface),
        TrackKind::Script => |c, n, b| run(c, n, b, TrackKind::Script),
        TrackKind::File => |c, n, b| run(c, n, b, TrackKind::File),
        TrackKind::Process => |c, n, b| run(c, n, b, TrackKind::Process),
        TrackKind::Bfd => |c, n, b| run(c, n, b, TrackKind::Bfd),
    }
}

/// A GARP count or delay of an instance.
fn garp_secs(ctx: &mut Ctx<'_>, n: &Node, b: &InstBuild) -> Option<u64> {
    let owner = o(b);
    vals::uint(ctx, n, 0, 0, 4294, |s| {
        format!("{owner} {} '{s}' invalid - ignoring", n.keyword())
    })
    .map(|v| v * 1_000_000)
}

fn garp_count(ctx: &mut Ctx<'_>, n: &Node, b: &InstBuild, min: u64) -> Option<u32> {
    let owner = o(b);
    vals::uint(ctx, n, 0, min, u64::from(u32::MAX), |s| {
        format!("{owner} {} '{s}' invalid - ignoring", n.keyword())
    })
    .map(|v| v as u32)
}

fn instance_table() -> Vec<Kw<InstBuild>> {
    vec![
        Kw::new("state", Tier::T1, state_kw),
        Kw::new("interface", Tier::T1, |ctx, n, b| {
            let Some(w) = need(ctx, n, 0) else { return };
            if w.text == "lo" {
                ctx.error(
                    w.span,
                    format!(
                        "{} cannot use a loopback interface ({}) for vrrp - ignoring",
                        o(b),
                        w.text
                    ),
                );
                b.inst.interface = None;
                return;
            }
            b.inst.interface = Some(w.text.clone());
            b.inst
                .configured
                .spans
                .insert("interface".to_string(), n.span());
        }),
        Kw::new("virtual_router_id", Tier::T1, |ctx, n, b| {
            let owner = o(b);
            if let Some(v) = vals::uint(ctx, n, 0, 1, 255, |s| {
                format!("{owner}: VRID '{s}' not valid - must be between 1 & 255")
            }) {
                b.inst.vrid = v as u8;
            }
        }),
        Kw::new("priority", Tier::T1, |ctx, n, b| {
            let Some(w) = need(ctx, n, 0) else { return };
            match crate::config::values::parse_uint_range(&w.text, 1, 255) {
                Ok(v) => b.inst.configured.priority = Some(v as u8),
                Err(_) => {
                    ctx.warning(
                        w.span,
                        format!(
                            "{} Priority not valid! must be between 1 & 255. Using default {}",
                            o(b),
                            PRIORITY_DEFAULT
                        ),
                    );
                    b.inst.configured.priority = Some(PRIORITY_DEFAULT);
                }
            }
        }),
        Kw::new("advert_int", Tier::T1, |ctx, n, b| {
            let owner = o(b);
            if let Some(v) = vals::timer(ctx, n, 0, 10_000, 255_000_000, |s| {
                format!("{owner} Advert interval ({s}) not valid! Must be > 0 - ignoring")
            }) {
                b.inst.configured.advert_int_us = Some(v);
            }
        }),
        Kw::new("authentication", Tier::T1, authentication_kw),
        Kw::accepted("auth_hmac", Tier::T3, auth_hmac_kw),
        Kw::new("virtual_ipaddress", Tier::T1, |ctx, n, b| {
            vips_kw(ctx, n, b, false)
        }),
        Kw::new("virtual_ipaddress_excluded", Tier::T2, |ctx, n, b| {
            vips_kw(ctx, n, b, true)
        }),
        Kw::accepted("no_virtual_ipaddress", Tier::T3, |ctx, n, b| {
            b.inst.no_virtual_ipaddress = vals::bare_flag(ctx, n)
        }),
        Kw::new("virtual_routes", Tier::T2, |ctx, n, b| {
            if !require_block(ctx, n) {
                return;
            }
            for item in n.children() {
                if let Some(r) = addr::parse_route(ctx, item, false, &b.track_groups) {
                    b.inst.virtual_routes.push(r);
                }
            }
        }),
        Kw::new("virtual_rules", Tier::T3, |ctx, n, b| {
            if !require_block(ctx, n) {
                return;
            }
            for item in n.children() {
                let mut next = b.next_rule_priority;
                if let Some(r) = addr::parse_rule(ctx, item, false, &b.track_groups, &mut next) {
                    b.next_rule_priority = next;
                    b.inst.virtual_rules.push(r);
                }
            }
        }),
        Kw::new("unicast_src_ip", Tier::T1, |ctx, n, b| {
            src_ip_kw(ctx, n, b, true)
        }),
        Kw::new("mcast_src_ip", Tier::T2, |ctx, n, b| {
            src_ip_kw(ctx, n, b, false)
        }),
        Kw::new("unicast_peer", Tier::T1, unicast_peer_kw),
        Kw::accepted("unicast_ttl", Tier::T3, |ctx, n, b| {
            let owner = o(b);
            if let Some(v) = vals::uint(ctx, n, 0, 0, 255, |s| {
                format!("{owner}: TTL '{s}' not valid - must be between 0 & 255")
            }) {
                b.inst.unicast_ttl = Some(v as u8);
            }
        }),
        Kw::accepted("unicast_fault_no_peer", Tier::T3, |ctx, n, b| {
            b.inst.unicast_fault_no_peer = vals::bare_flag(ctx, n)
        }),
        Kw::accepted("check_unicast_src", Tier::T3, |ctx, n, b| {
            b.inst.configured.check_unicast_src = vals::bare_flag(ctx, n)
        }),
        Kw::accepted("old_unicast_checksum", Tier::T3, |ctx, n, b| {
            match n.args().first().map(|w| w.text.as_str()) {
                None => b.inst.old_unicast_checksum = Some(true),
                Some("never") => b.inst.old_unicast_checksum = Some(false),
                Some(other) => ctx.error(
                    n.args()[0].span,
                    format!(
                        "{} Unknown old_unicast_chksum mode {other} - ignoring",
                        o(b)
                    ),
                ),
            }
        }),
        Kw::accepted("mcast_dst_ip", Tier::T3, |ctx, n, b| {
            let Some(w) = need(ctx, n, 0) else { return };
            match vals::ip(&w.text).filter(|a| a.is_multicast()) {
                Some(a) => b.inst.mcast_dst_ip = Some(a),
                None => ctx.error(
                    w.span,
                    format!(
                        "{} mcast_dst_ip {} not multicast. Skipping...",
                        o(b),
                        w.text
                    ),
                ),
            }
        }),
        Kw::accepted("track_src_ip", Tier::T3, |ctx, n, b| {
            b.inst.track_src_ip = vals::bare_flag(ctx, n)
        }),
        Kw::new("version", Tier::T2, version_kw),
        Kw::new("native_ipv6", Tier::T3, |ctx, n, b| {
            vals::bare_flag(ctx, n);
            if b.inst.configured.family == Some(Family::Inet) {
                ctx.error(
                    n.span(),
                    format!("{} Cannot specify native_ipv6 with IPv4 addresses", o(b)),
                );
                return;
            }
            b.inst.configured.family = Some(Family::Inet6);
            b.inst.configured.version = Some(VrrpVersion::V3);
        }),
        Kw::accepted("vrf", Tier::T3, |ctx, n, b| {
            if let Some(w) = need(ctx, n, 0) {
                b.inst.vrf = Some(w.text.clone());
            }
        }),
        Kw::new("dont_track_primary", Tier::T2, |ctx, n, b| {
            b.inst.dont_track_primary = vals::bare_flag(ctx, n)
        }),
        Kw::new(
            "track_interface",
            Tier::T1,
            inst_track(TrackKind::Interface),
        ),
        Kw::new("track_script", Tier::T1, inst_track(TrackKind::Script)),
        Kw::new("track_file", Tier::T2, inst_track(TrackKind::File)),
        Kw::new("track_process", Tier::T2, inst_track(TrackKind::Process)),
        Kw::new("track_bfd", Tier::T3, inst_track(TrackKind::Bfd)),
        Kw::new("nopreempt", Tier::T1, |ctx, n, b| {
            b.inst.nopreempt = vals::bare_flag(ctx, n)
        }),
        Kw::new("preempt", Tier::T3, |ctx, n, b| {
            vals::bare_flag(ctx, n);
            b.inst.nopreempt = false;
        }),
        Kw::new("preempt_delay", Tier::T2, |ctx, n, b| {
            let owner = o(b);
            if let Some(v) = vals::timer(ctx, n, 0, 0, 1_000_000_000, |_| {
                format!("{owner} Preempt_delay not valid! must be between 0-1000")
            }) {
                b.inst.preempt_delay_us = v;
            }
        }),
        Kw::new("accept", Tier::T2, |ctx, n, b| {
            vals::bare_flag(ctx, n);
            b.inst.configured.accept = Some(true);
        }),
        Kw::new("no_accept", Tier::T3, |ctx, n, b| {
            vals::bare_flag(ctx, n);
            b.inst.configured.accept = Some(false);
        }),
        Kw::new("strict_mode", Tier::T3, |ctx, n, b| {
            if let Some(v) = inst_flag(ctx, n, b) {
                b.inst.configured.strict_mode = Some(v);
            }
        }),
        Kw::new("skip_check_adv_addr", Tier::T3, |ctx, n, b| {
            if let Some(v) = inst_flag(ctx, n, b) {
                b.inst.configured.skip_check_adv_addr = Some(v);
            }
        }),
        Kw::new("use_vmac", Tier::T2, use_vmac_kw),
        Kw::accepted("use_vmac_addr", Tier::T3, |ctx, n, b| {
            b.inst.use_vmac_addr = vals::bare_flag(ctx, n)
        }),
        Kw::new("vmac_xmit_base", Tier::T2, |ctx, n, b| {
            b.inst.configured.vmac_xmit_base = vals::bare_flag(ctx, n)
        }),
        Kw::accepted("use_ipvlan", Tier::T3, use_ipvlan_kw),
        Kw::accepted("promote_secondaries", Tier::T3, |ctx, n, b| {
            b.inst.promote_secondaries = vals::bare_flag(ctx, n)
        }),
        Kw::accepted("linkbeat_use_polling", Tier::T3, |ctx, n, b| {
            vals::bare_flag(ctx, n);
            ctx.warning(
                n.span(),
                format!(
                    "{} 'linkbeat_use_polling' in vrrp instance deprecated - use \
                     linkbeat_interfaces block",
                    o(b)
                ),
            );
            b.inst.linkbeat_use_polling = true;
        }),
        Kw::new("v3_checksum_as_v2", Tier::T3, |ctx, n, b| {
            if let Some(v) = inst_flag(ctx, n, b) {
                b.inst.configured.v3_checksum_as_v2 = Some(v);
            }
        }),
        Kw::new("garp_master_delay", Tier::T2, |ctx, n, b| {
            if let Some(v) = garp_secs(ctx, n, b) {
                b.inst.configured.garp_master_delay_us = Some(v);
            }
        }),
        Kw::new("garp_master_repeat", Tier::T2, |ctx, n, b| {
            if let Some(v) = garp_count(ctx, n, b, 1) {
                b.inst.configured.garp_master_repeat = Some(v);
            }
        }),
        Kw::new("garp_master_refresh", Tier::T2, |ctx, n, b| {
            if let Some(v) = garp_secs(ctx, n, b) {
                b.inst.configured.garp_master_refresh_us = Some(v);
            }
        }),
        Kw::new("garp_master_refresh_repeat", Tier::T3, |ctx, n, b| {
            if let Some(v) = garp_count(ctx, n, b, 1) {
                b.inst.configured.garp_master_refresh_repeat = Some(v);
            }
        }),
        Kw::new("garp_lower_prio_delay", Tier::T3, |ctx, n, b| {
            if let Some(v) = garp_secs(ctx, n, b) {
                b.inst.configured.garp_lower_prio_delay_us = Some(v);
            }
        }),
        Kw::new("garp_lower_prio_repeat", Tier::T3, |ctx, n, b| {
            if let Some(v) = garp_count(ctx, n, b, 0) {
                b.inst.configured.garp_lower_prio_repeat = Some(v);
            }
        }),
        Kw::accepted("garp_extra_if", Tier::T3, |ctx, n, b| {
            b.inst.configured.garp_extra_if = Some(super::global::garp_extra_if(ctx, n));
        }),
        Kw::accepted("vmac_garp_intvl", Tier::T3, |ctx, n, b| {
            b.inst.configured.garp_extra_if = Some(super::global::garp_extra_if(ctx, n));
        }),
        Kw::new("down_timer_adverts", Tier::T3, |ctx, n, b| {
            let owner = o(b);
            if let Some(v) = vals::uint(ctx, n, 0, 1, 100, |s| {
                format!("{owner} Invalid down_timer_adverts [1:100] '{s}'")
            }) {
                b.inst.configured.down_timer_adverts = Some(v as u32);
            }
        }),
        Kw::new("lower_prio_no_advert", Tier::T3, |ctx, n, b| {
            if let Some(v) = inst_flag(ctx, n, b) {
                b.inst.configured.lower_prio_no_advert = Some(v);
            }
        }),
        Kw::new("higher_prio_send_advert", Tier::T3, |ctx, n, b| {
            if let Some(v) = inst_flag(ctx, n, b) {
                b.inst.configured.higher_prio_send_advert = Some(v);
            }
        }),
        Kw::new("owner_ignore_adverts", Tier::T3, |ctx, n, b| {
            if let Some(v) = inst_flag(ctx, n, b) {
                b.inst.configured.owner_ignore_adverts = Some(v);
            }
        }),
        Kw::accepted("timer_expired_backup", Tier::T3, timer_expired_backup_kw),
        Kw::accepted("thread_timer_expired", Tier::T3, timer_expired_backup_kw),
        Kw::accepted("kernel_rx_buf_size", Tier::T3, |ctx, n, b| {
            let owner = o(b);
            if let Some(v) = vals::uint(ctx, n, 0, 0, u64::from(u32::MAX), |s| {
                format!("{owner} invalid kernel_rx_buf_size {s} - ignoring")
            }) {
                b.inst.kernel_rx_buf_size = Some(v as u32);
            }
        }),
        Kw::new("notify_master", Tier::T1, |ctx, n, b| {
            let owner = b.inst.name.clone();
            set_notify(ctx, n, &owner, &mut b.inst.notify.master)
        }),
        Kw::new("notify_backup", Tier::T1, |ctx, n, b| {
            let owner = b.inst.name.clone();
            set_notify(ctx, n, &owner, &mut b.inst.notify.backup)
        }),
        Kw::new("notify_fault", Tier::T1, |ctx, n, b| {
            let owner = b.inst.name.clone();
            set_notify(ctx, n, &owner, &mut b.inst.notify.fault)
        }),
        Kw::new("notify_stop", Tier::T2, |ctx, n, b| {
            let owner = b.inst.name.clone();
            set_notify(ctx, n, &owner, &mut b.inst.notify.stop)
        }),
        Kw::new("notify", Tier::T2, |ctx, n, b| {
            let owner = b.inst.name.clone();
            set_notify(ctx, n, &owner, &mut b.inst.notify.generic)
        }),
        Kw::accepted("notify_deleted", Tier::T3, |ctx, n, b| {
            b.inst.notify.deleted = Some(if n.args().is_empty() {
                None
            } else {
                scripts::read_script(ctx, n, 0, false)
            });
        }),
        Kw::accepted("notify_master_rx_lower_pri", Tier::T3, |ctx, n, b| {
            let owner = b.inst.name.clone();
            set_notify(ctx, n, &owner, &mut b.inst.notify.master_rx_lower_pri)
        }),
        Kw::accepted("notify_priority_changes", Tier::T3, |ctx, n, b| {
            if let Some(v) = inst_flag(ctx, n, b) {
                b.inst.configured.notify_priority_changes = Some(v);
            }
        }),
        Kw::new("smtp_alert", Tier::T2, |ctx, n, b| {
            if let Some(v) = inst_flag(ctx, n, b) {
                b.inst.configured.smtp_alert = Some(v);
            }
        }),
        Kw::new("lvs_sync_daemon_interface", Tier::T3, |ctx, n, b| {
            let Some(w) = need(ctx, n, 0) else { return };
            ctx.warning(
                n.span(),
                format!(
                    "{} Specifying lvs_sync_daemon_interface against a vrrp is deprecated. \
                     Please use global lvs_sync_daemon",
                    o(b)
                ),
            );
            b.inst.lvs_sync_daemon_interface = Some(w.text.clone());
        }),
        Kw::accepted("debug", Tier::T3, |ctx, n, b| {
            let owner = o(b);
            if let Some(v) = vals::uint(ctx, n, 0, 0, 4, |_| {
                format!("{owner} Debug value not valid! must be between 0-4")
            }) {
                b.inst.debug = v as u8;
            }
        }),
    ]
}

fn state_kw(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild) {
    let Some(w) = need(ctx, n, 0) else { return };
    match w.text.as_str() {
        "MASTER" => b.inst.configured.state = Some(InitialState::Master),
        "BACKUP" => {
            if b.inst.configured.state == Some(InitialState::Master) {
                ctx.warning(
                    w.span,
                    format!("{} state previously set as MASTER - ignoring BACKUP", o(b)),
                );
            } else {
                b.inst.configured.state = Some(InitialState::Backup);
            }
        }
        other => {
            ctx.warning(
                w.span,
                format!("{} unknown state '{other}', defaulting to BACKUP", o(b)),
            );
            b.inst.configured.state = Some(InitialState::Backup);
        }
    }
}

fn version_kw(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild) {
    let owner = o(b);
    let Some(v) = vals::uint(ctx, n, 0, 2, 3, |_| {
        format!("{owner}: Version must be either 2 or 3")
    }) else {
        return;
    };
    if v == 2 && b.inst.configured.family == Some(Family::Inet6) {
        ctx.error(
            n.args()[0].span,
            format!(
                "{owner} vrrp_version 2 conflicts with configured or deduced version 3; ignoring."
            ),
        );
        return;
    }
    b.inst.configured.version = Some(if v == 2 {
        VrrpVersion::V2
    } else {
        VrrpVersion::V3
    });
}

fn timer_expired_backup_kw(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild) {
    if n.args().is_empty() {
        b.inst.timer_expired_backup = Some(254);
        return;
    }
    let owner = o(b);
    if let Some(v) = vals::uint(ctx, n, 0, 1, 254, |s| {
        format!("{owner} timer_expired_backup priority {s} invalid - must be 1..254")
    }) {
        b.inst.timer_expired_backup = Some(v as u8);
    }
}

fn authentication_kw(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild) {
    if !require_block(ctx, n) {
        return;
    }
    let table: Vec<Kw<InstBuild>> = vec![
        Kw::new("auth_type", Tier::T1, |ctx, n, b| {
            let Some(w) = need(ctx, n, 0) else { return };
            match w.text.as_str() {
                "PASS" => b.inst.configured.auth_type = Some(AuthType::Pass),
                "AH" => b.inst.configured.auth_type = Some(AuthType::Ah),
                other => ctx.error(
                    w.span,
                    format!("{} unknown authentication type '{other}'", o(b)),
                ),
            }
        }),
        Kw::new("auth_pass", Tier::T1, |ctx, n, b| {
            let Some(w) = need(ctx, n, 0) else { return };
            let bytes = w.text.as_bytes();
            if bytes.len() > 8 {
                ctx.warning(w.span, "Truncating auth_pass to 8 characters");
            }
            let mut pass = [0u8; 8];
            let len = bytes.len().min(8);
            pass[..len].copy_from_slice(&bytes[..len]);
            b.inst.configured.auth_pass = Some(pass);
        }),
    ];
    ctx.dispatch(n.children(), &table, b);
}

fn auth_hmac_kw(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild) {
    if !require_block(ctx, n) {
        return;
    }
    // Validated only: keepalived-rs does not implement the auth_hmac trailer yet.
    let table: Vec<Kw<InstBuild>> = vec![
        Kw::accepted("key", Tier::T3, |ctx, n, b| {
            let owner = o(b);
            if vals::uint(ctx, n, 0, 1, 255, |s| {
                format!("{owner} auth_hmac key id {s} invalid")
            })
            .is_some()
            {
                need(ctx, n, 1);
            }
        }),
        Kw::accepted("active_key", Tier::T3, |ctx, n, b| {
            let owner = o(b);
            vals::uint(ctx, n, 0, 1, 255, |s| {
                format!("{owner} auth_hmac active_key {s} invalid")
            });
        }),
        Kw::accepted("time_window", Tier::T3, |ctx, n, b| {
            let owner = o(b);
            vals::uint(ctx, n, 0, 1, 300, |s| {
                format!("{owner} auth_hmac time_window {s} invalid")
            });
        }),
        Kw::accepted("anti_replay", Tier::T3, |ctx, n, b| {
            if let Some(w) = need(ctx, n, 0) {
                if w.text != "time" && w.text != "monotonic" {
                    ctx.error(
                        w.span,
                        format!("{} auth_hmac anti_replay {} invalid", o(b), w.text),
                    );
                }
            }
        }),
        Kw::accepted("mode", Tier::T3, |ctx, n, b| {
            if let Some(w) = need(ctx, n, 0) {
                if !["enforce", "permissive", "receive-only"].contains(&w.text.as_str()) {
                    ctx.error(
                        w.span,
                        format!("{} auth_hmac mode {} invalid", o(b), w.text),
                    );
                }
            }
        }),
    ];
    ctx.dispatch(n.children(), &table, b);
}

fn vips_kw(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild, excluded: bool) {
    if !require_block(ctx, n) {
        return;
    }
    for item in n.children() {
        let Some(a) = addr::parse_addr(ctx, item, AddrUse::Vip, &[]) else {
            continue;
        };
        if excluded {
            b.inst.evips.push(a);
            continue;
        }
        if !family_ok(b, &a.addr) {
            ctx.error(
                a.span,
                format!(
                    "{}: address family must match VRRP instance [{}] - ignoring",
                    o(b),
                    a.text
                ),
            );
            continue;
        }
        b.inst.vips.push(a);
    }
}

fn src_ip_kw(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild, unicast: bool) {
    let Some(w) = need(ctx, n, 0) else { return };
    let Some(a) = vals::ip(&w.text) else {
        ctx.error(
            w.span,
            format!(
                "Configuration error: VRRP instance[{}] malformed src address[{}]. Skipping...",
                b.inst.name, w.text
            ),
        );
        return;
    };
    if unicast {
        b.inst.configured.unicast_keyword = true;
    }
    if !family_ok(b, &a) {
        ctx.error(
            w.span,
            format!(
                "Configuration error: VRRP instance[{}] and src address[{}] MUST be of the \
                 same family !!! Skipping...",
                b.inst.name, w.text
            ),
        );
        return;
    }
    // keepalived keeps one source address for both keywords.
    b.inst.unicast_src_ip = unicast.then_some(a).or(b.inst.unicast_src_ip);
    b.inst.mcast_src_ip = (!unicast).then_some(a).or(b.inst.mcast_src_ip);
}

fn unicast_peer_kw(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild) {
    if !require_block(ctx, n) {
        return;
    }
    b.inst.configured.unicast_keyword = true;
    'items: for item in n.children() {
        let w = &item.words[0];
        let Some(a) = vals::ip(&w.text) else {
            ctx.error(
                w.span,
                format!(
                    "Configuration error: VRRP instance[{}] malformed unicast peer \
                     address[{}]. Skipping...",
                    b.inst.name, w.text
                ),
            );
            continue;
        };
        if !family_ok(b, &a) {
            ctx.error(
                w.span,
                format!(
                    "Configuration error: VRRP instance[{}] and unicast peer address[{}] MUST \
                     be of the same family !!! Skipping...",
                    b.inst.name, w.text
                ),
            );
            continue;
        }
        let mut p = UnicastPeer {
            addr: a,
            min_ttl: None,
            max_ttl: None,
            span: w.span,
        };
        let mut i = 1;
        while i < item.words.len() {
            let k = &item.words[i];
            let Some(v) = item.words.get(i + 1) else {
                ctx.error(k.span, format!("{} {} is missing a value", o(b), k.text));
                continue 'items;
            };
            let slot = match k.text.as_str() {
                "min_ttl" => &mut p.min_ttl,
                "max_ttl" => &mut p.max_ttl,
                other => {
                    ctx.error(
                        k.span,
                        format!("{} unknown unicast_peer option {other} - ignoring", o(b)),
                    );
                    i += 2;
                    continue;
                }
            };
            match crate::config::values::parse_uint_range(&v.text, 0, 255) {
                Ok(x) => *slot = Some(x as u8),
                Err(_) => {
                    ctx.error(
                        v.span,
                        format!("{} {} '{}' must be between 0 & 255", o(b), k.text, v.text),
                    );
                    continue 'items;
                }
            }
            i += 2;
        }
        if let (Some(min), Some(max)) = (p.min_ttl, p.max_ttl) {
            if min > max {
                ctx.warning(
                    w.span,
                    format!(
                        "{} min_ttl {min} > max_ttl {max} - all packets will be discarded",
                        o(b)
                    ),
                );
            }
        }
        b.inst.unicast_peers.push(p);
    }
}

/// `aa:bb:cc:dd:ee[:ff]`.
fn parse_mac(s: &str) -> Option<Vec<u8>> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 5 && parts.len() != 6 {
        return None;
    }
    parts
        .iter()
        .map(|p| {
            (p.len() <= 2 && !p.is_empty())
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect()
}

fn use_vmac_kw(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild) {
    let mut v = b.inst.vmac.take().unwrap_or_default();
    let args = n.args();
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        if let Some(mac) = parse_mac(&w.text) {
            if mac[..4] == [0x00, 0x00, 0x5e, 0x00] && (mac[4] == 0x01 || mac[4] == 0x02) {
                ctx.error(
                    w.span,
                    format!(
                        "VMAC MAC address not allowed to be RFC5798 address ({}) - ignoring",
                        w.text
                    ),
                );
            } else {
                let mut m = [0u8; 6];
                m[..mac.len()].copy_from_slice(&mac);
                v.mac = Some(m);
            }
            i += 1;
            continue;
        }
        match w.text.as_str() {
            "netlink_notify_msg" => v.netlink_notify_msg = true,
            "group" => {
                let owner = o(b);
                match vals::next_word(ctx, n, args, i).and_then(|g| {
                    vals::uint_w(ctx, g, 0, u64::from(u32::MAX), |s| {
                        format!("{owner} invalid vmac group {s}")
                    })
                }) {
                    Some(g) => v.group = Some(g as u32),
                    None => break,
                }
                i += 1;
            }
            "name" if i + 1 < args.len() => {
                i += 1;
                v.ifname = Some(args[i].text.clone());
            }
            name => {
                if v.ifname.is_some() {
                    ctx.error(w.span, "VMAC interface name already specified");
                } else if name.len() > 15 {
                    ctx.error(
                        w.span,
                        format!("{} VMAC interface name {name} too long - ignoring", o(b)),
                    );
                } else {
                    v.ifname = Some(name.to_string());
                }
            }
        }
        i += 1;
    }
    b.inst.vmac = Some(v);
}

fn use_ipvlan_kw(ctx: &mut Ctx<'_>, n: &Node, b: &mut InstBuild) {
    let mut v = Ipvlan::default();
    let args = n.args();
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        match w.text.as_str() {
            "bridge" => v.mode = IpvlanMode::Bridge,
            "private" => v.mode = IpvlanMode::Private,
            "vepa" => v.mode = IpvlanMode::Vepa,
            "group" => {
                let owner = o(b);
                match vals::next_word(ctx, n, args, i).and_then(|g| {
                    vals::uint_w(ctx, g, 0, u64::from(u32::MAX), |s| {
                        format!("{owner} invalid ipvlan group {s}")
                    })
                }) {
                    Some(g) => v.group = Some(g as u32),
                    None => break,
                }
                i += 1;
            }
            "name" if i + 1 < args.len() => {
                i += 1;
                v.ifname = Some(args[i].text.clone());
            }
            t => match crate::config::values::parse_ip_prefix(t) {
                Ok((a, len)) => {
                    v.addr = Some(IpPrefix {
                        addr: a,
                        len: len.unwrap_or(if a.is_ipv4() { 32 } else { 128 }),
                    })
                }
                Err(_) if v.ifname.is_none() => v.ifname = Some(t.to_string()),
                Err(_) => ctx.error(w.span, format!("{} unknown use_ipvlan option {t}", o(b))),
            },
        }
        i += 1;
    }
    b.inst.ipvlan = Some(v);
}

// ---------------------------------------------------------------------------------------
// Validation: keepalived's vrrp_complete_init / vrrp_complete_instance.

/// Cross-checks after every block was read: sync-group membership, the per-instance
/// derivations and checks, duplicate VRIDs, tracking weights, interface existence.
pub fn validate(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let global = cfg.global.clone();
    check_interfaces(ctx, cfg, &global);
    // keepalived stops before completing the VRRP configuration when an interface is
    // missing: none of the completion checks below are reported then. The model is still
    // resolved (for `-d`), with their diagnostics dropped.
    let mark = ctx.diags.items.len();
    complete(ctx, cfg, &global);
    if cfg.vrrp.nonexistent_interface {
        ctx.diags.items.truncate(mark);
    }
}

fn complete(ctx: &mut Ctx<'_>, cfg: &mut Config, global: &GlobalDefs) {
    resolve_sync_groups(ctx, cfg);
    check_duplicate_vrids(ctx, cfg);
    let groups = cfg.vrrp.sync_groups.clone();
    let mut kept = Vec::new();
    for inst in std::mem::take(&mut cfg.vrrp.instances) {
        if let Some(i) = complete_instance(ctx, inst, global, &groups) {
            kept.push(i);
        }
    }
    cfg.vrrp.instances = kept;
    let names: Vec<String> = cfg.vrrp.instances.iter().map(|i| i.name.clone()).collect();
    for g in &mut cfg.vrrp.sync_groups {
        g.members.retain(|m| names.contains(m));
    }
    sync_group_tracking(ctx, cfg, global);
    check_track_groups(ctx, cfg);
    lvs_sync_daemon(ctx, cfg);
    for s in &cfg.vrrp.vrrp_scripts {
        let used = cfg
            .vrrp
            .instances
            .iter()
            .any(|i| i.track_scripts.iter().any(|t| t.name == s.name))
            || cfg
                .vrrp
                .sync_groups
                .iter()
                .any(|g| g.track_scripts.iter().any(|t| t.name == s.name));
        if !used && !cfg.vrrp.instances.is_empty() {
            ctx.note(s.span, format!("Warning - script {} is not used", s.name));
        }
    }
}

fn resolve_sync_groups(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let mut kept = Vec::new();
    for mut g in std::mem::take(&mut cfg.vrrp.sync_groups) {
        if g.members.is_empty() {
            ctx.error(
                g.span,
                format!("Sync group {} has no virtual router(s). removing", g.name),
            );
            continue;
        }
        let mut members = Vec::new();
        for m in std::mem::take(&mut g.members) {
            match cfg.vrrp.instances.iter_mut().find(|i| i.name == m) {
                None => ctx.error(
                    g.span,
                    format!(
                        "Virtual router {m} specified in sync group {} doesn't exist - ignoring",
                        g.name
                    ),
                ),
                Some(i) if i.sync_group.is_some() => ctx.error(
                    g.span,
                    format!(
                        "Virtual router {m} cannot exist in more than one sync group; ignoring {}",
                        g.name
                    ),
                ),
                Some(i) => {
                    i.sync_group = Some(g.name.clone());
                    members.push(m);
                }
            }
        }
        match members.len() {
            0 => {
                ctx.error(
                    g.span,
                    format!(
                        "Sync group {}, no matching virtual router found in group declaration \
                         - removing",
                        g.name
                    ),
                );
                continue;
            }
            1 => ctx.warning(
                g.span,
                format!(
                    "Sync group {} has only 1 virtual router(s) - this probably isn't what you \
                     want",
                    g.name
                ),
            ),
            _ => {}
        }
        g.members = members;
        kept.push(g);
    }
    cfg.vrrp.sync_groups = kept;
}

/// The family keepalived has deduced so far (IPv4 when nothing said otherwise).
fn deduced_family(i: &VrrpInstance) -> Family {
    i.configured.family.unwrap_or(Family::Inet)
}

fn check_duplicate_vrids(ctx: &mut Ctx<'_>, cfg: &Config) {
    let exists = |ctx: &Ctx<'_>, ifname: &str| {
        !ctx.opts.check_interfaces
            || cfg.global.dynamic_interfaces
            || ctx.host.interface_exists(ifname)
    };
    let inst = &cfg.vrrp.instances;
    for (n, a) in inst.iter().enumerate() {
        let Some(ifa) = a.interface.as_deref() else {
            continue;
        };
        if a.vrid == 0 || !exists(ctx, ifa) {
            continue;
        }
        for b in &inst[n + 1..] {
            if b.vrid == a.vrid
                && b.interface.as_deref() == Some(ifa)
                && deduced_family(a) == deduced_family(b)
            {
                ctx.error(
                    b.span,
                    format!(
                        "{} and {} both use VRID {} with IPv{} on interface {}",
                        a.name,
                        b.name,
                        a.vrid,
                        deduced_family(a).number(),
                        ifa
                    ),
                );
            }
        }
    }
}

/// Span of a keyword in the instance (its first use), else the instance name.
fn kw_span(i: &VrrpInstance, kw: &str) -> Span {
    i.configured.spans.get(kw).copied().unwrap_or(i.span)
}

/// Largest number of VIPs that fit in one advert on a 1500-byte Ethernet MTU (the count
/// field is 8 bits).
fn max_vips(family: Family, version: VrrpVersion, ah: bool) -> usize {
    let mtu = 1500;
    let max = match family {
        Family::Inet => {
            let mut hdr = 14 + 20 + 8;
            if version == VrrpVersion::V2 {
                hdr += 8;
                if ah {
                    hdr += 24;
                }
            }
            (mtu - hdr) / 4
        }
        Family::Inet6 => (mtu - (14 + 40 + 8)) / 16,
    };
    max.min(255)
}

fn complete_instance(
    ctx: &mut Ctx<'_>,
    mut i: VrrpInstance,
    g: &GlobalDefs,
    groups: &[SyncGroup],
) -> Option<VrrpInstance> {
    let c = i.configured.clone();
    let own = format!("({})", i.name);
    let sp = i.span;
    let strict = c.strict_mode.unwrap_or(g.vrrp.strict);
    i.strict_mode = strict;
    i.family = c.family.unwrap_or(Family::Inet);
    let v6 = i.family == Family::Inet6;

    // Version: IPv6 instances default to 3; strict mode forbids IPv6 over v2.
    i.version = match (c.version, v6) {
        (Some(VrrpVersion::V2), true) if strict => {
            ctx.warning(
                kw_span(&i, "version"),
                format!("{own} cannot use IPv6 with VRRP version 2; setting version 3"),
            );
            VrrpVersion::V3
        }
        (Some(v), _) => v,
        (None, true) => VrrpVersion::V3,
        (None, false) if g.vrrp.version == 3 => VrrpVersion::V3,
        (None, false) => VrrpVersion::V2,
    };
    let v3 = i.version == VrrpVersion::V3;

    if i.vips.is_empty() {
        if v3 || v6 || strict {
            ctx.error(
                sp,
                format!("{own} No VIP specified; at least one is required"),
            );
            return None;
        }
        if !i.no_virtual_ipaddress {
            ctx.warning(
                sp,
                format!("{own} No VIP specified; at least one is sensible"),
            );
        }
    }

    // RFC 5798 §5.2.4: priority 255 is the owner; keepalived derives the priority from the
    // state and the state from the priority.
    i.priority = c.priority.unwrap_or(match c.state {
        Some(InitialState::Master) => PRIORITY_OWNER,
        _ => PRIORITY_DEFAULT,
    });
    let derived_state = if i.priority == PRIORITY_OWNER {
        InitialState::Master
    } else {
        InitialState::Backup
    };
    i.initial_state = match c.state {
        None => derived_state,
        Some(s) if strict && s != derived_state => {
            ctx.warning(
                kw_span(&i, "state"),
                format!("{own} State MASTER must match being address owner"),
            );
            derived_state
        }
        Some(s) => s,
    };

    // RFC 5798 removed authentication; keepalived keeps RFC 3768's for v2.
    if let Some(t) = c.auth_type {
        let at = kw_span(&i, "authentication");
        let pass = c.auth_pass.filter(|p| p[0] != 0);
        if strict {
            ctx.warning(
                at,
                format!("{own} Strict mode does not support authentication. Ignoring."),
            );
        } else if v3 {
            ctx.warning(
                at,
                format!("{own} VRRP version 3 does not support authentication. Ignoring."),
            );
        } else if pass.is_none() {
            ctx.warning(
                at,
                format!("{own} Authentication specified but no password given. Ignoring"),
            );
        } else if v6 && t == AuthType::Ah {
            ctx.warning(
                at,
                format!("{own} Cannot use AH authentication with IPv6 - ignoring"),
            );
        } else {
            if t == AuthType::Ah
                && i.initial_state == InitialState::Master
                && i.priority != PRIORITY_OWNER
            {
                ctx.warning(
                    at,
                    format!("{own} Initial state master is incompatible with AH authentication - clearing"),
                );
                i.initial_state = InitialState::Backup;
            }
            i.authentication = pass.map(|password| Authentication {
                auth_type: t,
                password,
            });
        }
    }

    if i.vrid == 0 {
        ctx.error(sp, format!("{own} the virtual router id must be set"));
        return None;
    }
    if i.interface.is_none() {
        ctx.error(sp, format!("{own} Unknown interface!"));
        return None;
    }

    // RFC 5798 §5.2.9: the first IPv6 address is the link-local one.
    if v6 && i.unicast_peers.is_empty() {
        if let Some(first) = i.vips.first() {
            let link_local =
                matches!(first.addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80);
            if !link_local {
                if strict {
                    ctx.warning(
                        first.span,
                        format!("{own} the first IPv6 VIP address must be link local"),
                    );
                } else {
                    ctx.note(
                        first.span,
                        format!(
                            "{own} RFC 5798 section 5.2.9 wants the first IPv6 address to be \
                             link-local; {} is not",
                            first.text
                        ),
                    );
                }
            }
        }
    }

    let ah = matches!(&i.authentication, Some(a) if a.auth_type == AuthType::Ah);
    let max = max_vips(i.family, i.version, ah);
    if i.vips.len() > max {
        ctx.warning(
            sp,
            format!(
                "{own} Number of VIPs ({}) exceeds maximum/space available in packet (max {max} \
                 addresses) - excess moved to eVIPs",
                i.vips.len()
            ),
        );
        let excess = i.vips.split_off(max);
        i.evips.extend(excess);
    }

    // RFC 5798 §6.4.1: an owner always preempts; keepalived clears nopreempt.
    if i.priority == PRIORITY_OWNER && i.nopreempt {
        ctx.warning(
            kw_span(&i, "nopreempt"),
            format!("{own} nopreempt is incompatible with priority 255. resetting nopreempt"),
        );
        i.nopreempt = false;
    }
    if i.initial_state == InitialState::Master {
        if i.nopreempt {
            ctx.warning(
                kw_span(&i, "nopreempt"),
                format!(
                    "{own} Warning - nopreempt will not work with initial state MASTER - clearing"
                ),
            );
            i.nopreempt = false;
        }
        if i.preempt_delay_us != 0 {
            ctx.warning(
                kw_span(&i, "preempt_delay"),
                format!("{own} Warning - preempt delay will not work with initial state MASTER - clearing"),
            );
            i.preempt_delay_us = 0;
        }
    }
    if i.preempt_delay_us != 0 {
        if strict {
            ctx.warning(
                kw_span(&i, "preempt_delay"),
                format!("{own} preempt_delay is incompatible with strict mode - resetting"),
            );
            i.preempt_delay_us = 0;
        } else if i.nopreempt {
            ctx.warning(
                kw_span(&i, "preempt_delay"),
                format!("{own} preempt_delay is incompatible with nopreempt mode - resetting"),
            );
            i.preempt_delay_us = 0;
        }
    }

    i.down_timer_adverts = c.down_timer_adverts.unwrap_or(g.vrrp.down_timer_adverts);
    if i.down_timer_adverts != 3 && strict {
        ctx.warning(
            kw_span(&i, "down_timer_adverts"),
            format!("{own} down_timer_adverts is incompatible with strict mode - resetting"),
        );
        i.down_timer_adverts = 3;
    }

    // RFC 5798 §6.1 Accept_Mode: keepalived accepts unless strict; an owner always accepts.
    let mut accept = c.accept.unwrap_or(!strict);
    if accept && i.priority != PRIORITY_OWNER && strict && !v3 {
        ctx.warning(
            kw_span(&i, "accept"),
            format!("{own} warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"),
        );
        accept = false;
    }
    i.accept = accept || i.priority == PRIORITY_OWNER;

    resolve_garp(ctx, &mut i, &c, g, strict, &own);

    i.owner_ignore_adverts = c
        .owner_ignore_adverts
        .or(g.vrrp.owner_ignore_adverts)
        .unwrap_or(strict);
    i.smtp_alert = c.smtp_alert.unwrap_or_else(|| g.vrrp_smtp_alert());
    i.notify_priority_changes = c
        .notify_priority_changes
        .unwrap_or(g.vrrp.notify_priority_changes);
    i.skip_check_adv_addr = c.skip_check_adv_addr.unwrap_or(g.vrrp.skip_check_adv_addr);
    i.check_unicast_src = c.check_unicast_src || g.vrrp.check_unicast_src;
    i.v3_checksum_as_v2 = c.v3_checksum_as_v2.unwrap_or(g.vrrp.v3_checksum_as_v2);

    resolve_advert_int(ctx, &mut i, &c, &own);

    if i.unicast_src_ip.is_none() && i.mcast_src_ip.is_none() {
        i.track_src_ip = false;
    }
    if c.unicast_keyword && i.unicast_peers.is_empty() {
        ctx.warning(
            sp,
            format!(
                "{own} A unicast keyword has been specified without any unicast peers. \
                 Defaulting to multicast. This usage is deprecated - please update your \
                 configuration."
            ),
        );
    }

    resolve_vmac(ctx, &mut i, &c, strict, &own);

    // The instance's own interface is always tracked (unless dont_track_primary).
    if let Some(ifname) = i.interface.clone() {
        let own2 = own.clone();
        i.track_interfaces.retain(|t| {
            if t.name == ifname {
                ctx.warning(
                    t.span,
                    format!("{own2} Ignoring track_interface {ifname} since own interface"),
                );
                false
            } else {
                true
            }
        });
    }

    // Trackers' weights are ignored in a sync group (unless sync_group_tracking_weight)
    // and for an address owner, whose priority never changes (RFC 5798 §5.2.4).
    let group = i
        .sync_group
        .as_ref()
        .and_then(|n| groups.iter().find(|gr| &gr.name == n));
    let sync_no_weight = group.is_some_and(|gr| !gr.tracking_weight);
    if sync_no_weight || i.priority == PRIORITY_OWNER {
        ignore_weights(ctx, &mut i, sync_no_weight, &own);
    }
    Some(i)
}

fn resolve_garp(
    ctx: &mut Ctx<'_>,
    i: &mut VrrpInstance,
    c: &ConfiguredValues,
    g: &GlobalDefs,
    strict: bool,
    own: &str,
) {
    let gv = &g.vrrp;
    i.garp.master_delay_us = c.garp_master_delay_us.unwrap_or(gv.garp_master_delay_us);
    i.garp.master_repeat = c.garp_master_repeat.unwrap_or(gv.garp_master_repeat);
    i.garp.master_refresh_us = c
        .garp_master_refresh_us
        .unwrap_or(gv.garp_master_refresh_us);
    i.garp.master_refresh_repeat = c
        .garp_master_refresh_repeat
        .unwrap_or(gv.garp_master_refresh_repeat);
    i.garp.extra_if = c.garp_extra_if.unwrap_or(gv.garp_extra_if);
    i.garp.lower_prio_repeat = match c.garp_lower_prio_repeat {
        None if strict => 0,
        None => gv.garp_lower_prio_repeat.unwrap_or(gv.garp_master_repeat),
        Some(n) if strict && n != 0 => {
            ctx.warning(
                kw_span(i, "garp_lower_prio_repeat"),
                format!("{own} Strict mode requires no repeat garps. resetting"),
            );
            0
        }
        Some(n) => n,
    };
    i.garp.lower_prio_delay_us = match c.garp_lower_prio_delay_us {
        None if strict => 0,
        None => gv
            .garp_lower_prio_delay_us
            .unwrap_or(gv.garp_master_delay_us),
        Some(n) if strict && n != 0 => {
            ctx.warning(
                kw_span(i, "garp_lower_prio_delay"),
                format!("{own} Strict mode requires no repeat garp delay. resetting"),
            );
            0
        }
        Some(n) => n,
    };
    i.lower_prio_no_advert = match c.lower_prio_no_advert {
        None => strict || gv.lower_prio_no_advert.unwrap_or(false),
        Some(false) if strict => {
            ctx.warning(
                kw_span(i, "lower_prio_no_advert"),
                format!("{own} Strict mode requires no lower priority advert. resetting"),
            );
            true
        }
        Some(v) => v,
    };
    i.higher_prio_send_advert = match c.higher_prio_send_advert {
        None => !strict && gv.higher_prio_send_advert.unwrap_or(false),
        Some(true) if strict => {
            ctx.warning(
                kw_span(i, "higher_prio_send_advert"),
                format!(
                    "{own} strict mode requires higher_prio_send_advert to be clear. resetting"
                ),
            );
            false
        }
        Some(v) => v,
    };
}

/// keepalived's advert_int checks: VRRPv2 carries whole seconds (RFC 3768 §5.3.7), VRRPv3
/// centiseconds in 12 bits (RFC 5798 §5.2.7).
fn resolve_advert_int(ctx: &mut Ctx<'_>, i: &mut VrrpInstance, c: &ConfiguredValues, own: &str) {
    let us = c.advert_int_us.unwrap_or(1_000_000);
    let at = kw_span(i, "advert_int");
    let secs = us as f64 / 1_000_000.0;
    let rounded_us = if i.version == VrrpVersion::V2 {
        if us % 1_000_000 != 0 {
            let r = ((us + 500_000) / 1_000_000).max(1) * 1_000_000;
            ctx.warning(
                at,
                format!(
                    "{own} VRRPv2 advertisement interval {secs:.6}s must be an integer. rounding \
                     (to {}s: VRRPv2 adverts carry whole seconds; use version 3 for sub-second \
                     intervals)",
                    r / 1_000_000
                ),
            );
            r
        } else {
            us
        }
    } else if us >= 4096 * 10_000 {
        ctx.warning(
            at,
            format!(
                "{own} VRRPv3 advertisement interval {secs:.2}s is out of range. Must be less \
                 than 40.96s. Setting to 40.95s"
            ),
        );
        u64::from(V3_MAX_ADVERT_INT_CS) * 10_000
    } else if us % 10_000 != 0 {
        ctx.warning(
            at,
            format!("{own} VRRPv3 advertisement interval {secs:.6}s must be in units of 10ms - rounding"),
        );
        ((us + 5_000) / 10_000).max(1) * 10_000
    } else {
        us
    };
    i.advert_int_cs = (rounded_us / 10_000).min(u64::from(u16::MAX)) as u16;
}

fn resolve_vmac(
    ctx: &mut Ctx<'_>,
    i: &mut VrrpInstance,
    c: &ConfiguredValues,
    strict: bool,
    own: &str,
) {
    if c.vmac_xmit_base {
        match i.vmac.as_mut() {
            None => ctx.warning(
                kw_span(i, "vmac_xmit_base"),
                format!("{own} vmac_xmit_base is only valid with a vmac"),
            ),
            Some(_) if strict => ctx.warning(
                kw_span(i, "vmac_xmit_base"),
                format!("{own} xmit_base is incompatible with strict mode - resetting"),
            ),
            Some(v) => v.xmit_base = true,
        }
    }
    if i.promote_secondaries && (i.vmac.is_some() || i.ipvlan.is_some()) {
        ctx.warning(
            kw_span(i, "promote_secondaries"),
            format!("{own} promote_secondaries is automatically set for vmacs - ignoring"),
        );
        i.promote_secondaries = false;
    }
    if let Some(ipv) = &i.ipvlan {
        let at = kw_span(i, "use_ipvlan");
        match ipv.addr {
            None if i.family == Family::Inet => ctx.warning(
                at,
                format!(
                    "{own} IPv4 ipvlan requires a source ip address to be configured. setting \
                     instance to fault state"
                ),
            ),
            Some(a) if Family::of(&a.addr) != i.family => ctx.warning(
                at,
                format!(
                    "{own} IPv4 ipvlan address family does not match instance - setting \
                     instance to fault state"
                ),
            ),
            _ => {}
        }
    }
}

fn ignore_weights(ctx: &mut Ctx<'_>, i: &mut VrrpInstance, sync: bool, own: &str) {
    let why = if sync { "SYNC group" } else { "address owner" };
    let why2 = if sync { "SYNC group" } else { "address_owner" };
    let mut out = Vec::new();
    for mut t in std::mem::take(&mut i.track_interfaces) {
        if t.weight != 0 {
            if sync {
                ctx.warning(
                    t.span,
                    format!(
                        "{own} ignoring {} tracked interface weight due to {why}",
                        t.name
                    ),
                );
                t.weight = 0;
            } else {
                ctx.warning(
                    t.span,
                    format!("{own} ignoring {} tracked interface due to {why}", t.name),
                );
                continue;
            }
        }
        out.push(t);
    }
    i.track_interfaces = out;
    i.track_scripts.retain(|t| {
        if t.weight != 0 {
            ctx.warning(
                t.span,
                format!(
                    "{own} ignoring tracked script {} with weights due to {why2}",
                    t.name
                ),
            );
            return false;
        }
        true
    });
    let mut out = Vec::new();
    for mut t in std::mem::take(&mut i.track_files) {
        if t.weight == 1 && !t.weight_set {
            ctx.warning(
                t.span,
                format!(
                    "{own} ignoring weight from tracked file {} due to {why2} - specify weight 0",
                    t.name
                ),
            );
            t.weight = 0;
        } else if t.weight != 0 {
            ctx.warning(
                t.span,
                format!(
                    "{own} ignoring tracked file {} with weight {} due to {why2}",
                    t.name, t.weight
                ),
            );
            continue;
        }
        out.push(t);
    }
    i.track_files = out;
    i.track_bfds.retain(|t| {
        if t.weight != 0 {
            ctx.warning(
                t.span,
                format!(
                    "{own} ignoring tracked bfd {} with weight {} due to {why2}",
                    t.name, t.weight
                ),
            );
            return false;
        }
        true
    });
}

fn sync_group_tracking(ctx: &mut Ctx<'_>, cfg: &mut Config, global: &GlobalDefs) {
    let instances = &cfg.vrrp.instances;
    for g in &mut cfg.vrrp.sync_groups {
        g.smtp_alert = g
            .smtp_alert_configured
            .unwrap_or_else(|| global.vrrp_smtp_alert());
        let has_owner = g.members.iter().any(|m| {
            instances
                .iter()
                .any(|i| &i.name == m && i.priority == PRIORITY_OWNER)
        });
        if !has_owner {
            continue;
        }
        let name = g.name.clone();
        let clear = |ctx: &mut Ctx<'_>, list: &mut Vec<Tracked>, what: &str, how: &str| {
            for t in list.iter_mut().filter(|t| t.weight != 0) {
                ctx.warning(
                    t.span,
                    format!(
                        "({name}) Cannot have weighted track {what} '{}' with member having \
                         priority 255 - {how}",
                        t.name
                    ),
                );
                t.weight = 0;
            }
        };
        clear(ctx, &mut g.track_scripts, "script", "clearing weight");
        clear(ctx, &mut g.track_files, "file", "setting weight 0");
        clear(ctx, &mut g.track_bfds, "bfd", "setting weight 0");
        clear(ctx, &mut g.track_interfaces, "interface", "clearing weight");
    }
}

fn check_track_groups(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let names: Vec<String> = cfg.vrrp.instances.iter().map(|i| i.name.clone()).collect();
    for g in &mut cfg.vrrp.track_groups {
        let gname = g.name.clone();
        let span = g.span;
        g.instances.retain(|m| {
            if names.contains(m) {
                true
            } else {
                ctx.error(
                    span,
                    format!("track_group {gname}: vrrp instance {m} not found - ignoring"),
                );
                false
            }
        });
    }
    let before: Vec<(String, Span)> = cfg
        .vrrp
        .track_groups
        .iter()
        .filter(|g| g.instances.is_empty())
        .map(|g| (g.name.clone(), g.span))
        .collect();
    for (name, span) in before {
        ctx.error(
            span,
            format!("track_group {name} has no vrrp instances - removing"),
        );
    }
    cfg.vrrp.track_groups.retain(|g| !g.instances.is_empty());
}

/// keepalived checks every interface it is given; with `dynamic_interfaces` it waits for
/// them instead. A missing one is reported where it is used, then once as "Non-existent
/// interface specified in configuration" (a config error in `-t`, fatal at startup).
fn check_interfaces(ctx: &mut Ctx<'_>, cfg: &mut Config, global: &GlobalDefs) {
    if !ctx.opts.check_interfaces || global.dynamic_interfaces {
        return;
    }
    let mut missing = false;
    let mut check = |ctx: &mut Ctx<'_>, name: &str, span: Span, msg: String| -> bool {
        if ctx.host.interface_exists(name) {
            return true;
        }
        ctx.warning(span, msg);
        missing = true;
        false
    };
    let addr_msg = |dev: &str, a: &AddrSpec| {
        format!(
            "WARNING - interface {dev} for ip address {} doesn't exist",
            a.text
        )
    };
    let route_ok = |ctx: &mut Ctx<'_>,
                    check: &mut dyn FnMut(&mut Ctx<'_>, &str, Span, String) -> bool,
                    r: &RouteSpec| {
        let devs = r
            .dev
            .iter()
            .chain(r.nexthops.iter().filter_map(|n| n.dev.as_ref()));
        for d in devs {
            if !check(
                ctx,
                d,
                r.span,
                format!("WARNING - interface {d} for VROUTE nexthop doesn't exist"),
            ) {
                return false;
            }
        }
        true
    };
    let rule_ok = |ctx: &mut Ctx<'_>,
                   check: &mut dyn FnMut(&mut Ctx<'_>, &str, Span, String) -> bool,
                   r: &RuleSpec| {
        for d in r.iif.iter().chain(r.oif.iter()) {
            if !check(
                ctx,
                d,
                r.span,
                format!("WARNING - interface {d} for rule doesn't exist"),
            ) {
                return false;
            }
        }
        true
    };
    for a in &cfg.vrrp.static_addresses {
        if let Some(d) = &a.dev {
            check(ctx, d, a.span, addr_msg(d, a));
        }
    }
    let routes = std::mem::take(&mut cfg.vrrp.static_routes);
    cfg.vrrp.static_routes = routes
        .into_iter()
        .filter(|r| route_ok(ctx, &mut check, r))
        .collect();
    let rules = std::mem::take(&mut cfg.vrrp.static_rules);
    cfg.vrrp.static_rules = rules
        .into_iter()
        .filter(|r| rule_ok(ctx, &mut check, r))
        .collect();
    for i in &mut cfg.vrrp.instances {
        if let Some(ifname) = &i.interface {
            check(
                ctx,
                ifname,
                kw_span(i, "interface"),
                format!(
                    "WARNING - interface {ifname} for vrrp_instance {} doesn't exist",
                    i.name
                ),
            );
        }
        for t in &i.track_interfaces {
            check(
                ctx,
                &t.name,
                t.span,
                format!("({}) tracked interface {} doesn't exist", i.name, t.name),
            );
        }
        for a in i.vips.iter().chain(i.evips.iter()) {
            if let Some(d) = &a.dev {
                check(ctx, d, a.span, addr_msg(d, a));
            }
        }
        let routes = std::mem::take(&mut i.virtual_routes);
        i.virtual_routes = routes
            .into_iter()
            .filter(|r| route_ok(ctx, &mut check, r))
            .collect();
        let rules = std::mem::take(&mut i.virtual_rules);
        i.virtual_rules = rules
            .into_iter()
            .filter(|r| rule_ok(ctx, &mut check, r))
            .collect();
    }
    for g in &cfg.vrrp.sync_groups {
        for t in &g.track_interfaces {
            check(
                ctx,
                &t.name,
                t.span,
                format!("({}) tracked interface {} doesn't exist", g.name, t.name),
            );
        }
    }
    if missing {
        cfg.vrrp.nonexistent_interface = true;
        ctx.diags.push(
            Severity::Error,
            ErrorClass::Config,
            None,
            "Non-existent interface specified in configuration".to_string(),
        );
    }
}

/// The deprecated per-instance `lvs_sync_daemon_interface` becomes the global
/// `lvs_sync_daemon` driven by that instance; a global one must name an existing instance.
fn lvs_sync_daemon(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    if cfg.global.lvs_sync_daemon.is_none() {
        if let Some(i) = cfg
            .vrrp
            .instances
            .iter()
            .find(|i| i.lvs_sync_daemon_interface.is_some())
        {
            cfg.global.lvs_sync_daemon = Some(LvsSyncDaemon {
                interface: i.lvs_sync_daemon_interface.clone().unwrap_or_default(),
                instance: Some(i.name.clone()),
                sync_id: Some(i.vrid),
                maxlen: None,
                port: 8848,
                ttl: None,
                group: None,
                span: kw_span(i, "lvs_sync_daemon_interface"),
            });
        }
    }
    if let Some(sd) = &mut cfg.global.lvs_sync_daemon {
        if let Some(name) = &sd.instance {
            match cfg.vrrp.instances.iter().find(|i| &i.name == name) {
                Some(i) => {
                    sd.sync_id.get_or_insert(i.vrid);
                }
                None => {
                    // keepalived reports this after its -t checks, at startup.
                    ctx.note(
                        sd.span,
                        format!(
                            "Unable to find vrrp instance {name} for lvs_syncd - clearing \
                             lvs_syncd config"
                        ),
                    );
                    cfg.global.lvs_sync_daemon = None;
                }
            }
        }
    }
}
