//! Which file (and for which host) this thread is evaluating, for the one failure that cannot
//! travel as a [`crate::LangError`]: an allocation too large to satisfy.
//!
//! Starlark builds `"x" * 2**30 * 1000`, `[0] * n` or `(…) * n` in one native allocation, with
//! no size check, and stable Rust cannot turn a failed allocation into an error. The CLI's
//! allocator asks [`with_current_evaluation`] so its last line can still name the file.

use std::cell::RefCell;

thread_local! {
    /// `(file, host)`; `host` is empty for inventory, group data and config files.
    static CURRENT: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// While alive, this thread is evaluating `file` for `host`; nests (an included file or a
/// helper module), restoring the outer file when dropped.
pub(crate) struct Evaluating {
    outer: Option<(String, String)>,
}

impl Evaluating {
    pub(crate) fn enter(file: &str, host: &str) -> Self {
        // Allocate before borrowing, so the borrow never spans an allocation the allocator
        // might report on.
        let now = Some((file.to_string(), host.to_string()));
        let outer = CURRENT.with(|c| c.replace(now));
        Self { outer }
    }
}

impl Drop for Evaluating {
    fn drop(&mut self) {
        let outer = self.outer.take();
        let _inner = CURRENT.with(|c| c.replace(outer));
    }
}

/// Calls `f` with the `(file, host)` this thread is evaluating (`host` empty for data files),
/// or `None` outside an evaluation. Does not allocate, so a global allocator may call it.
pub fn with_current_evaluation<R>(f: impl FnOnce(Option<(&str, &str)>) -> R) -> R {
    let mut f = Some(f);
    let r = CURRENT.try_with(|c| match c.try_borrow() {
        Ok(cur) => {
            (f.take().expect("called once"))(cur.as_ref().map(|(a, b)| (a.as_str(), b.as_str())))
        }
        Err(_) => (f.take().expect("called once"))(None),
    });
    match r {
        Ok(r) => r,
        Err(_) => (f.take().expect("called once"))(None),
    }
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
