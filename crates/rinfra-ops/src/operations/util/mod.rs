//! Helpers several operation modules share (pyinfra's `operations/util`): package lists and
//! service control.

pub(crate) mod packaging;
pub(crate) mod service;
