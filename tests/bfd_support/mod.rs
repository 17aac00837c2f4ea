//! Helpers for the BFD end-to-end tests: a tcpdump capture with one line per packet and
//! kernel timestamps (µs), parsed into BFD control packets (with their state) and VRRP
//! adverts (with their priority), so that tests measure detection on the wire.
#![allow(dead_code)]
// Polling waits use the real clock.
#![allow(clippy::disallowed_methods)]

use super::common::lan::{Capture, TestDir};
use super::common::Netns;

/// What one captured packet was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A BFD control packet and the state it carries ("Up", "Down", "Init", "AdminDown").
    Bfd {
        state: String,
    },
    /// A VRRP advert.
    Vrrp {
        vrid: u8,
        prio: u8,
    },
    Other,
}

#[derive(Clone, Debug)]
pub struct Pkt {
    /// Kernel capture time, µs since the epoch.
    pub ts_us: i64,
    pub src: String,
    pub dst: String,
    pub kind: Kind,
    pub line: String,
}

/// `tcpdump -l -n -tt --immediate-mode -i DEV FILTER` in a namespace (a [`Capture`]),
/// its lines parsed into [`Pkt`]s.
pub struct WireCap(Capture);

impl WireCap {
    pub fn start(ns: &Netns, dir: &TestDir, name: &str, dev: &str, filter: &str) -> WireCap {
        WireCap(Capture::start_with(
            ns,
            dir,
            name,
            dev,
            &["--immediate-mode"],
            filter,
        ))
    }

    pub fn text(&self) -> String {
        self.0.text()
    }

    pub fn packets(&self) -> Vec<Pkt> {
        self.text().lines().filter_map(parse).collect()
    }

    /// Stops tcpdump after its output stopped growing; returns the packets.
    pub fn stop(&mut self) -> Vec<Pkt> {
        self.0.stop();
        self.packets()
    }
}

/// One tcpdump line: `TS IP[6] SRC[.PORT] > DST[.PORT]: INFO`.
pub fn parse(line: &str) -> Option<Pkt> {
    let mut w = line.split_whitespace();
    let ts = w.next()?;
    let (s, f) = ts.split_once('.')?;
    let ts_us = s.parse::<i64>().ok()? * 1_000_000 + f.parse::<i64>().ok()?;
    let fam = w.next()?;
    if fam != "IP" && fam != "IP6" {
        return None;
    }
    let src = w.next()?;
    if w.next()? != ">" {
        return None;
    }
    let dst = w.next()?.trim_end_matches(':');
    let info: String = w.collect::<Vec<_>>().join(" ");
    let strip_port = |a: &str| a.rsplit_once('.').map_or(a, |(h, _)| h).to_string();
    let (kind, src, dst) = if info.starts_with("BFD") {
        let state = info
            .split(", ")
            .find_map(|p| p.strip_prefix("State "))
            .unwrap_or("")
            .to_string();
        (Kind::Bfd { state }, strip_port(src), strip_port(dst))
    } else if info.starts_with("VRRP") {
        let field = |k: &str| {
            info.split(", ")
                .find_map(|p| p.strip_prefix(k))
                .and_then(|v| v.trim().parse::<u8>().ok())
        };
        (
            Kind::Vrrp {
                vrid: field("vrid ")?,
                prio: field("prio ")?,
            },
            src.to_string(),
            dst.to_string(),
        )
    } else {
        (Kind::Other, src.to_string(), dst.to_string())
    };
    Some(Pkt {
        ts_us,
        src,
        dst,
        kind,
        line: line.to_string(),
    })
}

/// The BFD packets from `src` in `pkts`.
pub fn bfd_from<'a>(pkts: &'a [Pkt], src: &'a str) -> impl Iterator<Item = &'a Pkt> + 'a {
    pkts.iter()
        .filter(move |p| p.src == src && matches!(p.kind, Kind::Bfd { .. }))
}

pub fn signal(pid: i32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
}

/// A few lines of the capture around `ts_us`, for failure messages.
pub fn around(pkts: &[Pkt], ts_us: i64, n: usize) -> String {
    let i = pkts
        .iter()
        .position(|p| p.ts_us >= ts_us)
        .unwrap_or(pkts.len());
    let from = i.saturating_sub(n);
    let to = (i + n).min(pkts.len());
    pkts[from..to]
        .iter()
        .map(|p| p.line.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn parses_tcpdump_lines() {
    let p = parse("1795481733.525686 IP 192.0.2.2.49152 > 192.0.2.1.3784: BFDv1, Control, State Up, Flags: [none], length: 24").unwrap();
    assert_eq!(p.ts_us, 1_795_481_733_525_686);
    assert_eq!((p.src.as_str(), p.dst.as_str()), ("192.0.2.2", "192.0.2.1"));
    assert_eq!(p.kind, Kind::Bfd { state: "Up".into() });
    let p = parse("1795481733.000001 IP6 fd00::2.50000 > fd00::1.3784: BFDv1, Control, State Down, Flags: [none], length: 24").unwrap();
    assert_eq!((p.src.as_str(), p.ts_us % 1_000_000), ("fd00::2", 1));
    let p = parse("1795481733.525686 IP 192.0.2.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 0, authtype none, intvl 1s, length 20").unwrap();
    assert_eq!(p.kind, Kind::Vrrp { vrid: 51, prio: 0 });
    assert_eq!(p.src, "192.0.2.1");
}
