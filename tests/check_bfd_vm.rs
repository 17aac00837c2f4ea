//! BFD_CHECK end to end, in a kernel with IPVS (QEMU guest, `tests/vm/ipvs-vm.sh`): the
//! daemon's real servers follow a BFD session to a second daemon in a network namespace of
//! the guest. The guest half is `tests/vm/bfd_check.sh`: the table at start (the session
//! starts Down and says so: real servers out, or at weight 0 with inhibit_on_failure), the session Up, the peer frozen (real servers removed,
//! or at weight 0 with inhibit_on_failure, with keepalived's log line), thawed (back at their
//! weights), a reload changing a weight (health kept), and SIGTERM removing what was
//! installed, each read from `ipvsadm -Ln`.

mod common;

use common::vm::{run_vm, vm_ready};
use std::path::Path;

#[test]
fn bfd_check_real_servers_follow_the_session_in_ipvs() {
    if !vm_ready("bfd_check_real_servers_follow_the_session_in_ipvs") {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/bfd_check.sh");
    let bin = Path::new(env!("CARGO_BIN_EXE_keepalived-rs"));
    let (code, log) = run_vm(&script, &[bin]);
    assert_eq!(code, Some(0), "the guest script failed (99: no result)");
    assert!(
        log.contains("BFD_CHECK VM TEST OK"),
        "the guest did not finish"
    );
}

/// `lvs_timeouts` and `lvs_sync_daemon ... inst VI` against the kernel's IPVS (guest half:
/// `tests/vm/sync_daemon.sh`): the timeouts are set, the sync daemon is backup while VI is
/// BACKUP and master while it is MASTER, and SIGTERM stops it.
#[test]
fn sync_daemon_follows_its_vrrp_instance_and_timeouts_are_set() {
    if !vm_ready("sync_daemon_follows_its_vrrp_instance_and_timeouts_are_set") {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/sync_daemon.sh");
    let bin = Path::new(env!("CARGO_BIN_EXE_keepalived-rs"));
    let (code, log) = run_vm(&script, &[bin]);
    assert_eq!(code, Some(0), "the guest script failed (99: no result)");
    assert!(
        log.contains("SYNC DAEMON VM TEST OK"),
        "the guest did not finish"
    );
}
