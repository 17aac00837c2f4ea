//! The QEMU guest with IPVS (`tests/vm/ipvs-vm.sh`): whether it can boot here, and one run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

pub fn vm_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/ipvs-vm.sh")
}

/// True if the VM can boot; otherwise says why and skips, or fails with KVRS_REQUIRE_E2E=1.
pub fn vm_ready(test: &str) -> bool {
    let out = Command::new(vm_script()).arg("check").output();
    let why = match out {
        Ok(o) if o.status.success() => return true,
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => format!("{}: {e}", vm_script().display()),
    };
    let msg = format!("END-TO-END TEST {test} CANNOT RUN: {why}");
    if std::env::var("KVRS_REQUIRE_E2E").as_deref() == Ok("1") {
        panic!("{msg} (KVRS_REQUIRE_E2E=1: this is a failure)");
    }
    eprintln!("\n*** {msg} -- NOT RUN ***\n");
    false
}

/// Boots the guest with `bins` in /usr/local/bin and runs `script` as /test.sh; returns its
/// exit status (99: the VM gave no result) and the serial console's text, which it also
/// prints.
#[allow(clippy::disallowed_methods)] // the run's wall time, for the log
pub fn run_vm(script: &Path, bins: &[&Path]) -> (Option<i32>, String) {
    let start = Instant::now();
    let out = Command::new(vm_script())
        .arg("run")
        .arg(script)
        .args(bins)
        .env("IPVS_VM_TIMEOUT", "100")
        .output()
        .expect("run tests/vm/ipvs-vm.sh");
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "{log}{}\nVM run took {:.1} s",
        String::from_utf8_lossy(&out.stderr),
        start.elapsed().as_secs_f64()
    );
    (out.status.code(), log)
}
