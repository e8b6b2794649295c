//! A clear last line when deploy code overflows its evaluation stack, instead of a bare
//! "Segmentation fault".
//!
//! Deploy and inventory code and templates run on a large stack of their own (`rinfra_core`'s
//! `deep_stack.rs`), and the source is limited to Python's nesting, but a value nested deeply at run time
//! (`for i in range(1000000): x = [x]`, then `str(x)`) still overflows it: Starlark freezes,
//! compares and prints values recursively. That stack is not one Rust's own overflow handler
//! knows, so the fault would kill the process with no word. This handler runs first: a fault
//! inside the evaluation stack prints one `rinfra error:` line naming the file and host and
//! exits 2; any other fault goes on to the handler that was there before (Rust's).

use std::sync::OnceLock;

/// The handlers this one replaced, for SIGSEGV and SIGBUS.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();

const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// Install the handler (once, at start). It runs on the alternate signal stack Rust's runtime
/// gives every thread it starts, the main thread and tokio's workers included.
pub(crate) fn install() {
    // SAFETY: plain sigaction calls with zero-initialised, then filled, structs; `handler`
    // has the SA_SIGINFO signature.
    unsafe {
        let mut previous: [libc::sigaction; 2] = std::mem::zeroed();
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        for (sig, prev) in SIGNALS.iter().zip(previous.iter_mut()) {
            if libc::sigaction(*sig, std::ptr::null(), prev) != 0 {
                return;
            }
        }
        if PREVIOUS.set(previous).is_err() {
            return;
        }
        for sig in SIGNALS {
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if rinfra_core::in_deep_stack(addr) {
        rinfra_lang::with_current_evaluation(|current| {
            let (file, host) = current.unwrap_or(("a template", ""));
            crate::evaluation_failure::exit(
                file,
                host,
                &[b"evaluation nested too deeply: its stack overflowed"],
                b"is something nested many thousands of levels deep (a value built inside \
                  itself in a loop, `x = [x]`)?",
            )
        });
    }
    // Not ours: put the previous handler back and return; the fault happens again under it.
    if let Some(previous) = PREVIOUS.get() {
        let i = usize::from(sig == libc::SIGBUS);
        // SAFETY: restoring a sigaction the kernel gave us.
        unsafe { libc::sigaction(sig, &previous[i], std::ptr::null_mut()) };
    }
}
