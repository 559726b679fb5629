//! Locating the shared data folder for tests, with the project's skip rule: missing data fails
//! under CI=true and is skipped (with a message) elsewhere.
#![allow(dead_code)]

use std::path::PathBuf;

/// `<manifest>/../../shared/<rel>` if it exists. Without it: panics when CI == "true",
/// otherwise prints "skipping: ../shared/<rel> not found" and returns None.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared/{rel} not found ({}) and CI=true", p.display());
    }
    println!("skipping: ../shared/{rel} not found");
    None
}
