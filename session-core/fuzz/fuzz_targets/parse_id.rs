//! Feeds arbitrary text to `SessionId::parse`, the check every cookie value
//! of a server-side driver goes through: it must never panic, and an
//! accepted value must be the canonical text of its own 32 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::driver::SessionId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = SessionId::parse(text) {
        assert_eq!(id.as_str(), text, "an accepted id is its own canonical text");
        assert_eq!(SessionId::parse(id.as_str()).ok(), Some(id));
    }
});
