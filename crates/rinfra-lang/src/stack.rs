//! Starlark's parser, compiler and the drop of a syntax tree all recurse once per level of
//! nesting, with large frames (over 20 KB a level in a debug build), so a deeply nested file
//! overflows a 2 MB thread stack (a tokio worker's) at a depth of about a hundred, and Rust
//! aborts the process on a stack overflow. Two things keep that from happening: the
//! compatibility pass rejects files nested deeper than Python allows (`compat::MAX_*`), and
//! every parse and evaluation runs here, on a stack of its own that is large enough for
//! anything within those limits on any thread (test threads and tokio workers included).

/// Room for a syntax tree [`crate::compat`] lets through, in a debug build, with a wide
/// margin. Only the pages touched are ever committed.
const STACK_SIZE: usize = 256 << 20;

/// Run `f` on a fresh stack of [`STACK_SIZE`] bytes, on this thread.
pub(crate) fn with_starlark_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::grow(STACK_SIZE, f)
}
