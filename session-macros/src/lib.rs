//! Derive macros for typed sessions. Re-exported by `session-actix`; depend on
//! that crate rather than on this one.
