//! The last line for the two failures inside an evaluation (a deploy, inventory or config file,
//! or a template) that cannot travel as an error: an allocation too large to satisfy
//! (`out_of_memory.rs`) and an overflow of the evaluation's own stack (`stack_overflow.rs`).
//! Written with `write(2)`, allocating nothing and taking no lock, so both an allocator and a
//! signal handler may call it; then exit 2, as for any other error in such a file.

/// Print `--> rinfra error: FILE: WHAT (evaluating for host HOST)` and `hint: HINT` to stderr,
/// and end the process with exit code 2. `what` comes in pieces, so a caller can splice in a
/// number without formatting it on the heap.
pub(crate) fn exit(file: &str, host: &str, what: &[&[u8]], hint: &[u8]) -> ! {
    write(b"--> rinfra error: ");
    write(file.as_bytes());
    write(b": ");
    for piece in what {
        write(piece);
    }
    if !host.is_empty() {
        write(b" (evaluating for host ");
        write(host.as_bytes());
        write(b")");
    }
    write(b"\n    hint: ");
    write(hint);
    write(b"\n");
    // SAFETY: _exit is async-signal-safe and ends the process at once.
    unsafe { libc::_exit(2) }
}

/// `n` in decimal, in `buf`.
pub(crate) fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}

/// `write(2)` to stderr.
fn write(bytes: &[u8]) {
    // SAFETY: a valid buffer of `bytes.len()` bytes.
    let _ = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal() {
        let mut buf = [0; 20];
        assert_eq!(super::decimal(0, &mut buf), b"0");
        assert_eq!(
            super::decimal(200_000_000_000_000, &mut buf),
            b"200000000000000"
        );
        assert_eq!(
            super::decimal(usize::MAX, &mut buf),
            usize::MAX.to_string().as_bytes()
        );
    }
}
