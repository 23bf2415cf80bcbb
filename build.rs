//! Rebuild when a migration is added: refinery embeds the `migrations/` folder at compile time.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
