//! Feeds arbitrary `Cookie` headers to the middleware's scan for the session
//! cookie (`find_cookie`): it must never panic, and what it finds must be
//! what a plain reading of the headers gives: the first `session=` pair's
//! value, trimmed and unquoted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::__fuzz::find_cookie;

/// The value the headers give the cookie `name`, read the simplest way.
fn reference(headers: &[&[u8]], name: &str) -> Option<String> {
    headers
        .iter()
        .filter(|h| actix_web::http::header::HeaderValue::from_bytes(h).is_ok())
        .flat_map(|h| h.split(|&b| b == b';'))
        .find_map(|pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            (pair[..eq].trim_ascii() == name.as_bytes()).then(|| {
                let v = pair[eq + 1..].trim_ascii();
                let v = match v {
                    [b'"', inner @ .., b'"'] => inner,
                    v => v,
                };
                String::from_utf8(v.to_vec()).unwrap_or_default()
            })
        })
}

fuzz_target!(|data: &[u8]| {
    // Each line is one `Cookie` header.
    let headers: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let found = find_cookie(&headers, "session");
    assert_eq!(found, reference(&headers, "session"));
    if let Some(value) = found {
        assert!(!value.contains(';'), "a value never spans two pairs");
    }
});
