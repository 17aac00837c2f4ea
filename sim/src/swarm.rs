//! Randomized runs ("swarm testing", as TigerBeetle's VOPR does): each seed draws a
//! topology, a keepalived.conf and a fault plan, written out as an ordinary scenario (so a
//! failing seed can be saved with `--dump-scenario` and edited), then runs it.

use crate::rng::{stream, Rng};
use crate::scenario;
use crate::units::{dur, pct};
use crate::world::{Outcome, SimOptions};
use std::fmt::Write as _;

/// A drawn scenario: its text and a one-line summary of the drawn options.
#[derive(Clone, Debug)]
pub struct Draw {
    pub text: String,
    pub summary: String,
}

struct Inst {
    name: String,
    vrid: u8,
    v6: bool,
    v3: bool,
    adv_us: u64,
    unicast: bool,
    auth: bool,
    vips: Vec<String>,
    preempt_delay_us: u64,
    /// Per node: priority and nopreempt.
    prio: Vec<u8>,
    nopreempt: Vec<bool>,
}

/// Draws the scenario of `seed`.
pub fn draw(seed: u64) -> Draw {
    let mut r = Rng::new(seed, stream::SWARM);
    let nodes = if r.chance(1, 6) { 5 } else { r.range(2, 4) } as usize;
    let n_inst = r.range(1, 3) as usize;
    let sync = n_inst >= 2 && r.chance(1, 4);
    let script = r.chance(1, 3);
    let script_weight: i64 = if sync || r.chance(1, 2) {
        0
    } else {
        -(r.range(10, 120) as i64)
    };
    let mut vrids: Vec<u8> = Vec::new();
    let mut insts: Vec<Inst> = Vec::new();
    // One priority and preemption mode per node for a sync group's members (keepalived
    // moves them together).
    let group_prio = distinct_priorities(&mut r, nodes);
    let group_nopreempt: Vec<bool> = (0..nodes).map(|_| r.chance(1, 6)).collect();
    for k in 0..n_inst {
        let (v6, v3) = match r.below(4) {
            0 | 1 => (false, false),
            2 => (false, true),
            _ => (true, true),
        };
        let adv_us = if v3 {
            *r.pick(&[100_000u64, 250_000, 500_000, 1_000_000])
        } else if r.chance(1, 5) {
            2_000_000
        } else {
            1_000_000
        };
        let vrid = loop {
            let v = r.range(1, 255) as u8;
            if !vrids.contains(&v) {
                vrids.push(v);
                break v;
            }
        };
        let n_vips = r.range(1, 2);
        let vips = (0..n_vips)
            .map(|j| {
                if v6 {
                    format!("fd00::{:x}/64", 0x100 + u32::from(vrid) * 4 + j as u32)
                } else {
                    format!("192.0.2.{}/24", 100 + (k as u64 * 2 + j) % 150)
                }
            })
            .collect();
        let prio = if sync {
            group_prio.clone()
        } else {
            let mut p = distinct_priorities(&mut r, nodes);
            if r.chance(1, 10) {
                // Two nodes with the same priority: the higher address wins.
                let a = r.below(nodes as u64) as usize;
                let b = (a + 1) % nodes;
                p[b] = p[a];
            } else if r.chance(1, 10) {
                let a = r.below(nodes as u64) as usize;
                p[a] = 255;
            }
            p
        };
        let nopreempt = (0..nodes)
            .map(|n| {
                prio[n] != 255
                    && if sync {
                        group_nopreempt[n]
                    } else {
                        r.chance(1, 6)
                    }
            })
            .collect();
        let preempt_delay_us = if r.chance(1, 6) {
            r.range(5, 40) * 100_000
        } else {
            0
        };
        insts.push(Inst {
            name: format!("VI_{}", k + 1),
            vrid,
            v6,
            v3,
            adv_us,
            unicast: r.chance(1, 4),
            auth: !v3 && r.chance(1, 5),
            vips,
            preempt_delay_us,
            prio,
            nopreempt,
        });
    }
    let max_adv = insts.iter().map(|i| i.adv_us).max().unwrap_or(1_000_000);
    let phase = (30 * max_adv).clamp(15_000_000, 60_000_000);

    let names: Vec<String> = (1..=nodes).map(|n| format!("r{n}")).collect();
    let mut t = String::new();
    let _ = writeln!(t, "# drawn by the swarm from seed {seed}");
    let _ = writeln!(t, "name swarm-{seed}");
    let _ = writeln!(t, "seed {seed}");
    let latency = *r.pick(&[50u64, 200, 1_000, 5_000]);
    let _ = writeln!(t, "latency {}", dur(latency));
    let _ = writeln!(t, "jitter {}", dur(r.below(latency + 1)));
    let _ = writeln!(t, "duration {}", dur(phase));
    let _ = writeln!(t, "segment lan\n");
    let _ = writeln!(t, "config base <<END");
    write_config(&mut t, &insts, &names, sync, script, script_weight, None);
    let _ = writeln!(t, "END");
    // The configuration a reload switches to: new priorities.
    let mut alt = Vec::new();
    for i in &insts {
        let mut p = distinct_priorities(&mut r, nodes);
        if sync {
            p.clone_from(&alt_group(&mut r, nodes, &alt));
        }
        if i.prio.contains(&255) {
            // Keep the owner an owner (two owners is a configuration error).
            for (k, q) in i.prio.iter().enumerate() {
                if *q == 255 {
                    p[k] = 255;
                }
            }
        }
        alt.push(p);
    }
    let _ = writeln!(t, "config alt <<END");
    write_config(
        &mut t,
        &insts,
        &names,
        sync,
        script,
        script_weight,
        Some(&alt),
    );
    let _ = writeln!(t, "END\n");
    let bfd = draw_bfd(seed);
    if let Some(b) = &bfd {
        t = add_bfd(&t, b);
    }
    for n in &names {
        let _ = writeln!(t, "node {n} config=base eth0=lan");
    }
    t.push('\n');

    // The fault plan.
    let mut events: Vec<(u64, String)> = Vec::new();
    let mut kinds = Vec::new();
    let n_faults = r.range(3, 10);
    for _ in 0..n_faults {
        let at = r.range(max_adv, phase - max_adv);
        let hold = r.range(max_adv / 2, 8 * max_adv);
        let back = at + hold;
        let node = names[r.below(nodes as u64) as usize].clone();
        let other = names[r.below(nodes as u64) as usize].clone();
        let mut add = |when: u64, what: String| {
            if when < phase {
                events.push((when, what));
            }
        };
        let kind = r.below(17);
        let label = match kind {
            0 => {
                add(at, format!("crash {node}"));
                add(back, format!("start {node}"));
                "crash"
            }
            1 => {
                add(at, format!("kill {node}"));
                add(back, format!("start {node}"));
                "kill"
            }
            2 => {
                add(at, format!("stop {node}"));
                add(back, format!("start {node}"));
                "stop"
            }
            3 => {
                add(at, format!("restart {node}"));
                "restart"
            }
            4 => {
                add(at, format!("freeze {node}"));
                add(back, format!("resume {node}"));
                "freeze"
            }
            5 => {
                add(at, format!("link {node} eth0 down"));
                add(back, format!("link {node} eth0 up"));
                "link down"
            }
            6 => {
                let split = r.range(1, nodes as u64 - 1) as usize;
                let (a, b) = names.split_at(split);
                add(at, format!("partition {} | {}", a.join(" "), b.join(" ")));
                add(back, "heal".into());
                "partition"
            }
            7 => {
                if node != other {
                    add(at, format!("partition {node} -> {other}"));
                    add(back, "heal".into());
                }
                "one-way partition"
            }
            8 | 9 => {
                let p = *r.pick(&[50_000u32, 200_000, 500_000, 1_000_000]);
                let sel = selector(&mut r, &names);
                add(at, format!("loss {} {sel}", pct(p)));
                add(back, format!("loss 0 {sel}"));
                "loss"
            }
            10 => {
                let p = *r.pick(&[100_000u32, 500_000]);
                let sel = selector(&mut r, &names);
                add(at, format!("duplicate {} {sel}", pct(p)));
                add(back, format!("duplicate 0 {sel}"));
                "duplicate"
            }
            11 => {
                let p = *r.pick(&[100_000u32, 500_000]);
                let max = r.range(1, max_adv / 2);
                let sel = selector(&mut r, &names);
                add(at, format!("reorder {} max={} {sel}", pct(p), dur(max)));
                add(back, format!("reorder 0 {sel}"));
                "reorder"
            }
            12 => {
                let p = *r.pick(&[100_000u32, 500_000]);
                let sel = selector(&mut r, &names);
                add(at, format!("corrupt {} {sel}", pct(p)));
                add(back, format!("corrupt 0 {sel}"));
                "corrupt"
            }
            13 => {
                if node != other {
                    add(at, format!("clog {node} -> {other}"));
                    add(back, format!("unclog {node} -> {other}"));
                }
                "clog"
            }
            14 if script => {
                let m = if r.chance(1, 4) { "hang" } else { "fail" };
                add(at, format!("script {node} chk {m}"));
                add(back, format!("script {node} chk ok"));
                "script"
            }
            15 => {
                let i = &insts[r.below(insts.len() as u64) as usize];
                let vip = i.vips[0].split('/').next().unwrap_or("").to_string();
                add(at, format!("remove-address {node} {vip}"));
                "remove-address"
            }
            _ => {
                add(at, format!("reload {node} alt"));
                if r.chance(1, 2) {
                    add(back, format!("reload {node} base"));
                }
                "reload"
            }
        };
        kinds.push(label);
    }
    events.sort();
    for (at, what) in &events {
        let _ = writeln!(t, "at {} {what}", dur(*at));
    }
    let mut summary = format!("{nodes} nodes,");
    for i in &insts {
        let _ = write!(
            summary,
            " {} vrid {} {}/{} {}{}{}{},",
            i.name,
            i.vrid,
            if i.v3 { "v3" } else { "v2" },
            if i.v6 { "IPv6" } else { "IPv4" },
            dur(i.adv_us),
            if i.unicast { " unicast" } else { "" },
            if i.auth { " auth" } else { "" },
            if i.preempt_delay_us > 0 {
                format!(" preempt_delay {}", dur(i.preempt_delay_us))
            } else {
                String::new()
            }
        );
    }
    if sync {
        summary.push_str(" sync group,");
    }
    if script {
        let _ = write!(summary, " track script (weight {script_weight}),");
    }
    if let Some(b) = &bfd {
        let _ = write!(
            summary,
            " bfd r1<->r2 {} x{} tracked by VI_1,",
            dur(b.interval_us),
            b.mult
        );
        if let Some(l) = &b.lvs {
            let _ = write!(
                summary,
                " ipvs on r1 (BFD_CHECK b1{}{}{}),",
                if l.alpha { " alpha" } else { "" },
                if l.inhibit { " inhibit" } else { "" },
                if l.sorry { " sorry server" } else { "" }
            );
        }
    }
    let _ = write!(summary, " faults: {}", kinds.join(" "));
    Draw { text: t, summary }
}

/// A BFD session between r1 and r2, tracked by their VI_1 (weight 0: FAULT while Down).
struct BfdDraw {
    interval_us: u64,
    mult: u64,
    /// r1 also balances a virtual server whose real server r2 follows the session.
    lvs: Option<LvsDraw>,
}

/// r1's virtual server 198.18.0.1:80 with real server r2 (BFD_CHECK b1) and options.
struct LvsDraw {
    alpha: bool,
    inhibit: bool,
    /// A sorry server (in while the quorum, 1, is lost).
    sorry: bool,
}

/// One seed in five runs BFD; drawn from its own stream, so the rest of the draw is the
/// same with or without it.
fn draw_bfd(seed: u64) -> Option<BfdDraw> {
    let mut r = Rng::new(seed, stream::SWARM_BFD);
    if !r.chance(1, 5) {
        return None;
    }
    let interval_us = *r.pick(&[10_000u64, 20_000, 50_000, 100_000]);
    let mult = r.range(3, 5);
    // Drawn after the session, so a seed's session is the same with or without it.
    let lvs = r.chance(1, 2).then(|| LvsDraw {
        alpha: r.chance(1, 2),
        inhibit: r.chance(1, 3),
        sorry: r.chance(1, 2),
    });
    Some(BfdDraw {
        interval_us,
        mult,
        lvs,
    })
}

/// Adds the BFD session to every configuration of the drawn text (both `config` blocks).
fn add_bfd(text: &str, b: &BfdDraw) -> String {
    let mut block = String::new();
    for (me, peer) in [("r1", "192.0.2.2"), ("r2", "192.0.2.1")] {
        let ms = b.interval_us / 1000;
        let _ = writeln!(block, "@{me} bfd_instance b1 {{");
        let _ = writeln!(block, "@{me}     neighbor_ip {peer}");
        let _ = writeln!(block, "@{me}     min_rx {ms}");
        let _ = writeln!(block, "@{me}     min_tx {ms}");
        let _ = writeln!(block, "@{me}     multiplier {}", b.mult);
        let _ = writeln!(block, "@{me} }}");
    }
    if let Some(l) = &b.lvs {
        let mut vs =
            String::from("virtual_server 198.18.0.1 80 {\n    lb_algo rr\n    lb_kind DR\n");
        vs.push_str("    protocol TCP\n");
        if l.sorry {
            vs.push_str("    sorry_server 198.18.0.9 80\n");
        }
        vs.push_str("    real_server 192.0.2.2 80 {\n        weight 2\n");
        if l.alpha {
            vs.push_str("        alpha\n");
        }
        if l.inhibit {
            vs.push_str("        inhibit_on_failure\n");
        }
        vs.push_str("        BFD_CHECK {\n            name b1\n        }\n    }\n}\n");
        for line in vs.lines() {
            let _ = writeln!(block, "@r1 {line}");
        }
    }
    block.push_str("vrrp_instance VI_1 {\n@r1 track_bfd { b1 }\n@r2 track_bfd { b1 }\n");
    text.replace("vrrp_instance VI_1 {\n", &block)
}

fn distinct_priorities(r: &mut Rng, nodes: usize) -> Vec<u8> {
    let mut p: Vec<u8> = Vec::new();
    while p.len() < nodes {
        let x = r.range(20, 250) as u8;
        if !p.contains(&x) {
            p.push(x);
        }
    }
    p
}

fn alt_group(r: &mut Rng, nodes: usize, prev: &[Vec<u8>]) -> Vec<u8> {
    match prev.first() {
        Some(p) => p.clone(),
        None => distinct_priorities(r, nodes),
    }
}

/// A random link selector: all links, links from one node, or one pair.
fn selector(r: &mut Rng, names: &[String]) -> String {
    let a = &names[r.below(names.len() as u64) as usize];
    let b = &names[r.below(names.len() as u64) as usize];
    match r.below(3) {
        0 => String::new(),
        1 => format!("{a} -> *"),
        _ if a != b => format!("{a} <-> {b}"),
        _ => String::new(),
    }
}

fn write_config(
    t: &mut String,
    insts: &[Inst],
    names: &[String],
    sync: bool,
    script: bool,
    weight: i64,
    alt: Option<&[Vec<u8>]>,
) {
    if script {
        let _ = writeln!(t, "global_defs {{\n    enable_script_security\n}}");
        let _ = writeln!(t, "vrrp_script chk {{");
        let _ = writeln!(t, "    script \"/usr/local/bin/check_service\"");
        let _ = writeln!(t, "    interval 1");
        let _ = writeln!(t, "    timeout 1");
        let _ = writeln!(t, "    fall 2");
        let _ = writeln!(t, "    rise 2");
        if weight != 0 {
            let _ = writeln!(t, "    weight {weight}");
        }
        let _ = writeln!(t, "}}");
    }
    if sync {
        let members: Vec<&str> = insts.iter().map(|i| i.name.as_str()).collect();
        let _ = writeln!(t, "vrrp_sync_group G1 {{");
        let _ = writeln!(t, "    group {{ {} }}", members.join(" "));
        let _ = writeln!(t, "}}");
    }
    for (k, i) in insts.iter().enumerate() {
        let _ = writeln!(t, "vrrp_instance {} {{", i.name);
        let _ = writeln!(t, "    state BACKUP");
        let _ = writeln!(t, "    interface eth0");
        let _ = writeln!(t, "    virtual_router_id {}", i.vrid);
        if i.v3 {
            let _ = writeln!(t, "    version 3");
        }
        let _ = writeln!(t, "    advert_int {}", secs_text(i.adv_us));
        for (n, name) in names.iter().enumerate() {
            let p = alt.map_or(i.prio[n], |a| a[k][n]);
            let _ = writeln!(t, "@{name} priority {p}");
            if i.nopreempt[n] && p != 255 {
                let _ = writeln!(t, "@{name} nopreempt");
            }
        }
        if i.preempt_delay_us > 0 {
            let _ = writeln!(t, "    preempt_delay {}", secs_text(i.preempt_delay_us));
        }
        if i.auth {
            let _ = writeln!(
                t,
                "    authentication {{ auth_type PASS auth_pass s3cret }}"
            );
        }
        if i.unicast {
            for (n, name) in names.iter().enumerate() {
                let addr = |m: usize| {
                    if i.v6 {
                        format!("fd00::{:x}", m + 1)
                    } else {
                        format!("192.0.2.{}", m + 1)
                    }
                };
                let peers: Vec<String> = (0..names.len()).filter(|&m| m != n).map(addr).collect();
                let _ = writeln!(t, "@{name} unicast_src_ip {}", addr(n));
                let _ = writeln!(t, "@{name} unicast_peer {{");
                for p in peers {
                    let _ = writeln!(t, "@{name}     {p}");
                }
                let _ = writeln!(t, "@{name} }}");
            }
        }
        if script && (k == 0 || sync) {
            let _ = writeln!(t, "    track_script {{ chk }}");
        }
        let _ = writeln!(t, "    virtual_ipaddress {{");
        for v in &i.vips {
            let _ = writeln!(t, "        {v}");
        }
        let _ = writeln!(t, "    }}");
        let _ = writeln!(t, "}}");
    }
}

/// Seconds as keepalived writes them (`1`, `0.25`).
fn secs_text(us: u64) -> String {
    if us % 1_000_000 == 0 {
        format!("{}", us / 1_000_000)
    } else {
        let s = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
        s.trim_end_matches('0').to_string()
    }
}

/// The result of a sweep.
#[derive(Clone, Debug, Default)]
pub struct Sweep {
    pub passed: u64,
    pub failed: Vec<u64>,
    /// The output of every run, concatenated (for determinism checks).
    pub hash: u64,
}

/// Runs one drawn seed.
pub fn run_seed(seed: u64, opts: &SimOptions, extra_args: &str) -> (Draw, Outcome) {
    let d = draw(seed);
    let mut o = opts.clone();
    o.seed = seed;
    // A drawn run takes thousands of steps; a runaway one is a failure, found quickly.
    o.max_steps = o.max_steps.min(5_000_000);
    o.reproduce = format!("cargo run -p sim -- --seed {seed}{extra_args}");
    let out = match scenario::parse(&d.text, None) {
        Ok(sc) => {
            let sc = scenario::Scenario { path: None, ..sc };
            crate::run_scenario(&sc, &o)
        }
        Err(e) => Outcome {
            passed: false,
            output: format!("the swarm drew an invalid scenario: {e}\n{}", d.text),
            violations: vec![e],
            transitions: 0,
            steps: 0,
            deliveries: 0,
            simulated_us: 0,
            hash: 0,
            recording: None,
        },
    };
    (d, out)
}

/// Runs seeds `first..first+count`; prints one line per passing seed and everything about
/// a failing one (its scenario, timeline, violations and the `reproduce:` line).
pub fn sweep(
    first: u64,
    count: u64,
    opts: &SimOptions,
    extra_args: &str,
    verbose: bool,
    print: &mut dyn FnMut(&str),
) -> Sweep {
    let mut s = Sweep::default();
    let mut all = String::new();
    for seed in first..first.saturating_add(count) {
        let (d, out) = run_seed(seed, opts, extra_args);
        let _ = write!(all, "{:016x}", out.hash);
        let mut text = String::new();
        let _ = writeln!(text, "seed {seed}: {}", d.summary);
        if verbose || !out.passed {
            text.push_str(&d.text);
            text.push_str(&out.output);
        } else {
            let _ = writeln!(
                text,
                "seed {seed}: PASS  {} transitions, {} steps, {} deliveries",
                out.transitions, out.steps, out.deliveries
            );
        }
        print(&text);
        if out.passed {
            s.passed += 1;
        } else {
            s.failed.push(seed);
        }
    }
    s.hash = crate::world::fnv1a(all.as_bytes());
    let mut tail = format!("swarm: {}/{} seeds passed", s.passed, count);
    if !s.failed.is_empty() {
        let _ = write!(tail, "; failing seeds: {:?}", s.failed);
    }
    let _ = writeln!(tail, "  (sweep hash {:016x})", s.hash);
    print(&tail);
    s
}
