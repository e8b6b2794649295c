//! OpenSSH semantics for `~/.ssh/config` and `known_hosts`.
#![deny(missing_docs)]

pub mod config;
pub mod pattern;
