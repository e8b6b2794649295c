//! The global allocator: the system's, plus one clear line when a deploy or inventory file asks
//! for more memory than there is.
//!
//! Starlark builds a repeated string, list or tuple (`"x" * 100000 * 2000000000`) in one native
//! allocation with no size check, and on stable Rust a failed allocation aborts the process:
//! "memory allocation of N bytes failed", SIGABRT, maybe a core file, and no word of which
//! file did it. During an evaluation this allocator prints a located `rinfra error:` line and
//! exits 2 instead (`evaluation_failure.rs`). Everywhere else it returns the null pointer as the
//! system allocator does, so `try_reserve` callers still see their error and the rest still
//! aborts as before.

use std::alloc::{GlobalAlloc, Layout, System};

/// [`System`], reporting a failed allocation inside a Starlark evaluation.
pub(crate) struct ReportingAllocator;

// SAFETY: every method forwards to `System` with the same arguments and returns its result
// unchanged; the failure path never returns.
unsafe impl GlobalAlloc for ReportingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            report(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            report(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            report(new_size);
        }
        p
    }
}

/// Inside an evaluation: say which file asked for `size` bytes and exit 2. Outside: return.
fn report(size: usize) {
    rinfra_lang::with_current_evaluation(|current| {
        let Some((file, host)) = current else { return };
        let mut digits = [0; 20];
        let size = crate::evaluation_failure::decimal(size, &mut digits);
        crate::evaluation_failure::exit(
            file,
            host,
            &[b"out of memory: ", size, b" bytes asked for at once"],
            b"is a string, list or tuple repeated a huge number of times? \
              Starlark builds the whole value in memory",
        );
    });
}
