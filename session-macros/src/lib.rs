#![doc = include_str!("docs/typed_session.md")]

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod attr;
mod ctxt;
mod expand;
mod valid;

#[doc = include_str!("docs/typed_session.md")]
#[proc_macro_derive(TypedSession, attributes(session))]
pub fn derive_typed_session(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Parse, validate, expand; every error of the first two steps is reported.
fn derive(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let mut cx = ctxt::Ctxt::default();
    let parsed = attr::parse(&mut cx, input);
    if let Some(parsed) = &parsed {
        valid::check(&mut cx, parsed);
    }
    cx.finish()?;
    Ok(expand::expand(
        &parsed.expect("no errors means the input was parsed"),
    ))
}
