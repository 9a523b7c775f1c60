//! Step 1: parse the derive input and its `#[session(...)]` attributes into a
//! model. Only syntax is checked here (shape of the item, known attribute
//! names, well-formed values); the rules between attributes live in
//! `valid.rs`.

use syn::meta::ParseNestedMeta;
use syn::{Attribute, Data, DeriveInput, Expr, Fields, Generics, Ident, Lit, LitStr, Path, Token};
use syn::{Type, Visibility};

use crate::ctxt::Ctxt;

/// The struct the derive is on.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) generics: &'a Generics,
    /// `#[session(namespace = "...")]`.
    pub(crate) namespace: Option<LitStr>,
    /// `#[session(crate = "...")]`: where `session_actix` is.
    pub(crate) krate: Option<Path>,
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field.
pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    /// The field's own `///` lines, repeated on its getter.
    pub(crate) docs: Vec<&'a Attribute>,
    /// `#[session(rename = "...")]`.
    pub(crate) rename: Option<LitStr>,
    /// `#[session(default)]` or `#[session(default = expr)]`.
    pub(crate) default: Option<FieldDefault>,
    /// `#[session(skip)]`: the `skip` token, kept for error spans.
    pub(crate) skip: Option<Path>,
}

/// What a getter returns when the key is absent.
pub(crate) enum FieldDefault {
    /// `default`: `Default::default()` (also what no attribute means).
    Trait(Path),
    /// `default = expr`.
    Expr(Path, Box<Expr>),
}

impl FieldDefault {
    /// The `default` token.
    pub(crate) fn path(&self) -> &Path {
        match self {
            FieldDefault::Trait(p) | FieldDefault::Expr(p, _) => p,
        }
    }
}

const FIELD_ATTRS: &str = "`rename = \"key\"`, `default`, `default = expr` or `skip`";
const STRUCT_ATTRS: &str = "`namespace = \"name\"` or `crate = \"path::to::session_actix\"`";

/// Parses `input`, recording every problem in `cx`. `None` when the item is
/// not a struct with named fields (there is nothing to expand then).
pub(crate) fn parse<'a>(cx: &mut Ctxt, input: &'a DeriveInput) -> Option<Input<'a>> {
    let (namespace, krate) = struct_attrs(cx, &input.attrs);
    let ident = &input.ident;
    let named = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => Some(named),
            Fields::Unnamed(fields) => {
                cx.error(
                    fields,
                    "`TypedSession` needs named fields: each field name is a session key; write `struct Name { field: Type }`",
                );
                None
            }
            Fields::Unit => {
                cx.error(
                    {
                        let struct_token = s.struct_token;
                        quote::quote!(#struct_token #ident)
                    },
                    "`TypedSession` needs named fields: a unit struct has nothing to keep in the session; write `struct Name { field: Type }`",
                );
                None
            }
        },
        Data::Enum(e) => {
            cx.error(
                {
                    let enum_token = e.enum_token;
                    quote::quote!(#enum_token #ident)
                },
                "`TypedSession` can only be derived for a struct with named fields, not an enum: each field name is a session key",
            );
            None
        }
        Data::Union(u) => {
            cx.error(
                {
                    let union_token = u.union_token;
                    quote::quote!(#union_token #ident)
                },
                "`TypedSession` can only be derived for a struct with named fields, not a union",
            );
            None
        }
    }?;
    let fields = named
        .named
        .iter()
        .map(|f| {
            let (rename, default, skip) = field_attrs(cx, &f.attrs);
            Field {
                ident: f.ident.as_ref().expect("named fields have names"),
                ty: &f.ty,
                docs: f
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("doc"))
                    .collect(),
                rename,
                default,
                skip,
            }
        })
        .collect();
    Some(Input {
        ident,
        vis: &input.vis,
        generics: &input.generics,
        namespace,
        krate,
        fields,
    })
}

/// The `#[session(...)]` attributes on the struct.
fn struct_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> (Option<LitStr>, Option<Path>) {
    let mut namespace = None;
    let mut krate = None;
    for attr in session_attrs(cx, attrs) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("namespace") {
                if let Some(lit) = string_value(cx, &meta, "namespace = \"cart\"")? {
                    set_once(cx, &mut namespace, &meta.path, lit);
                }
            } else if meta.path.is_ident("crate") {
                if let Some(lit) = string_value(cx, &meta, "crate = \"my_sessions\"")? {
                    match lit.parse::<Path>() {
                        Ok(path) => set_once(cx, &mut krate, &meta.path, path),
                        Err(_) => cx.error(
                            &lit,
                            "`crate` needs a path to session_actix, as in `crate = \"my_sessions\"`",
                        ),
                    }
                }
            } else {
                let name = path_name(&meta.path);
                let hint = match name.as_str() {
                    "rename" | "default" | "skip" => {
                        format!("`{name}` is a field attribute; on the struct use {STRUCT_ATTRS}")
                    }
                    _ => format!("unknown session attribute `{name}` on a struct; expected {STRUCT_ATTRS}"),
                };
                cx.error(&meta.path, hint);
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = parsed {
            cx.push(e);
        }
    }
    (namespace, krate)
}

type FieldAttrs = (Option<LitStr>, Option<FieldDefault>, Option<Path>);

/// The `#[session(...)]` attributes on one field.
fn field_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut rename = None;
    let mut default = None;
    let mut skip = None;
    for attr in session_attrs(cx, attrs) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                if let Some(lit) = string_value(cx, &meta, "rename = \"key\"")? {
                    set_once(cx, &mut rename, &meta.path, lit);
                }
            } else if meta.path.is_ident("default") {
                let value = if meta.input.peek(Token![=]) {
                    let expr: Expr = meta.value()?.parse()?;
                    FieldDefault::Expr(meta.path.clone(), Box::new(expr))
                } else {
                    no_value(cx, &meta, "`default` alone means `Default::default()`; for another value write `default = expr`")?;
                    FieldDefault::Trait(meta.path.clone())
                };
                set_once(cx, &mut default, &meta.path, value);
            } else if meta.path.is_ident("skip") {
                no_value(cx, &meta, "`skip` takes no value; write `#[session(skip)]`")?;
                set_once(cx, &mut skip, &meta.path, meta.path.clone());
            } else {
                let name = path_name(&meta.path);
                let hint = match name.as_str() {
                    "namespace" | "crate" => {
                        format!("`{name}` is a struct attribute; on a field use {FIELD_ATTRS}")
                    }
                    _ => format!("unknown session attribute `{name}` on a field; expected {FIELD_ATTRS}"),
                };
                cx.error(&meta.path, hint);
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = parsed {
            cx.push(e);
        }
    }
    (rename, default, skip)
}

/// The `#[session(...)]` attributes in `attrs`; `#[session]` and
/// `#[session = ...]` are errors.
fn session_attrs<'a>(cx: &mut Ctxt, attrs: &'a [Attribute]) -> Vec<&'a Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("session"))
        .filter(|a| match a.meta.require_list() {
            Ok(_) => true,
            Err(_) => {
                cx.error(
                    a,
                    "expected `#[session(...)]` with arguments in parentheses",
                );
                false
            }
        })
        .collect()
}

/// `name = "string"`. A value that is not a string literal is recorded and
/// skipped (`Ok(None)`) so the rest of the attribute is still checked.
fn string_value(
    cx: &mut Ctxt,
    meta: &ParseNestedMeta,
    example: &str,
) -> syn::Result<Option<LitStr>> {
    let name = path_name(&meta.path);
    if !meta.input.peek(Token![=]) {
        cx.push(meta.error(format!("`{name}` needs a value: `{example}`")));
        skip_value(meta)?;
        return Ok(None);
    }
    let expr: Expr = meta.value()?.parse()?;
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(Some(lit)),
        other => {
            cx.error(
                other,
                format!("`{name}` takes a string literal, as in `{example}`"),
            );
            Ok(None)
        }
    }
}

/// A flag like `skip`: a value after it is recorded and skipped.
fn no_value(cx: &mut Ctxt, meta: &ParseNestedMeta, msg: &str) -> syn::Result<()> {
    let value = skip_value(meta)?;
    if !value.is_empty() {
        cx.error(value, msg);
    }
    Ok(())
}

/// Consumes `= expr` or `(...)` after an attribute name, if present, and
/// returns what it consumed.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<proc_macro2::TokenStream> {
    let mut tokens = proc_macro2::TokenStream::new();
    if meta.input.peek(Token![=]) {
        let eq: Token![=] = meta.input.parse()?;
        let expr: Expr = meta.input.parse()?;
        tokens.extend(quote::quote!(#eq #expr));
    } else if meta.input.peek(syn::token::Paren) {
        let group: proc_macro2::Group = meta.input.parse()?;
        tokens.extend(quote::quote!(#group));
    }
    Ok(tokens)
}

/// Stores `value` unless the attribute was already given.
fn set_once<T>(cx: &mut Ctxt, slot: &mut Option<T>, path: &Path, value: T) {
    if slot.is_some() {
        cx.error(
            path,
            format!("duplicate session attribute `{}`", path_name(path)),
        );
    } else {
        *slot = Some(value);
    }
}

fn path_name(path: &Path) -> String {
    quote::ToTokens::to_token_stream(path)
        .to_string()
        .replace(' ', "")
}

/// The generics and where clause, for an error that covers them.
pub(crate) fn generics_tokens(generics: &Generics) -> proc_macro2::TokenStream {
    let where_clause = &generics.where_clause;
    quote::quote!(#generics #where_clause)
}
