//! A stack of its own for templates (minijinja), whose parser and renderer recurse once per
//! level of nesting: `{{ - - - … 1 }}` overflowed a tokio worker's 2 MB stack (and Rust aborts
//! the process on a stack overflow). Every render runs here, on a stack large enough for any
//! template on any thread; only the pages touched are ever committed.

/// Room for deeply nested templates in a debug build, with a wide margin.
const STACK_SIZE: usize = 256 << 20;

/// Run `f` on a fresh stack of [`STACK_SIZE`] bytes, on this thread.
pub fn with_deep_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::grow(STACK_SIZE, f)
}
