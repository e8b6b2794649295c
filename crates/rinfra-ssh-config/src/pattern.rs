//! OpenSSH-style wildcard patterns (`*`, `?`) and pattern lists (`a,!b,c*`).
//!
//! See the PATTERNS section of `ssh_config(5)`.

/// Does `text` match the wildcard `pattern`?
///
/// `*` matches any run of characters (including none), `?` matches exactly one
/// character. Every other character matches itself. The comparison is
/// case-sensitive; callers lowercase both sides where OpenSSH does.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Classic greedy matcher with backtracking to the last `*`.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Outcome of matching a name against a pattern list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMatch {
    /// No pattern matched.
    NoMatch,
    /// A positive pattern matched and no negated one did.
    Match,
    /// A negated (`!pattern`) entry matched: the whole list rejects the name.
    Negated,
}

/// Match `name` against a list of (possibly `!`-negated) patterns.
///
/// A negated match wins over any positive match; a list of only negated
/// patterns never produces a positive result by itself (as OpenSSH).
/// With `lowercase`, both the name and the patterns are compared in lowercase.
pub fn match_list<'a, I>(name: &str, patterns: I, lowercase: bool) -> ListMatch
where
    I: IntoIterator<Item = &'a str>,
{
    let name = if lowercase {
        name.to_lowercase()
    } else {
        name.to_string()
    };
    let mut result = ListMatch::NoMatch;
    for raw in patterns {
        let (negated, pat) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let matched = if lowercase {
            wildcard_match(&pat.to_lowercase(), &name)
        } else {
            wildcard_match(pat, &name)
        };
        if matched {
            if negated {
                return ListMatch::Negated;
            }
            result = ListMatch::Match;
        }
    }
    result
}

/// Match `name` against a comma-separated pattern list such as `"*.example.com,!bad.example.com"`.
pub fn match_comma_list(name: &str, list: &str, lowercase: bool) -> ListMatch {
    match_list(name, list.split(','), lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("web*", "web1"));
        assert!(wildcard_match("web*", "web"));
        assert!(!wildcard_match("web*", "db1"));
        assert!(wildcard_match("*.co.uk", "a.b.co.uk"));
        assert!(wildcard_match("192.168.0.?", "192.168.0.7"));
        assert!(!wildcard_match("192.168.0.?", "192.168.0.17"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("*a*a*", "banana"));
        assert!(!wildcard_match("abc", "ABC"));
        assert!(wildcard_match("[*]:2222", "[host]:2222"));
        assert!(!wildcard_match("?", ""));
    }

    #[test]
    fn lists_and_negation() {
        assert_eq!(
            match_comma_list("host3", "!host1,!host2", false),
            ListMatch::NoMatch
        );
        assert_eq!(
            match_comma_list("host3", "!host1,!host2,*", false),
            ListMatch::Match
        );
        assert_eq!(
            match_comma_list("host1", "!host1,*", false),
            ListMatch::Negated
        );
        assert_eq!(
            match_comma_list("host1", "*,!host1", false),
            ListMatch::Negated
        );
        assert_eq!(match_comma_list("Web1", "web*", true), ListMatch::Match);
        assert_eq!(match_comma_list("Web1", "web*", false), ListMatch::NoMatch);
    }
}
