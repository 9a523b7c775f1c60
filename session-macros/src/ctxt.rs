//! Error collection: every step records its errors here and keeps going, so
//! one compile shows every mistake in the derive input, not just the first.

use std::fmt::Display;

use quote::ToTokens;

/// The errors found so far.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records an error that points at `tokens`.
    pub(crate) fn error(&mut self, tokens: impl ToTokens, msg: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, msg));
    }

    /// Records an error syn (or we) already built.
    pub(crate) fn push(&mut self, err: syn::Error) {
        self.errors.push(err);
    }

    /// All errors as one, or `Ok` when there are none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        let mut errors = self.errors.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                for e in errors {
                    first.combine(e);
                }
                Err(first)
            }
        }
    }
}
