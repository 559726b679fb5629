//! Where tests find the shared data (`../shared` beside the checkout: seeds
//! and corpora written by others, read in place and never copied into the
//! repository), with the project's one rule for when it is missing: under
//! CI (`CI=true`) the test fails, because CI must exercise the real inputs;
//! elsewhere it is skipped with a message, so a user's clone still passes.

use std::io::Write;
use std::path::PathBuf;

/// The shared data folder, whether or not it exists.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// `../shared/<rel>` if it exists. Without it: panics when `CI=true`,
/// otherwise says it is skipping and returns `None`.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let path = shared_dir().join(rel);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "../shared/{rel} not found at {} (required when CI=true)",
            path.display()
        );
    }
    // The real stderr handle, not eprintln!: the test harness captures the
    // latter, which would hide the skip from someone reading the log.
    let _ = writeln!(
        std::io::stderr(),
        "skipping: ../shared/{rel} not found at {}",
        path.display()
    );
    None
}
