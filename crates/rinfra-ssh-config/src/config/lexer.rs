//! Splitting one ssh_config line into keyword and arguments.

/// One meaningful (non-blank, non-comment) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// Keyword as written (not yet lowercased).
    pub(crate) keyword: String,
    /// Arguments after quote removal; stops at an unquoted `#` that starts a word.
    pub(crate) args: Vec<String>,
    /// Everything after the keyword and its separator, verbatim (used by the
    /// options whose value "extends to the end of the line", e.g. ProxyCommand).
    pub(crate) rest: String,
}

/// Why a line could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LexError {
    NoArgument(String),
    UnterminatedQuote,
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Split a line. Returns `Ok(None)` for blank lines and full-line comments.
///
/// Accepted forms: `Key value`, `Key=value`, `Key = value`, tabs anywhere,
/// `"double"` or `'single'` quoted arguments, backslash escapes of quotes,
/// backslashes and blanks, and inline comments (a `#` that starts a word).
pub(crate) fn split_line(raw: &str) -> Result<Option<Line>, LexError> {
    let line = raw.trim_end_matches(['\r', '\n', ' ', '\t', '\x0c']);
    let line = line.trim_start_matches(is_space);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    // Keyword: up to the first blank or '='.
    let kw_end = line
        .find(|c: char| is_space(c) || c == '=')
        .unwrap_or(line.len());
    let keyword = line[..kw_end].to_string();
    let mut rest = line[kw_end..].trim_start_matches(is_space);
    if let Some(after_eq) = rest.strip_prefix('=') {
        rest = after_eq.trim_start_matches(is_space);
    }
    if rest.is_empty() {
        return Err(LexError::NoArgument(keyword));
    }
    let args = split_args(rest)?;
    if args.is_empty() {
        // Only a comment after the keyword.
        return Err(LexError::NoArgument(keyword));
    }
    Ok(Some(Line {
        keyword,
        args,
        rest: rest.to_string(),
    }))
}

/// Split an argument string into words, honouring quotes, escapes and comments.
pub(crate) fn split_args(s: &str) -> Result<Vec<String>, LexError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|&c| is_space(c)) {
            chars.next();
        }
        match chars.peek() {
            None => break,
            Some('#') => break, // comment to end of line
            Some(_) => {}
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            if quote.is_none() && is_space(c) {
                break;
            }
            chars.next();
            match (quote, c) {
                (_, '\\') => match chars.peek() {
                    Some(&n)
                        if n == '\\'
                            || n == '"'
                            || n == '\''
                            || (quote.is_none() && is_space(n)) =>
                    {
                        word.push(n);
                        chars.next();
                    }
                    _ => word.push('\\'),
                },
                (None, '"') | (None, '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                _ => word.push(c),
            }
        }
        if quote.is_some() {
            return Err(LexError::UnterminatedQuote);
        }
        out.push(word);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(s: &str) -> (String, Vec<String>) {
        let l = split_line(s).unwrap().unwrap();
        (l.keyword, l.args)
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn separators() {
        assert_eq!(kv("User deploy"), ("User".into(), v(&["deploy"])));
        assert_eq!(kv("User=deploy"), ("User".into(), v(&["deploy"])));
        assert_eq!(kv("User = deploy"), ("User".into(), v(&["deploy"])));
        assert_eq!(kv("User\t=\tdeploy"), ("User".into(), v(&["deploy"])));
        assert_eq!(
            kv("\t  User\tdeploy  \r\n"),
            ("User".into(), v(&["deploy"]))
        );
        assert_eq!(kv("User= deploy"), ("User".into(), v(&["deploy"])));
        assert_eq!(kv("User =deploy"), ("User".into(), v(&["deploy"])));
    }

    #[test]
    fn comments_and_blank() {
        assert_eq!(split_line("").unwrap(), None);
        assert_eq!(split_line("   \t").unwrap(), None);
        assert_eq!(split_line("# User x").unwrap(), None);
        assert_eq!(split_line("   # indented comment").unwrap(), None);
        assert_eq!(
            kv("User deploy # trailing"),
            ("User".into(), v(&["deploy"]))
        );
        assert_eq!(
            kv("User deploy#notcomment"),
            ("User".into(), v(&["deploy#notcomment"]))
        );
        assert_eq!(kv("Host a b # c d"), ("Host".into(), v(&["a", "b"])));
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            kv(r#"IdentityFile "/tmp/with space/key""#),
            ("IdentityFile".into(), v(&["/tmp/with space/key"]))
        );
        assert_eq!(
            kv("IdentityFile '/a b'"),
            ("IdentityFile".into(), v(&["/a b"]))
        );
        assert_eq!(kv(r#"X a"b c"d"#), ("X".into(), v(&["ab cd"])));
        assert_eq!(kv(r"X a\ b"), ("X".into(), v(&["a b"])));
        assert_eq!(kv(r#"X "a\"b""#), ("X".into(), v(&["a\"b"])));
        assert_eq!(kv(r"X C:\path"), ("X".into(), v(&[r"C:\path"])));
        assert_eq!(
            kv(r##"X "# not a comment""##),
            ("X".into(), v(&["# not a comment"]))
        );
        assert_eq!(split_line(r#"X "open"#), Err(LexError::UnterminatedQuote));
    }

    #[test]
    fn missing_argument() {
        assert_eq!(split_line("User"), Err(LexError::NoArgument("User".into())));
        assert_eq!(
            split_line("User ="),
            Err(LexError::NoArgument("User".into()))
        );
        assert_eq!(
            split_line("User # c"),
            Err(LexError::NoArgument("User".into()))
        );
    }

    #[test]
    fn rest_is_verbatim() {
        let l = split_line("ProxyCommand  nc -X connect %h %p # keep")
            .unwrap()
            .unwrap();
        assert_eq!(l.rest, "nc -X connect %h %p # keep");
    }
}
