//! The file driver's configuration errors and its I/O error wrapper.

use std::io;
use std::path::PathBuf;

/// Why a [`FileDriver`](super::FileDriver) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileDriverError {
    /// The file name template is not usable; `problem` says what to change.
    #[error("the session file name template {template:?} is not usable: {problem}")]
    Template {
        /// The template as given.
        template: String,
        /// What is wrong with it.
        problem: TemplateProblem,
    },
    /// The session directory does not exist and could not be created, or
    /// could not be inspected.
    #[error("the session directory {path:?} could not be created or opened: {source}; check the path and the permissions of its parent")]
    Directory {
        /// The configured directory.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },
    /// The configured path exists but is not a directory.
    #[error("the session directory {path:?} exists but is not a directory; point the file driver at a directory of its own")]
    NotADirectory {
        /// The configured path.
        path: PathBuf,
    },
}

/// What is wrong with a file name template, in
/// [`FileDriverError::Template`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateProblem {
    /// The template has no `{id}`.
    #[error("it must contain the placeholder {{id}}, for example \"sess_{{id}}\"")]
    MissingId,
    /// The template has `{id}` more than once.
    #[error("it must contain {{id}} exactly once")]
    RepeatedId,
    /// The template has `/`, `\` or a NUL byte; it names a file in the
    /// session directory, not a path.
    #[error("it names a file inside the session directory, so it cannot contain '/', '\\' or NUL; set the directory instead")]
    PathSeparator,
    /// The template has a `{` or `}` that is not part of `{id}`.
    #[error("'{{' and '}}' may only appear in the placeholder {{id}}")]
    StrayBrace,
    /// The fixed text around `{id}` is longer than `max` bytes, so file names
    /// could exceed what file systems allow.
    #[error(
        "the text around {{id}} may be at most {max} bytes, so file names stay under 255 bytes"
    )]
    TooLong {
        /// The limit in bytes.
        max: usize,
    },
}

/// An I/O failure in the session directory, boxed into
/// [`DriverError::Backend`](crate::driver::DriverError::Backend). It names the
/// directory and the operation, never the file (whose name holds the id).
#[derive(Debug, thiserror::Error)]
#[error("could not {op} in the session directory {dir:?}: {source}")]
pub(super) struct IoFailure {
    pub(super) op: &'static str,
    pub(super) dir: PathBuf,
    #[source]
    pub(super) source: io::Error,
}
