fn main() {
    println!("ilo");
}
