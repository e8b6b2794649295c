//! The SSH connector against real OpenSSH servers: one test binary, a module per area.
//!
//! Needs the hosts `scripts/testbed up` starts (then `. $TB/env`): `RINFRA_TB_SSH_HOSTS` and
//! `RINFRA_TB_SSH_KEY`; without them every test fails and says so.

mod common;

mod auth;
mod config;
mod connect;
mod dockerssh;
mod exec;
mod shell;
mod transfer;
