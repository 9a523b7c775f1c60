//! Without a namespace the keys are the field names (`r#` dropped).
#![deny(warnings)]

use session_actix::TypedSession;

#[derive(TypedSession)]
struct Prefs {
    theme: String,
    r#type: u8,
}

fn main() {
    assert_eq!(PrefsSession::KEYS, ["theme", "type"]);
    // Raw identifiers keep their getter, and the other accessors drop `r#`.
    let _ = ReadonlyPrefsSession::r#type;
    let _ = |p: &PrefsSession| p.set_type(1);
    let _ = PrefsSession::forget_type;
}
