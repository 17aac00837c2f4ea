//! VMAC lifecycle on a real kernel: macvlan in private mode with the VRRP MAC, the sysctls
//! keepalived 2.2.7 sets (checked against the real binary by hand, see `os::vmac`), reuse of
//! a matching interface, refusal to touch a non-macvlan, and everything restored on delete.

mod common;

use common::{e2e_ready, Netns};
use keepalived_rs::os::netlink::{MacvlanMode, NetlinkClient};
use keepalived_rs::os::netns;
use keepalived_rs::os::sysctl;
use keepalived_rs::os::vmac::{VmacManager, VmacSpec};
use keepalived_rs::wire::vrrp::Family;

fn ns_with_veth(tag: &str) -> Netns {
    let ns = Netns::new(tag);
    ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
    ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "va"]);
    ns.ip(&["link", "set", "va", "up"]);
    ns.ip(&["link", "set", "vb", "up"]);
    ns
}

fn out(ns: &Netns, args: &[&str]) -> String {
    String::from_utf8_lossy(&ns.ip(args).stdout).into_owned()
}

/// Reads `net/ipv4/conf/{dev}/{param}` (or ipv6) inside the namespace.
fn conf(ns: &Netns, v6: bool, dev: &str, param: &str) -> String {
    let key = sysctl::conf_key(v6, dev, param);
    netns::run_in(&ns.name, move || sysctl::read(&key))
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ipv4_vmac_lifecycle_and_sysctls() {
    if !e2e_ready("vmac ipv4_vmac_lifecycle_and_sysctls", false) {
        return;
    }
    let ns = ns_with_veth("vm4");
    // keepalived moves a set all.rp_filter to the interfaces; start from that case.
    netns::run_in(&ns.name, || {
        sysctl::write("net/ipv4/conf/all/rp_filter", "1").unwrap()
    })
    .unwrap();
    let name = ns.name.clone();
    let (mut nl, mut mgr, vmac, reused, va_idx) = netns::run_in(&name, || {
        let mut nl = NetlinkClient::open().unwrap();
        let va = nl.link_by_name("va").unwrap().unwrap().ifindex;
        let mut mgr = VmacManager::new();
        let spec = VmacSpec::new(va, Family::Ipv4, 5);
        let vmac = mgr.create(&mut nl, &spec).expect("create VMAC");
        // A second create finds the matching interface and reuses it.
        let reused = mgr.create(&mut nl, &spec).expect("reuse VMAC");
        (nl, mgr, vmac, reused, va)
    })
    .unwrap();
    assert!(vmac.created && !reused.created);
    assert_eq!(vmac.ifindex, reused.ifindex);
    assert_eq!(vmac.name, "vrrp.5");
    let link = out(&ns, &["-d", "link", "show", "vrrp.5"]);
    assert!(link.contains("vrrp.5@va"), "{link}");
    assert!(link.contains("link/ether 00:00:5e:00:01:05"), "{link}");
    assert!(link.contains("macvlan mode private"), "{link}");
    assert!(link.contains("addrgenmode none"), "{link}");
    assert!(link.contains(",UP,"), "{link}");

    for (p, v) in [
        ("arp_ignore", "1"),
        ("accept_local", "1"),
        ("rp_filter", "0"),
        ("promote_secondaries", "1"),
    ] {
        assert_eq!(conf(&ns, false, "vrrp.5", p), v, "vrrp.5 {p}");
    }
    assert_eq!(conf(&ns, true, "vrrp.5", "disable_ipv6"), "1");
    assert_eq!(conf(&ns, false, "va", "arp_ignore"), "1");
    assert_eq!(conf(&ns, false, "va", "arp_filter"), "1");
    assert_eq!(conf(&ns, false, "all", "rp_filter"), "0");
    assert_eq!(conf(&ns, false, "default", "rp_filter"), "1");
    assert_eq!(conf(&ns, false, "va", "rp_filter"), "1");

    // Deleting the reused handle then the original: the parent keeps its settings until the
    // last reference goes.
    let (first, second) = netns::run_in(&name, move || {
        let first = mgr.delete(&mut nl, &reused);
        let after_first = (
            sysctl::read("net/ipv4/conf/va/arp_ignore").unwrap(),
            nl.link_by_index(va_idx).unwrap().is_some(),
        );
        let second = mgr.delete(&mut nl, &vmac);
        (first.map(|_| after_first), second)
    })
    .unwrap();
    let (va_arp_ignore_after_first, _) = first.expect("delete");
    second.expect("second delete of a gone VMAC is fine");
    assert_eq!(va_arp_ignore_after_first, "1");
    assert!(!out(&ns, &["link", "show"]).contains("vrrp.5"));
    assert_eq!(conf(&ns, false, "va", "arp_ignore"), "0");
    assert_eq!(conf(&ns, false, "va", "arp_filter"), "0");
    assert_eq!(conf(&ns, false, "all", "rp_filter"), "1");
    assert_eq!(conf(&ns, false, "default", "rp_filter"), "0");
    assert_eq!(conf(&ns, false, "va", "rp_filter"), "0");
}

#[test]
fn ipv6_vmac_with_link_local_and_bridge_mode() {
    if !e2e_ready("vmac ipv6_vmac_with_link_local_and_bridge_mode", false) {
        return;
    }
    let ns = ns_with_veth("vm6");
    let r = netns::run_in(&ns.name, || {
        let mut nl = NetlinkClient::open().unwrap();
        let va = nl.link_by_name("va").unwrap().unwrap();
        let mut mgr = VmacManager::new();
        let mut spec = VmacSpec::new(va.ifindex, Family::Ipv6, 6);
        spec.name = "vmac6".into();
        spec.mode = MacvlanMode::Bridge;
        spec.link_local = Some(keepalived_rs::os::vmac::eui64_link_local(va.mac.unwrap()));
        let vmac = mgr.create(&mut nl, &spec).expect("create VMAC");
        (nl, mgr, vmac, spec.link_local.unwrap())
    })
    .unwrap();
    let (mut nl, mut mgr, vmac, ll) = r;
    let link = out(&ns, &["-d", "link", "show", "vmac6"]);
    assert!(link.contains("link/ether 00:00:5e:00:02:06"), "{link}");
    assert!(link.contains("macvlan mode bridge"), "{link}");
    assert!(link.contains("addrgenmode none"), "{link}");
    let addrs = out(&ns, &["-6", "addr", "show", "dev", "vmac6"]);
    assert!(
        addrs.contains(&format!("inet6 {ll}/64 scope link nodad")),
        "{addrs}"
    );
    assert_eq!(
        addrs.matches("inet6 ").count(),
        1,
        "no kernel-generated link-local: {addrs}"
    );
    // IPv6 VMACs leave the IPv4 settings alone.
    assert_eq!(conf(&ns, false, "va", "arp_ignore"), "0");
    netns::run_in(&ns.name.clone(), move || mgr.delete(&mut nl, &vmac))
        .unwrap()
        .unwrap();
    assert!(!out(&ns, &["link", "show"]).contains("vmac6"));
}

#[test]
fn refuses_to_replace_a_real_interface() {
    if !e2e_ready("vmac refuses_to_replace_a_real_interface", false) {
        return;
    }
    let ns = ns_with_veth("vmr");
    let e = netns::run_in(&ns.name, || {
        let mut nl = NetlinkClient::open().unwrap();
        let va = nl.link_by_name("va").unwrap().unwrap().ifindex;
        let mut spec = VmacSpec::new(va, Family::Ipv4, 7);
        spec.name = "vb".into();
        VmacManager::new().create(&mut nl, &spec)
    })
    .unwrap()
    .unwrap_err();
    assert!(e.to_string().contains("not a macvlan"), "{e}");
    assert!(out(&ns, &["link", "show", "vb"]).contains("vb@va"));
}
