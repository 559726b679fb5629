//! Memory and disk a system uses, read from `/proc` and the file system so
//! every system is measured the same way whatever it reports of itself.

use std::path::Path;

use anyhow::Context;

/// Proportional set size of a process, in bytes: its private pages plus its
/// share of pages it shares (PostgreSQL's backends share `shared_buffers`,
/// so summing their RSS would count it once per backend).
pub fn pss(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    kib_field(&text, "Pss:").with_context(|| format!("no Pss in {path}"))
}

/// Peak resident set of a process (`VmHWM`), in bytes.
pub fn peak_rss(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    kib_field(&text, "VmHWM:").with_context(|| format!("no VmHWM in {path}"))
}

fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// `pid` and its direct children (PostgreSQL's postmaster and its backends).
pub fn with_children(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised command name: state, ppid, ...
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Bytes the files under `path` occupy on disk (allocated blocks, so sparse
/// or preallocated files count as the disk sees them).
pub fn dir_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| dir_bytes(&e.path())).sum())
            .unwrap_or(0)
    } else {
        meta.blocks() * 512
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_memory_and_a_directory() {
        let me = std::process::id();
        assert!(pss(me).is_ok_and(|b| b > 0));
        assert!(peak_rss(me).is_ok_and(|b| b > 0));
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a"), vec![1u8; 10_000]).expect("write");
        assert!(dir_bytes(dir.path()) >= 10_000);
        assert_eq!(kib_field("Pss:  12 kB\n", "Pss:"), Some(12 * 1024));
    }
}
