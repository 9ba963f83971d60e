//! `sqlx::migrate!` embeds the migrations, but on stable Rust cargo does not know it read them:
//! without this a new migration alone would not rebuild the crate that embeds them.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
