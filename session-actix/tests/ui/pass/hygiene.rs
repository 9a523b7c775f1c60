//! Generated code uses absolute paths: local items named like std's or like
//! session_actix's do not break it.
#![deny(warnings)]
#![allow(dead_code, non_camel_case_types)]

use ::session_actix::TypedSession;

// Shadow everything a careless expansion might name without a path.
struct Result;
struct Option;
struct Some;
struct None;
struct Ok;
struct Err;
struct Default;
struct Error;
struct Session;
struct ReadonlySession;
struct FromRequest;
mod core {}
mod std {}
mod session_actix {}

#[derive(TypedSession)]
#[session(namespace = "h")]
struct Hygiene {
    value: ::std::vec::Vec<::std::string::String>,
    session_: ::std::option::Option<u8>,
    #[session(skip)]
    view: u8,
}

fn main() {
    assert_eq!(HygieneSession::KEYS, ["h.value", "h.session_"]);
}
