//! Feeds arbitrary file name templates and directory entry names to the file
//! driver: a template is valid or an error, never a panic; the names a valid
//! template makes classify back as what they are; and an entry name is
//! either none of the driver's files or exactly the one it is taken for (the
//! cleanup task deletes what this says is a stale file).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // 32 bytes of id, then `template\nname`.
    let Some((id, rest)) = data.split_first_chunk::<32>() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (template, name) = text.split_once('\n').unwrap_or((text, ""));
    session_core::__fuzz::file_template(template, id, name);
});
