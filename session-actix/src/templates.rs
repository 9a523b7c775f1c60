//! The session in templates: read-only values for any serde-based engine
//! (tera, handlebars, askama ...) and, with the `minijinja` feature, objects
//! with the seed frameworks' helpers.
//!
//! Both are taken from a [`Session`] in the handler and are a snapshot: a
//! template reads, it never writes or commits. Taking the `Session` is what
//! counts as reading the flash messages (they are consumed as in any request
//! that takes it), and building the values creates the session's CSRF token
//! if it has none yet (see [`Session::csrf_token`]), so the page's forms can
//! carry it; that stores the session.
//!
//! Escaping is the engine's: every value is plain data, except `csrf_field`,
//! a complete hidden `<input>` marked safe (its token is base64url, and is
//! escaped anyway).
//!
//! # tera and other serde-based engines
//!
//! [`values`] is `Serialize`: `session` (the data, dotted keys nested),
//! `flash_messages` (`values`, `messages` and `old`, see
//! [`FlashMessages`]), `user_id` (the user signed in with
//! [`Session::login`], or null), `csrf_token` and `csrf_field`.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use session_actix::{templates, Session};
//!
//! # let session = Session::detached();
//! session.put("user", "ada")?;
//! session.login(7)?;
//! let mut tera = tera::Tera::default();
//! tera.add_raw_template(
//!     "page",
//!     r#"{% if session.user %}Hi {{ session.user }} (#{{ user_id }}){% endif %}
//! {% for m in flash_messages.messages %}<p class="flash {{ m.level }}">{{ m.text }}</p>{% endfor %}
//! <form method="post">{{ csrf_field | safe }}<input name="title" value="{{ flash_messages.old.title | default(value='') }}"></form>"#,
//! )?;
//! let context = tera::Context::from_serialize(templates::values(&session)?)?;
//! let html = tera.render("page", &context)?;
//! assert!(html.starts_with("Hi ada (#7)"));
//! assert!(html.contains(r#"<input type="hidden" name="_csrf" value=""#));
//! # Ok(()) }
//! ```

use serde::Serialize;

use crate::{FlashMessages, ReadonlySession, Session, SessionError};

/// What [`values`] gives a template engine; see the [module docs](self).
#[derive(Debug, Serialize)]
pub struct TemplateValues {
    session: ReadonlySession,
    user_id: Option<String>,
    flash_messages: FlashMessages,
    csrf_token: String,
    csrf_field: String,
}

/// The session's data, flash messages and CSRF token as `Serialize` values
/// for a template; see the [module docs](self).
pub fn values(session: &Session) -> Result<TemplateValues, SessionError> {
    let csrf_token = session.csrf_token()?;
    Ok(TemplateValues {
        session: ReadonlySession::clone(session),
        user_id: session.user_id(),
        flash_messages: session.flash_messages(),
        csrf_field: csrf_field(&csrf_token),
        csrf_token,
    })
}

/// The hidden form field that carries `token`.
fn csrf_field(token: &str) -> String {
    let mut escaped = String::with_capacity(token.len());
    for c in token.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    format!(r#"<input type="hidden" name="_csrf" value="{escaped}">"#)
}

#[cfg(feature = "minijinja")]
pub use self::minijinja::context as minijinja_context;

#[cfg(feature = "minijinja")]
mod minijinja {
    use std::fmt;
    use std::sync::Arc;

    use minijinja::value::{Enumerator, Object, Value};
    use minijinja::{Error, ErrorKind, State};
    use serde_json::{Map, Value as Json};

    use crate::{FlashMessages, Level, Session, SessionError};

    /// The session for a minijinja template: a map with `session`,
    /// `flash_messages`, `csrf_token()` and `csrf_field()`, to merge into the
    /// page's own context.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use minijinja::{context, Environment};
    /// use session_actix::{templates, Session};
    ///
    /// # let session = Session::detached();
    /// session.put("user", "ada")?;
    /// session.login("ada@example.com")?;
    /// session.flash_now("title", "Welcome")?;
    /// let env = Environment::new();
    /// let page = env.template_from_str(
    ///     "{% if session.has('user') %}{{ session.get('user') }}{% endif %} \
    ///      {{ user_id }} {{ flash_messages.get('title', 'default') }} {{ page }}",
    /// )?;
    /// let html = page.render(context! { page => "home", ..templates::minijinja_context(&session)? })?;
    /// assert_eq!(html, "ada ada@example.com Welcome home");
    /// # Ok(()) }
    /// ```
    ///
    /// In the template:
    ///
    /// | expression | gives |
    /// | --- | --- |
    /// | `session.has('user')`, `session.get('user')`, `session.get('cart', [])`, `session.all()`, `session.user` | the session data |
    /// | `flash_messages.get('errors.title')`, `flash_messages.get('title', 'default')`, `flash_messages.has('notice')`, `flash_messages.all()` | values flashed by key (dotted paths reach into objects) |
    /// | `flash_messages.messages()`, `flash_messages.messages('error')` | the levelled messages, each with `level` and `text` |
    /// | `flash_messages.old('title')`, `flash_messages.old('title', '')` | old form input |
    /// | `csrf_token()`, `csrf_field()` | the masked CSRF token; a complete hidden `_csrf` input |
    /// | `user_id` | the user signed in with `Session::login`, or none |
    pub fn context(session: &Session) -> Result<Value, SessionError> {
        let token = session.csrf_token()?;
        let field = Value::from_safe_string(super::csrf_field(&token));
        let token = Value::from(token);
        Ok(minijinja::context! {
            session => Value::from_object(SessionObject(session.all())),
            user_id => session.user_id(),
            flash_messages => Value::from_object(FlashObject(session.flash_messages())),
            csrf_token => Value::from_function(move || token.clone()),
            csrf_field => Value::from_function(move || field.clone()),
        })
    }

    /// `(key)` or `(key, default)`.
    fn key_and_default<'a>(method: &str, args: &'a [Value]) -> Result<(&'a str, Value), Error> {
        match args {
            [key] | [key, _] => {
                let key = key.as_str().ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("{method}() takes a string key"),
                    )
                })?;
                Ok((key, args.get(1).cloned().unwrap_or(Value::UNDEFINED)))
            }
            _ => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("{method}() takes a key and an optional default"),
            )),
        }
    }

    fn found(value: Option<&Json>, default: Value) -> Value {
        match value {
            None | Some(Json::Null) => default,
            Some(v) => Value::from_serialize(v),
        }
    }

    fn unknown(what: &str, method: &str) -> Error {
        Error::new(
            ErrorKind::UnknownMethod,
            format!("{what} has no method {method}()"),
        )
    }

    #[derive(Debug)]
    struct SessionObject(Map<String, Json>);

    impl fmt::Display for SessionObject {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("[session]")
        }
    }

    impl Object for SessionObject {
        fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
            self.0.get(key.as_str()?).map(Value::from_serialize)
        }

        fn enumerate(self: &Arc<Self>) -> Enumerator {
            let keys: Vec<Value> = self.0.keys().map(|k| Value::from(k.as_str())).collect();
            Enumerator::Values(keys)
        }

        fn call_method(
            self: &Arc<Self>,
            _: &State<'_, '_>,
            method: &str,
            args: &[Value],
        ) -> Result<Value, Error> {
            match method {
                "get" => {
                    let (key, default) = key_and_default(method, args)?;
                    Ok(found(self.0.get(key), default))
                }
                "has" => {
                    let (key, _) = key_and_default(method, args)?;
                    Ok(Value::from(self.0.contains_key(key)))
                }
                "all" => Ok(Value::from_serialize(&self.0)),
                _ => Err(unknown("session", method)),
            }
        }
    }

    #[derive(Debug)]
    struct FlashObject(FlashMessages);

    impl fmt::Display for FlashObject {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("[flash_messages]")
        }
    }

    impl Object for FlashObject {
        fn call_method(
            self: &Arc<Self>,
            _: &State<'_, '_>,
            method: &str,
            args: &[Value],
        ) -> Result<Value, Error> {
            let flash = &self.0;
            match method {
                "get" => {
                    let (path, default) = key_and_default(method, args)?;
                    Ok(found(
                        flash.get::<Json>(path).ok().flatten().as_ref(),
                        default,
                    ))
                }
                "has" => {
                    let (path, _) = key_and_default(method, args)?;
                    Ok(Value::from(flash.has(path)))
                }
                "all" => Ok(Value::from_serialize(flash.all())),
                "old" => {
                    let (field, default) = key_and_default(method, args)?;
                    Ok(found(
                        flash.old::<Json>(field).ok().flatten().as_ref(),
                        default,
                    ))
                }
                "messages" => match args {
                    [] => Ok(Value::from_serialize(flash.messages())),
                    [level] => {
                        let level: Level = level
                            .as_str()
                            .and_then(|l| serde_json::from_value(Json::from(l)).ok())
                            .ok_or_else(|| {
                                Error::new(
                                    ErrorKind::InvalidOperation,
                                    "messages() takes one of 'success', 'info', 'warning', 'error'",
                                )
                            })?;
                        let of_level: Vec<_> = flash.messages_at(level).collect();
                        Ok(Value::from_serialize(of_level))
                    }
                    _ => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "messages() takes at most a level",
                    )),
                },
                _ => Err(unknown("flash_messages", method)),
            }
        }
    }
}
