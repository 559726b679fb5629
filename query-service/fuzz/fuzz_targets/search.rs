//! Any text as a search query (and any page token beside it, after a NUL):
//! the query syntax must be accepted or refused as INVALID_ARGUMENT, never
//! fail inside the replica (INTERNAL) or panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (query, token) = text.split_once('\0').unwrap_or((&text, ""));
    sectorwire_query_fuzz::search(query, token);
});
