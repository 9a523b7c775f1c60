//! Step 2: the rules between attributes and fields. Every broken rule is
//! recorded; nothing is expanded if any was.

use std::collections::HashMap;

use syn::ext::IdentExt;

use crate::attr::{generics_tokens, Field, Input};
use crate::ctxt::Ctxt;

/// Methods (and the one constant) every view has; a field whose accessors
/// would take one of these names is an error.
pub(crate) const VIEW_ITEMS: &[(&str, &str)] = &[
    ("new", "the view's constructor"),
    ("session", "the view's `session()` accessor"),
    ("into_session", "the view's `into_session()`"),
    ("load", "the whole-struct `load()`"),
    ("save", "the whole-struct `save()`"),
    ("forget", "the whole-struct `forget()`"),
    ("KEYS", "the view's `KEYS` constant"),
];

/// Checks `input`, recording every problem in `cx`.
pub(crate) fn check(cx: &mut Ctxt, input: &Input) {
    let generics = input.generics;
    if generics.lifetimes().next().is_some() {
        cx.error(
            generics_tokens(generics),
            "`TypedSession` does not support lifetime parameters: values are loaded from the session as owned data; use owned field types (`String`, not `&str`)",
        );
    } else if !generics.params.is_empty() || generics.where_clause.is_some() {
        cx.error(
            generics_tokens(generics),
            "`TypedSession` does not support generic parameters: the view reads and writes concrete types; use concrete field types (a type alias works)",
        );
    }
    if let Some(ns) = &input.namespace {
        if ns.value().is_empty() {
            cx.error(
                ns,
                "the namespace must not be empty; remove `namespace` for keys without a prefix",
            );
        }
    }

    let mut keys: HashMap<String, &Field> = HashMap::new();
    let mut methods: HashMap<String, String> = VIEW_ITEMS
        .iter()
        .map(|(name, what)| (name.to_string(), what.to_string()))
        .collect();
    for field in &input.fields {
        if field.skip.is_some() {
            if let Some(default) = &field.default {
                cx.error(
                    default.path(),
                    "a skipped field is not in the session, so it has no default to fall back on; remove `default` (`load()` gives skipped fields `Default::default()`)",
                );
            }
            if let Some(rename) = &field.rename {
                cx.error(
                    rename,
                    "a skipped field has no session key to rename; remove `rename` or `skip`",
                );
            }
            continue;
        }
        if let Some(rename) = &field.rename {
            if rename.value().is_empty() {
                cx.error(rename, "`rename` must not be empty");
            }
        }

        let key = key(input, field);
        if let Some(other) = keys.get(&key) {
            let msg = format!(
                "duplicate session key {key:?}: field `{}` uses it too; give one of them another `rename`",
                other.ident.unraw()
            );
            match &field.rename {
                Some(rename) => cx.error(rename, msg),
                None => cx.error(field.ident, msg),
            }
        } else {
            keys.insert(key, field);
        }

        let name = field.ident.unraw().to_string();
        for (method, what) in [
            (name.clone(), format!("the getter of field `{name}`")),
            (
                format!("set_{name}"),
                format!("the setter of field `{name}`"),
            ),
            (
                format!("forget_{name}"),
                format!("the `forget_` of field `{name}`"),
            ),
        ] {
            if let Some(taken) = methods.get(&method) {
                let keep = if field.rename.is_some() {
                    "its session key comes from `rename` and stays".to_owned()
                } else {
                    format!("keep its session key with `#[session(rename = \"{name}\")]`")
                };
                cx.error(
                    field.ident,
                    format!(
                        "field `{name}` would generate `{method}`, which is already {taken}; rename the field ({keep})"
                    ),
                );
            } else {
                methods.insert(method, what);
            }
        }
    }
}

/// The session key of a (not skipped) field: `namespace.name` or `name`,
/// where `name` is the `rename` value or the field name.
pub(crate) fn key(input: &Input, field: &Field) -> String {
    let name = match &field.rename {
        Some(rename) => rename.value(),
        None => field.ident.unraw().to_string(),
    };
    match &input.namespace {
        Some(ns) => format!("{}.{name}", ns.value()),
        None => name,
    }
}
