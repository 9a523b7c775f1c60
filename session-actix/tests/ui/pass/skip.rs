//! `skip`: no key and no accessors; the type needs only `Default`.
#![deny(warnings)]

use session_actix::TypedSession;

/// Neither `Serialize` nor `Deserialize`.
#[derive(Default)]
struct Cache(#[allow(dead_code)] Vec<u8>);

#[derive(TypedSession)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<String>,
    #[session(skip)]
    cache: Cache,
}

#[derive(TypedSession)]
struct OnlySkipped {
    #[session(skip)]
    cache: Cache,
}

#[derive(TypedSession)]
struct Empty {}

fn main() {
    assert_eq!(CartSession::KEYS, ["cart.items"]);
    assert!(OnlySkippedSession::KEYS.is_empty());
    assert!(EmptySession::KEYS.is_empty());
    let _ = |c: Cart| c.cache;
    let _ = |c: OnlySkipped| c.cache;
}
