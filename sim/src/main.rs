fn main() {
    println!("keepalived-rs simulator: not implemented yet (see issue 4)");
}
