//! Input recording (`--record FILE`): every input the VRRP engine receives, with the
//! monotonic time it was handled, in a line-oriented text file that the simulator replays
//! through the same [`super::vrrp::VrrpService`] (`cargo run -p sim -- --replay FILE`).
//!
//! Format (version 1). One record per line, `<µs> <KIND> <fields...>`; `<µs>` is the
//! engine's `now` in microseconds (the daemon's CLOCK_MONOTONIC reading). Lines starting with
//! `#` and empty lines are comments. Some records carry continuation lines: `+ <interface>`
//! (an interface row) and `|<text>` (one line of configuration text, verbatim).
//!
//! ```text
//! # keepalived-rs recording v1
//! 1000 START r1 /etc/keepalived/keepalived.conf       config id ("-" for none), path
//! + 2 eth0 up carrier 02:00:00:00:00:01 192.0.2.1 fe80::1 192.0.2.1,fe80::1
//! |vrrp_instance VI_1 {
//! |    ...
//! 1000 STATE VI_1 BACKUP                               an observed state change
//! 3610375 TIMEOUT                                      handle_timeout was called
//! 3610375 STATE VI_1 MASTER
//! 4200000 PACKET 2 192.0.2.2 224.0.0.18 255 4500...    ifindex src dst ttl payload (hex)
//! 5000000 IFACE 2 eth0 down nocarrier 02:00:00:00:00:01 192.0.2.1 fe80::1 192.0.2.1,fe80::1
//! 5000001 IFACE_REMOVED 3
//! 5000002 ADDR_DELETED 2 192.0.2.100
//! 5000003 SCRIPT 0 ok                                  script index, ok|fail
//! 5000004 FILE 0 -12                                   track_file index, value
//! 5000005 PROCESS 0 3                                  track_process index, count
//! 5000006 BFD bfd_1 up                                 BFD instance name, up|down
//! 6000000 RELOAD /etc/keepalived/keepalived.conf       followed by |lines: the new text
//! 7000000 SHUTDOWN
//! ```
//!
//! An interface row is `<ifindex> <name> up|down carrier|nocarrier <mac> <ipv4|-> <ipv6
//! link-local|-> <addresses comma-separated|->`. Names are percent-encoded where they hold
//! whitespace, `%` or non-printable bytes. Only the main configuration file's text is
//! recorded; files it includes are read again at replay time (relative to the recorded path).
//!
//! [`parse_recording`] never panics: a malformed file is an `Err` naming the line.

use crate::track::{FileId, ProcId, ScriptId};
use crate::vrrp::{Input, InterfaceInfo, Router, State};
use scheduler::Instant;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::Path;

/// The first line of a recording.
pub const HEADER: &str = "# keepalived-rs recording v1";

/// One record of a recording.
#[derive(Clone, Debug)]
pub enum RecordedInput {
    /// The daemon started the VRRP service with this configuration and interface table.
    Start {
        config_path: String,
        config_id: Option<String>,
        config_text: String,
        interfaces: Vec<InterfaceInfo>,
    },
    /// An input handed to `VrrpService::handle` (or `shutdown` for [`Input::Shutdown`]).
    Input(Input),
    /// `VrrpService::handle_timeout` was called.
    Timeout,
    /// `VrrpService::reload` with this configuration text.
    Reload {
        config_path: String,
        config_text: String,
    },
    /// An instance was observed in a new state after the previous record.
    State { instance: String, state: State },
}

/// Writes a recording. Write errors are reported once through the log and stop the
/// recording; they never stop the daemon.
pub struct Recorder<W: Write = BufWriter<File>> {
    out: W,
    line: String,
    states: BTreeMap<String, State>,
    error: Option<String>,
}

impl Recorder<BufWriter<File>> {
    /// Creates (truncates) `path` and writes the header.
    pub fn create(path: &Path) -> io::Result<Recorder<BufWriter<File>>> {
        let f = File::create(path)?;
        let mut r = Recorder::new(BufWriter::new(f));
        r.flush();
        match r.error.take() {
            Some(e) => Err(io::Error::other(e)),
            None => Ok(r),
        }
    }
}

impl<W: Write> Recorder<W> {
    /// A recorder writing to `out`; the header is written at once.
    pub fn new(out: W) -> Recorder<W> {
        let mut r = Recorder {
            out,
            line: String::new(),
            states: BTreeMap::new(),
            error: None,
        };
        r.line.push_str(HEADER);
        r.line.push('\n');
        r.emit();
        r
    }

    /// The start of the VRRP service: the configuration it was built from (the main file's
    /// path and text, and the `-i` config id) and the interface table it was given. Call it
    /// right before `VrrpService::new`, with the same `now`.
    pub fn start(
        &mut self,
        now: Instant,
        config_path: &Path,
        config_id: Option<&str>,
        config_text: &str,
        interfaces: &[InterfaceInfo],
    ) {
        let _ = writeln!(
            self.line,
            "{} START {} {}",
            now.as_micros(),
            config_id.map_or_else(|| "-".to_string(), escape),
            escape(&config_path.to_string_lossy())
        );
        for i in interfaces {
            self.line.push_str("+ ");
            write_iface(&mut self.line, i);
            self.line.push('\n');
        }
        write_text(&mut self.line, config_text);
        self.states.clear();
        self.emit();
    }

    /// One input, right before it is handed to the engine.
    pub fn record(&mut self, now: Instant, input: &Input) {
        let t = now.as_micros();
        let l = &mut self.line;
        let _ = match input {
            Input::Packet {
                ifindex,
                src,
                dst,
                ttl,
                payload,
            } => {
                let _ = write!(l, "{t} PACKET {ifindex} {src} {dst} {ttl} ");
                for b in payload {
                    let _ = write!(l, "{b:02x}");
                }
                writeln!(l)
            }
            Input::Interface(info) => {
                let _ = write!(l, "{t} IFACE ");
                write_iface(l, info);
                writeln!(l)
            }
            Input::InterfaceRemoved { ifindex } => writeln!(l, "{t} IFACE_REMOVED {ifindex}"),
            Input::AddressDeleted { ifindex, addr } => {
                writeln!(l, "{t} ADDR_DELETED {ifindex} {addr}")
            }
            Input::ScriptResult { script, ok } => {
                writeln!(
                    l,
                    "{t} SCRIPT {} {}",
                    script.0,
                    if *ok { "ok" } else { "fail" }
                )
            }
            Input::FileValue { file, value } => writeln!(l, "{t} FILE {} {value}", file.0),
            Input::ProcessCount { process, count } => {
                writeln!(l, "{t} PROCESS {} {count}", process.0)
            }
            Input::Bfd { name, up } => writeln!(
                l,
                "{t} BFD {} {}",
                escape(name),
                if *up { "up" } else { "down" }
            ),
            Input::Shutdown => writeln!(l, "{t} SHUTDOWN"),
            Input::Reconfigure(_) => {
                writeln!(
                    l,
                    "# {t} RECONFIGURE not recordable: use Recorder::record_reload"
                )
            }
        };
        self.emit();
    }

    /// `VrrpService::handle_timeout(now)` is about to be called. Recording timer calls makes
    /// the replay call the engine at exactly the same instants.
    pub fn record_timeout(&mut self, now: Instant) {
        let _ = writeln!(self.line, "{} TIMEOUT", now.as_micros());
        self.emit();
    }

    /// `VrrpService::reload` is about to be called with this configuration text.
    pub fn record_reload(&mut self, now: Instant, config_path: &Path, config_text: &str) {
        let _ = writeln!(
            self.line,
            "{} RELOAD {}",
            now.as_micros(),
            escape(&config_path.to_string_lossy())
        );
        write_text(&mut self.line, config_text);
        self.emit();
    }

    /// Writes a `STATE` record for every instance whose state differs from the last one
    /// recorded (call it after each engine call; cheap when nothing changed).
    pub fn observe(&mut self, now: Instant, router: &Router) {
        for inst in router.instances() {
            let st = inst.state();
            if self.states.get(inst.name()) == Some(&st) {
                continue;
            }
            self.states.insert(inst.name().to_string(), st);
            let _ = writeln!(
                self.line,
                "{} STATE {} {}",
                now.as_micros(),
                escape(inst.name()),
                st.name()
            );
        }
        if !self.line.is_empty() {
            self.emit();
        }
    }

    /// Pushes buffered bytes to the file.
    pub fn flush(&mut self) {
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.fail(e);
            }
        }
    }

    /// The first write error, if any (the recording stopped there).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The writer, flushed.
    pub fn into_inner(mut self) -> W {
        self.flush();
        self.out
    }

    fn emit(&mut self) {
        if self.error.is_none() {
            let r = self
                .out
                .write_all(self.line.as_bytes())
                .and_then(|_| self.out.flush());
            if let Err(e) = r {
                self.fail(e);
            }
        }
        self.line.clear();
    }

    fn fail(&mut self, e: io::Error) {
        log::warn!("recording stopped: {e}");
        self.error = Some(e.to_string());
    }
}

fn write_iface(l: &mut String, i: &InterfaceInfo) {
    let m = i.mac;
    let _ = write!(
        l,
        "{} {} {} {} {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} ",
        i.ifindex,
        escape(&i.name),
        if i.up { "up" } else { "down" },
        if i.running { "carrier" } else { "nocarrier" },
        m[0],
        m[1],
        m[2],
        m[3],
        m[4],
        m[5]
    );
    match i.ipv4 {
        Some(a) => {
            let _ = write!(l, "{a} ");
        }
        None => l.push_str("- "),
    }
    match i.ipv6_link_local {
        Some(a) => {
            let _ = write!(l, "{a} ");
        }
        None => l.push_str("- "),
    }
    if i.addresses.is_empty() {
        l.push('-');
    }
    for (k, a) in i.addresses.iter().enumerate() {
        if k > 0 {
            l.push(',');
        }
        let _ = write!(l, "{a}");
    }
}

/// Configuration text as `|` lines; joining them with `\n` gives the text back exactly.
fn write_text(l: &mut String, text: &str) {
    for line in text.split('\n') {
        l.push('|');
        l.push_str(line);
        l.push('\n');
    }
}

/// Percent-encodes whitespace, `%` and non-printable bytes so a name is one word.
fn escape(s: &str) -> String {
    if s.is_empty() {
        return "%".to_string();
    }
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

fn unescape(s: &str) -> Result<String, String> {
    if s == "%" {
        return Ok(String::new());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'%' {
            let hex = s
                .get(k + 1..k + 3)
                .ok_or_else(|| format!("bad escape in {s:?}"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad escape in {s:?}"))?);
            k += 3;
        } else {
            out.push(b[k]);
            k += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("invalid UTF-8 in {s:?}"))
}

fn parse_state(s: &str) -> Result<State, String> {
    Ok(match s {
        "INIT" => State::Init,
        "BACKUP" => State::Backup,
        "MASTER" => State::Master,
        "FAULT" => State::Fault,
        "STOP" => State::Stop,
        "DELETED" => State::Deleted,
        _ => return Err(format!("unknown state {s:?}")),
    })
}

fn num<T: std::str::FromStr>(s: Option<&str>, what: &str) -> Result<T, String> {
    let s = s.ok_or_else(|| format!("missing {what}"))?;
    s.parse().map_err(|_| format!("bad {what} {s:?}"))
}

fn addr(s: Option<&str>, what: &str) -> Result<IpAddr, String> {
    num(s, what)
}

fn opt_addr<T: std::str::FromStr>(s: Option<&str>, what: &str) -> Result<Option<T>, String> {
    match s {
        Some("-") => Ok(None),
        other => num(other, what).map(Some),
    }
}

fn parse_iface(rest: &str) -> Result<InterfaceInfo, String> {
    let mut w = rest.split_ascii_whitespace();
    let ifindex = num(w.next(), "ifindex")?;
    let name = unescape(w.next().ok_or("missing interface name")?)?;
    let up = match w.next() {
        Some("up") => true,
        Some("down") => false,
        o => return Err(format!("bad link state {o:?}")),
    };
    let running = match w.next() {
        Some("carrier") => true,
        Some("nocarrier") => false,
        o => return Err(format!("bad carrier state {o:?}")),
    };
    let mac_s = w.next().ok_or("missing MAC address")?;
    let mut mac = [0u8; 6];
    let parts: Vec<&str> = mac_s.split(':').collect();
    if parts.len() != 6 {
        return Err(format!("bad MAC address {mac_s:?}"));
    }
    for (k, p) in parts.iter().enumerate() {
        mac[k] = u8::from_str_radix(p, 16).map_err(|_| format!("bad MAC address {mac_s:?}"))?;
    }
    let ipv4 = opt_addr(w.next(), "IPv4 address")?;
    let ipv6_link_local = opt_addr(w.next(), "IPv6 link-local address")?;
    let addresses = match w.next() {
        Some("-") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|a| addr(Some(a), "address"))
            .collect::<Result<Vec<_>, _>>()?,
        None => return Err("missing address list".into()),
    };
    if let Some(extra) = w.next() {
        return Err(format!("unexpected {extra:?} after the interface"));
    }
    Ok(InterfaceInfo {
        ifindex,
        name,
        up,
        running,
        mac,
        ipv4,
        ipv6_link_local,
        addresses,
    })
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 || s.len() > 2 * 65_535 {
        return Err("bad packet hex length".into());
    }
    let b = s.as_bytes();
    let digit = |c: u8| -> Result<u8, String> {
        (c as char)
            .to_digit(16)
            .map(|d| d as u8)
            .ok_or_else(|| "bad hex digit in packet".to_string())
    };
    b.chunks(2)
        .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Reads a recording. Records keep their order; times must not go backwards.
pub fn parse_recording(text: &str) -> Result<Vec<(Instant, RecordedInput)>, String> {
    let mut out: Vec<(Instant, RecordedInput)> = Vec::new();
    let mut last = 0u64;
    // Whether the last START or RELOAD already has a text line.
    let mut text_started = false;
    for (n, raw) in text.split('\n').enumerate() {
        let lineno = n + 1;
        let err = |m: String| format!("line {lineno}: {m}");
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(v) = line.strip_prefix("# keepalived-rs recording v") {
            if v.trim() != "1" {
                return Err(err(format!("unsupported recording version {:?}", v.trim())));
            }
            continue;
        }
        if let Some(t) = raw.strip_prefix('|') {
            match out.last_mut() {
                Some((
                    _,
                    RecordedInput::Start { config_text, .. }
                    | RecordedInput::Reload { config_text, .. },
                )) => {
                    // The text is reassembled exactly: continuation lines joined by '\n'.
                    if text_started {
                        config_text.push('\n');
                    }
                    text_started = true;
                    config_text.push_str(t);
                }
                _ => return Err(err("configuration text outside START or RELOAD".into())),
            }
            continue;
        }
        if let Some(row) = line.strip_prefix('+') {
            match out.last_mut() {
                Some((_, RecordedInput::Start { interfaces, .. })) => {
                    interfaces.push(parse_iface(row).map_err(err)?)
                }
                _ => return Err(err("interface row outside START".into())),
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (t, rest) = trimmed
            .split_once(char::is_whitespace)
            .ok_or_else(|| err(format!("no record kind in {trimmed:?}")))?;
        let t: u64 = t
            .parse()
            .map_err(|_| err(format!("bad time {t:?} (microseconds expected)")))?;
        if t < last {
            return Err(err(format!("time goes backwards ({t} after {last})")));
        }
        last = t;
        let rest = rest.trim_start();
        let (kind, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let rec = parse_record(kind, args.trim()).map_err(err)?;
        text_started = false;
        out.push((Instant::from_micros(t), rec));
    }
    Ok(out)
}

fn parse_record(kind: &str, args: &str) -> Result<RecordedInput, String> {
    let mut w = args.split_ascii_whitespace();
    let rec = match kind {
        "START" => {
            let id = w.next().ok_or("missing config id")?;
            let path = unescape(w.next().ok_or("missing config path")?)?;
            RecordedInput::Start {
                config_path: path,
                config_id: if id == "-" { None } else { Some(unescape(id)?) },
                config_text: String::new(),
                interfaces: Vec::new(),
            }
        }
        "RELOAD" => RecordedInput::Reload {
            config_path: unescape(w.next().ok_or("missing config path")?)?,
            config_text: String::new(),
        },
        "PACKET" => {
            let ifindex = num(w.next(), "ifindex")?;
            let src = addr(w.next(), "source address")?;
            let dst = addr(w.next(), "destination address")?;
            let ttl = num(w.next(), "TTL")?;
            let payload = parse_hex(w.next().unwrap_or(""))?;
            RecordedInput::Input(Input::Packet {
                ifindex,
                src,
                dst,
                ttl,
                payload,
            })
        }
        "IFACE" => return parse_iface(args).map(|i| RecordedInput::Input(Input::Interface(i))),
        "IFACE_REMOVED" => RecordedInput::Input(Input::InterfaceRemoved {
            ifindex: num(w.next(), "ifindex")?,
        }),
        "ADDR_DELETED" => RecordedInput::Input(Input::AddressDeleted {
            ifindex: num(w.next(), "ifindex")?,
            addr: addr(w.next(), "address")?,
        }),
        "SCRIPT" => {
            let script = ScriptId(num(w.next(), "script index")?);
            let ok = match w.next() {
                Some("ok") => true,
                Some("fail") => false,
                o => return Err(format!("bad script result {o:?}")),
            };
            RecordedInput::Input(Input::ScriptResult { script, ok })
        }
        "FILE" => RecordedInput::Input(Input::FileValue {
            file: FileId(num(w.next(), "file index")?),
            value: num(w.next(), "file value")?,
        }),
        "PROCESS" => RecordedInput::Input(Input::ProcessCount {
            process: ProcId(num(w.next(), "process index")?),
            count: num(w.next(), "process count")?,
        }),
        "BFD" => {
            let name = unescape(w.next().ok_or("missing BFD name")?)?;
            let up = match w.next() {
                Some("up") => true,
                Some("down") => false,
                o => return Err(format!("bad BFD state {o:?}")),
            };
            RecordedInput::Input(Input::Bfd { name, up })
        }
        "SHUTDOWN" => RecordedInput::Input(Input::Shutdown),
        "TIMEOUT" => RecordedInput::Timeout,
        "STATE" => RecordedInput::State {
            instance: unescape(w.next().ok_or("missing instance name")?)?,
            state: parse_state(w.next().ok_or("missing state")?)?,
        },
        other => return Err(format!("unknown record kind {other:?}")),
    };
    if let Some(extra) = w.next() {
        return Err(format!("unexpected {extra:?} at the end of {kind}"));
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn iface(up: bool) -> InterfaceInfo {
        InterfaceInfo {
            ifindex: 2,
            name: "eth 0%".into(),
            up,
            running: up,
            mac: [2, 0, 0, 0, 0, 1],
            ipv4: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ipv6_link_local: Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            addresses: vec!["192.0.2.1".parse().unwrap(), "fe80::1".parse().unwrap()],
        }
    }

    #[test]
    fn round_trip() {
        let mut r = Recorder::new(Vec::new());
        let text = "vrrp_instance VI_1 {\n  priority 100\n}\n";
        r.start(
            Instant::from_micros(10),
            Path::new("/etc/keepalived/keepalived.conf"),
            Some("r1"),
            text,
            &[iface(true)],
        );
        let inputs = vec![
            Input::Packet {
                ifindex: 2,
                src: "192.0.2.2".parse().unwrap(),
                dst: "224.0.0.18".parse().unwrap(),
                ttl: 255,
                payload: vec![0x45, 0, 0xff],
            },
            Input::Interface(iface(false)),
            Input::InterfaceRemoved { ifindex: 3 },
            Input::AddressDeleted {
                ifindex: 2,
                addr: "10.0.0.1".parse().unwrap(),
            },
            Input::ScriptResult {
                script: ScriptId(1),
                ok: false,
            },
            Input::FileValue {
                file: FileId(0),
                value: -12,
            },
            Input::ProcessCount {
                process: ProcId(0),
                count: 3,
            },
            Input::Bfd {
                name: "b 1".into(),
                up: true,
            },
            Input::Shutdown,
        ];
        for (k, i) in inputs.iter().enumerate() {
            r.record(Instant::from_micros(20 + k as u64), i);
        }
        r.record_timeout(Instant::from_micros(40));
        r.record_reload(Instant::from_micros(50), Path::new("/x y.conf"), "");
        let buf = String::from_utf8(r.into_inner()).unwrap();
        let recs = parse_recording(&buf).unwrap();
        assert_eq!(recs.len(), 3 + inputs.len());
        match &recs[0].1 {
            RecordedInput::Start {
                config_path,
                config_id,
                config_text,
                interfaces,
            } => {
                assert_eq!(config_path, "/etc/keepalived/keepalived.conf");
                assert_eq!(config_id.as_deref(), Some("r1"));
                assert_eq!(config_text, text);
                assert_eq!(interfaces, &vec![iface(true)]);
            }
            o => panic!("{o:?}"),
        }
        for (k, i) in inputs.iter().enumerate() {
            assert_eq!(recs[1 + k].0, Instant::from_micros(20 + k as u64));
            assert_eq!(format!("{:?}", recs[1 + k].1), format!("Input({i:?})"));
        }
        assert!(matches!(recs[recs.len() - 2].1, RecordedInput::Timeout));
        match &recs[recs.len() - 1].1 {
            RecordedInput::Reload {
                config_path,
                config_text,
            } => {
                assert_eq!(config_path, "/x y.conf");
                assert_eq!(config_text, "");
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn text_without_trailing_newline_round_trips() {
        for text in ["a", "a\n\nb", "\n", "x\r\ny"] {
            let mut r = Recorder::new(Vec::new());
            r.record_reload(Instant::ZERO, Path::new("c"), text);
            let buf = String::from_utf8(r.into_inner()).unwrap();
            match &parse_recording(&buf).unwrap()[0].1 {
                RecordedInput::Reload { config_text, .. } => assert_eq!(config_text, text),
                o => panic!("{o:?}"),
            }
        }
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        let bad = [
            "x PACKET",
            "10 PACKET 2 1.2.3.4 224.0.0.18 255 4",
            "10 PACKET 2 1.2.3.4 224.0.0.18 255 zz",
            "10 PACKET 2 1.2.3.4",
            "10 NOPE",
            "10 STATE VI_1 SLEEPING",
            "|text first",
            "+ 2 eth0 up carrier",
            "10 SCRIPT 0 maybe",
            "20 TIMEOUT\n10 TIMEOUT",
            "10 IFACE 2 eth0 up carrier 02:00 - - -",
            "10 IFACE 2 e%4 up carrier 02:00:00:00:00:01 - - -",
            "10 BFD x%ff up",
            "# keepalived-rs recording v9",
            "10 TIMEOUT extra",
            "99999999999999999999999 TIMEOUT",
        ];
        for b in bad {
            assert!(parse_recording(b).is_err(), "{b:?} accepted");
        }
        // Arbitrary bytes: never a panic.
        let mut x: u64 = 0x1234_5678;
        for _ in 0..2000 {
            let mut s = String::new();
            for _ in 0..40 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let alphabet = b"0123456789 |+%-:.,\nPACKETSTARIFCDMOULBRfx";
                s.push(alphabet[(x % alphabet.len() as u64) as usize] as char);
            }
            let _ = parse_recording(&s);
        }
    }

    #[test]
    fn observe_writes_changes_only() {
        use crate::vrrp::{InstanceConfig, Outbox, RouterConfig};
        use crate::wire::vrrp::Family;
        let cfg = RouterConfig {
            instances: vec![InstanceConfig::new("VI_1", 1, Family::Ipv4, "eth 0%", 100)],
            interfaces: vec![iface(true)],
            ..RouterConfig::default()
        };
        let mut out = Outbox::new();
        let router = Router::new(cfg, Instant::from_micros(5), &mut out);
        let mut r = Recorder::new(Vec::new());
        r.observe(Instant::from_micros(5), &router);
        r.observe(Instant::from_micros(6), &router);
        let buf = String::from_utf8(r.into_inner()).unwrap();
        assert_eq!(buf, format!("{HEADER}\n5 STATE VI_1 BACKUP\n"));
    }
}
