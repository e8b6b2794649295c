//! Terminal colours, off when stderr is not a terminal or `NO_COLOR` is set.

use std::io::IsTerminal;
use std::sync::OnceLock;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
}

fn paint(code: &str, s: &str) -> String {
    if enabled() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub(crate) fn green(s: &str) -> String {
    paint("32", s)
}
pub(crate) fn red(s: &str) -> String {
    paint("31", s)
}
pub(crate) fn yellow(s: &str) -> String {
    paint("33", s)
}
pub(crate) fn cyan(s: &str) -> String {
    paint("36", s)
}
pub(crate) fn bold(s: &str) -> String {
    paint("1", s)
}
pub(crate) fn bold_red(s: &str) -> String {
    paint("1;31", s)
}
pub(crate) fn bold_cyan(s: &str) -> String {
    paint("1;36", s)
}
