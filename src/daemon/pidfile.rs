//! Pid files as keepalived handles them (`core/pidfile.c`): at start, a pid file naming a
//! live process other than us means "daemon is already running" and the new instance does
//! not start; a stale one is overwritten. Files are removed on orderly exit.

use std::io;
use std::path::{Path, PathBuf};

/// The pid recorded in `path` if that process is alive and is not us.
pub fn running_pid(path: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    if pid <= 0 || pid as u32 == std::process::id() {
        return None;
    }
    // Signal 0 checks existence; EPERM still means the process exists.
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => Some(pid),
        Err(_) => None,
    }
}

/// A pid file we wrote; [`PidFile::remove`] deletes it (also done on drop).
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    removed: bool,
}

impl PidFile {
    /// Writes our pid, creating parent directories as keepalived does for its pid dir.
    pub fn create(path: &Path) -> io::Result<PidFile> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        std::fs::write(path, format!("{}\n", std::process::id()))?;
        Ok(PidFile {
            path: path.to_path_buf(),
            removed: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file if it still holds our pid (a successor may have replaced it).
    pub fn remove(&mut self) {
        if self.removed {
            return;
        }
        self.removed = true;
        let ours = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .is_some_and(|p| p == std::process::id());
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_detect_remove() {
        let dir = std::env::temp_dir().join(format!("kvrs-pid-{}", std::process::id()));
        let p = dir.join("sub/k.pid");
        let mut f = PidFile::create(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            format!("{}\n", std::process::id())
        );
        // Our own pid does not count as "another daemon".
        assert_eq!(running_pid(&p), None);
        f.remove();
        assert!(!p.exists());
        // pid 1 is always alive: a file naming it means "already running".
        std::fs::write(&p, "1\n").unwrap();
        assert_eq!(running_pid(&p), Some(1));
        // A stale pid is not running.
        std::fs::write(&p, "999999999\n").unwrap();
        assert_eq!(running_pid(&p), None);
        std::fs::write(&p, "garbage").unwrap();
        assert_eq!(running_pid(&p), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
