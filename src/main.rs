fn main() {
    std::process::exit(keepalived_rs_main());
}

fn keepalived_rs_main() -> i32 {
    0
}
