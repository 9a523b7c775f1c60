//! Feeds arbitrary input to the driver settings, from serde (JSON) and from
//! `SESSION_*` environment pairs: a bad setting must be an error, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::driver::DriverSettings;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<DriverSettings>(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Each line `NAME=value` is one variable.
    let vars = text.lines().filter_map(|line| {
        let (name, value) = line.split_once('=')?;
        Some((name.to_owned(), value.to_owned()))
    });
    let _ = DriverSettings::from_vars(vars);
});
