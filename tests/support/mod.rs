//! Helpers shared by the workspace-level tests.
#![allow(dead_code, unreachable_pub)]

pub mod redis_server;
