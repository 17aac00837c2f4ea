//! The probing checkers end to end, in a kernel with IPVS (QEMU guest, `tests/vm/ipvs-vm.sh`):
//! real servers served by busybox httpd in a network namespace of the guest follow their
//! TCP_CHECK probes. The guest half is `tests/vm/probe_check.sh`: both in at start, out (or
//! at weight 0 with inhibit_on_failure) with keepalived's lines when their servers stop,
//! back when they return, and the table emptied at SIGTERM, each read from `ipvsadm -Ln`.

mod common;

use common::vm::{run_vm, vm_ready};
use std::path::Path;

#[test]
fn probe_checkers_drive_real_servers_in_ipvs() {
    if !vm_ready("probe_checkers_drive_real_servers_in_ipvs") {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/probe_check.sh");
    let bin = Path::new(env!("CARGO_BIN_EXE_keepalived-rs"));
    let (code, log) = run_vm(&script, &[bin]);
    assert_eq!(code, Some(0), "the guest script failed (99: no result)");
    assert!(
        log.contains("PROBE CHECK VM TEST OK"),
        "the guest did not finish"
    );
}
