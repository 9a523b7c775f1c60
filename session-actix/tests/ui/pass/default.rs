//! `default` and `default = expr`, with any expression of the field's type.
#![deny(warnings)]

use session_actix::TypedSession;

const START: u32 = 10;

fn greeting() -> String {
    "hello".to_owned()
}

#[derive(TypedSession)]
#[session(namespace = "d")]
struct Defaults {
    #[session(default)]
    plain: Vec<String>,
    #[session(default = 1)]
    literal: u32,
    #[session(default = START * 2)]
    constant: u32,
    #[session(default = greeting())]
    call: String,
    #[session(default = vec!["a".to_owned(), "b".to_owned()])]
    macro_call: Vec<String>,
    #[session(default = Some(3))]
    option: Option<u8>,
    #[session(default = std::time::Duration::from_secs(5))]
    no_default_impl_needed: std::time::Duration,
}

/// A type without `Default` is fine with `default = expr`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Level(u8);

#[derive(TypedSession)]
struct Game {
    #[session(default = Level(1))]
    level: Level,
}

fn main() {
    assert_eq!(Defaults::KEYS_LEN, 7);
    assert_eq!(GameSession::KEYS, ["level"]);
}

impl Defaults {
    const KEYS_LEN: usize = DefaultsSession::KEYS.len();
}
