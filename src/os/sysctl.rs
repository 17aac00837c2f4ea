//! Kernel parameters under /proc/sys, with restore.
//!
//! Keys are paths relative to /proc/sys with `/` separators (`net/ipv4/conf/vrrp.5/arp_ignore`),
//! not the dotted `sysctl` form, because interface names may contain dots. The values under
//! /proc/sys/net belong to the network namespace of the thread that opens them.
//!
//! [`SysctlSet`] remembers the first value it overwrote for each key, so that
//! [`SysctlSet::restore`] puts back what was there before the daemon touched anything.

use std::io;
use std::path::PathBuf;

fn path(key: &str) -> io::Result<PathBuf> {
    if key.is_empty() || key.starts_with('/') || key.split('/').any(|c| c == ".." || c.is_empty()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad sysctl key {key:?}"),
        ));
    }
    Ok(PathBuf::from("/proc/sys").join(key))
}

/// The key of an interface parameter: `net/{ipv4|ipv6}/conf/{ifname}/{param}`.
pub fn conf_key(ipv6: bool, ifname: &str, param: &str) -> String {
    format!(
        "net/{}/conf/{ifname}/{param}",
        if ipv6 { "ipv6" } else { "ipv4" }
    )
}

/// Reads a value (trailing newline removed).
pub fn read(key: &str) -> io::Result<String> {
    let p = path(key)?;
    let s = std::fs::read_to_string(&p)
        .map_err(|e| io::Error::new(e.kind(), format!("read sysctl {key}: {e}")))?;
    Ok(s.trim_end_matches('\n').to_string())
}

/// Reads an integer value.
pub fn read_int(key: &str) -> io::Result<i64> {
    let s = read(key)?;
    s.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("sysctl {key}: not an integer: {s:?}"),
        )
    })
}

/// Writes a value.
pub fn write(key: &str, value: &str) -> io::Result<()> {
    let p = path(key)?;
    std::fs::write(&p, value)
        .map_err(|e| io::Error::new(e.kind(), format!("set sysctl {key} to {value}: {e}")))
}

/// Values the daemon changed, with what they were before.
#[derive(Debug, Default)]
pub struct SysctlSet {
    /// (key, original value), in the order first changed.
    saved: Vec<(String, String)>,
}

impl SysctlSet {
    pub fn new() -> SysctlSet {
        SysctlSet::default()
    }

    /// Sets `key` to `value`, remembering the original the first time. Does not write
    /// when the value is already `value`. Returns the previous value.
    pub fn set(&mut self, key: &str, value: &str) -> io::Result<String> {
        let old = read(key)?;
        if old.trim() != value {
            write(key, value)?;
            if !self.saved.iter().any(|(k, _)| k == key) {
                self.saved.push((key.to_string(), old.clone()));
            }
        }
        Ok(old)
    }

    /// Whether `key` was changed (and not yet restored).
    pub fn is_saved(&self, key: &str) -> bool {
        self.saved.iter().any(|(k, _)| k == key)
    }

    /// Restores one key, if it was changed. A key whose file is gone (its interface was
    /// deleted) counts as restored.
    pub fn restore_key(&mut self, key: &str) -> io::Result<()> {
        let Some(i) = self.saved.iter().position(|(k, _)| k == key) else {
            return Ok(());
        };
        let (k, v) = self.saved.remove(i);
        restore_one(&k, &v)
    }

    /// Restores every key under `prefix` (for instance all of one interface).
    pub fn restore_prefix(&mut self, prefix: &str) -> Vec<io::Error> {
        let mut errs = Vec::new();
        let mut keep = Vec::new();
        for (k, v) in self.saved.drain(..).rev() {
            if k.starts_with(prefix) {
                if let Err(e) = restore_one(&k, &v) {
                    errs.push(e);
                }
            } else {
                keep.push((k, v));
            }
        }
        keep.reverse();
        self.saved = keep;
        errs
    }

    /// Restores everything, last changed first; returns the failures.
    pub fn restore(&mut self) -> Vec<io::Error> {
        self.restore_prefix("")
    }
}

fn restore_one(key: &str, value: &str) -> io::Result<()> {
    match write(key, value) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(
            conf_key(false, "vrrp.5", "arp_ignore"),
            "net/ipv4/conf/vrrp.5/arp_ignore"
        );
        assert!(path("../etc/passwd").is_err());
        assert!(path("/net").is_err());
        assert!(path("net//x").is_err());
        assert!(path("net/ipv4/ip_forward").is_ok());
    }
}
