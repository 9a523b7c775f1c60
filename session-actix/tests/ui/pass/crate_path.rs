//! `crate = "..."`: the generated code reaches session_actix by another path.
#![deny(warnings)]

/// A facade that re-exports session_actix, as a renamed dependency would.
mod facade {
    pub use session_actix::*;
}

#[derive(facade::TypedSession)]
#[session(crate = "facade", namespace = "f")]
struct Cart {
    items: Vec<String>,
}

fn main() {
    assert_eq!(CartSession::KEYS, ["f.items"]);
    let _: fn(facade::Session) -> CartSession = CartSession::new;
}
