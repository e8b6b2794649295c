//! What several fact modules share (pyinfra's `facts/util`): parsing helpers, building
//! commands the way pyinfra does, batched `stat`/checksum loads and release-file parsing.

pub(crate) mod distro;
pub(crate) mod parse;
pub(crate) mod shared;
pub(crate) mod shell;
