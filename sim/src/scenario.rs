//! The scenario language: topology (segments, nodes and their keepalived.conf) and a
//! timeline of faults and expectations. See the crate documentation for the format.

use crate::ipvs::RsWant;
use crate::units::{parse_duration, parse_probability};
use keepalived_rs::vrrp::State;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// An L2 segment and the prefixes node addresses are drawn from.
#[derive(Clone, Debug)]
pub struct Segment {
    pub name: String,
    pub v4: Ipv4Addr,
    pub v4_len: u8,
    pub v6: Ipv6Addr,
    pub v6_len: u8,
}

/// A named keepalived.conf text.
#[derive(Clone, Debug)]
pub struct ConfigDef {
    pub name: String,
    pub text: String,
    /// The name diagnostics use, and the base for relative `include`s.
    pub origin: String,
}

/// A node's interface.
#[derive(Clone, Debug)]
pub struct IfaceDef {
    pub name: String,
    pub segment: usize,
}

/// A node: one keepalived-rs daemon.
#[derive(Clone, Debug)]
pub struct NodeDef {
    pub name: String,
    pub config: usize,
    pub ifaces: Vec<IfaceDef>,
    /// Clock offset in microseconds (drawn from the node's stream when absent).
    pub clock_us: Option<u64>,
    /// Host number in every segment prefix (the node's ordinal from 1 by default).
    pub host: u32,
}

/// Which directed links an impairment applies to (`None`: every node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSel {
    pub from: Option<Vec<usize>>,
    pub to: Option<Vec<usize>>,
    /// `<->`: both directions.
    pub both: bool,
}

impl LinkSel {
    pub fn all() -> LinkSel {
        LinkSel {
            from: None,
            to: None,
            both: true,
        }
    }

    /// Does the directed link `a → b` match?
    pub fn matches(&self, a: usize, b: usize) -> bool {
        let hit =
            |set: &Option<Vec<usize>>, x: usize| set.as_ref().map_or(true, |s| s.contains(&x));
        (hit(&self.from, a) && hit(&self.to, b))
            || (self.both && hit(&self.from, b) && hit(&self.to, a))
    }
}

/// A network impairment kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impair {
    /// Drop with probability (ppm).
    Loss(u32),
    /// Deliver twice with probability (ppm).
    Duplicate(u32),
    /// Flip one bit with probability (ppm).
    Corrupt(u32),
    /// Delay by up to `max_us` more with probability (ppm): packets overtake each other.
    Reorder(u32, u64),
    /// Extra one-way delay (µs).
    Delay(u64),
}

/// What a tracking script answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptMode {
    Ok,
    Fail,
    /// Never exits: the daemon's timeout makes it a failure.
    Hang,
}

/// What an expectation looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Predicate {
    /// Every instance of the node (or the named one) is in `state`; `None` means the
    /// daemon is not running (crashed, killed or stopped).
    State {
        node: usize,
        instance: Option<String>,
        state: Option<State>,
    },
    /// The node has (or has not) `addr` installed.
    Holds {
        node: usize,
        addr: IpAddr,
        yes: bool,
    },
    /// The node's BFD session `name` is Up (`up`), or is not (Down, Init, AdminDown, or
    /// not running).
    Bfd { node: usize, name: String, up: bool },
    /// In the node's kernel IPVS table, real server `rs` of every service at address and
    /// port `vs` (any protocol) is in (weight above 0), out (absent, or at weight 0), or at
    /// weight W.
    Rs {
        node: usize,
        vs: SocketAddr,
        rs: SocketAddr,
        want: RsWant,
    },
}

/// When an expectation must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// At that instant.
    At,
    /// At some instant within the duration.
    Within(u64),
    /// At every instant of the duration.
    For(u64),
}

/// One timeline action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Power loss: the daemon and the addresses it installed vanish.
    Crash(usize),
    /// The daemon is killed (SIGKILL): its addresses stay behind until it starts again.
    Kill(usize),
    /// SIGTERM: the orderly stop (priority 0 adverts, VIPs removed).
    Stop(usize),
    /// Starts the daemon (after a crash, kill or stop).
    Start(usize),
    /// Stop (if running), then start.
    Restart(usize),
    /// SIGSTOP: nothing is processed; packets queue up and timers fire late.
    Pause(usize),
    /// SIGCONT.
    Resume(usize),
    Link {
        node: usize,
        iface: String,
        up: bool,
    },
    /// Symmetric partition between groups (nodes in no group stay connected to all).
    Partition(Vec<Vec<usize>>),
    /// One-way partition: packets from `from` do not reach `to`.
    OneWay {
        from: Vec<usize>,
        to: Vec<usize>,
    },
    Impair(Impair, LinkSel),
    /// Packets on the links are held until `unclog`.
    Clog(LinkSel),
    Unclog(LinkSel),
    /// Removes partitions, clogs and impairments.
    Heal,
    Script {
        node: usize,
        script: String,
        mode: ScriptMode,
    },
    /// An address deleted behind the daemon's back (`ip addr del`).
    RemoveAddress {
        node: usize,
        addr: IpAddr,
    },
    /// SIGHUP with configuration `config`.
    Reload {
        node: usize,
        config: usize,
    },
    Expect(Predicate, Mode),
    Note(String),
}

/// One line of the timeline.
#[derive(Clone, Debug)]
pub struct Timed {
    pub at_us: u64,
    pub line: usize,
    pub text: String,
    pub action: Action,
}

/// A parsed scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    /// The file it came from (for the `reproduce:` line).
    pub path: Option<PathBuf>,
    pub default_seed: Option<u64>,
    pub latency_us: u64,
    pub jitter_us: u64,
    /// The end of the fault phase (the heal phase starts then).
    pub duration_us: Option<u64>,
    /// The length of the heal phase.
    pub settle_us: Option<u64>,
    pub segments: Vec<Segment>,
    pub configs: Vec<ConfigDef>,
    pub nodes: Vec<NodeDef>,
    pub timeline: Vec<Timed>,
}

impl Scenario {
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The fault phase's end: `duration`, else the last timeline instant (plus the longest
    /// expectation) and 5 s.
    pub fn fault_phase_us(&self) -> u64 {
        if let Some(d) = self.duration_us {
            return d;
        }
        let last = self
            .timeline
            .iter()
            .map(|t| {
                t.at_us
                    + match &t.action {
                        Action::Expect(_, Mode::Within(d) | Mode::For(d)) => *d,
                        _ => 0,
                    }
            })
            .max()
            .unwrap_or(0);
        last + 5_000_000
    }

    /// The address of node `node` on segment `seg`.
    pub fn node_v4(&self, node: usize, seg: usize) -> Ipv4Addr {
        let s = &self.segments[seg];
        Ipv4Addr::from(u32::from(s.v4) + self.nodes[node].host)
    }

    pub fn node_v6(&self, node: usize, seg: usize) -> Ipv6Addr {
        let s = &self.segments[seg];
        Ipv6Addr::from(u128::from(s.v6) + u128::from(self.nodes[node].host))
    }
}

/// Default prefixes of segment `k`: the DESIGN.md test topology for the first.
fn default_prefixes(k: usize) -> (Ipv4Addr, Ipv6Addr) {
    let v4 = match k {
        0 => Ipv4Addr::new(192, 0, 2, 0),
        1 => Ipv4Addr::new(198, 51, 100, 0),
        2 => Ipv4Addr::new(203, 0, 113, 0),
        _ => Ipv4Addr::new(10, (k % 256) as u8, 0, 0),
    };
    let v6 = Ipv6Addr::new(0xfd00, k as u16, 0, 0, 0, 0, 0, 0);
    (v4, v6)
}

/// Parses scenario text. `path` is where it came from (relative config files are read
/// from its directory).
pub fn parse(text: &str, path: Option<&Path>) -> Result<Scenario, String> {
    let mut sc = Scenario {
        name: path
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into()),
        path: path.map(Path::to_path_buf),
        default_seed: None,
        latency_us: 100,
        jitter_us: 0,
        duration_us: None,
        settle_us: None,
        segments: Vec::new(),
        configs: Vec::new(),
        nodes: Vec::new(),
        timeline: Vec::new(),
    };
    let base = path.and_then(Path::parent).map(Path::to_path_buf);
    let lines: Vec<&str> = text.split('\n').collect();
    // Node declarations refer to segments and configs, timeline lines to nodes: resolve
    // them once everything is declared.
    let mut node_lines: Vec<(usize, String)> = Vec::new();
    let mut timeline_lines: Vec<(usize, u64, String)> = Vec::new();
    let mut last_at = 0u64;
    let mut k = 0;
    while k < lines.len() {
        let lineno = k + 1;
        let raw = lines[k].trim_end_matches('\r');
        k += 1;
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let err = |m: String| format!("line {lineno}: {m}");
        let mut w = line.split_whitespace();
        let kw = w.next().unwrap_or("");
        let rest: Vec<&str> = w.collect();
        match kw {
            "name" => sc.name = rest.join(" "),
            "seed" => {
                sc.default_seed = Some(
                    one(&rest)
                        .and_then(|s| s.parse().map_err(|_| format!("bad seed {s:?}")))
                        .map_err(err)?,
                )
            }
            "latency" => sc.latency_us = one(&rest).and_then(parse_duration).map_err(err)?,
            "jitter" => sc.jitter_us = one(&rest).and_then(parse_duration).map_err(err)?,
            "duration" => sc.duration_us = Some(one(&rest).and_then(parse_duration).map_err(err)?),
            "settle" => sc.settle_us = Some(one(&rest).and_then(parse_duration).map_err(err)?),
            "segment" => {
                let name = rest
                    .first()
                    .ok_or_else(|| err("segment needs a name".into()))?;
                if sc.segments.iter().any(|s| s.name == *name) {
                    return Err(err(format!("segment {name} declared twice")));
                }
                let (v4, v6) = default_prefixes(sc.segments.len());
                let mut seg = Segment {
                    name: name.to_string(),
                    v4,
                    v4_len: 24,
                    v6,
                    v6_len: 64,
                };
                for opt in &rest[1..] {
                    match opt.split_once('=') {
                        Some(("v4", p)) => {
                            let (a, l) = prefix(p).map_err(err)?;
                            match a {
                                IpAddr::V4(a) => (seg.v4, seg.v4_len) = (a, l),
                                _ => return Err(err(format!("v4={p} is not IPv4"))),
                            }
                        }
                        Some(("v6", p)) => {
                            let (a, l) = prefix(p).map_err(err)?;
                            match a {
                                IpAddr::V6(a) => (seg.v6, seg.v6_len) = (a, l),
                                _ => return Err(err(format!("v6={p} is not IPv6"))),
                            }
                        }
                        _ => return Err(err(format!("unknown segment option {opt:?}"))),
                    }
                }
                sc.segments.push(seg);
            }
            "config" => {
                let name = rest
                    .first()
                    .ok_or_else(|| err("config needs a name".into()))?
                    .to_string();
                if sc.configs.iter().any(|c| c.name == name) {
                    return Err(err(format!("config {name} declared twice")));
                }
                let (text, origin) =
                    match rest.get(1).copied() {
                        Some(tag) if tag.starts_with("<<") => {
                            let tag = tag.trim_start_matches("<<");
                            if tag.is_empty() {
                                return Err(err("heredoc needs a tag, e.g. <<EOF".into()));
                            }
                            let mut body = String::new();
                            let mut closed = false;
                            while k < lines.len() {
                                let l = lines[k].trim_end_matches('\r');
                                k += 1;
                                if l.trim() == tag {
                                    closed = true;
                                    break;
                                }
                                body.push_str(l);
                                body.push('\n');
                            }
                            if !closed {
                                return Err(err(format!("config {name}: no closing {tag} line")));
                            }
                            let origin = format!("{}:{name}", sc.name);
                            (body, origin)
                        }
                        Some("file") => {
                            let f = rest
                                .get(2)
                                .ok_or_else(|| err("config NAME file PATH".into()))?;
                            let p = match &base {
                                Some(b) => b.join(f),
                                None => PathBuf::from(f),
                            };
                            let text = std::fs::read_to_string(&p)
                                .map_err(|e| err(format!("cannot read {}: {e}", p.display())))?;
                            (text, p.display().to_string())
                        }
                        _ => return Err(err(
                            "config NAME <<TAG (text up to a TAG line) or config NAME file PATH"
                                .into(),
                        )),
                    };
                sc.configs.push(ConfigDef { name, text, origin });
            }
            "node" => node_lines.push((lineno, line.to_string())),
            "at" => {
                let t = rest.first().ok_or_else(|| err("at TIME ACTION".into()))?;
                let at = if let Some(rel) = t.strip_prefix('+') {
                    last_at + parse_duration(rel).map_err(err)?
                } else {
                    parse_duration(t).map_err(err)?
                };
                last_at = at;
                if rest.len() < 2 {
                    return Err(err("at TIME needs an action".into()));
                }
                timeline_lines.push((lineno, at, rest[1..].join(" ")));
            }
            other => return Err(err(format!("unknown directive {other:?}"))),
        }
    }
    for (lineno, line) in node_lines {
        let node = parse_node(&sc, &line).map_err(|m| format!("line {lineno}: {m}"))?;
        if sc.nodes.iter().any(|n| n.name == node.name) {
            return Err(format!("line {lineno}: node {} declared twice", node.name));
        }
        sc.nodes.push(node);
    }
    if sc.nodes.is_empty() {
        return Err("no node declared".into());
    }
    for (lineno, at, text) in timeline_lines {
        let action = parse_action(&sc, &text).map_err(|m| format!("line {lineno}: {m}"))?;
        sc.timeline.push(Timed {
            at_us: at,
            line: lineno,
            text,
            action,
        });
    }
    sc.timeline.sort_by_key(|t| t.at_us);
    Ok(sc)
}

fn strip_comment(l: &str) -> &str {
    match l.find('#') {
        Some(i) => &l[..i],
        None => l,
    }
}

fn one<'a>(rest: &[&'a str]) -> Result<&'a str, String> {
    match rest {
        [x] => Ok(x),
        _ => Err("expected one value".into()),
    }
}

fn prefix(p: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = p.split_once('/').unwrap_or((p, ""));
    let a: IpAddr = a.parse().map_err(|_| format!("bad prefix {p:?}"))?;
    let max = if a.is_ipv4() { 32 } else { 128 };
    let l: u8 = if l.is_empty() {
        max
    } else {
        l.parse()
            .map_err(|_| format!("bad prefix length in {p:?}"))?
    };
    if l > max {
        return Err(format!("bad prefix length in {p:?}"));
    }
    Ok((a, l))
}

fn parse_node(sc: &Scenario, line: &str) -> Result<NodeDef, String> {
    let mut w = line.split_whitespace().skip(1);
    let name = w.next().ok_or("node needs a name")?.to_string();
    if name.contains(['/', '>', '<', ',', '|', '*']) {
        return Err(format!("node name {name:?} may not contain / > < , | *"));
    }
    let mut config = None;
    let mut ifaces: Vec<IfaceDef> = Vec::new();
    let mut clock_us = None;
    let mut host = sc.nodes.len() as u32 + 1;
    for opt in w {
        let (k, v) = opt
            .split_once('=')
            .ok_or_else(|| format!("node option {opt:?} is not KEY=VALUE"))?;
        match k {
            "config" => {
                config = Some(
                    sc.configs
                        .iter()
                        .position(|c| c.name == v)
                        .ok_or_else(|| format!("unknown config {v:?}"))?,
                )
            }
            "clock" => clock_us = Some(parse_duration(v.trim_start_matches('+'))?),
            "host" => {
                host = v
                    .parse()
                    .ok()
                    .filter(|h| *h > 0 && *h < 65_535)
                    .ok_or_else(|| format!("bad host number {v:?}"))?
            }
            ifname => {
                let seg = sc
                    .segments
                    .iter()
                    .position(|s| s.name == v)
                    .ok_or_else(|| format!("unknown segment {v:?} for interface {ifname}"))?;
                if ifaces.iter().any(|i| i.name == ifname) {
                    return Err(format!("interface {ifname} given twice"));
                }
                ifaces.push(IfaceDef {
                    name: ifname.to_string(),
                    segment: seg,
                });
            }
        }
    }
    let config = config.ok_or("node needs config=NAME")?;
    if ifaces.is_empty() {
        return Err("node needs at least one interface (IFNAME=SEGMENT)".into());
    }
    Ok(NodeDef {
        name,
        config,
        ifaces,
        clock_us,
        host,
    })
}

fn node_ref(sc: &Scenario, name: &str) -> Result<usize, String> {
    sc.node_index(name)
        .ok_or_else(|| format!("unknown node {name:?}"))
}

fn node_list(sc: &Scenario, words: &[&str]) -> Result<Option<Vec<usize>>, String> {
    if words == ["*"] {
        return Ok(None);
    }
    let mut v = Vec::new();
    for w in words {
        for n in w.split(',').filter(|s| !s.is_empty()) {
            v.push(node_ref(sc, n)?);
        }
    }
    if v.is_empty() {
        return Err("empty node list".into());
    }
    Ok(Some(v))
}

/// `A -> B`, `A <-> B` (lists with commas or spaces, `*` for all), or nothing (all links).
fn link_sel(sc: &Scenario, words: &[&str]) -> Result<LinkSel, String> {
    if words.is_empty() {
        return Ok(LinkSel::all());
    }
    let arrow = words
        .iter()
        .position(|w| *w == "->" || *w == "<->")
        .ok_or("link selector: FROM -> TO or A <-> B")?;
    Ok(LinkSel {
        from: node_list(sc, &words[..arrow])?,
        to: node_list(sc, &words[arrow + 1..])?,
        both: words[arrow] == "<->",
    })
}

/// `ADDR:PORT`, `[V6ADDR]:PORT`.
fn socket(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("bad address and port {s:?} (ADDR:PORT or [ADDR]:PORT)"))
}

fn parse_state_word(s: &str) -> Result<Option<State>, String> {
    Ok(Some(match s.to_ascii_uppercase().as_str() {
        "MASTER" => State::Master,
        "BACKUP" => State::Backup,
        "FAULT" => State::Fault,
        "INIT" => State::Init,
        "STOP" => State::Stop,
        "DOWN" => return Ok(None),
        _ => {
            return Err(format!(
                "unknown state {s:?} (MASTER BACKUP FAULT INIT STOP DOWN)"
            ))
        }
    }))
}

fn parse_action(sc: &Scenario, text: &str) -> Result<Action, String> {
    let w: Vec<&str> = text.split_whitespace().collect();
    let node1 = || -> Result<usize, String> {
        match w.as_slice() {
            [_, n] => node_ref(sc, n),
            _ => Err(format!("{} NODE", w[0])),
        }
    };
    Ok(match w[0] {
        "crash" => Action::Crash(node1()?),
        "kill" => Action::Kill(node1()?),
        "stop" => Action::Stop(node1()?),
        "start" => Action::Start(node1()?),
        "restart" => Action::Restart(node1()?),
        "freeze" | "pause" => Action::Pause(node1()?),
        "resume" | "thaw" => Action::Resume(node1()?),
        "link" => match w.as_slice() {
            [_, n, ifname, st @ ("up" | "down")] => {
                let node = node_ref(sc, n)?;
                if !sc.nodes[node].ifaces.iter().any(|i| i.name == *ifname) {
                    return Err(format!("node {n} has no interface {ifname}"));
                }
                Action::Link {
                    node,
                    iface: ifname.to_string(),
                    up: *st == "up",
                }
            }
            _ => return Err("link NODE IFACE up|down".into()),
        },
        "partition" => {
            let rest = &w[1..];
            if let Some(a) = rest.iter().position(|x| *x == "->") {
                Action::OneWay {
                    from: node_list(sc, &rest[..a])?.ok_or("partition needs node names")?,
                    to: node_list(sc, &rest[a + 1..])?.ok_or("partition needs node names")?,
                }
            } else {
                let mut groups = Vec::new();
                for g in rest.split(|x| *x == "|") {
                    groups.push(node_list(sc, g)?.ok_or("partition needs node names")?);
                }
                if groups.len() < 2 {
                    return Err("partition A B | C D  or  partition A -> B".into());
                }
                Action::Partition(groups)
            }
        }
        "heal" => Action::Heal,
        "loss" | "duplicate" | "corrupt" => {
            let p = parse_probability(w.get(1).ok_or("probability expected")?)?;
            let imp = match w[0] {
                "loss" => Impair::Loss(p),
                "duplicate" => Impair::Duplicate(p),
                _ => Impair::Corrupt(p),
            };
            Action::Impair(imp, link_sel(sc, &w[2..])?)
        }
        "reorder" => {
            let p = parse_probability(w.get(1).ok_or("probability expected")?)?;
            let (max, rest) = match w.get(2).and_then(|x| x.strip_prefix("max=")) {
                Some(m) => (parse_duration(m)?, &w[3..]),
                None => (50_000, &w[2..]),
            };
            Action::Impair(Impair::Reorder(p, max), link_sel(sc, rest)?)
        }
        "delay" => {
            let d = parse_duration(w.get(1).ok_or("duration expected")?)?;
            Action::Impair(Impair::Delay(d), link_sel(sc, &w[2..])?)
        }
        "clog" => Action::Clog(link_sel(sc, &w[1..])?),
        "unclog" => Action::Unclog(link_sel(sc, &w[1..])?),
        "script" => match w.as_slice() {
            [_, n, s, m] => Action::Script {
                node: node_ref(sc, n)?,
                script: s.to_string(),
                mode: match *m {
                    "ok" => ScriptMode::Ok,
                    "fail" => ScriptMode::Fail,
                    "hang" => ScriptMode::Hang,
                    _ => return Err("script NODE NAME ok|fail|hang".into()),
                },
            },
            _ => return Err("script NODE NAME ok|fail|hang".into()),
        },
        "remove-address" => match w.as_slice() {
            [_, n, a] => Action::RemoveAddress {
                node: node_ref(sc, n)?,
                addr: a
                    .split('/')
                    .next()
                    .unwrap_or(a)
                    .parse()
                    .map_err(|_| format!("bad address {a:?}"))?,
            },
            _ => return Err("remove-address NODE ADDRESS".into()),
        },
        "reload" => match w.as_slice() {
            [_, n, c] => Action::Reload {
                node: node_ref(sc, n)?,
                config: sc
                    .configs
                    .iter()
                    .position(|x| x.name == *c)
                    .ok_or_else(|| format!("unknown config {c:?}"))?,
            },
            _ => return Err("reload NODE CONFIG".into()),
        },
        "expect" => parse_expect(sc, &w[1..])?,
        "note" => Action::Note(w[1..].join(" ")),
        other => return Err(format!("unknown action {other:?}")),
    })
}

fn parse_expect(sc: &Scenario, w: &[&str]) -> Result<Action, String> {
    let usage = "expect NODE[/INSTANCE] STATE [within D | for D]  or  expect NODE holds|lacks \
                 ADDR [...]  or  expect NODE bfd NAME up|down [...]  or  expect NODE rs \
                 VSADDR:PORT RSADDR:PORT in|out|weight W [...]";
    let rs_usage = "expect NODE rs VSADDR:PORT RSADDR:PORT in|out|weight W [within D | for D]";
    let (pred, rest) = match w {
        [n, "rs", vs, rs, tail @ ..] => {
            let (want, rest) = match tail {
                [st, rest @ ..] if st.eq_ignore_ascii_case("in") => (RsWant::In, rest),
                [st, rest @ ..] if st.eq_ignore_ascii_case("out") => (RsWant::Out, rest),
                [st, x, rest @ ..] if st.eq_ignore_ascii_case("weight") => (
                    RsWant::Weight(
                        x.parse()
                            .map_err(|_| format!("rs weight {x:?}: a number expected"))?,
                    ),
                    rest,
                ),
                [st, ..] => {
                    return Err(format!(
                        "rs state {st:?}: in, out or weight W expected ({rs_usage})"
                    ))
                }
                [] => return Err(rs_usage.into()),
            };
            (
                Predicate::Rs {
                    node: node_ref(sc, n)?,
                    vs: socket(vs)?,
                    rs: socket(rs)?,
                    want,
                },
                rest,
            )
        }
        [_, "rs", ..] => return Err(rs_usage.into()),
        [n, "bfd", name, st, rest @ ..] => (
            Predicate::Bfd {
                node: node_ref(sc, n)?,
                name: name.to_string(),
                up: match st.to_ascii_lowercase().as_str() {
                    "up" => true,
                    "down" => false,
                    _ => return Err(format!("bfd state {st:?}: up or down expected")),
                },
            },
            rest,
        ),
        [n, verb @ ("holds" | "lacks"), a, rest @ ..] => (
            Predicate::Holds {
                node: node_ref(sc, n)?,
                addr: a
                    .split('/')
                    .next()
                    .unwrap_or(a)
                    .parse()
                    .map_err(|_| format!("bad address {a:?}"))?,
                yes: *verb == "holds",
            },
            rest,
        ),
        [target, st, rest @ ..] => {
            let (n, inst) = match target.split_once('/') {
                Some((n, i)) => (n, Some(i.to_string())),
                None => (*target, None),
            };
            (
                Predicate::State {
                    node: node_ref(sc, n)?,
                    instance: inst,
                    state: parse_state_word(st)?,
                },
                rest,
            )
        }
        _ => return Err(usage.into()),
    };
    let mode = match rest {
        [] => Mode::At,
        ["within", d] => Mode::Within(parse_duration(d)?),
        ["for", d] => Mode::For(parse_duration(d)?),
        _ => return Err(usage.into()),
    };
    Ok(Action::Expect(pred, mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
name test
seed 9
latency 1ms
segment lan
segment wan v4=10.9.0.0/16 v6=fd09::/64
config base <<EOF
vrrp_instance VI_1 {
@r1 priority 150
}
EOF
node r1 config=base eth0=lan eth1=wan clock=2s
node r2 config=base eth0=lan host=20
at 1s crash r1      # comment
at +500ms expect r2 MASTER within 4s
at 3s partition r1 | r2
at 3s partition r1 -> r2
at 4s loss 20% r1 -> *
at 4s reorder 0.1 max=5ms r1 <-> r2
at 5s expect r2/VI_1 BACKUP for 1s
at 5s expect r1 holds 192.0.2.100
at 6s script r1 chk ok
at 7s link r1 eth1 down
";

    #[test]
    fn parses_everything() {
        let sc = parse(TEXT, None).unwrap();
        assert_eq!(sc.name, "test");
        assert_eq!(sc.default_seed, Some(9));
        assert_eq!(sc.latency_us, 1000);
        assert_eq!(sc.nodes.len(), 2);
        assert_eq!(sc.nodes[0].clock_us, Some(2_000_000));
        assert_eq!(sc.node_v4(1, 0), Ipv4Addr::new(192, 0, 2, 20));
        assert_eq!(sc.node_v4(0, 1), Ipv4Addr::new(10, 9, 0, 1));
        assert_eq!(sc.node_v6(0, 0), "fd00::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            sc.configs[0].text,
            "vrrp_instance VI_1 {\n@r1 priority 150\n}\n"
        );
        assert_eq!(sc.timeline.len(), 10);
        assert_eq!(sc.timeline[1].at_us, 1_500_000);
        assert_eq!(
            sc.timeline[1].action,
            Action::Expect(
                Predicate::State {
                    node: 1,
                    instance: None,
                    state: Some(State::Master)
                },
                Mode::Within(4_000_000)
            )
        );
        assert_eq!(
            sc.timeline[2].action,
            Action::Partition(vec![vec![0], vec![1]])
        );
        match &sc.timeline[4].action {
            Action::Impair(Impair::Loss(200_000), sel) => {
                assert!(sel.matches(0, 1));
                assert!(!sel.matches(1, 0));
            }
            o => panic!("{o:?}"),
        }
        match &sc.timeline[5].action {
            Action::Impair(Impair::Reorder(100_000, 5_000), sel) => {
                assert!(sel.matches(0, 1) && sel.matches(1, 0));
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(sc.fault_phase_us(), 12_000_000);
    }

    #[test]
    fn errors_name_the_line() {
        for (bad, want) in [
            ("node r1 config=x eth0=lan", "unknown config"),
            ("segment lan\nconfig c <<E\nx\n", "no closing E"),
            (
                "segment lan\nconfig c <<E\nE\nnode r1 config=c eth0=lan\nat 1s explode r1",
                "line 5: unknown action",
            ),
            (
                "segment lan\nconfig c <<E\nE\nnode r1 config=c eth0=lan\nat 1s crash r9",
                "unknown node",
            ),
            ("bogus", "line 1: unknown directive"),
            (
                "segment lan\nconfig c <<E\nE\nnode r1 config=c eth0=lan\nat 1s expect r1 SLEEPING",
                "unknown state",
            ),
            (
                "segment lan\nconfig c <<E\nE\nnode r1 config=c eth0=lan\n\
                 at 1s expect r1 rs 10.0.0.1:80 10.0.0.2 in",
                "line 5: bad address and port \"10.0.0.2\"",
            ),
            (
                "segment lan\nconfig c <<E\nE\nnode r1 config=c eth0=lan\n\
                 at 1s expect r1 rs 10.0.0.1:80 10.0.0.2:80 up",
                "line 5: rs state \"up\": in, out or weight W expected",
            ),
        ] {
            let e = parse(bad, None).unwrap_err();
            assert!(e.contains(want), "{bad:?}: {e}");
        }
    }
}
