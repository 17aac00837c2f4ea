//! L4 sources of tracker inputs that are not scripts: `track_file` values (read at start and
//! whenever inotify reports a change in the file's directory) and `vrrp_track_process`
//! counts (a scan of /proc; keepalived follows the kernel's process connector, we scan once
//! a second, which bounds detection at one second).

use crate::config::model::vrrp::{ParamMatch, TrackProcess, VrrpConfig};
use crate::vrrp::{FileId, Input, ProcId};
use log::{debug, warn};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::path::Path;

/// The value keepalived reads from a track file: the leading integer (strtol), 0 when the
/// file is missing or holds no number.
pub fn read_value(path: &Path) -> i64 {
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0;
    };
    let t = text.trim_start();
    let end = t
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    t[..end].parse().unwrap_or(0)
}

/// `init_file`: create the file with its value at start when absent (or always with
/// `overwrite`).
pub fn init_files(v: &VrrpConfig) {
    for f in &v.track_files {
        if let Some(init) = &f.init_file {
            let p = Path::new(&f.path);
            if init.overwrite || !p.exists() {
                if let Err(e) = std::fs::write(p, format!("{}\n", init.value)) {
                    warn!(target: "vrrp", "track_file {}: cannot initialise {}: {e}", f.name, f.path);
                }
            }
        }
    }
}

/// Current values of every track file, as engine inputs.
pub fn file_inputs(v: &VrrpConfig) -> Vec<Input> {
    v.track_files
        .iter()
        .enumerate()
        .map(|(i, f)| Input::FileValue {
            file: FileId(i as u32),
            value: read_value(Path::new(&f.path)),
        })
        .collect()
}

/// An inotify instance watching the directories of the track files.
pub fn watch_files(v: &VrrpConfig) -> Option<Inotify> {
    if v.track_files.is_empty() {
        return None;
    }
    let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
    let flags = AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MODIFY;
    let mut dirs: Vec<&Path> = v
        .track_files
        .iter()
        .filter_map(|f| Path::new(&f.path).parent())
        .collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        if let Err(e) = ino.add_watch(d, flags) {
            warn!(target: "vrrp", "cannot watch {} for track_file changes: {e}", d.display());
        }
    }
    Some(ino)
}

/// Drains inotify events; true if anything happened (the caller re-reads the files).
pub fn drain(ino: &Inotify) -> bool {
    let mut any = false;
    while let Ok(events) = ino.read_events() {
        if events.is_empty() {
            break;
        }
        any = true;
    }
    any
}

/// Does process `comm`/`cmdline` match a `vrrp_track_process`?
fn matches(p: &TrackProcess, comm: &str, argv: &[String]) -> bool {
    let by_cmdline = p.full_command || !p.params.is_empty();
    if !by_cmdline {
        return comm == p.process;
    }
    let Some(first) = argv.first() else {
        return false;
    };
    if first != &p.process {
        return false;
    }
    let rest = &argv[1..];
    match p.param_match {
        ParamMatch::Exact => rest == p.params.as_slice(),
        ParamMatch::Initial => {
            rest.len() >= p.params.len() && rest[..p.params.len()] == p.params[..]
        }
        ParamMatch::Partial => {
            let have = rest.join(" ");
            have.contains(&p.params.join(" "))
        }
    }
}

/// Counts the running processes matching each `vrrp_track_process`.
pub fn process_inputs(v: &VrrpConfig) -> Vec<Input> {
    if v.track_processes.is_empty() {
        return Vec::new();
    }
    let mut counts = vec![0u32; v.track_processes.len()];
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let comm = comm.trim_end_matches('\n');
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let argv: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            for (i, p) in v.track_processes.iter().enumerate() {
                if matches(p, comm, &argv) {
                    counts[i] += 1;
                }
            }
        }
    } else {
        debug!(target: "vrrp", "cannot read /proc for track_process");
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| Input::ProcessCount {
            process: ProcId(i as u32),
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_like_strtol() {
        let dir = std::env::temp_dir().join(format!("kvrs-tf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("v");
        for (text, want) in [
            ("42\n", 42),
            ("-7 trailing", -7),
            ("  +3", 3),
            ("abc", 0),
            ("", 0),
        ] {
            std::fs::write(&p, text).unwrap();
            assert_eq!(read_value(&p), want, "{text:?}");
        }
        assert_eq!(read_value(&dir.join("missing")), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn process_matching() {
        let p = |process: &str, params: &[&str], m| TrackProcess {
            name: "t".into(),
            span: Default::default(),
            process: process.into(),
            params: params.iter().map(|s| s.to_string()).collect(),
            param_match: m,
            full_command: false,
            weight: 0,
            weight_reverse: false,
            quorum: 1,
            quorum_max: None,
            fork_delay_us: 0,
            terminate_delay_us: 0,
        };
        let argv: Vec<String> = ["/usr/sbin/nginx", "-g", "daemon off;"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(matches(&p("nginx", &[], ParamMatch::Exact), "nginx", &argv));
        assert!(!matches(
            &p("nginx", &[], ParamMatch::Exact),
            "haproxy",
            &argv
        ));
        assert!(matches(
            &p("/usr/sbin/nginx", &["-g", "daemon off;"], ParamMatch::Exact),
            "nginx",
            &argv
        ));
        assert!(matches(
            &p("/usr/sbin/nginx", &["-g"], ParamMatch::Initial),
            "nginx",
            &argv
        ));
        assert!(!matches(
            &p("/usr/sbin/nginx", &["-g"], ParamMatch::Exact),
            "nginx",
            &argv
        ));
        assert!(matches(
            &p("/usr/sbin/nginx", &["daemon"], ParamMatch::Partial),
            "nginx",
            &argv
        ));
    }
}
