//! The file driver: one file per session in a directory of its own.
//!
//! Enabled by the `file` cargo feature.
//!
//! # What is stored where
//!
//! Each session is one file in the configured directory, holding the record
//! as [`Record::encode`] writes it (a compact binary format; files written
//! by earlier releases, in JSON, are read, and rewritten on their next
//! save). Its name comes from a template, `sess_{id}` by default, in
//! which `{id}` is replaced by the SHA-256 of the session id in URL-safe
//! base64 (43 characters, like an id), so a directory
//! listing or a backup of it holds no usable session id. A name can never
//! point outside the directory. Beside each session file
//! the driver keeps a lock file (`.sess_{id}.lock`, on Unix) while the
//! session exists, and, only while a write is in flight, a temporary file
//! (`.sess_{id}.<pid>-<random>.tmp`). Files whose names the template does not
//! produce are never touched, but the directory should belong to the driver
//! alone.
//!
//! The directory is created with mode `0700` if it is missing (an existing
//! one is left as it is, with a warning if other users can enter it);
//! session, lock and temporary files are created with mode `0600`.
//!
//! # Settings
//!
//! - the directory ([`FileDriver::new`], [`FileDriver::builder`]);
//! - [`FileDriverBuilder::filename_template`]: the session file name, with
//!   `{id}` exactly once and no path separator, checked when the driver is
//!   built ([`FileDriverError`]).
//!
//! Expired files are removed by [`FileDriver::cleanup`], which a deployment
//! calls itself or runs every so often with [`FileDriver::spawn_cleanup`].
//!
//! # Guarantees
//!
//! - **Atomic writes.** A record is written to a temporary file in the same
//!   directory, flushed to disk (`fsync`), renamed over the session file, and
//!   the directory is flushed. A reader sees the old record or the new one,
//!   never part of one, and a crash or a full disk leaves no half-written
//!   session file; on a failed write the temporary file is removed.
//! - **Compare-and-set.** `create` (fail if a live record exists) and
//!   `update` (version check, then write) run under a per-session lock: an
//!   async mutex per session in this process, and on Unix an exclusive
//!   `flock(2)` on the session's lock file, so several processes (or several
//!   drivers) sharing one directory on one machine are safe too. On other
//!   systems only the in-process lock exists: use one process per directory.
//!   Reads take no lock.
//! - **Group commit.** The driver is
//!   [remote](crate::driver::SessionDriver::remote), so
//!   saves to one session from this process that arrive while one is
//!   running are written together by the next `update`, one file write per
//!   batch.
//! - **No resurrection.** `update` and `touch` of a session whose file is
//!   gone answer that it is gone and write nothing.
//! - **Expiry.** `load` never returns a record whose `expires_at` has passed.
//!   `create` and `update` judge whether an existing record is live at the
//!   new record's `last_active` (the commit time), `touch` at its
//!   `last_active` argument.
//! - **Damage.** A session file that is not a valid record (truncated,
//!   edited) loads as no session, so the client gets a fresh one, and a
//!   warning is logged. The id is never logged; I/O errors name the
//!   directory, never the file.
//! - **Errors.** A read-only or full disk, a missing directory, or any other
//!   I/O failure is a [`DriverError::Backend`], which the middleware turns
//!   into an opaque 500.
//! - **No leaks.** Lock files are removed with their session (by `destroy`,
//!   by `cleanup`, or as soon as a call finds no session file); temporary
//!   files left by a crash are removed by `cleanup`.
//!
//! The file work of each driver call (lock, read, write, flush, rename) runs
//! as one closure on Tokio's blocking thread pool (`spawn_blocking`), rather
//! than through `tokio::fs`, which would hop to that pool once per system
//! call. One hop per call is cheaper, and because the closure owns the locks,
//! a request that is cancelled half-way cannot release a lock while its write
//! is still running. The driver therefore needs a Tokio runtime, which
//! actix-web provides.
//!
//! # Behind a load balancer
//!
//! The files live on one machine's disk. With several servers behind a load
//! balancer, a session exists only on the server that created it, so the
//! balancer must send each client back to the same server (sticky sessions),
//! or a client is logged out whenever it lands on another one. Sharing the
//! directory over a network file system is not a fix: `flock`, `rename` and
//! `fsync` are not reliable across machines on many of them. For more than
//! one machine, use a shared store such as Redis or SQL.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use session_actix::FileDriver;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let tmp = tempfile::tempdir()?;
//! # let dir = tmp.path().join("sessions");
//! let driver = FileDriver::builder(&dir)
//!     .filename_template("app_{id}.session")
//!     .build()?;
//! // Create it once and clone it into every worker: clones share their locks.
//! let for_a_worker = driver.clone();
//! # drop(for_a_worker);
//! # actix_web::rt::System::new().block_on(async {
//! // Inside the runtime (for example in `#[actix_web::main]`), remove
//! // expired sessions every ten minutes for as long as `cleanup` is kept.
//! let cleanup = driver.spawn_cleanup(Duration::from_secs(600));
//! # drop(cleanup);
//! # });
//! # Ok(())
//! # }
//! ```

mod error;
mod platform;
mod store;
mod template;
#[cfg(fuzzing)]
pub use template::fuzz_template;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use error::{FileDriverError, TemplateProblem};

use crate::cleanup::CleanupTask;
use crate::driver::{DriverSettings, SessionDriver, SettingsError, Update};
use crate::error::DriverError;
use crate::id::SessionId;
use crate::record::Record;
use crate::time::Timestamp;
use store::{Store, Stored};
use template::Template;

/// The file name template used unless another is set.
pub const DEFAULT_FILENAME_TEMPLATE: &str = "sess_{id}";

/// Sessions kept as files in a directory; see the [module docs](self).
///
/// Cloning is cheap and every clone shares the same in-process locks, so
/// build the driver once (outside `HttpServer::new`) and clone it into each
/// worker.
#[derive(Clone)]
pub struct FileDriver {
    store: Arc<Store>,
}

impl fmt::Debug for FileDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileDriver")
            .field("dir", &self.store.dir)
            .field("filename_template", &self.store.template)
            .finish()
    }
}

/// Builds a [`FileDriver`]; from [`FileDriver::builder`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct FileDriverBuilder {
    dir: PathBuf,
    template: String,
}

impl FileDriverBuilder {
    /// Sets the session file name template: `{id}` exactly once, replaced by
    /// the SHA-256 of the session id (never the id itself), and no `/`, `\`,
    /// NUL or other brace. The default is
    /// [`DEFAULT_FILENAME_TEMPLATE`]. Checked by [`build`](Self::build).
    pub fn filename_template(mut self, template: impl Into<String>) -> Self {
        self.template = template.into();
        self
    }

    /// Checks the template and opens the directory, creating it (mode
    /// `0700` on Unix) if it is missing.
    ///
    /// # Errors
    ///
    /// [`FileDriverError::Template`] for an unusable template,
    /// [`FileDriverError::NotADirectory`] if the path is a file, and
    /// [`FileDriverError::Directory`] if it cannot be created or read.
    pub fn build(self) -> Result<FileDriver, FileDriverError> {
        let template = Template::parse(&self.template)?;
        let dir = self.dir;
        let directory_error = |source| FileDriverError::Directory {
            path: dir.clone(),
            source,
        };
        match std::fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {
                if platform::is_shared(&meta) {
                    tracing::warn!(
                        driver = "file",
                        dir = %dir.display(),
                        "the session directory is open to other users; restrict it to the server's user (chmod 700)"
                    );
                }
            }
            Ok(_) => return Err(FileDriverError::NotADirectory { path: dir }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                platform::create_dir(&dir).map_err(directory_error)?;
            }
            Err(e) => return Err(directory_error(e)),
        }
        Ok(FileDriver {
            store: Arc::new(Store::new(dir, template)),
        })
    }
}

impl FileDriver {
    /// The driver the settings describe (driver name `file`): `dir`
    /// (required) and the option `filename_template`
    /// (`SESSION_FILENAME_TEMPLATE`). Errors name each setting as it was
    /// given ([`DriverSettings::setting_name`]).
    ///
    /// ```
    /// use session_actix::driver::DriverSettings;
    /// use session_actix::FileDriver;
    ///
    /// # let tmp = tempfile::tempdir()?;
    /// let mut settings = DriverSettings::new("file");
    /// settings.dir = Some(tmp.path().join("sessions"));
    /// let driver = FileDriver::from_settings(&settings)?;
    /// # let _ = driver;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_settings(settings: &DriverSettings) -> Result<Self, SettingsError> {
        let dir = settings.dir.clone().ok_or_else(|| SettingsError::Missing {
            driver: settings.driver.clone(),
            setting: settings.setting_name("dir"),
        })?;
        let mut builder = Self::builder(dir);
        if let Some(serde_json::Value::String(t)) = settings.options.get("filename_template") {
            builder = builder.filename_template(t.clone());
        }
        builder.build().map_err(|e| SettingsError::Invalid {
            setting: format!(
                "{} / {}",
                settings.setting_name("dir"),
                settings.setting_name("filename_template")
            ),
            reason: e.to_string(),
        })
    }

    /// A driver storing sessions in `dir` under the default file name
    /// template; see [`FileDriverBuilder::build`] for what is checked.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, FileDriverError> {
        Self::builder(dir).build()
    }

    /// A builder for a driver storing sessions in `dir`.
    pub fn builder(dir: impl Into<PathBuf>) -> FileDriverBuilder {
        FileDriverBuilder {
            dir: dir.into(),
            template: DEFAULT_FILENAME_TEMPLATE.to_owned(),
        }
    }

    /// The session directory.
    pub fn dir(&self) -> &Path {
        &self.store.dir
    }

    /// Removes every session file expired at `now`, along with lock files
    /// and temporary files left by interrupted writes; returns how many
    /// sessions were removed. Corrupt session files are removed too (they
    /// already load as no session). Sessions in use by a request at that
    /// moment are left for the next run.
    ///
    /// # Errors
    ///
    /// [`DriverError::Backend`] if the directory cannot be listed or a file
    /// cannot be read or removed.
    pub async fn cleanup(&self, now: Timestamp) -> Result<usize, DriverError> {
        let store = Arc::clone(&self.store);
        blocking(move || store.cleanup(now)).await
    }

    /// Runs [`cleanup`](Self::cleanup) at the system time every `every`, on
    /// the Tokio runtime, until the returned handle is dropped or stopped.
    /// Failures are logged as warnings and retried at the next tick.
    ///
    /// # Panics
    ///
    /// Panics if called outside a Tokio runtime, or if `every` is zero.
    pub fn spawn_cleanup(&self, every: Duration) -> CleanupTask {
        let driver = self.clone();
        CleanupTask::spawn(every, "file", move |now| {
            let driver = driver.clone();
            async move { driver.cleanup(now).await.map(|n| n as u64) }
        })
    }

    /// Runs `f` with this process's turn on `id` and the OS lock of its
    /// file held, on the blocking thread pool. `id` names the session's
    /// files; it is the engine's store id (a SHA-256 of the cookie's id), so
    /// a directory listing holds no usable session id.
    async fn locked<R, F>(&self, id: &SessionId, f: F) -> Result<R, DriverError>
    where
        R: Send + 'static,
        F: FnOnce(&Store, &SessionId) -> Result<R, error::IoFailure> + Send + 'static,
    {
        let id = id.clone();
        let turn = self.store.lock_id(&id).await;
        let store = Arc::clone(&self.store);
        blocking(move || {
            // Released only when the file work is over, even if the caller
            // stopped waiting.
            let _turn = turn;
            store.with_os_lock(&id, |store| f(store, &id))
        })
        .await
    }
}

/// Runs blocking file work on Tokio's blocking pool.
async fn blocking<R, F>(f: F) -> Result<R, DriverError>
where
    R: Send + 'static,
    F: FnOnce() -> Result<R, error::IoFailure> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(DriverError::backend),
        Err(join) => Err(DriverError::backend(join)),
    }
}

fn warn_corrupt() {
    tracing::warn!(
        driver = "file",
        "a session file is corrupt or truncated; treating it as no session"
    );
}

#[async_trait]
impl SessionDriver for FileDriver {
    fn name(&self) -> &'static str {
        "file"
    }

    fn remote(&self) -> bool {
        true
    }

    async fn load(&self, id: &SessionId, now: Timestamp) -> Result<Option<Record>, DriverError> {
        let store = Arc::clone(&self.store);
        let key = id.clone();
        let stored = blocking(move || store.read(&key)).await?;
        match stored {
            Stored::Found(record) if !record.is_expired(now) => Ok(Some(record)),
            Stored::Found(_) | Stored::Missing => Ok(None),
            // The engine warns and starts a fresh session; a destroy,
            // regenerate or write removes the file.
            Stored::Corrupt => Err(DriverError::Corrupt(serde::de::Error::custom(
                "a session file is corrupt or truncated",
            ))),
        }
    }

    async fn create(&self, id: &SessionId, record: &Record) -> Result<(), DriverError> {
        let bytes = record.encode()?;
        let now = record.last_active;
        let created = self
            .locked(id, move |store, id| match store.read(id)? {
                Stored::Found(existing) if !existing.is_expired(now) => Ok(false),
                _ => store.write(id, &bytes).map(|()| true),
            })
            .await?;
        if created {
            Ok(())
        } else {
            Err(DriverError::AlreadyExists)
        }
    }

    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        expected_version: u64,
    ) -> Result<Update, DriverError> {
        let bytes = record.encode()?;
        let now = record.last_active;
        self.locked(id, move |store, id| match store.read(id)? {
            Stored::Found(current) if current.is_expired(now) => Ok(Update::Gone),
            Stored::Found(current) if current.version != expected_version => {
                Ok(Update::Conflict(Some(current)))
            }
            Stored::Found(_) => store.write(id, &bytes).map(|()| Update::Updated),
            Stored::Missing => Ok(Update::Gone),
            Stored::Corrupt => {
                warn_corrupt();
                Ok(Update::Gone)
            }
        })
        .await
    }

    async fn touch(
        &self,
        id: &SessionId,
        last_active: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, DriverError> {
        self.locked(id, move |store, id| match store.read(id)? {
            Stored::Found(mut record) if !record.is_expired(last_active) => {
                record.last_active = last_active;
                record.expires_at = expires_at;
                // A record that decoded always encodes again.
                let bytes = record
                    .encode()
                    .map_err(|e| store.io("encode a session record")(io::Error::other(e)))?;
                store.write(id, &bytes).map(|()| true)
            }
            _ => Ok(false),
        })
        .await
    }

    async fn destroy(&self, id: &SessionId) -> Result<(), DriverError> {
        self.locked(id, |store, id| store.remove(id).map(drop))
            .await
    }
}
