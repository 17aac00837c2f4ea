//! Simulator benchmark: simulated seconds per wall-clock second.
//!
//! `cargo run --release -p sim --bin sim-bench [-- --nodes 16 --vrids 255 --hours 1]`
//!
//! One segment of N routers, each running the same keepalived.conf with V VRRPv2 instances
//! (advert_int 1 s, one VIP each); instance k has its MASTER on router k mod N. The whole
//! run, invariants included, is timed; the invariants must hold.

use sim::{run_scenario, scenario, SimOptions};
use std::fmt::Write as _;

fn config(nodes: usize, vrids: usize) -> String {
    let mut t = String::new();
    for k in 0..vrids {
        let _ = writeln!(t, "vrrp_instance VI_{} {{", k + 1);
        let _ = writeln!(t, "    state BACKUP\n    interface eth0");
        let _ = writeln!(t, "    virtual_router_id {}", k + 1);
        let _ = writeln!(t, "    advert_int 1");
        for n in 0..nodes {
            // The master of VRID k is node k mod N; the others get distinct lower priorities.
            let p = if n == k % nodes {
                250
            } else {
                100 + (n + nodes - k % nodes) % nodes
            };
            let _ = writeln!(t, "@r{} priority {p}", n + 1);
        }
        let _ = writeln!(
            t,
            "    virtual_ipaddress {{\n        10.{}.{}.1/32\n    }}\n}}",
            (k + 1) / 256,
            (k + 1) % 256
        );
    }
    t
}

fn main() {
    let mut nodes = 16usize;
    let mut vrids = 255usize;
    let mut secs = 3600u64;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i + 1 < args.len() {
        let v = &args[i + 1];
        match args[i].as_str() {
            "--nodes" => nodes = v.parse().expect("--nodes N"),
            "--vrids" => vrids = v.parse().expect("--vrids N"),
            "--hours" => secs = v.parse::<u64>().expect("--hours N") * 3600,
            "--seconds" => secs = v.parse().expect("--seconds N"),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "name bench\nlatency 100us\nduration {secs}s\nsettle 10s"
    );
    let _ = writeln!(
        text,
        "segment lan\nconfig c <<END\n{}END",
        config(nodes, vrids)
    );
    for n in 1..=nodes {
        let _ = writeln!(text, "node r{n} config=c eth0=lan");
    }
    let sc = scenario::parse(&text, None).expect("bench scenario");
    let opts = SimOptions {
        quiet: true,
        max_steps: u64::MAX,
        ..SimOptions::default()
    };
    // Wall-clock time of the whole run: the harness measures the simulator from outside;
    // nothing inside the simulation reads it.
    #[allow(clippy::disallowed_methods)]
    let start = std::time::Instant::now();
    let out = run_scenario(&sc, &opts);
    let wall = start.elapsed().as_secs_f64();
    let simulated = out.simulated_us as f64 / 1e6;
    println!(
        "sim-bench: {nodes} nodes x {vrids} VRIDs, advert_int 1 s: {:.0} simulated s in {:.2} wall s \
         = {:.0} simulated s per wall s ({} steps, {} deliveries, {} transitions, {:.2} M steps/s) {}",
        simulated,
        wall,
        simulated / wall,
        out.steps,
        out.deliveries,
        out.transitions,
        out.steps as f64 / wall / 1e6,
        if out.passed { "PASS" } else { "FAIL" }
    );
    if !out.passed {
        for v in &out.violations {
            println!("  {v}");
        }
        std::process::exit(1);
    }
}
