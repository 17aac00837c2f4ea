//! Minimal syslog client: RFC 3164 datagrams to `/dev/log` (what glibc's syslog(3) sends),
//! without libc's global state. Lost messages (no syslogd) are dropped silently, as syslog(3)
//! does.

use std::os::unix::net::UnixDatagram;

/// Syslog severities (RFC 5424 numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyslogSeverity {
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// A connection to the local syslog daemon.
pub struct Syslog {
    sock: Option<UnixDatagram>,
    facility: u8,
    ident: String,
    pid: u32,
}

impl Syslog {
    /// `facility` is the syslog facility code (daemon = 3, local0 = 16, ...).
    pub fn open(ident: &str, facility: u8) -> Syslog {
        let sock = UnixDatagram::unbound()
            .ok()
            .filter(|s| s.connect("/dev/log").is_ok());
        Syslog {
            sock,
            facility,
            ident: ident.to_string(),
            pid: std::process::id(),
        }
    }

    /// Sends one message; reconnects once if syslogd was restarted.
    pub fn send(&mut self, sev: SyslogSeverity, msg: &str) {
        let pri = u32::from(self.facility) * 8 + sev as u32;
        let line = format!("<{pri}>{}[{}]: {}", self.ident, self.pid, msg);
        let ok = self
            .sock
            .as_ref()
            .is_some_and(|s| s.send(line.as_bytes()).is_ok());
        if !ok {
            self.sock = UnixDatagram::unbound()
                .ok()
                .filter(|s| s.connect("/dev/log").is_ok());
            if let Some(s) = &self.sock {
                let _ = s.send(line.as_bytes());
            }
        }
    }
}
