//! `rename`: the key uses the new name; the accessors keep the field name.
#![deny(warnings)]

use session_actix::TypedSession;

#[derive(TypedSession)]
#[session(namespace = "cart")]
struct Cart {
    #[session(rename = "c")]
    coupon: Option<String>,
    #[session(rename = "user.id")]
    user_id: u64,
    // A field may take a key another field's name would have had.
    #[session(rename = "coupon")]
    legacy: Option<String>,
}

#[derive(TypedSession)]
struct Flat {
    #[session(rename = "uid")]
    user_id: u64,
}

fn main() {
    assert_eq!(CartSession::KEYS, ["cart.c", "cart.user.id", "cart.coupon"]);
    assert_eq!(FlatSession::KEYS, ["uid"]);
    let _ = ReadonlyCartSession::coupon;
    let _ = |c: &CartSession| c.set_user_id(7);
    let _ = FlatSession::forget_user_id;
}
