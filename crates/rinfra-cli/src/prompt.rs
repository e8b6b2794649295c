//! Reading a secret from the terminal with echo off (sudo passwords).

use std::io::{BufRead, Write};
use std::os::fd::AsRawFd;

/// Ask on `/dev/tty` with echo off; `None` when there is no terminal (CI, pipes).
pub(crate) fn read_secret(prompt: &str) -> Option<String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios calls on a file descriptor we own for the duration of this function.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut term) } != 0 {
        return None;
    }
    let saved = term;
    term.c_lflag &= !libc::ECHO;
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) };
    let mut w = &tty;
    let _ = write!(w, "{prompt}");
    let _ = w.flush();
    let mut answer = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut answer);
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    let _ = writeln!(w);
    read.ok()?;
    Some(answer.trim_end_matches(['\n', '\r']).to_string())
}

/// Ask a yes/no question on the terminal (the confirmation before executing).
pub(crate) fn confirm(prompt: &str) -> bool {
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return false;
    };
    let mut w = &tty;
    let _ = write!(w, "{prompt}");
    let _ = w.flush();
    let mut answer = String::new();
    std::io::BufReader::new(&tty).read_line(&mut answer).is_ok()
}
