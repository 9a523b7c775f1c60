//! The views take the struct's visibility, and every generated public item
//! is documented.
#![deny(warnings, missing_docs)]
//! A crate using typed sessions.

use session_actix::TypedSession;

/// Private to a module except what it exports.
pub mod shop {
    use super::TypedSession;

    /// A public struct: public views.
    #[derive(TypedSession)]
    #[session(namespace = "cart")]
    pub struct Cart {
        /// Items.
        pub items: Vec<String>,
        /// Private in the struct, but the view's accessor is public.
        total: u32,
    }

    impl Cart {
        /// The total.
        pub fn total(&self) -> u32 {
            self.total
        }
    }

    #[derive(TypedSession)]
    pub(crate) struct Internal {
        pub(crate) flag: bool,
    }

    #[derive(TypedSession)]
    struct Private {
        n: u8,
    }

    pub(crate) fn private_keys() -> &'static [&'static str] {
        let _ = ReadonlyPrivateSession::n;
        PrivateSession::KEYS
    }
}

fn main() {
    assert_eq!(shop::CartSession::KEYS, ["cart.items", "cart.total"]);
    let _ = shop::ReadonlyCartSession::total;
    let _ = shop::ReadonlyCartSession::new;
    let _ = |s: &shop::InternalSession| s.set_flag(true);
    let _ = |c: shop::Cart| c.total();
    assert_eq!(shop::private_keys(), ["n"]);
}
