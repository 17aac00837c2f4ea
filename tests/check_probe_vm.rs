//! The probing checkers end to end, in a kernel with IPVS (QEMU guest, `tests/vm/ipvs-vm.sh`):
//! real servers in a network namespace of the guest follow their TCP_CHECK, HTTP_GET,
//! SMTP_CHECK and PING_CHECK probes. The guest half is `tests/vm/probe_check.sh`: busybox
//! httpd and an `nc -e` SMTP server stop and return, pages change (digest error, 404), the
//! namespace ignores echo requests for a while; the real servers leave (or go to weight 0
//! with inhibit_on_failure) with keepalived's lines and come back, and SIGTERM empties the
//! table, each read from `ipvsadm -Ln`.

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
