//! Shell quoting, byte-compatible with Python's `shlex.quote`.
//!
//! pyinfra quotes every user-controlled value with `shlex.quote`; matching it exactly keeps our
//! generated commands identical to pyinfra's (its test vectors compare whole command strings).

/// Quote `s` for a POSIX shell exactly as Python's `shlex.quote` does.
///
/// Safe strings (only ASCII letters, digits and `_@%+=:,./-`) are returned unchanged, the empty
/// string becomes `''`, everything else is wrapped in single quotes with each `'` written as
/// `'"'"'`.
pub fn quote(s: &str) -> String {
    if s.is_empty() {
        return "''".to_string();
    }
    let safe = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if safe {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn matches_shlex_quote() {
        assert_eq!(quote(""), "''");
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("/etc/a-b_c.conf"), "/etc/a-b_c.conf");
        assert_eq!(quote("A=1"), "A=1");
        assert_eq!(quote("x y"), "'x y'");
        assert_eq!(quote("it's"), "'it'\"'\"'s'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote("`id`"), "'`id`'");
        assert_eq!(quote("a;b"), "'a;b'");
        assert_eq!(quote("line\nbreak"), "'line\nbreak'");
        // shlex.quote uses re.ASCII: non-ASCII letters are not "safe"
        assert_eq!(quote("héllo"), "'héllo'");
        assert_eq!(quote("*"), "'*'");
    }

    /// Every quoted string must survive a real shell unchanged.
    #[test]
    fn round_trips_through_sh() {
        let hostile = [
            "plain",
            "with space",
            "quote ' inside",
            "double \" quote",
            "$(touch /tmp/rinfra-pwned)",
            "`id`",
            "semi;colon && more",
            "new\nline",
            "tab\there",
            "back\\slash",
            "ünïcödé ✓",
            "'",
            "''",
            "!bang",
            "glob*?[x]",
        ];
        for s in hostile {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(s)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s, "input {s:?}");
        }
    }
}
