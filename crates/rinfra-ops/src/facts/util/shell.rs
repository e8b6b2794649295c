//! Building fact and operation commands the way pyinfra does.
//!
//! pyinfra writes many commands as a template (`"! test -e {0} || cat {0}"`) that
//! `make_formatted_string_command` splits with `shlex.split` and fills with quoted values; the
//! split drops the template's own quotes, so the rendered command can differ from the template
//! text. Matching that exactly keeps our commands byte-identical to pyinfra's vectors.

use rinfra_connectors::{Bit, StringCommand};

/// Split `s` like Python's `shlex.split` (POSIX mode, no comments).
pub(crate) fn shlex_split(s: &str) -> Vec<String> {
    shlex_split_with(s, false)
}

/// Python's `shlex` in POSIX mode with whitespace splitting; with `comments`, `#` at the
/// start of a word starts a comment to the end of the line. In double quotes a backslash
/// escapes only `"` and `\`, as in Python.
pub(crate) fn shlex_split_with(s: &str, comments: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' if comments && !in_token => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_token {
                    out.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            '\'' => {
                in_token = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_token = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\')) => {
                            cur.extend(chars.next());
                        }
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_token = true;
                cur.extend(chars.next());
            }
            c => {
                in_token = true;
                cur.push(c);
            }
        }
    }
    if in_token {
        out.push(cur);
    }
    out
}

/// pyinfra's `make_formatted_string_command`: split `template` like a shell would, then
/// replace `{N}` in each token with `args[N]`. A token made of several parts becomes a nested
/// command joined without separator.
pub(crate) fn formatted(template: &str, args: &[Bit]) -> StringCommand {
    let mut bits: Vec<Bit> = Vec::new();
    for token in shlex_split(template) {
        let mut parts: Vec<Bit> = Vec::new();
        let mut rest = token.as_str();
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            let field = &rest[start + 1..start + len];
            let Ok(index) = field.parse::<usize>() else {
                break;
            };
            if start > 0 {
                parts.push(Bit::from(&rest[..start]));
            }
            parts.push(args.get(index).cloned().unwrap_or_else(|| Bit::from("")));
            rest = &rest[start + len + 1..];
        }
        if !rest.is_empty() {
            parts.push(Bit::from(rest));
        }
        match parts.len() {
            0 => {}
            1 => bits.extend(parts),
            _ => bits.push(StringCommand::with_separator(parts, "").into()),
        }
    }
    StringCommand::new(bits)
}

/// A command of raw text, kept as is (pyinfra turns a returned `str` into
/// `StringCommand(s.strip())`).
pub(crate) fn raw(s: &str) -> StringCommand {
    StringCommand::from(s)
}

/// `value` in double quotes, with what the shell still expands there (`"`, `$`, `` ` ``,
/// `\`) backslash-escaped: the same text as pyinfra's `"{value}"` for plain values, safe for
/// any value.
pub(crate) fn double_quoted(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '$' | '`' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rinfra_connectors::quoted;

    #[test]
    fn shlex_split_drops_quotes() {
        assert_eq!(
            shlex_split(r#"pacman -S --print-format "%n" {0} || true"#),
            ["pacman", "-S", "--print-format", "%n", "{0}", "||", "true"]
        );
        assert_eq!(shlex_split("a 'b c' \"d\\\"e\""), ["a", "b c", "d\"e"]);
        assert_eq!(shlex_split("x ''"), ["x", ""]);
        // as Python: `\$` stays in double quotes, `#` is text unless comments are on
        assert_eq!(shlex_split(r#""a\$b" c#d"#), ["a\\$b", "c#d"]);
        assert_eq!(shlex_split_with("a # b\nc", true), ["a", "c"]);
    }

    #[test]
    fn double_quoted_escapes() {
        assert_eq!(double_quoted("plain"), "\"plain\"");
        assert_eq!(double_quoted("a\"$(x)`\\"), r#""a\"\$(x)\`\\""#);
    }

    #[test]
    fn formatted_quotes_values() {
        let cmd = formatted("! test -e {0} || cat {0}x", &[quoted("a b; $(rm -rf /)")]);
        assert_eq!(
            cmd.get_raw_value(),
            "! test -e 'a b; $(rm -rf /)' || cat 'a b; $(rm -rf /)'x"
        );
    }
}
