//! Which file (and for which host) this thread is evaluating, for the failures that cannot
//! travel as a [`crate::LangError`]: an allocation too large to satisfy, and an overflow of the
//! evaluation's stack.
//!
//! Starlark builds `"x" * 2**30 * 1000`, `[0] * n` or `(…) * n` in one native allocation, with
//! no size check, and stable Rust cannot turn a failed allocation into an error; a value nested
//! a million deep overflows the stack it is printed on. The CLI's allocator and its SIGSEGV
//! handler ask [`with_current_evaluation`] so their last line can still name the file. The
//! thread-local is a plain pointer (no destructor to register on first use), so reading it
//! allocates nothing, even inside a signal handler.

use std::cell::Cell;
use std::ptr;

/// One evaluation: the file, the host (empty for inventory, group data and config files) and
/// the evaluation it is nested in.
struct Record {
    file: String,
    host: String,
    outer: *const Record,
}

thread_local! {
    /// The innermost evaluation on this thread, or null.
    static CURRENT: Cell<*const Record> = const { Cell::new(ptr::null()) };
}

/// While alive, this thread is evaluating `file` for `host`; nests (an included file or a
/// helper module), restoring the outer one when dropped.
pub(crate) struct Evaluating(Box<Record>);

impl Evaluating {
    pub(crate) fn enter(file: &str, host: &str) -> Self {
        let record = Box::new(Record {
            file: file.to_string(),
            host: host.to_string(),
            outer: CURRENT.with(Cell::get),
        });
        CURRENT.with(|c| c.set(&*record));
        Self(record)
    }
}

impl Drop for Evaluating {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0.outer));
    }
}

/// Calls `f` with the `(file, host)` this thread is evaluating (`host` empty for data files),
/// or `None` outside an evaluation. Allocates nothing and takes no lock, so a global allocator
/// or a signal handler may call it.
pub fn with_current_evaluation<R>(f: impl FnOnce(Option<(&str, &str)>) -> R) -> R {
    let current = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: a non-null pointer points into the box of an `Evaluating` that is alive on this
    // thread (each one puts the outer pointer back when dropped, innermost first), and a
    // record is never changed after it is made.
    let record = unsafe { current.as_ref() };
    f(record.map(|r| (r.file.as_str(), r.host.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> Option<(String, String)> {
        with_current_evaluation(|c| c.map(|(f, h)| (f.to_string(), h.to_string())))
    }

    #[test]
    fn nested_evaluations_restore_the_outer_file() {
        assert_eq!(current(), None);
        {
            let _outer = Evaluating::enter("deploy.py", "web1");
            {
                let _inner = Evaluating::enter("tasks/users.py", "web1");
                assert_eq!(current(), Some(("tasks/users.py".into(), "web1".into())));
            }
            assert_eq!(current(), Some(("deploy.py".into(), "web1".into())));
        }
        assert_eq!(current(), None);
    }

    #[test]
    fn each_thread_has_its_own() {
        let _g = Evaluating::enter("deploy.py", "web1");
        let other = std::thread::spawn(current).join().unwrap();
        assert_eq!(other, None);
    }
}
