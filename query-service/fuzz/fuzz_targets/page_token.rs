//! Any text as a page token: decoding must refuse it or give back a token
//! that encodes to the same text, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sectorwire_query_fuzz::page_token(&String::from_utf8_lossy(data));
});
