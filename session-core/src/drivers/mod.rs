//! The drivers that ship with the crate, each behind its own cargo feature.

#[cfg(feature = "cookie")]
pub mod cookie;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "redis")]
pub mod redis;

#[cfg(feature = "file")]
pub mod file;
