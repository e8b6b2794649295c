//! One line for a panic, a bug in rinfra or in a crate it uses, instead of Rust's report and
//! its `RUST_BACKTRACE` note. The run goes on where it can: a host's task that panics fails
//! that host with the same message (`rinfra-core`'s `execute.rs`). With `RUST_BACKTRACE` set,
//! Rust's own report, for whoever debugs it.
#![allow(clippy::print_stderr)]

/// Install the hook (once, at start).
pub(crate) fn install() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let message = rinfra_core::panic_text(info.payload());
        let at = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        // Straight to stderr: the panic may have happened while `output` held its lock. In
        // the shape of the CLI's other errors (`output::print_error`), without colour.
        eprintln!(
            "error: internal error (a bug in rinfra): {message}{at}\n\n\
             hint: please report it, with the output of `rinfra --support`"
        );
    }));
}
