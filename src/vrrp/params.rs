//! The engine's own description of a configuration ([`RouterConfig`]): protocol names,
//! microseconds, indices instead of names, keepalived's inheritance already applied. Built
//! from the typed model by [`RouterConfig::from_model`], or by hand in tests and the
//! simulator.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::config::model::vrrp::{
    AddrSpec, AuthType as ModelAuth, Broadcast, Family as ModelFamily, InitialState, PreferredLft,
    RouteSpec, RuleSpec, Tracked, VrrpVersion,
};
use crate::config::model::Config;
use crate::track::{BfdId, FileId, ProcId, ScriptId, Target, TrackRef, PRIORITY_OWNER};
use crate::wire::ah::AhKey;
use crate::wire::ip::{VRRP_MULTICAST_V4, VRRP_MULTICAST_V6};
use crate::wire::vrrp::{AdverInt, Family, Version};

use super::io::InterfaceInfo;

/// Authentication of a VRRPv2 instance (RFC 2338 §5.3.6; keepalived `authentication`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    None,
    /// Type 1: the 8-byte password, zero padded.
    Pass([u8; 8]),
    /// Type 2: IPsec AH with HMAC-MD5-96 keyed by the password.
    Ah(AhKey),
}

impl Auth {
    /// The Auth Type field value.
    pub fn type_number(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
            Auth::Ah(_) => 2,
        }
    }
}

/// A unicast peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// Gratuitous ARP / NA settings (keepalived §3.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GarpParams {
    /// Second burst after becoming MASTER (0: none).
    pub master_delay_us: u64,
    /// GARPs per address per burst.
    pub master_repeat: u32,
    /// Periodic refresh while MASTER (0: off).
    pub master_refresh_us: u64,
    pub master_refresh_repeat: u32,
    /// Second burst after a lower-priority advert (0: none).
    pub lower_prio_delay_us: u64,
    /// Burst after a lower-priority advert (0: none).
    pub lower_prio_repeat: u32,
}

impl Default for GarpParams {
    fn default() -> GarpParams {
        GarpParams {
            master_delay_us: 5_000_000,
            master_repeat: 5,
            master_refresh_us: 0,
            master_refresh_repeat: 1,
            lower_prio_delay_us: 5_000_000,
            lower_prio_repeat: 5,
        }
    }
}

/// A virtual address as the adapter installs it (keepalived's addr-spec, §2.8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipSpec {
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// The interface: `dev`, else the instance interface, else `default_interface`.
    pub dev: String,
    /// IPv4 broadcast address, resolved (`brd +`/`brd -` computed).
    pub broadcast: Option<Ipv4Addr>,
    /// rtnetlink scope (`RT_SCOPE_*`); `None`: the kernel default (global).
    pub scope: Option<u8>,
    pub label: Option<String>,
    pub peer: Option<IpAddr>,
    pub home: bool,
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    /// Deleting it behind our back does not make the instance FAULT.
    pub no_track: bool,
    /// `Some(0)` deprecates the address (a /128 IPv6 VIP without `preferred_lft forever`);
    /// `None` leaves the kernel default (forever).
    pub preferred_lft_secs: Option<u32>,
}

impl VipSpec {
    /// A plain VIP on `dev` with the default prefix (for tests and the simulator).
    pub fn new(addr: IpAddr, dev: &str) -> VipSpec {
        VipSpec {
            addr,
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            dev: dev.to_string(),
            broadcast: None,
            scope: None,
            label: None,
            peer: None,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            no_track: false,
            preferred_lft_secs: None,
        }
    }

    /// The identity used to diff VIPs on reload: address, prefix and interface.
    pub(crate) fn same_address(&self, other: &VipSpec) -> bool {
        self.addr == other.addr && self.prefix_len == other.prefix_len && self.dev == other.dev
    }
}

/// A `vrrp_instance`, as the engine runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    pub name: String,
    pub vrid: u8,
    pub family: Family,
    pub version: Version,
    /// The interface adverts go out of and come in on; `None` only for a unicast instance.
    pub interface: Option<String>,
    /// Base priority, 1..=255.
    pub priority: u8,
    /// `state MASTER` (wantstate MASTER at start).
    pub initial_master: bool,
    /// Advertisement_Interval in microseconds (whole seconds for v2, centiseconds for v3).
    pub adver_int_us: u64,
    pub auth: Auth,
    pub vips: Vec<VipSpec>,
    pub evips: Vec<VipSpec>,
    pub routes: Vec<RouteSpec>,
    pub rules: Vec<RuleSpec>,
    /// `unicast_src_ip` / `mcast_src_ip`; `None`: the interface's primary address.
    pub src_addr: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    /// TTL / hop limit of unicast adverts (255 if unset).
    pub unicast_ttl: Option<u8>,
    /// The multicast destination (`mcast_dst_ip` or the global group).
    pub mcast_dst: IpAddr,
    pub check_unicast_src: bool,
    /// FAULT when the configured source address is not on the interface.
    pub track_src_ip: bool,
    /// Every tracked object with its weight, own interface (weight 0 unless
    /// `dont_track_primary`) and sync-group trackers included.
    pub tracks: Vec<TrackRef>,
    pub nopreempt: bool,
    pub preempt_delay_us: u64,
    pub skip_check_adv_addr: bool,
    pub owner_ignore_adverts: bool,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    /// Master_Down_Interval multiplier (3).
    pub down_timer_adverts: u32,
    pub garp: GarpParams,
    /// Send VRRPv3 IPv4 checksums without the pseudo-header.
    pub v3_checksum_as_v2: bool,
    /// `Some(true)`: old unicast checksum; `Some(false)`: never; `None`: auto-detect.
    pub old_unicast_checksum: Option<bool>,
    /// Report DELETED (rather than FAULT) when a reload removes the instance.
    pub notify_deleted: bool,
    /// MASTER_PRIORITY / BACKUP_PRIORITY notifications.
    pub notify_priority_changes: bool,
    /// Index in [`RouterConfig::sync_groups`].
    pub sync_group: Option<usize>,
    /// Accept mode (for dumps; the firewall side is L3).
    pub accept: bool,
    pub strict: bool,
}

impl InstanceConfig {
    /// A minimal instance for tests and the simulator: multicast, no auth, keepalived's
    /// defaults, tracking its own interface.
    pub fn new(name: &str, vrid: u8, family: Family, interface: &str, priority: u8) -> Self {
        let version = match family {
            Family::Ipv4 => Version::V2,
            Family::Ipv6 => Version::V3,
        };
        InstanceConfig {
            name: name.to_string(),
            vrid,
            family,
            version,
            interface: Some(interface.to_string()),
            priority,
            initial_master: priority == PRIORITY_OWNER,
            adver_int_us: 1_000_000,
            auth: Auth::None,
            vips: Vec::new(),
            evips: Vec::new(),
            routes: Vec::new(),
            rules: Vec::new(),
            src_addr: None,
            unicast_peers: Vec::new(),
            unicast_ttl: None,
            mcast_dst: match family {
                Family::Ipv4 => IpAddr::V4(VRRP_MULTICAST_V4),
                Family::Ipv6 => IpAddr::V6(VRRP_MULTICAST_V6),
            },
            check_unicast_src: false,
            track_src_ip: false,
            tracks: vec![TrackRef {
                target: Target::Interface(interface.to_string()),
                weight: 0,
                reverse: false,
            }],
            nopreempt: false,
            preempt_delay_us: 0,
            skip_check_adv_addr: false,
            owner_ignore_adverts: false,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            down_timer_adverts: 3,
            garp: GarpParams::default(),
            v3_checksum_as_v2: false,
            old_unicast_checksum: None,
            notify_deleted: false,
            notify_priority_changes: false,
            sync_group: None,
            accept: true,
            strict: false,
        }
    }

    /// Unicast mode: one advert per peer.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    pub fn is_owner(&self) -> bool {
        self.priority == PRIORITY_OWNER
    }

    /// The interval as the advert carries it.
    pub fn adver_int_field(&self) -> AdverInt {
        match self.version {
            Version::V2 => AdverInt::Seconds((self.adver_int_us / 1_000_000).min(255) as u8),
            Version::V3 => AdverInt::Centiseconds((self.adver_int_us / 10_000).min(4095) as u16),
        }
    }

    /// keepalived §3.13: old and new instances are the same when VRID, family, configured
    /// interface, unicast mode and source, and multicast address agree.
    pub(crate) fn reload_key(&self) -> (u8, u8, Option<&str>, bool, Option<IpAddr>, IpAddr) {
        (
            self.vrid,
            family_number(self.family),
            self.interface.as_deref(),
            self.is_unicast(),
            if self.is_unicast() {
                self.src_addr
            } else {
                None
            },
            self.mcast_dst,
        )
    }
}

pub(crate) fn family_number(f: Family) -> u8 {
    match f {
        Family::Ipv4 => 4,
        Family::Ipv6 => 6,
    }
}

/// A `vrrp_script` as the engine sees it (running it is L4's job).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptConfig {
    pub name: String,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

/// A `track_file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileConfig {
    pub name: String,
}

/// A `vrrp_track_process`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessConfig {
    pub name: String,
    pub quorum: u32,
    pub quorum_max: Option<u32>,
    pub fork_delay_us: u64,
    pub terminate_delay_us: u64,
}

/// A `vrrp_sync_group` (its trackers are merged into its members' [`InstanceConfig::tracks`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupConfig {
    pub name: String,
    /// Indices in [`RouterConfig::instances`].
    pub members: Vec<usize>,
    pub notify_priority_changes: bool,
}

/// A `garp_group`: interfaces that share GARP/NA pacing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GarpGroupConfig {
    pub interfaces: Vec<String>,
    pub garp_interval_us: u64,
    pub gna_interval_us: u64,
}

/// Everything the VRRP engine needs from a configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterConfig {
    pub instances: Vec<InstanceConfig>,
    pub sync_groups: Vec<SyncGroupConfig>,
    pub scripts: Vec<ScriptConfig>,
    pub files: Vec<FileConfig>,
    pub processes: Vec<ProcessConfig>,
    /// Names of tracked BFD instances ([`BfdId`] indexes this).
    pub bfds: Vec<String>,
    /// The interfaces when the configuration was built. [`super::Router::new`] starts from
    /// them; on reload the router keeps its own, fresher, table.
    pub interfaces: Vec<InterfaceInfo>,
    /// `vrrp_garp_interval`: minimum gap between GARPs on one interface.
    pub garp_interval_us: u64,
    /// `vrrp_gna_interval`: minimum gap between unsolicited NAs on one interface.
    pub gna_interval_us: u64,
    pub garp_groups: Vec<GarpGroupConfig>,
    /// `vrrp_startup_delay` (the larger of it and what `vrrp_delay_after_boot` leaves).
    pub startup_delay_us: u64,
    pub log_unknown_vrids: bool,
}

impl RouterConfig {
    /// The instance with this name.
    pub fn instance(&self, name: &str) -> Option<usize> {
        self.instances.iter().position(|i| i.name == name)
    }

    /// Converts the typed model, resolving names to indices and applying keepalived's
    /// sync-group weight rule. `interfaces` is the host's table at load time.
    pub fn from_model(cfg: &Config, interfaces: &[InterfaceInfo]) -> Result<RouterConfig, String> {
        let v = &cfg.vrrp;
        let g = &cfg.global;
        let mut out = RouterConfig {
            interfaces: interfaces.to_vec(),
            garp_interval_us: g.vrrp.garp_interval_us,
            gna_interval_us: g.vrrp.gna_interval_us,
            startup_delay_us: g.vrrp.startup_delay_us,
            log_unknown_vrids: g.vrrp.log_unknown_vrids,
            ..RouterConfig::default()
        };
        let mut scripts = BTreeMap::new();
        for s in &v.vrrp_scripts {
            scripts.insert(s.name.clone(), ScriptId(out.scripts.len() as u32));
            out.scripts.push(ScriptConfig {
                name: s.name.clone(),
                rise: s.rise.max(1),
                fall: s.fall.max(1),
                init_fail: s.init_fail,
            });
        }
        let mut files = BTreeMap::new();
        for f in &v.track_files {
            files.insert(f.name.clone(), FileId(out.files.len() as u32));
            out.files.push(FileConfig {
                name: f.name.clone(),
            });
        }
        let mut procs = BTreeMap::new();
        for p in &v.track_processes {
            procs.insert(p.name.clone(), ProcId(out.processes.len() as u32));
            out.processes.push(ProcessConfig {
                name: p.name.clone(),
                quorum: p.quorum,
                quorum_max: p.quorum_max,
                fork_delay_us: p.fork_delay_us,
                terminate_delay_us: p.terminate_delay_us,
            });
        }
        let mut bfds = BTreeMap::new();
        for b in &cfg.bfd.instances {
            bfds.insert(b.name.clone(), BfdId(out.bfds.len() as u32));
            out.bfds.push(b.name.clone());
        }
        for gg in &v.garp_groups {
            out.garp_groups.push(GarpGroupConfig {
                interfaces: gg.interfaces.clone(),
                garp_interval_us: gg.garp_interval_us.unwrap_or(g.vrrp.garp_interval_us),
                gna_interval_us: gg.gna_interval_us.unwrap_or(g.vrrp.gna_interval_us),
            });
        }
        let names = Names {
            scripts: &scripts,
            files: &files,
            procs: &procs,
            bfds: &bfds,
        };
        for sg in &v.sync_groups {
            out.sync_groups.push(SyncGroupConfig {
                name: sg.name.clone(),
                members: Vec::new(),
                notify_priority_changes: sg
                    .notify_priority_changes
                    .unwrap_or(g.vrrp.notify_priority_changes),
            });
        }
        for mi in &v.instances {
            let inst = convert_instance(cfg, mi, &names)?;
            out.instances.push(inst);
        }
        // Sync groups: membership, and their trackers applied to every member.
        for (gi, sg) in v.sync_groups.iter().enumerate() {
            for m in &sg.members {
                let Some(ii) = out.instance(m) else {
                    return Err(format!(
                        "Virtual router {m} specified in sync group {} doesn't exist",
                        sg.name
                    ));
                };
                if out.instances[ii].sync_group.is_some() {
                    return Err(format!(
                        "Virtual router {m} cannot exist in more than one sync group"
                    ));
                }
                out.sync_groups[gi].members.push(ii);
                let inst = &mut out.instances[ii];
                inst.sync_group = Some(gi);
                let mut group_refs = Vec::new();
                tracked_refs(
                    &sg.track_interfaces,
                    Kind::Interface,
                    &names,
                    &mut group_refs,
                )?;
                tracked_refs(&sg.track_scripts, Kind::Script, &names, &mut group_refs)?;
                tracked_refs(&sg.track_files, Kind::File, &names, &mut group_refs)?;
                tracked_refs(&sg.track_processes, Kind::Process, &names, &mut group_refs)?;
                tracked_refs(&sg.track_bfds, Kind::Bfd, &names, &mut group_refs)?;
                inst.tracks.extend(group_refs);
                if !sg.tracking_weight {
                    drop_weighted(inst, &out.scripts, &out.files, &out.processes, &out.bfds);
                }
            }
        }
        check_vrid_conflicts(&out.instances)?;
        Ok(out)
    }
}

struct Names<'a> {
    scripts: &'a BTreeMap<String, ScriptId>,
    files: &'a BTreeMap<String, FileId>,
    procs: &'a BTreeMap<String, ProcId>,
    bfds: &'a BTreeMap<String, BfdId>,
}

#[derive(Clone, Copy)]
enum Kind {
    Interface,
    Script,
    File,
    Process,
    Bfd,
}

fn tracked_refs(
    list: &[Tracked],
    kind: Kind,
    names: &Names<'_>,
    out: &mut Vec<TrackRef>,
) -> Result<(), String> {
    for t in list {
        let missing = |what: &str| format!("track {what} {} not found", t.name);
        let target = match kind {
            Kind::Interface => Target::Interface(t.name.clone()),
            Kind::Script => Target::Script(*names.scripts.get(&t.name).ok_or(missing("script"))?),
            Kind::File => Target::File(*names.files.get(&t.name).ok_or(missing("file"))?),
            Kind::Process => Target::Process(*names.procs.get(&t.name).ok_or(missing("process"))?),
            Kind::Bfd => Target::Bfd(*names.bfds.get(&t.name).ok_or(missing("bfd"))?),
        };
        out.push(TrackRef {
            target,
            weight: t.weight,
            reverse: t.reverse,
        });
    }
    Ok(())
}

/// keepalived: members of a sync group without `sync_group_tracking_weight` ignore
/// weighted trackers. The semantic pass already warns ("(VI_1) ignoring tracked script chk
/// with weights due to SYNC group") and drops the member's own ones; this also covers the
/// group's trackers and hand-built models.
fn drop_weighted(
    inst: &mut InstanceConfig,
    scripts: &[ScriptConfig],
    files: &[FileConfig],
    procs: &[ProcessConfig],
    bfds: &[String],
) {
    let name = inst.name.clone();
    inst.tracks.retain(|t| {
        if t.weight == 0 {
            return true;
        }
        let (what, obj) = match &t.target {
            Target::Interface(n) => ("interface", n.as_str()),
            Target::Script(ScriptId(i)) => ("script", scripts[*i as usize].name.as_str()),
            Target::File(FileId(i)) => ("file", files[*i as usize].name.as_str()),
            Target::Process(ProcId(i)) => ("process", procs[*i as usize].name.as_str()),
            Target::Bfd(BfdId(i)) => ("bfd", bfds[*i as usize].as_str()),
        };
        log::debug!(
            target: "vrrp",
            "({name}) ignoring tracked {what} {obj} with weights due to SYNC group"
        );
        false
    });
}

fn convert_instance(
    cfg: &Config,
    mi: &crate::config::model::vrrp::VrrpInstance,
    names: &Names<'_>,
) -> Result<InstanceConfig, String> {
    let g = &cfg.global;
    let family = match mi.family {
        ModelFamily::Inet => Family::Ipv4,
        ModelFamily::Inet6 => Family::Ipv6,
    };
    // RFC 3768 has no IPv6 encoding; keepalived runs IPv6 instances as VRRPv3.
    let version = match (mi.version, family) {
        (_, Family::Ipv6) | (VrrpVersion::V3, _) => Version::V3,
        (VrrpVersion::V2, Family::Ipv4) => Version::V2,
    };
    if mi.interface.is_none() && mi.unicast_peers.is_empty() {
        return Err(format!("({}) no interface specified", mi.name));
    }
    let adver_int_us = match version {
        Version::V2 => u64::from(mi.advert_int_v2_s().max(1)) * 1_000_000,
        Version::V3 => u64::from(mi.advert_int_cs.clamp(1, 4095)) * 10_000,
    };
    let auth = match &mi.authentication {
        None => Auth::None,
        Some(a) if version == Version::V3 => {
            log::warn!(target: "vrrp", "({}) authentication ignored with VRRPv3", mi.name);
            let _ = a;
            Auth::None
        }
        Some(a) => match a.auth_type {
            ModelAuth::Pass => Auth::Pass(a.password),
            ModelAuth::Ah => Auth::Ah(AhKey::from_auth_pass(&a.password)),
        },
    };
    let dev_default = mi
        .interface
        .clone()
        .unwrap_or_else(|| g.default_interface.clone());
    let vip = |a: &AddrSpec| convert_vip(a, &dev_default);
    let mut tracks = Vec::new();
    if let Some(ifname) = &mi.interface {
        if !mi.dont_track_primary {
            tracks.push(TrackRef {
                target: Target::Interface(ifname.clone()),
                weight: 0,
                reverse: false,
            });
        }
    }
    tracked_refs(&mi.track_interfaces, Kind::Interface, names, &mut tracks)?;
    tracked_refs(&mi.track_scripts, Kind::Script, names, &mut tracks)?;
    tracked_refs(&mi.track_files, Kind::File, names, &mut tracks)?;
    tracked_refs(&mi.track_processes, Kind::Process, names, &mut tracks)?;
    tracked_refs(&mi.track_bfds, Kind::Bfd, names, &mut tracks)?;
    let mcast_dst = mi.mcast_dst_ip.unwrap_or(match family {
        Family::Ipv4 => IpAddr::V4(g.vrrp.mcast_group4),
        Family::Ipv6 => IpAddr::V6(g.vrrp.mcast_group6),
    });
    let unicast = !mi.unicast_peers.is_empty();
    let src_addr = if unicast {
        mi.unicast_src_ip.or(mi.mcast_src_ip)
    } else {
        mi.mcast_src_ip.or(mi.unicast_src_ip)
    };
    let garp = &mi.garp;
    Ok(InstanceConfig {
        name: mi.name.clone(),
        vrid: mi.vrid,
        family,
        version,
        interface: mi.interface.clone(),
        priority: mi.priority.max(1),
        initial_master: mi.initial_state == InitialState::Master,
        adver_int_us,
        auth,
        vips: mi.vips.iter().map(vip).collect(),
        evips: mi.evips.iter().map(vip).collect(),
        routes: mi.virtual_routes.clone(),
        rules: mi.virtual_rules.clone(),
        src_addr,
        unicast_peers: mi
            .unicast_peers
            .iter()
            .map(|p| UnicastPeer {
                addr: p.addr,
                min_ttl: p.min_ttl,
                max_ttl: p.max_ttl,
            })
            .collect(),
        unicast_ttl: mi.unicast_ttl,
        mcast_dst,
        check_unicast_src: mi.check_unicast_src || g.vrrp.check_unicast_src,
        track_src_ip: mi.track_src_ip,
        tracks,
        nopreempt: mi.nopreempt,
        preempt_delay_us: mi.preempt_delay_us,
        skip_check_adv_addr: mi.skip_check_adv_addr,
        owner_ignore_adverts: mi.owner_ignore_adverts,
        lower_prio_no_advert: mi.lower_prio_no_advert,
        higher_prio_send_advert: mi.higher_prio_send_advert,
        down_timer_adverts: mi.down_timer_adverts.clamp(1, 100),
        garp: GarpParams {
            master_delay_us: garp.master_delay_us,
            master_repeat: garp.master_repeat,
            master_refresh_us: garp.master_refresh_us,
            master_refresh_repeat: garp.master_refresh_repeat,
            lower_prio_delay_us: garp.lower_prio_delay_us,
            lower_prio_repeat: garp.lower_prio_repeat,
        },
        v3_checksum_as_v2: mi.v3_checksum_as_v2,
        old_unicast_checksum: mi.old_unicast_checksum,
        notify_deleted: mi.notify.deleted.is_some(),
        notify_priority_changes: mi.notify_priority_changes,
        sync_group: None,
        accept: mi.accept,
        strict: mi.strict_mode,
    })
}

pub fn convert_vip(a: &AddrSpec, dev_default: &str) -> VipSpec {
    let broadcast = match (a.broadcast, a.addr) {
        (Some(Broadcast::Addr(b)), _) => Some(b),
        (Some(Broadcast::AllOnes), IpAddr::V4(v4)) => {
            let mask = prefix_mask(a.prefix_len);
            Some(Ipv4Addr::from(u32::from(v4) | !mask))
        }
        (Some(Broadcast::AllZeros), IpAddr::V4(v4)) => {
            Some(Ipv4Addr::from(u32::from(v4) & prefix_mask(a.prefix_len)))
        }
        _ => None,
    };
    let preferred_lft_secs = match a.effective_preferred_lft(true) {
        Some(PreferredLft::Secs(s)) => Some(s),
        Some(PreferredLft::Forever) | None => None,
    };
    VipSpec {
        addr: a.addr,
        prefix_len: a.prefix_len,
        dev: a.dev.clone().unwrap_or_else(|| dev_default.to_string()),
        broadcast,
        scope: a.scope.map(|s| s.0),
        label: a.label.clone(),
        peer: a.peer,
        home: a.home,
        nodad: a.nodad,
        mngtmpaddr: a.mngtmpaddr,
        noprefixroute: a.noprefixroute,
        autojoin: a.autojoin,
        no_track: a.no_track,
        preferred_lft_secs,
    }
}

fn prefix_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

/// Two instances on the same interface and family, both multicast or both unicast, cannot
/// share a VRID: adverts could not be told apart (keepalived refuses the configuration).
fn check_vrid_conflicts(instances: &[InstanceConfig]) -> Result<(), String> {
    let mut seen: BTreeMap<(Option<&str>, u8, bool, u8), &str> = BTreeMap::new();
    for i in instances {
        let key = (
            i.interface.as_deref(),
            family_number(i.family),
            i.is_unicast(),
            i.vrid,
        );
        if let Some(other) = seen.insert(key, &i.name) {
            return Err(format!(
                "VRID {} is used by both ({}) and ({}) on the same interface and family",
                i.vrid, other, i.name
            ));
        }
    }
    Ok(())
}
