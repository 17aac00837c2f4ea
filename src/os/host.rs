//! The Linux [`Host`] for the semantic pass: interface existence (in the current network
//! namespace), users and groups, and script files for keepalived's script-security rules.

use crate::config::semantic::{Host, ScriptFile};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Answers from the running system.
pub struct LinuxHost;

impl Host for LinuxHost {
    fn interface_exists(&self, name: &str) -> bool {
        // if_nametoindex asks the kernel of our own network namespace (SIOCGIFINDEX), which
        // is right under `ip netns exec` even when /sys was not remounted.
        nix::net::if_::if_nametoindex(name).is_ok()
    }

    fn user(&self, name: &str) -> Option<(u32, u32)> {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| (u.uid.as_raw(), u.gid.as_raw()))
    }

    fn group(&self, name: &str) -> Option<u32> {
        nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
    }

    fn script_file(&self, path: &str) -> Option<ScriptFile> {
        // Judge the real file: on merged-/usr systems /bin is a 0777 symlink to usr/bin,
        // and a symlink's own mode says nothing about who can write the target.
        let found = resolve_in_path(path)?;
        let resolved = std::fs::canonicalize(&found).unwrap_or(found);
        let meta = std::fs::metadata(&resolved).ok()?;
        let executable = meta.is_file() && meta.permissions().mode() & 0o111 != 0;
        Some(ScriptFile {
            writable_by_non_root: writable_by_non_root(&resolved),
            path: resolved,
            executable,
        })
    }
}

/// A command name resolved as execvp does: names with a `/` as they are, others along PATH.
fn resolve_in_path(cmd: &str) -> Option<PathBuf> {
    if cmd.contains('/') {
        let p = PathBuf::from(cmd);
        return p.exists().then_some(p);
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    path.split(':')
        .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(cmd))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// keepalived's rule: the (canonical) file, or any directory above it, is owned by a
/// non-root user, writable by a group other than root's, or world-writable (a sticky
/// directory such as /tmp does not make the files of others writable).
fn writable_by_non_root(p: &Path) -> bool {
    let mut cur = Some(p);
    let mut first = true;
    while let Some(c) = cur {
        if let Ok(m) = std::fs::metadata(c) {
            let mode = m.mode();
            let sticky_dir = !first && mode & 0o1000 != 0;
            let group_write = mode & 0o020 != 0 && m.gid() != 0;
            let other_write = mode & 0o002 != 0 && !sticky_dir;
            if m.uid() != 0 || group_write || other_write {
                return true;
            }
        }
        first = false;
        cur = c.parent();
    }
    false
}
