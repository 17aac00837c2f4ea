//! L4 input of FILE_CHECK (the checker side's own watch, so that it runs without VRRP):
//! the track files its checkers follow are read at start and whenever inotify reports that
//! one was written and closed, moved in or out, or removed, and each value goes to
//! `Healthcheckers::on_file_value`. A value outside the 32-bit range is logged as
//! keepalived 2.2.7 logs it ("Invalid number N read from PATH - ignoring") and ignored;
//! otherwise the file is read as strtol reads it (a missing or empty file, or text without
//! a leading number, is 0).

use super::lifecycle::Daemon;
use crate::config::model::lvs::{CheckerKind, LvsConfig};
use crate::config::model::Config;
use log::{info, warn};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use scheduler::{Ctx, ThreadId};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

type C = Ctx<Daemon>;

/// The files FILE_CHECKs follow and the inotify instance watching their directories.
pub struct FileWatch {
    ino: Option<Inotify>,
    /// (track_file name, path) in name order.
    files: Vec<(String, PathBuf)>,
    /// The watched directories.
    dirs: Vec<(WatchDescriptor, PathBuf)>,
    thread: Option<ThreadId>,
}

/// The value of a track file, or the number that is out of range.
pub fn read_checked(path: &Path) -> Result<i64, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(0);
    };
    let t = text.trim_start();
    let end = t
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    let num = &t[..end];
    if !num.bytes().any(|b| b.is_ascii_digit()) {
        return Ok(0);
    }
    match num.parse::<i64>() {
        Ok(v) if i32::try_from(v).is_ok() => Ok(v),
        _ => Err(num.trim_start_matches('+').to_string()),
    }
}

/// The track files the FILE_CHECKs of `cfg` follow, in name order, without repeats.
pub fn names(cfg: &LvsConfig) -> Vec<&str> {
    let mut v: Vec<&str> = cfg
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.checkers)
        .filter_map(|c| match &c.kind {
            CheckerKind::File(f) => Some(f.track_file.as_str()),
            _ => None,
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

impl FileWatch {
    /// The files of track files `names` (FILE_CHECKs' names) in `cfg`, watched.
    pub fn new(cfg: &Config, names: &[&str]) -> FileWatch {
        let files: Vec<(String, PathBuf)> = names
            .iter()
            .filter_map(|n| {
                let f = cfg.vrrp.track_files.iter().find(|f| f.name == *n)?;
                Some((f.name.clone(), PathBuf::from(&f.path)))
            })
            .collect();
        let mut w = FileWatch {
            ino: None,
            files,
            dirs: Vec::new(),
            thread: None,
        };
        if w.files.is_empty() {
            return w;
        }
        let ino = match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) {
            Ok(i) => i,
            Err(e) => {
                warn!(target: "check", "cannot watch track files for FILE_CHECK: {e}");
                return w;
            }
        };
        // A file is read once its writer closes it (not between the truncation and the
        // write), moved in or out, or removed.
        let flags = AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_DELETE;
        let mut dirs: Vec<PathBuf> = w
            .files
            .iter()
            .filter_map(|(_, p)| p.parent().map(Path::to_path_buf))
            .collect();
        dirs.sort();
        dirs.dedup();
        for d in dirs {
            match ino.add_watch(&d, flags) {
                Ok(wd) => w.dirs.push((wd, d)),
                Err(e) => warn!(
                    target: "check",
                    "cannot watch {} for track_file changes: {e}",
                    d.display()
                ),
            }
        }
        w.ino = Some(ino);
        w
    }

    /// Every file's value now, by name (an out-of-range value logged and left out).
    pub fn read_all(&self) -> Vec<(String, i64)> {
        self.read(|_| true)
    }

    fn read(&self, want: impl Fn(usize) -> bool) -> Vec<(String, i64)> {
        let mut v = Vec::new();
        for (i, (name, path)) in self.files.iter().enumerate() {
            if !want(i) {
                continue;
            }
            match read_checked(path) {
                Ok(x) => v.push((name.clone(), x)),
                Err(n) => info!(
                    target: "check",
                    "Invalid number {n} read from {} - ignoring",
                    path.display()
                ),
            }
        }
        v
    }

    /// Drains the inotify events; the values of the files they name.
    fn changed(&self) -> Vec<(String, i64)> {
        let Some(ino) = &self.ino else {
            return Vec::new();
        };
        let mut hit = vec![false; self.files.len()];
        while let Ok(events) = ino.read_events() {
            if events.is_empty() {
                break;
            }
            for ev in events {
                let Some(dir) = self.dirs.iter().find(|(wd, _)| *wd == ev.wd) else {
                    continue;
                };
                let Some(name) = ev.name.as_deref() else {
                    continue;
                };
                let path = dir.1.join(name);
                for (i, (_, p)) in self.files.iter().enumerate() {
                    if *p == path {
                        hit[i] = true;
                    }
                }
            }
        }
        self.read(|i| hit[i])
    }

    /// Stops watching.
    pub fn cancel(&mut self, ctx: &mut C) {
        if let Some(t) = self.thread.take() {
            ctx.cancel(t);
        }
    }
}

/// Waits for the next change of the files the checker side watches.
pub(super) fn arm(ctx: &mut C, d: &mut Daemon) {
    let Some(fw) = d.lvs.as_mut().and_then(|s| s.files.as_mut()) else {
        return;
    };
    let Some(fd) = fw.ino.as_ref().map(|i| i.as_fd().as_raw_fd()) else {
        return;
    };
    match ctx.add_read(fd, None, |ctx, d: &mut Daemon, _| on_change(ctx, d)) {
        Ok(t) => fw.thread = Some(t),
        Err(e) => warn!(target: "check", "cannot watch track files for FILE_CHECK: {e}"),
    }
}

fn on_change(ctx: &mut C, d: &mut Daemon) {
    let Some(svc) = d.lvs.as_mut() else {
        return;
    };
    let Some(fw) = svc.files.as_mut() else {
        return;
    };
    fw.thread = None;
    let values = fw.changed();
    if !values.is_empty() {
        svc.with_checkers(|hc, out| {
            for (name, v) in &values {
                hc.on_file_value(name, *v, out);
            }
        });
    }
    arm(ctx, d);
    super::lvs::notify(ctx, d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_keepalived_reads_them() {
        let dir = std::env::temp_dir().join(format!("kvrs-fc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("v");
        for (text, want) in [
            ("42\n", Ok(42)),
            ("12abc", Ok(12)),
            (" 7", Ok(7)),
            ("abc", Ok(0)),
            ("", Ok(0)),
            ("-", Ok(0)),
            ("-2147483648", Ok(-2147483648)),
            ("2147483647", Ok(2147483647)),
            ("3000000000\n", Err("3000000000".to_string())),
            ("-2147483649", Err("-2147483649".to_string())),
        ] {
            std::fs::write(&p, text).unwrap();
            assert_eq!(read_checked(&p), want, "{text:?}");
        }
        assert_eq!(read_checked(&dir.join("missing")), Ok(0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
