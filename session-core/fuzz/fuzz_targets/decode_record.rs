//! Feeds arbitrary bytes to `Record::decode`, what every serializing driver
//! reads a stored record with: it must never panic (a record that does not
//! decode is an error the engine turns into a fresh session), and a record
//! it accepts must encode and decode again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::driver::Record;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = Record::decode(data) {
        let bytes = record.encode().expect("a decoded record encodes");
        assert_eq!(Record::decode(&bytes).expect("and decodes again"), record);
    }
});
