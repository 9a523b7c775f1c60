//! Flash messages on [`Session`]. The rules (what is visible when, what
//! consumes a message) are in [`session_core::FlashMessages`]'s module docs
//! and the crate docs.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use session_core::FlashMessage;

use crate::error::Error;
use crate::session::Session;

impl Session {
    /// The flash messages visible in this request: what the previous request
    /// that used the session flashed, plus this request's `flash_now`.
    ///
    /// ```
    /// use session_actix::Session;
    ///
    /// async fn show(session: Session) -> actix_web::Result<String> {
    ///     let flash = session.flash_messages();
    ///     Ok(flash.get_or("notice", String::new())?)
    /// }
    /// ```
    pub fn flash_messages(&self) -> FlashMessages {
        FlashMessages(self.core().flash_messages())
    }

    /// Flashes `value` under `key` for the next request that uses the session.
    ///
    /// ```
    /// use actix_web::{http::header, HttpResponse};
    /// use session_actix::Session;
    ///
    /// async fn save(session: Session) -> actix_web::Result<HttpResponse> {
    ///     session.flash("notice", "Post saved")?;
    ///     Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/posts")).finish())
    /// }
    /// ```
    pub fn flash<T: Serialize>(&self, key: impl Into<String>, value: T) -> Result<(), Error> {
        Ok(self.core().flash(key, value)?)
    }

    /// Flashes every top-level field of a map or a `Serialize` struct.
    pub fn flash_many(&self, values: impl Serialize) -> Result<(), Error> {
        Ok(self.core().flash_many(values)?)
    }

    /// Flashes every field of a form or JSON input (old input for a form
    /// shown again after a redirect).
    pub fn flash_all(&self, input: impl Serialize) -> Result<(), Error> {
        Ok(self.core().flash_all(input)?)
    }

    /// Flashes only the named fields of `input`.
    pub fn flash_only(&self, input: impl Serialize, fields: &[&str]) -> Result<(), Error> {
        Ok(self.core().flash_only(input, fields)?)
    }

    /// Flashes every field of `input` but the named ones.
    pub fn flash_except(&self, input: impl Serialize, fields: &[&str]) -> Result<(), Error> {
        Ok(self.core().flash_except(input, fields)?)
    }

    /// Makes `value` visible under `key` in this request only.
    pub fn flash_now<T: Serialize>(&self, key: impl Into<String>, value: T) -> Result<(), Error> {
        Ok(self.core().flash_now(key, value)?)
    }

    /// Flashes a success message.
    pub fn flash_success(&self, text: impl Into<String>) -> Result<(), Error> {
        Ok(self.core().flash_success(text)?)
    }

    /// Flashes an info message.
    pub fn flash_info(&self, text: impl Into<String>) -> Result<(), Error> {
        Ok(self.core().flash_info(text)?)
    }

    /// Flashes a warning message.
    pub fn flash_warning(&self, text: impl Into<String>) -> Result<(), Error> {
        Ok(self.core().flash_warning(text)?)
    }

    /// Flashes an error message.
    pub fn flash_error(&self, text: impl Into<String>) -> Result<(), Error> {
        Ok(self.core().flash_error(text)?)
    }

    /// Keeps every incoming message for one more request.
    pub fn reflash(&self) -> Result<(), Error> {
        Ok(self.core().reflash()?)
    }

    /// Keeps only the named incoming messages for one more request.
    pub fn reflash_only(&self, keys: &[&str]) -> Result<(), Error> {
        Ok(self.core().reflash_only(keys)?)
    }

    /// Keeps every incoming message but the named ones for one more request.
    pub fn reflash_except(&self, keys: &[&str]) -> Result<(), Error> {
        Ok(self.core().reflash_except(keys)?)
    }

    /// Keeps one incoming message for one more request.
    pub fn keep(&self, key: &str) -> Result<(), Error> {
        Ok(self.core().keep(key)?)
    }

    /// Drops all flash messages, incoming and outgoing, leaving the data.
    pub fn clear_flash(&self) -> Result<(), Error> {
        Ok(self.core().clear_flash()?)
    }
}

/// The flash messages visible in this request, from
/// [`Session::flash_messages`]: an owned snapshot. Its errors convert into
/// `actix_web::Error`, so `?` works in handlers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlashMessages(session_core::FlashMessages);

impl FlashMessages {
    /// The value at `path`: a key, or a dotted path into nested objects and
    /// arrays (`errors.title`, `items.0`). An exact key wins over a path.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Error> {
        Ok(self.0.get(path)?)
    }

    /// The value at `path`, or `default` when absent or null.
    pub fn get_or<T: DeserializeOwned>(&self, path: &str, default: T) -> Result<T, Error> {
        Ok(self.0.get_or(path, default)?)
    }

    /// Whether something is at `path`.
    pub fn has(&self, path: &str) -> bool {
        self.0.has(path)
    }

    /// Every visible message, key to value.
    pub fn all(&self) -> &Map<String, Value> {
        self.0.all()
    }

    /// Whether no message is visible.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The level messages (success, info, warning, error), in order.
    pub fn messages(&self) -> Vec<FlashMessage> {
        self.0.messages()
    }
}
