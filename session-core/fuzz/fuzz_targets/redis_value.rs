//! Feeds arbitrary bytes to the Redis driver's value decoder (its fixed
//! header of version and times, then the record): it must never panic (a
//! value that does not decode is a fresh session), and a value it accepts
//! must encode and decode again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    session_core::__fuzz::redis_value(data);
});
