fn main() {
    println!("roost {}", env!("CARGO_PKG_VERSION"));
}
