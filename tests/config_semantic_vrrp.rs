//! The VRRP-side semantic pass builds the typed model with keepalived's defaults and
//! derivations: one test per block kind, each parsing a configuration text and checking the
//! resolved values the VRRP and BFD engines will consume.

use keepalived_rs::config::diag::{Diagnostics, Severity};
use keepalived_rs::config::model::bfd::BfdConsumers;
use keepalived_rs::config::model::global::LvsFlushOnStop;
use keepalived_rs::config::model::vrrp::*;
use keepalived_rs::config::model::Config;
use keepalived_rs::config::semantic::{self, PermissiveHost, SemanticOptions};
use keepalived_rs::config::{parse_str, LoadOptions};
use std::net::{IpAddr, Ipv4Addr};

/// Parses and builds; returns the model and the rendered errors and warnings.
fn build(text: &str) -> (Config, String, Diagnostics) {
    let mut diags = Diagnostics::new();
    let tree = parse_str(text, "test.conf", &LoadOptions::default(), &mut diags);
    let cfg = semantic::build(
        &tree,
        &PermissiveHost,
        &SemanticOptions::default(),
        &mut diags,
    );
    let errs: String = diags
        .items
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .map(|d| Diagnostics::render_one(d, &tree.sources) + "\n")
        .collect();
    (cfg, errs, diags)
}

/// Builds a configuration that must give no errors or warnings.
fn clean(text: &str) -> Config {
    let (cfg, errs, _) = build(text);
    assert_eq!(errs, "", "unexpected diagnostics");
    cfg
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const SECURE: &str = "global_defs {\n enable_script_security\n script_user root\n}\n";

#[test]
fn instance_defaults_and_derived_priority() {
    let cfg = clean(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n state MASTER\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n}\n\
         vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 255\n \
         virtual_ipaddress {\n  192.0.2.2\n }\n}\n\
         vrrp_instance C {\n interface eth0\n virtual_router_id 3\n \
         virtual_ipaddress {\n  192.0.2.3\n }\n}\n",
    );
    let [a, b, c] = &cfg.vrrp.instances[..] else {
        panic!("three instances expected");
    };
    // state MASTER without a priority makes the instance the address owner.
    assert_eq!((a.priority, a.initial_state), (255, InitialState::Master));
    assert!(a.is_owner());
    // priority 255 without a state starts as MASTER.
    assert_eq!((b.priority, b.initial_state), (255, InitialState::Master));
    assert_eq!((c.priority, c.initial_state), (100, InitialState::Backup));
    assert_eq!(c.interface.as_deref(), Some("eth0"));
    assert_eq!(c.vrid, 3);
    assert_eq!(c.version, VrrpVersion::V2);
    assert_eq!(c.family, Family::Inet);
    assert_eq!(c.advert_int_cs, 100);
    assert_eq!(c.advert_int_us(), 1_000_000);
    assert_eq!(c.advert_int_v2_s(), 1);
    assert!(c.accept && !c.strict_mode && !c.nopreempt);
    assert_eq!(c.down_timer_adverts, 3);
    assert_eq!(
        c.garp,
        GarpSettings {
            master_delay_us: 5_000_000,
            master_repeat: 5,
            master_refresh_us: 0,
            master_refresh_repeat: 1,
            lower_prio_delay_us: 5_000_000,
            lower_prio_repeat: 5,
            extra_if: None,
        }
    );
    assert!(!c.lower_prio_no_advert && !c.higher_prio_send_advert);
    assert_eq!(c.configured.priority, None);
    assert_eq!(a.configured.state, Some(InitialState::Master));
}

#[test]
fn version_and_interval_units() {
    let cfg = clean(
        "vrrp_instance V3 {\n interface eth0\n virtual_router_id 1\n version 3\n \
         advert_int 0.05\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n\
         vrrp_instance V2 {\n interface eth0\n virtual_router_id 2\n advert_int 3\n \
         virtual_ipaddress {\n  192.0.2.2\n }\n}\n\
         vrrp_instance V6 {\n interface eth0\n virtual_router_id 3\n advert_int 40.95\n \
         virtual_ipaddress {\n  fe80::1\n  2001:db8::1/64\n }\n}\n",
    );
    let v3 = cfg.vrrp.instance("V3").unwrap();
    assert_eq!((v3.version, v3.advert_int_cs), (VrrpVersion::V3, 5));
    assert_eq!(v3.advert_int_us(), 50_000);
    let v2 = cfg.vrrp.instance("V2").unwrap();
    assert_eq!(
        (v2.version, v2.advert_int_cs, v2.advert_int_v2_s()),
        (VrrpVersion::V2, 300, 3)
    );
    // IPv6 instances use VRRPv3 whatever the global default.
    let v6 = cfg.vrrp.instance("V6").unwrap();
    assert_eq!((v6.family, v6.version), (Family::Inet6, VrrpVersion::V3));
    assert_eq!(v6.advert_int_cs, V3_MAX_ADVERT_INT_CS);
    assert_eq!(v6.vips.len(), 2);
}

#[test]
fn interval_rounding_keeps_keepalived_verdict() {
    // VRRPv2 carries whole seconds: keepalived rounds (and -t fails), and so do we.
    let (cfg, errs, diags) = build(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n advert_int 0.4\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n}\n\
         vrrp_instance B {\n interface eth0\n virtual_router_id 2\n version 3\n \
         advert_int 0.123\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    assert_eq!(cfg.vrrp.instance("A").unwrap().advert_int_cs, 100);
    assert_eq!(cfg.vrrp.instance("B").unwrap().advert_int_cs, 12);
    assert!(
        errs.contains("must be an integer. rounding (to 1s"),
        "{errs}"
    );
    assert!(
        errs.contains("must be in units of 10ms - rounding"),
        "{errs}"
    );
    assert_eq!(diags.exit_code(), 5);
}

#[test]
fn global_defaults_apply_wherever_global_defs_is() {
    let cfg = clean(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n advert_int 0.5\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n}\n\
         global_defs {\n vrrp_version 3\n vrrp_garp_master_delay 2\n \
         vrrp_garp_master_repeat 3\n vrrp_garp_master_refresh 60\n vrrp_garp_interval 0.001\n \
         vrrp_gna_interval 0.002\n vrrp_skip_check_adv_addr\n vrrp_check_unicast_src\n \
         smtp_alert\n vrrp_startup_delay 2.5\n}\n",
    );
    let a = &cfg.vrrp.instances[0];
    assert_eq!((a.version, a.advert_int_cs), (VrrpVersion::V3, 50));
    assert_eq!(a.garp.master_delay_us, 2_000_000);
    assert_eq!(a.garp.master_repeat, 3);
    assert_eq!(a.garp.master_refresh_us, 60_000_000);
    // The lower-priority burst defaults to the global master burst.
    assert_eq!(
        (a.garp.lower_prio_delay_us, a.garp.lower_prio_repeat),
        (2_000_000, 3)
    );
    assert!(a.skip_check_adv_addr && a.check_unicast_src && a.smtp_alert);
    let g = &cfg.global.vrrp;
    assert_eq!((g.garp_interval_us, g.gna_interval_us), (1_000, 2_000));
    assert_eq!(g.startup_delay_us, 2_500_000);
}

#[test]
fn strict_mode_defaults() {
    let cfg = clean(
        "global_defs {\n vrrp_strict\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n}\n\
         vrrp_instance O {\n interface eth0\n virtual_router_id 2\n state MASTER\n \
         virtual_ipaddress {\n  192.0.2.2\n }\n}\n",
    );
    let a = cfg.vrrp.instance("A").unwrap();
    assert!(a.strict_mode && !a.accept && a.lower_prio_no_advert && a.owner_ignore_adverts);
    assert_eq!(
        (a.garp.lower_prio_repeat, a.garp.lower_prio_delay_us),
        (0, 0)
    );
    // An owner always accepts (RFC 5798 §6.1).
    assert!(cfg.vrrp.instance("O").unwrap().accept);
}

#[test]
fn preemption_settings_cleared_as_keepalived() {
    let (cfg, errs, _) = build(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n state MASTER\n \
         priority 100\n nopreempt\n preempt_delay 10\n virtual_ipaddress {\n  192.0.2.1\n \
         }\n}\n\
         vrrp_instance B {\n interface eth0\n virtual_router_id 2\n nopreempt\n \
         virtual_ipaddress {\n  192.0.2.2\n }\n}\n\
         vrrp_instance C {\n interface eth0\n virtual_router_id 3\n preempt_delay 2.5\n \
         virtual_ipaddress {\n  192.0.2.3\n }\n}\n",
    );
    let a = cfg.vrrp.instance("A").unwrap();
    assert!(!a.nopreempt && a.preempt_delay_us == 0);
    assert!(errs.contains("nopreempt will not work with initial state MASTER"));
    assert!(errs.contains("preempt delay will not work with initial state MASTER"));
    assert!(cfg.vrrp.instance("B").unwrap().nopreempt);
    assert_eq!(cfg.vrrp.instance("C").unwrap().preempt_delay_us, 2_500_000);
}

#[test]
fn authentication() {
    let cfg = clean(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n authentication {\n  \
         auth_type PASS\n  auth_pass 1111\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    assert_eq!(
        cfg.vrrp.instances[0].authentication,
        Some(Authentication {
            auth_type: AuthType::Pass,
            password: *b"1111\0\0\0\0",
        })
    );
}

#[test]
fn address_specs() {
    let cfg = clean(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  \
         192.0.2.1/24 brd 192.0.2.255 dev eth1 scope link label eth1:vip\n  \
         192.0.2.2/24 brd + no_track preferred_lft forever\n  \
         192.0.2.3 peer 192.0.2.4 use_vmac\n }\n virtual_ipaddress_excluded {\n  \
         2001:db8::5/128\n  192.0.2.9 dev eth2 scope 10\n }\n}\n",
    );
    let i = &cfg.vrrp.instances[0];
    let v = &i.vips;
    assert_eq!(v[0].addr, ip("192.0.2.1"));
    assert_eq!(v[0].prefix_len, 24);
    assert_eq!(
        v[0].broadcast,
        Some(Broadcast::Addr(Ipv4Addr::new(192, 0, 2, 255)))
    );
    assert_eq!(v[0].dev.as_deref(), Some("eth1"));
    assert_eq!(v[0].scope, Some(Scope::LINK));
    assert_eq!(v[0].label.as_deref(), Some("eth1:vip"));
    assert_eq!(v[1].broadcast, Some(Broadcast::AllOnes));
    assert!(v[1].no_track);
    assert_eq!(v[1].preferred_lft, Some(PreferredLft::Forever));
    assert_eq!(
        (v[2].prefix_len, v[2].peer, v[2].use_vmac),
        (32, Some(ip("192.0.2.4")), true)
    );
    // eVIPs may be of the other family; a /128 VIP is deprecated unless `forever`.
    let e = &i.evips;
    assert_eq!(e[0].family(), Family::Inet6);
    assert_eq!(
        e[0].effective_preferred_lft(true),
        Some(PreferredLft::Secs(0))
    );
    assert_eq!(e[1].scope, Some(Scope(10)));
    assert_eq!(i.family, Family::Inet);
}

#[test]
fn unicast_peers() {
    let cfg = clean(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n unicast_src_ip 192.0.2.10\n \
         unicast_peer {\n  192.0.2.11 min_ttl 250 max_ttl 255\n  192.0.2.12\n }\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    let i = &cfg.vrrp.instances[0];
    assert!(i.is_unicast());
    assert_eq!(i.unicast_src_ip, Some(ip("192.0.2.10")));
    assert_eq!(i.unicast_peers.len(), 2);
    assert_eq!(
        (
            i.unicast_peers[0].addr,
            i.unicast_peers[0].min_ttl,
            i.unicast_peers[0].max_ttl
        ),
        (ip("192.0.2.11"), Some(250), Some(255))
    );
    assert_eq!(i.unicast_peers[1].min_ttl, None);
}

#[test]
fn routes() {
    let (cfg, errs, _) = build(
        "static_routes {\n  src 192.0.2.1 198.51.100.0/24 via 192.0.2.254 dev eth0 table 100 \
         metric 5 mtu lock 1400 onlink\n  blackhole 203.0.113.0/24 dev eth1\n  \
         198.51.101.0/24 via 192.0.2.253 or 192.0.2.252 dev eth0\n  \
         198.51.102.0/24 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop via 192.0.2.2 dev eth1\n  \
         default via 192.0.2.254\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  \
         192.0.2.1\n }\n virtual_routes {\n  2001:db8:1::/64 via 2001:db8::1 dev eth0 pref high\n \
         }\n}\n",
    );
    let r = &cfg.vrrp.static_routes;
    assert_eq!(r.len(), 5);
    assert_eq!(
        r[0].dst,
        IpPrefix {
            addr: ip("198.51.100.0"),
            len: 24
        }
    );
    assert_eq!(r[0].pref_src, Some(ip("192.0.2.1")));
    assert_eq!(r[0].via, Some(ip("192.0.2.254")));
    assert_eq!(r[0].dev.as_deref(), Some("eth0"));
    assert_eq!((r[0].table, r[0].metric, r[0].onlink), (100, Some(5), true));
    assert_eq!(
        r[0].metrics.mtu,
        Some(Metric {
            value: 1400,
            lock: true
        })
    );
    // Tracked routes are installed with protocol keepalived (18).
    assert_eq!(r[0].protocol, Some(18));
    assert!(!r[0].no_track);
    assert_eq!(r[1].route_type, RouteType::Blackhole);
    // The deprecated "or" becomes two nexthops.
    assert_eq!(r[2].via, None);
    assert_eq!(
        r[2].nexthops.iter().map(|n| n.via).collect::<Vec<_>>(),
        vec![Some(ip("192.0.2.253")), Some(ip("192.0.2.252"))]
    );
    assert_eq!(r[3].nexthops.len(), 2);
    assert_eq!(r[3].nexthops[0].weight, Some(2));
    assert_eq!(r[3].nexthops[1].dev.as_deref(), Some("eth1"));
    // A route without an interface cannot be tracked.
    assert_eq!(r[4].dst_text, "default");
    assert!(r[4].no_track);
    assert!(errs.contains("cannot track route default with no interface"));
    let v = &cfg.vrrp.instances[0].virtual_routes[0];
    assert_eq!((v.family, v.pref), (Family::Inet6, Some(1)));
}

#[test]
fn rules() {
    let (cfg, errs, _) = build(
        "static_rules {\n  from 192.0.2.0/24 table 100\n  to 198.51.100.0/24 lookup main \
         priority 10 fwmark 0x10/0xff iif eth0\n  from 192.0.2.0/24 goto 200 preference 100\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  \
         192.0.2.1\n }\n virtual_rules {\n  from 203.0.113.0/24 table 2\n  \
         inet6 from 2001:db8::/32 unreachable\n }\n}\n",
    );
    let s = &cfg.vrrp.static_rules;
    assert_eq!((s[0].priority, s[0].priority_auto), (16384, true));
    assert_eq!(s[0].action, RuleAction::Table(100));
    assert_eq!(
        s[0].from,
        Some(IpPrefix {
            addr: ip("192.0.2.0"),
            len: 24
        })
    );
    assert_eq!((s[1].priority, s[1].priority_auto), (10, false));
    assert_eq!(s[1].action, RuleAction::Table(254));
    assert_eq!(s[1].fwmark, Some((0x10, Some(0xff))));
    assert_eq!(s[1].iif.as_deref(), Some("eth0"));
    assert_eq!(s[2].action, RuleAction::Goto(200));
    let v = &cfg.vrrp.instances[0].virtual_rules;
    // The auto-assigned preferences count down per family, in configuration order.
    assert_eq!(v[0].priority, 16383);
    assert_eq!(
        (v[1].family, v[1].priority, v[1].action),
        (Family::Inet6, 16384, RuleAction::Unreachable)
    );
    assert_eq!(errs.matches("Rule has no preference specified").count(), 3);
}

#[test]
fn trackers_and_weights() {
    let cfg = clean(&format!(
        "{SECURE}vrrp_script chk {{\n script \"/usr/bin/check --port 80\"\n interval 2\n \
         weight -4\n fall 2\n rise 3\n init_fail\n}}\n\
         vrrp_script rev {{\n script /usr/bin/rev\n weight 10 reverse\n timeout 5\n}}\n\
         track_file tf {{\n file /run/prio\n weight 3 reverse\n init_file 7 overwrite\n}}\n\
         vrrp_track_process haproxy {{\n process haproxy -f /etc/haproxy.cfg\n weight 10\n \
         quorum 2\n quorum_max 4\n delay 1.5\n}}\n\
         bfd_instance peer1 {{\n neighbor_ip 192.0.2.2\n weight -20\n}}\n\
         vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {{\n  \
         192.0.2.1\n }}\n track_interface {{\n  eth1 weight 10\n  eth2 weight -5 reverse\n  \
         eth3\n }}\n track_script {{\n  chk\n  rev weight 7\n }}\n track_file {{\n  tf\n }}\n \
         track_process {{\n  haproxy weight -30 reverse\n }}\n track_bfd {{\n  peer1\n }}\n}}\n"
    ));
    let s = cfg.vrrp.script("chk").unwrap();
    assert_eq!(s.script.argv, ["/usr/bin/check", "--port", "80"]);
    assert_eq!((s.interval_us, s.timeout_us), (2_000_000, 2_000_000));
    assert_eq!((s.weight, s.rise, s.fall, s.init_fail), (-4, 3, 2, true));
    let r = cfg.vrrp.script("rev").unwrap();
    assert_eq!(
        (r.weight, r.weight_reverse, r.timeout_us),
        (10, true, 5_000_000)
    );
    let f = &cfg.vrrp.track_files[0];
    assert_eq!(
        (f.path.as_str(), f.weight, f.weight_reverse),
        ("/run/prio", 3, true)
    );
    assert_eq!(
        f.init_file,
        Some(InitFile {
            value: 7,
            overwrite: true
        })
    );
    let p = &cfg.vrrp.track_processes[0];
    assert_eq!((p.process.as_str(), p.params.len()), ("haproxy", 2));
    assert_eq!(
        (p.quorum, p.quorum_max, p.fork_delay_us),
        (2, Some(4), 1_500_000)
    );

    let i = &cfg.vrrp.instances[0];
    let ti: Vec<_> = i
        .track_interfaces
        .iter()
        .map(|t| (t.name.as_str(), t.weight, t.reverse))
        .collect();
    assert_eq!(
        ti,
        [("eth1", 10, false), ("eth2", -5, true), ("eth3", 0, false)]
    );
    // A track_script takes the script's weight unless it gives one.
    let ts: Vec<_> = i
        .track_scripts
        .iter()
        .map(|t| (t.name.as_str(), t.weight, t.reverse))
        .collect();
    assert_eq!(ts, [("chk", -4, false), ("rev", 7, false)]);
    assert_eq!(
        (i.track_files[0].weight, i.track_files[0].reverse),
        (3, true)
    );
    assert_eq!(
        (i.track_processes[0].weight, i.track_processes[0].reverse),
        (-30, true)
    );
    assert_eq!(i.track_bfds[0].weight, -20);
}

#[test]
fn sync_groups() {
    let (cfg, errs, _) = build(&format!(
        "{SECURE}vrrp_sync_group G1 {{\n group {{\n  VI_1\n  VI_2\n }}\n \
         notify_master \"/usr/bin/notify 'group master'\"\n notify /usr/bin/all\n}}\n\
         vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n \
         track_interface {{\n  eth1 weight 10\n }}\n virtual_ipaddress {{\n  192.0.2.1\n }}\n}}\n\
         vrrp_instance VI_2 {{\n interface eth1\n virtual_router_id 2\n \
         virtual_ipaddress {{\n  192.0.2.2\n }}\n}}\n"
    ));
    let g = cfg.vrrp.sync_group("G1").unwrap();
    assert_eq!(g.members, ["VI_1", "VI_2"]);
    assert_eq!(
        g.notify.master.as_ref().unwrap().argv,
        ["/usr/bin/notify", "group master"]
    );
    assert!(g.notify.generic.is_some());
    assert_eq!(
        cfg.vrrp.instance("VI_2").unwrap().sync_group.as_deref(),
        Some("G1")
    );
    // Tracker weights of sync-group members are ignored (set to 0) as in keepalived.
    assert_eq!(
        cfg.vrrp.instance("VI_1").unwrap().track_interfaces[0].weight,
        0
    );
    assert!(errs.contains("ignoring eth1 tracked interface weight due to SYNC group"));
}

#[test]
fn notify_scripts_and_users() {
    let cfg = clean(&format!(
        "{SECURE}vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {{\n  192.0.2.1\n }}\n notify_master \"/usr/bin/n MASTER 'VI 1'\" root root\n \
         notify_backup /usr/bin/b\n notify_fault /usr/bin/f\n notify_stop /usr/bin/s\n \
         notify /usr/bin/all\n}}\n"
    ));
    let n = &cfg.vrrp.instances[0].notify;
    let m = n.master.as_ref().unwrap();
    assert_eq!(m.argv, ["/usr/bin/n", "MASTER", "VI 1"]);
    assert_eq!(
        (m.script.user.as_deref(), m.uid, m.gid),
        (Some("root"), 0, 0)
    );
    assert!(n.backup.is_some() && n.fault.is_some() && n.stop.is_some() && n.generic.is_some());
    assert_eq!(cfg.vrrp.scripts().len(), 5);
    assert_eq!(cfg.global.script_user.as_ref().unwrap().uid, 0);
}

#[test]
fn vmac() {
    let cfg = clean(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n use_vmac vrrp.51 \
         02:00:00:00:00:01\n vmac_xmit_base\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    let v = cfg.vrrp.instances[0].vmac.as_ref().unwrap();
    assert_eq!(v.ifname.as_deref(), Some("vrrp.51"));
    assert_eq!(v.mac, Some([2, 0, 0, 0, 0, 1]));
    assert!(v.xmit_base);
}

#[test]
fn bfd_instances() {
    let cfg = clean(
        "bfd_instance defaults {\n neighbor_ip 2001:db8::2\n}\n\
         bfd_instance tuned {\n neighbor_ip 192.0.2.2\n source_ip 192.0.2.1\n min_rx 20\n \
         min_tx 1.5\n idle_tx 2000\n multiplier 3\n passive\n ttl 10\n max_hops 5\n \
         multihop\n weight 10 reverse\n vrrp\n}\n",
    );
    let d = cfg.bfd.instance("defaults").unwrap();
    assert_eq!(
        (
            d.required_min_rx_us,
            d.desired_min_tx_us,
            d.idle_tx_us,
            d.detect_mult
        ),
        (10_000, 10_000, 1_000_000, 5)
    );
    // IPv6 sessions default to hop limit 64, IPv4 to TTL 255.
    assert_eq!((d.ttl, d.dst_port()), (64, 3784));
    assert!(d.to_vrrp() && d.to_checker());
    let t = cfg.bfd.instance("tuned").unwrap();
    assert_eq!(
        (t.required_min_rx_us, t.desired_min_tx_us, t.idle_tx_us),
        (20_000, 1_500, 2_000_000)
    );
    assert_eq!(
        (t.detect_mult, t.passive, t.ttl, t.max_hops),
        (3, true, 10, 5)
    );
    assert_eq!((t.dst_port(), t.weight, t.weight_reverse), (4784, 10, true));
    assert_eq!(t.consumers, BfdConsumers::Vrrp);
}

#[test]
fn bfd_authentication() {
    use keepalived_rs::config::model::bfd::BfdAuthKind;
    let cfg = clean(
        "bfd_instance a {\n neighbor_ip 192.0.2.2\n authentication {\n  auth_type keyed_sha1\n  \
         auth_key_id 7\n  auth_pass hex:00112233445566778899aabbccddeeff00112233\n }\n}\n\
         bfd_instance b {\n neighbor_ip 192.0.2.3\n authentication {\n  auth_type simple\n  \
         auth_pass s3cret\n }\n}\nbfd_instance c {\n neighbor_ip 192.0.2.4\n}\n",
    );
    let a = cfg.bfd.instance("a").unwrap().auth.clone().unwrap();
    assert_eq!(
        (a.kind, a.key_id, a.key.len()),
        (BfdAuthKind::KeyedSha1, 7, 20)
    );
    let b = cfg.bfd.instance("b").unwrap().auth.clone().unwrap();
    assert_eq!((b.kind, b.key_id), (BfdAuthKind::SimplePassword, 1));
    assert_eq!(b.key, b"s3cret");
    // The secret never shows in debug output.
    assert!(!format!("{:?}", cfg.bfd.instance("b").unwrap()).contains("s3cret"));
    assert!(cfg.bfd.instance("c").unwrap().auth.is_none());
    // BFD is implemented: no "not implemented" note for its keywords.
    assert!(!cfg.unimplemented.iter().any(|k| k.contains("bfd")));

    // Errors: a key too long for MD5, an unknown type, a missing secret.
    for (text, needle) in [
        (
            "auth_type keyed_md5\n auth_pass 0123456789abcdefXYZ",
            "longer than 16 bytes",
        ),
        ("auth_type sha256\n auth_pass x", "unknown auth_type sha256"),
        ("auth_type simple", "needs auth_type and auth_pass"),
    ] {
        let (cfg, errs, _) = build(&format!(
            "bfd_instance x {{\n neighbor_ip 192.0.2.9\n authentication {{\n {text}\n }}\n}}\n"
        ));
        assert!(errs.contains(needle), "{needle}: {errs}");
        if needle != "unknown auth_type sha256" {
            assert!(cfg.bfd.instance("x").is_none(), "{needle}");
        }
    }
}

#[test]
fn global_defs_values() {
    let cfg = clean(
        "global_defs {\n router_id LVS_1\n notification_email {\n  a@example.com\n  \
         \"Ops <ops@example.com>\"\n }\n notification_email_from k@example.com\n \
         smtp_server 192.0.2.25 2525\n smtp_connect_timeout 10\n script_user root\n \
         enable_script_security\n lvs_sync_daemon eth1 VI_1 id 7\n lvs_flush\n \
         lvs_flush_on_stop VS\n notify_fifo /run/k.fifo root\n \
         notify_fifo_script /usr/bin/reader\n dynamic_interfaces allow_if_changes\n \
         vrrp_mcast_group4 224.0.0.19\n max_auto_priority\n}\n\
         net_namespace blue\nchild_wait_time 7\n\
         vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    let g = &cfg.global;
    assert_eq!(g.router_id.as_deref(), Some("LVS_1"));
    assert_eq!(
        g.notification_email,
        ["a@example.com", "Ops <ops@example.com>"]
    );
    let smtp = g.smtp_server.as_ref().unwrap();
    assert_eq!((smtp.host.as_str(), smtp.port), ("192.0.2.25", 2525));
    assert_eq!(g.smtp_connect_timeout_us, 10_000_000);
    assert!(g.enable_script_security && g.lvs_flush && g.dynamic_interfaces && g.allow_if_changes);
    assert_eq!(g.lvs_flush_on_stop, Some(LvsFlushOnStop::VirtualServers));
    let sd = g.lvs_sync_daemon.as_ref().unwrap();
    assert_eq!(
        (sd.interface.as_str(), sd.instance.as_deref(), sd.sync_id),
        ("eth1", Some("VI_1"), Some(7))
    );
    let fifo = g.notify_fifo.as_ref().unwrap();
    assert_eq!(
        (fifo.path.as_str(), fifo.user.as_deref()),
        ("/run/k.fifo", Some("root"))
    );
    assert_eq!(fifo.script.as_ref().unwrap().argv, ["/usr/bin/reader"]);
    assert_eq!(g.vrrp.mcast_group4, Ipv4Addr::new(224, 0, 0, 19));
    assert_eq!(g.max_auto_priority, Some(99));
    assert_eq!(g.net_namespace.as_deref(), Some("blue"));
    assert_eq!(g.child_wait_time_us, 7_000_000);
}

#[test]
fn static_blocks_and_helper_groups() {
    let cfg = clean(
        "track_group TG {\n group {\n  VI_1\n }\n}\n\
         static_ipaddress {\n  192.0.2.50/24 dev eth1 track_group TG\n  198.51.100.1/24\n}\n\
         garp_group {\n garp_interval 0.01\n gna_interval 0.02\n interfaces {\n  eth0\n  eth1\n \
         }\n}\n\
         linkbeat_interfaces {\n  eth0 MII\n  eth1\n}\n\
         interface_up_down_delays {\n  eth0 2 1\n  eth1 3\n}\n\
         vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    let v = &cfg.vrrp;
    assert!(v.has_vrrp());
    assert_eq!(v.track_groups[0].instances, ["VI_1"]);
    assert_eq!(v.static_addresses[0].track_group.as_deref(), Some("TG"));
    assert_eq!(v.static_addresses[1].dev, None);
    assert_eq!(v.garp_groups[0].interfaces, ["eth0", "eth1"]);
    assert_eq!(v.garp_groups[0].garp_interval_us, Some(10_000));
    assert_eq!(v.linkbeat_interfaces[0].method, Some(LinkbeatMethod::Mii));
    assert_eq!(v.linkbeat_interfaces[1].method, None);
    assert_eq!(
        (
            v.interface_up_down_delays[0].down_us,
            v.interface_up_down_delays[0].up_us
        ),
        (2_000_000, 1_000_000)
    );
    // keepalived's code (not its man page): an omitted up delay is 0.
    assert_eq!(v.interface_up_down_delays[1].up_us, 0);
}

#[test]
fn scripts_listing() {
    let cfg = clean(&format!(
        "{SECURE}global_defs {{\n startup_script /usr/bin/up\n shutdown_script /usr/bin/down\n}}\n\
         vrrp_script chk {{\n script /usr/bin/chk\n}}\n\
         vrrp_sync_group G {{\n group {{\n  A\n  B\n }}\n notify_fault /usr/bin/gf\n}}\n\
         vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {{\n  192.0.2.1\n }}\n track_script {{\n  chk\n }}\n \
         notify_master /usr/bin/m\n}}\n\
         vrrp_instance B {{\n interface eth0\n virtual_router_id 2\n \
         virtual_ipaddress {{\n  192.0.2.2\n }}\n}}\n"
    ));
    let cmds: Vec<&str> = cfg
        .vrrp
        .scripts()
        .iter()
        .map(|s| s.command.as_str())
        .collect();
    assert_eq!(cmds, ["/usr/bin/chk", "/usr/bin/m", "/usr/bin/gf"]);
    let g: Vec<&str> = cfg
        .global
        .scripts()
        .iter()
        .map(|s| s.command.as_str())
        .collect();
    assert_eq!(g, ["/usr/bin/up", "/usr/bin/down"]);
}

#[test]
fn script_security_removes_what_keepalived_would_not_run() {
    use keepalived_rs::config::semantic::{Host, ScriptFile};
    struct H;
    impl Host for H {
        fn interface_exists(&self, _: &str) -> bool {
            true
        }
        fn user(&self, n: &str) -> Option<(u32, u32)> {
            (n == "root").then_some((0, 0))
        }
        fn group(&self, n: &str) -> Option<u32> {
            (n == "root").then_some(0)
        }
        fn script_file(&self, p: &str) -> Option<ScriptFile> {
            let writable = p.contains("tmp");
            p.starts_with('/')
                .then(|| ScriptFile {
                    path: p.into(),
                    executable: true,
                    writable_by_non_root: writable,
                })
                .filter(|_| !p.contains("missing"))
        }
    }
    let text = format!(
        "{SECURE}vrrp_script insecure {{\n script /tmp/x.sh\n}}\n\
         vrrp_script gone {{\n script /opt/missing.sh\n}}\n\
         vrrp_script ok {{\n script /usr/bin/ok\n}}\n\
         vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {{\n  192.0.2.1\n }}\n track_script {{\n  insecure\n  gone\n  ok\n }}\n \
         notify_master /tmp/n.sh\n notify_backup /usr/bin/b\n}}\n"
    );
    let mut diags = Diagnostics::new();
    let tree = parse_str(&text, "t.conf", &LoadOptions::default(), &mut diags);
    let cfg = semantic::build(&tree, &H, &SemanticOptions::default(), &mut diags);
    let names: Vec<&str> = cfg
        .vrrp
        .vrrp_scripts
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["ok"]);
    let i = &cfg.vrrp.instances[0];
    assert_eq!(i.track_scripts.len(), 1);
    assert!(i.notify.master.is_none() && i.notify.backup.is_some());
    assert_eq!(diags.exit_code(), 5, "{:?}", diags.items);
}

#[test]
fn min_garp_sets_single_garp_defaults() {
    let cfg = clean(
        "global_defs {\n vrrp_min_garp\n vrrp_garp_master_refresh 30\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    let g = &cfg.vrrp.instances[0].garp;
    assert_eq!(
        (g.master_repeat, g.master_delay_us, g.master_refresh_repeat),
        (1, 0, 0)
    );
    // Explicit settings win over vrrp_min_garp.
    assert_eq!(g.master_refresh_us, 30_000_000);
}

/// The pass never panics, whatever is cut off: every fixture is re-read with each line
/// truncated after each of its words (and with each line removed).
#[test]
fn never_panics_on_truncated_lines() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/semantic/parity");
    let mut runs = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            for k in 0..=words.len() {
                let mut variant: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                if k == words.len() {
                    variant.remove(n);
                } else {
                    variant[n] = words[..k].join(" ");
                }
                let _ = build(&variant.join("\n"));
                runs += 1;
            }
        }
    }
    assert!(runs > 1000);
}
