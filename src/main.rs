//! `keepalived-rs`: the daemon binary. Everything lives in the library (`daemon`).
#![forbid(unsafe_code)]

fn main() {
    let args: Vec<String> = std::env::args().collect();
    std::process::exit(keepalived_rs::daemon::main_with_args(&args));
}
