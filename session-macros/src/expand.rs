//! Step 3: generate the views from a checked model.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::attr::{Field, FieldDefault, Input};
use crate::valid::key;

/// The two view types and their impls.
pub(crate) fn expand(input: &Input) -> TokenStream {
    let krate = match &input.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::session_actix),
    };
    // Paths for intra-doc links, which take no leading `::`.
    let krate_doc = match &input.krate {
        Some(path) => tidy(path.to_token_stream().to_string()),
        None => "session_actix".to_owned(),
    };
    let krate_doc = krate_doc.trim_start_matches("::");
    let ident = input.ident;
    let name = ident.unraw().to_string();
    let vis = input.vis;
    let view = format_ident!("{}Session", ident.unraw());
    let ro_view = format_ident!("Readonly{}Session", ident.unraw());
    let result = quote!(::core::result::Result);
    // Local names with mixed-site hygiene. Parameter names show in rustdoc
    // and stay readable; names only used inside bodies are `__`-prefixed, so
    // that a (lowercase) constant in the user's module is very unlikely to
    // turn one of them into a constant pattern.
    let value = Ident::new("value", Span::mixed_site());
    let session = Ident::new("session", Span::mixed_site());
    let req = Ident::new("req", Span::mixed_site());
    let found = Ident::new("__found", Span::mixed_site());
    let error = quote!(#krate::SessionError);

    let stored: Vec<&Field> = input.fields.iter().filter(|f| f.skip.is_none()).collect();
    let keys: Vec<String> = stored.iter().map(|f| key(input, f)).collect();

    let accessors = stored.iter().zip(&keys).map(|(field, key)| {
        let getter = field.ident;
        let field_name = field.ident.unraw();
        let set = format_ident!("set_{}", field_name);
        let forget = format_ident!("forget_{}", field_name);
        let ty = field.ty;
        let (default, default_doc) = match &field.default {
            Some(FieldDefault::Expr(_, expr)) => (
                expr.to_token_stream(),
                format!("`{}`", tidy(expr.to_token_stream().to_string())),
            ),
            _ => (
                // Spanned on the field type: a type without `Default` is
                // reported there.
                quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default()),
                "`Default::default()`".to_owned(),
            ),
        };
        // Spanned on the field type, so that a type that is not
        // `Serialize` is reported there (as `get::<#ty>` reports one that is
        // not `Deserialize`).
        let put = quote_spanned!(ty.span()=> #krate::Session::put::<&#ty>);
        let get_doc = format!(
            " Reads `{field_name}` from the session key `{key}`; {default_doc} when the key is absent."
        );
        let field_docs = &field.docs;
        let field_docs = if field_docs.is_empty() {
            quote!()
        } else {
            quote!(#[doc = ""] #(#field_docs)*)
        };
        let set_doc = format!(" Stores `{field_name}` under the session key `{key}`.");
        let forget_doc = format!(
            " Removes the session key `{key}`, so [`{getter}`](Self::{getter}) returns {default_doc} again.",
            getter = field.ident
        );
        let getter_fn = quote! {
            #[doc = #get_doc]
            #field_docs
            #vis fn #getter(&self) -> #result<#ty, #error> {
                #result::Ok(match #krate::ReadonlySession::get::<#ty>(&self.session, #key)? {
                    ::core::option::Option::Some(#found) => #found,
                    ::core::option::Option::None => #default,
                })
            }
        };
        let writer_fns = quote! {
            #[doc = #set_doc]
            #vis fn #set(&self, #value: impl ::core::borrow::Borrow<#ty>) -> #result<(), #error> {
                #put(
                    &self.session,
                    #key,
                    ::core::borrow::Borrow::<#ty>::borrow(&#value),
                )
            }

            #[doc = #forget_doc]
            #vis fn #forget(&self) -> #result<(), #error> {
                #krate::Session::forget(&self.session, #key)
            }
        };
        (getter_fn, writer_fns)
    });
    let (getters, writers): (Vec<TokenStream>, Vec<TokenStream>) = accessors.unzip();

    let load_fields = input.fields.iter().map(|field| {
        let ident = field.ident;
        let ty = field.ty;
        if field.skip.is_some() {
            quote_spanned!(ty.span()=> #ident: <#ty as ::core::default::Default>::default())
        } else {
            quote!(#ident: self.#ident()?)
        }
    });
    // Every field is serialized before any is stored, so a field that cannot
    // be stored leaves the session as it was.
    let save_fields = stored.iter().zip(&keys).map(|(field, key)| {
        let ident = field.ident;
        let ty = field.ty;
        quote_spanned!(ty.span()=> #krate::__private::prepare_put::<&#ty>(#key, &#value.#ident)?,)
    });
    let forget_fields = stored.iter().map(|field| {
        let forget = format_ident!("forget_{}", field.ident.unraw());
        quote!(self.#forget()?;)
    });

    let table: String = input
        .fields
        .iter()
        .map(|field| {
            let field_name = field.ident.unraw();
            if field.skip.is_some() {
                return format!(
                    "\n| `{field_name}` | not stored (`skip`) | `Default::default()` in `load()` |"
                );
            }
            let when_absent = match &field.default {
                Some(FieldDefault::Expr(_, expr)) => {
                    format!("`{}`", tidy(expr.to_token_stream().to_string()))
                }
                _ => "`Default::default()`".to_owned(),
            };
            format!(
                "\n| `{field_name}` | `{}` | {when_absent} |",
                key(input, field)
            )
        })
        .collect();
    let view_doc = format!(
        " A typed view of the session for [`{name}`], generated by `#[derive(TypedSession)]`.\n\n\
         Take it as a handler argument (it loads the session like \
         [`Session`]({krate_doc}::Session)), or wrap a session with \
         [`{view}::new`]. Each accessor is one read or write of the untyped \
         session under the key below; writes are committed with the rest of \
         the request's session changes. Errors are \
         [`SessionError`]({krate_doc}::SessionError) (a 500 with `?`). The \
         reading methods are those of [`{ro_view}`], the read-only twin, \
         which this view derefs to.\n\n\
         | field | session key | when absent |\n| --- | --- | --- |{table}"
    );
    let ro_doc = format!(
        " A read-only typed view of the session for [`{name}`], generated by \
         `#[derive(TypedSession)]`.\n\n\
         It has the reading methods only (one getter per field, `load`); \
         nothing leads from it to a writable view, so a write through it does \
         not compile. Like [`ReadonlySession`]({krate_doc}::ReadonlySession), \
         a request that takes only this never commits the session. \
         [`{view}`] derefs to it."
    );
    let keys_doc = format!(
        " The session keys of [`{name}`]'s stored fields, in declaration order: {}.",
        if keys.is_empty() {
            "none".to_owned()
        } else {
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let load_doc = format!(
        " Reads a whole [`{name}`]: one read per stored field; absent fields take their \
         defaults and skipped fields `Default::default()`."
    );
    let save_doc = " Writes every stored field of `value`; skipped fields are not written. \
         All or nothing: every field is serialized first, and if one cannot be stored \
         (it does not serialize, or nests too deep) the session is left as it was.";
    let forget_doc = format!(
        " Removes every session key of [`{name}`] (see [`KEYS`](Self::KEYS)); other \
         session data stays."
    );

    // Both views are extractors, each of its own session handle.
    let extractors = [
        (&view, quote!(Session)),
        (&ro_view, quote!(ReadonlySession)),
    ]
    .map(|(ty, handle)| {
        quote! {
            #[automatically_derived]
            impl #krate::__private::FromRequest for #ty {
                type Error = #error;
                type Future = #krate::__private::LocalBoxFuture<'static, #result<Self, #error>>;

                fn from_request(
                    #req: &#krate::__private::HttpRequest,
                    _: &mut #krate::__private::Payload,
                ) -> Self::Future {
                    #krate::__private::extract::<#krate::#handle, Self>(#req, Self::new)
                }
            }
        }
    });

    quote! {
        #[doc = #view_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #view {
            session: #krate::Session,
            read: #ro_view,
        }

        #[doc = #ro_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #ro_view {
            session: #krate::ReadonlySession,
        }

        const _: () = {
            // The struct may serve only as the schema of its view: `load`
            // builds it and `save` reads its fields, so neither the struct
            // nor its fields are dead code (as with serde's derives).
            const _: fn(&#ro_view) -> #result<#ident, #error> = #ro_view::load;
            const _: fn(&#view, &#ident) -> #result<(), #error> = #view::save;

            #[automatically_derived]
            impl #ro_view {
                #[doc = #keys_doc]
                #vis const KEYS: &'static [&'static str] = &[#(#keys),*];

                /// Wraps a read-only session handle: a `ReadonlySession`
                /// handler argument, `req.readonly_session().await`, or (in
                /// a unit test) `Session::detached().into()`.
                #vis fn new(#session: #krate::ReadonlySession) -> Self {
                    Self { session: #session }
                }

                /// The untyped read-only session underneath.
                #vis fn session(&self) -> &#krate::ReadonlySession {
                    &self.session
                }

                /// Unwraps the untyped read-only session.
                #vis fn into_session(self) -> #krate::ReadonlySession {
                    self.session
                }

                #[doc = #load_doc]
                #vis fn load(&self) -> #result<#ident, #error> {
                    #result::Ok(#ident {
                        #(#load_fields,)*
                    })
                }

                #(#getters)*
            }

            #[automatically_derived]
            impl #view {
                #[doc = #keys_doc]
                #vis const KEYS: &'static [&'static str] = #ro_view::KEYS;

                /// Wraps a session handle: a `Session` handler argument,
                /// `req.session().await` from `SessionExt`, or (in a unit
                /// test) `Session::detached()`.
                #vis fn new(#session: #krate::Session) -> Self {
                    Self {
                        read: #ro_view::new(#krate::ReadonlySession::from(
                            #krate::Session::clone(&#session),
                        )),
                        session: #session,
                    }
                }

                /// The untyped session underneath.
                #vis fn session(&self) -> &#krate::Session {
                    &self.session
                }

                /// Unwraps the untyped session.
                #vis fn into_session(self) -> #krate::Session {
                    self.session
                }

                #[doc = #save_doc]
                #vis fn save(&self, #value: &#ident) -> #result<(), #error> {
                    let prepared = [#(#save_fields)*];
                    #krate::Session::put_prepared(&self.session, prepared);
                    #result::Ok(())
                }

                #[doc = #forget_doc]
                #vis fn forget(&self) -> #result<(), #error> {
                    #(#forget_fields)*
                    #result::Ok(())
                }

                #(#writers)*
            }

            #[automatically_derived]
            impl ::core::ops::Deref for #view {
                type Target = #ro_view;

                fn deref(&self) -> &#ro_view {
                    &self.read
                }
            }

            #[automatically_derived]
            impl ::core::convert::From<#krate::Session> for #view {
                fn from(#session: #krate::Session) -> Self {
                    Self::new(#session)
                }
            }

            #[automatically_derived]
            impl ::core::convert::From<#krate::ReadonlySession> for #ro_view {
                fn from(#session: #krate::ReadonlySession) -> Self {
                    Self::new(#session)
                }
            }

            #[automatically_derived]
            impl ::core::convert::From<#view> for #ro_view {
                fn from(#value: #view) -> Self {
                    #value.read
                }
            }

            #(#extractors)*
        };
    }
}

/// Token text with the spaces `to_string` puts around punctuation removed,
/// for docs: `vec ! ["a" . into ()]` becomes `vec!["a".into()]`.
fn tidy(mut s: String) -> String {
    for (from, to) in [
        (" ! ", "!"),
        (" . ", "."),
        (" :: ", "::"),
        (":: ", "::"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (" ,", ","),
        (" < ", "<"),
        (" >", ">"),
    ] {
        s = s.replace(from, to);
    }
    s
}
