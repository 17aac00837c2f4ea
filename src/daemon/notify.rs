//! keepalived's notifications (reference §3.12), as L4 performs them for a state change the
//! engine reports: the `notify_<state>` script with its configured arguments only, then the
//! generic `notify` script with `INSTANCE|GROUP NAME STATE PRIORITY` appended, then one line
//! per notify FIFO (`INSTANCE "VI_1" MASTER 150`). Building the commands and lines is pure;
//! running them is the caller's (through the event loop, never waited for except STOP).

use crate::config::model::global::{ExecScript, NotifyFifo};
use crate::config::model::vrrp::NotifyScripts;
use crate::vrrp::{NotifyKind, NotifyState};
use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One state change to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookEvent {
    pub kind: NotifyKind,
    pub name: String,
    pub state: NotifyState,
    /// Effective priority for instances; 0 for groups (keepalived prints 0).
    pub priority: u8,
}

/// A command line to run, with the identity to run it as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptRun {
    pub argv: Vec<String>,
    pub uid: u32,
    pub gid: u32,
}

/// The FIFO line for an event, with its newline.
pub fn fifo_line(ev: &HookEvent) -> String {
    format!(
        "{} \"{}\" {} {}
",
        ev.kind.name(),
        ev.name,
        ev.state.name(),
        ev.priority
    )
}

/// The scripts to run for an event, in keepalived's order. `notify_deleted` (when set)
/// turns a DELETED into its own script; without it keepalived reports FAULT instead, which
/// the caller decides before building the event.
pub fn scripts_for(ev: &HookEvent, hooks: &NotifyScripts) -> Vec<ScriptRun> {
    let specific = match ev.state {
        NotifyState::Master => hooks.master.as_ref(),
        NotifyState::Backup => hooks.backup.as_ref(),
        NotifyState::Fault => hooks.fault.as_ref(),
        NotifyState::Stop => hooks.stop.as_ref(),
        NotifyState::Deleted => hooks.deleted.as_ref().and_then(|d| d.as_ref()),
        NotifyState::MasterRxLowerPri => hooks.master_rx_lower_pri.as_ref(),
        NotifyState::MasterPriority | NotifyState::BackupPriority => None,
    };
    let mut v = Vec::new();
    if let Some(s) = specific {
        v.push(run_of(s, &[]));
    }
    let generic_state = !matches!(
        ev.state,
        NotifyState::MasterRxLowerPri | NotifyState::MasterPriority | NotifyState::BackupPriority
    );
    if let (true, Some(g)) = (generic_state, hooks.generic.as_ref()) {
        let extra = [
            ev.kind.name().to_string(),
            ev.name.clone(),
            ev.state.name().to_string(),
            ev.priority.to_string(),
        ];
        v.push(run_of(g, &extra));
    }
    v
}

fn run_of(s: &ExecScript, extra: &[String]) -> ScriptRun {
    let mut argv = s.argv.clone();
    argv.extend_from_slice(extra);
    ScriptRun {
        argv,
        uid: s.uid,
        gid: s.gid,
    }
}

/// The process to start for a script, as keepalived starts it: an executable file is exec'd
/// directly with its argv; anything else goes through `/bin/sh -c` (keepalived's system()).
/// The child runs as the script's uid/gid in its own process group (the event loop's
/// `spawn_child` sets that), with IFS, LD_PRELOAD and LD_LIBRARY_PATH removed.
pub fn command(run: &ScriptRun) -> Command {
    use std::os::unix::process::CommandExt;
    let prog = run.argv.first().map(String::as_str).unwrap_or("");
    let direct = is_executable_file(Path::new(prog));
    let mut c = if direct {
        let mut c = Command::new(prog);
        c.args(&run.argv[1..]);
        c
    } else {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(run.argv.join(" "));
        c
    };
    for var in ["IFS", "LD_PRELOAD", "LD_LIBRARY_PATH"] {
        c.env_remove(OsStr::new(var));
    }
    let me = nix::unistd::geteuid().as_raw();
    if me == 0 {
        c.gid(run.gid).uid(run.uid);
    }
    c.stdin(std::process::Stdio::null());
    c
}

fn is_executable_file(p: &Path) -> bool {
    p.is_absolute()
        && std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Opens a configured notify FIFO (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`),
/// owned by its user if it names one, else root; a failure is logged and gives `None`.
pub fn open_notify_fifo(f: &NotifyFifo) -> Option<Fifo> {
    let (uid, gid) = f
        .user
        .as_deref()
        .and_then(|u| nix::unistd::User::from_name(u).ok().flatten())
        .map_or((0, 0), |u| (u.uid.as_raw(), u.gid.as_raw()));
    match Fifo::open(Path::new(&f.path), uid, gid) {
        Ok(fifo) => Some(fifo),
        Err(e) => {
            log::warn!(target: "os", "cannot open notify FIFO {}: {e}", f.path);
            None
        }
    }
}

/// The FIFO's reader script (`*_fifo_script`), if configured, with the FIFO's path as its
/// last argument, as keepalived starts it.
pub fn fifo_reader(f: &NotifyFifo) -> Option<ScriptRun> {
    let s = f.script.as_ref()?;
    let mut argv = s.argv.clone();
    argv.push(f.path.clone());
    Some(ScriptRun {
        argv,
        uid: s.uid,
        gid: s.gid,
    })
}

/// A notify FIFO: created with mode 0644 if missing, opened read-write and non-blocking so
/// a missing reader never blocks the loop (a full FIFO drops the line and counts it).
pub struct Fifo {
    path: PathBuf,
    file: std::fs::File,
    pub dropped: u64,
}

impl Fifo {
    pub fn open(path: &Path, uid: u32, gid: u32) -> io::Result<Fifo> {
        match std::fs::metadata(path) {
            Ok(m) if m.file_type().is_fifo() => {}
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a FIFO", path.display()),
                ))
            }
            Err(_) => {
                nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644))
                    .map_err(io::Error::from)?;
                let _ = std::os::unix::fs::chown(path, Some(uid), Some(gid));
            }
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        Ok(Fifo {
            path: path.to_path_buf(),
            file,
            dropped: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line; a full FIFO (no reader draining it) drops the line.
    pub fn write_line(&mut self, line: &str) {
        if self.file.write_all(line.as_bytes()).is_err() {
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ast::Span;
    use crate::config::model::Script;

    fn exec(argv: &[&str]) -> ExecScript {
        ExecScript {
            script: Script {
                command: argv.join(" "),
                user: None,
                group: None,
                span: Span::default(),
            },
            argv: argv.iter().map(|s| s.to_string()).collect(),
            uid: 0,
            gid: 0,
        }
    }

    #[test]
    fn fifo_lines_match_keepalived() {
        let ev = |kind, name: &str, state, priority| HookEvent {
            kind,
            name: name.into(),
            state,
            priority,
        };
        // /work/shared/reference/examples/vrrp-notify-fifo.txt
        assert_eq!(
            fifo_line(&ev(NotifyKind::Group, "G1", NotifyState::Backup, 0)),
            "GROUP \"G1\" BACKUP 0\n"
        );
        assert_eq!(
            fifo_line(&ev(NotifyKind::Instance, "VI_1", NotifyState::Master, 150)),
            "INSTANCE \"VI_1\" MASTER 150\n"
        );
        assert_eq!(
            fifo_line(&ev(
                NotifyKind::Instance,
                "VI_1",
                NotifyState::MasterRxLowerPri,
                150
            )),
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n"
        );
    }

    #[test]
    fn script_order_and_arguments() {
        let hooks = NotifyScripts {
            master: Some(exec(&["/etc/keepalived/master.sh", "a b"])),
            generic: Some(exec(&["/etc/keepalived/notify.sh", "x"])),
            ..NotifyScripts::default()
        };
        let ev = HookEvent {
            kind: NotifyKind::Instance,
            name: "VI_1".into(),
            state: NotifyState::Master,
            priority: 150,
        };
        let runs = scripts_for(&ev, &hooks);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].argv, ["/etc/keepalived/master.sh", "a b"]);
        assert_eq!(
            runs[1].argv,
            [
                "/etc/keepalived/notify.sh",
                "x",
                "INSTANCE",
                "VI_1",
                "MASTER",
                "150"
            ]
        );
        let backup = HookEvent {
            state: NotifyState::Backup,
            ..ev.clone()
        };
        let runs = scripts_for(&backup, &hooks);
        assert_eq!(runs.len(), 1, "no notify_backup: only the generic script");
        let rx = HookEvent {
            state: NotifyState::MasterRxLowerPri,
            ..ev
        };
        assert!(scripts_for(&rx, &hooks).is_empty(), "FIFO-only state");
    }

    #[test]
    fn fifo_create_write_read() {
        let dir = std::env::temp_dir().join(format!("kvrs-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("vrrp.fifo");
        let mut f = Fifo::open(
            &p,
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
        .unwrap();
        f.write_line("INSTANCE \"VI_1\" BACKUP 100\n");
        // Read it back through our own read-write handle's peer.
        let mut r = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .unwrap();
        let mut buf = [0u8; 64];
        let n = std::io::Read::read(&mut r, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"INSTANCE \"VI_1\" BACKUP 100\n");
        assert!(Fifo::open(&dir, 0, 0).is_err(), "a directory is not a FIFO");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
