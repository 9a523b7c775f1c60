//! The drivers that ship with the crate, each behind its own cargo feature.

#[cfg(feature = "memory")]
pub mod memory;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod sql;
