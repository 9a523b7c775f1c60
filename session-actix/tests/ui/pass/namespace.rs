//! `namespace`: every key is `namespace.field`.
#![deny(warnings)]

use session_actix::TypedSession;

#[derive(TypedSession)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<String>,
    total: u32,
}

#[derive(TypedSession)]
#[session(namespace = "shop.cart.v2")]
struct Versioned {
    items: Vec<String>,
}

fn main() {
    assert_eq!(CartSession::KEYS, ["cart.items", "cart.total"]);
    assert_eq!(VersionedSession::KEYS, ["shop.cart.v2.items"]);
}
