//! A stack of its own for code the user wrote that recurses as deep as it is nested: deploy
//! and inventory files (Starlark) and templates (minijinja).
//!
//! Starlark's parser, compiler and the drop of a syntax tree recurse once per level of
//! nesting, with large frames (over 20 KB a level in a debug build), and so do minijinja's
//! parser and renderer: a deeply nested file overflows a 2 MB thread stack (a tokio worker's)
//! at a depth of about a hundred, and Rust aborts the process on a stack overflow. Two things
//! keep that from happening: `rinfra-lang`'s compatibility pass rejects files nested deeper
//! than Python allows, and every parse, evaluation and render runs here, on a stack large
//! enough for anything within those limits on any thread (test threads and tokio workers
//! included).
//!
//! What no limit on the source can catch is a value nested deeply at run time
//! (`for i in range(1000000): x = [x]`), which Starlark freezes and prints recursively. The
//! bounds of this stack are kept per thread so that the CLI's SIGSEGV handler can tell an
//! overflow of it ([`in_deep_stack`]) from any other fault, and say so.

use std::cell::Cell;

/// Room for any syntax tree `rinfra-lang`'s nesting limits let through, in a debug build,
/// with a wide margin. Only the pages touched are ever committed.
const STACK_SIZE: usize = 256 << 20;

/// Below the stack: its guard page, and room for a frame that skips past it.
const BELOW: usize = 1 << 20;

thread_local! {
    /// `(lowest, highest)` address of the deep stack this thread is on, or `(0, 0)`.
    static BOUNDS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// Run `f` on a fresh stack of [`STACK_SIZE`] bytes, on this thread.
pub fn with_deep_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::grow(STACK_SIZE, || {
        let marker = 0u8;
        // The address of a local is within a few frames of the new stack's top.
        let top = std::ptr::addr_of!(marker) as usize + 64 * 1024;
        let bounds = (top.saturating_sub(STACK_SIZE + BELOW), top);
        let _restore = Restore(BOUNDS.with(|b| b.replace(bounds)));
        f()
    })
}

/// Puts the outer bounds back (nested evaluations: included files, helper modules).
struct Restore((usize, usize));

impl Drop for Restore {
    fn drop(&mut self) {
        BOUNDS.with(|b| b.set(self.0));
    }
}

/// Whether `addr` lies in (or just below) the deep stack this thread is running on: a
/// fault there is that stack overflowing. Reads one thread-local `Cell` (no allocation, no
/// lock), so a signal handler may call it.
pub fn in_deep_stack(addr: usize) -> bool {
    BOUNDS
        .try_with(|b| {
            let (low, high) = b.get();
            low < addr && addr < high
        })
        .unwrap_or(false)
}
