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

/// What the operator answered to a "Press enter to ..." question.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Enter alone: go on.
    Enter,
    /// Anything else (pyinfra's "Unexpected user input": stop).
    Other(String),
    /// No terminal to ask on.
    NoTerminal,
}

/// Whether there is a terminal to ask on.
pub(crate) fn has_terminal() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// Ask on the terminal for Enter (the confirmation before executing, and whether to go on
/// when hosts failed).
pub(crate) fn press_enter(prompt: &str) -> Answer {
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return Answer::NoTerminal;
    };
    let mut w = &tty;
    let _ = write!(w, "{prompt}");
    let _ = w.flush();
    let mut answer = String::new();
    match std::io::BufReader::new(&tty).read_line(&mut answer) {
        Ok(0) | Err(_) => Answer::NoTerminal,
        Ok(_) => match answer.trim_end_matches(['\n', '\r']) {
            "" => Answer::Enter,
            other => Answer::Other(other.to_string()),
        },
    }
}
