//! Any bytes as one of the query requests that carry filters (the first byte
//! picks which; the rest is its protobuf encoding): validation must accept
//! or refuse it, and an accepted request must be answered or refused as the
//! caller's fault, never fail inside the replica (INTERNAL) or panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sectorwire_query_fuzz::request(data);
});
