//! Python's `fnmatch.fnmatchcase`: shell-style wildcards for `--limit`/`--exclude` host
//! patterns and `files.sync`'s `exclude`/`exclude_dir`.
//!
//! `*` matches any run of characters (`/` included, as in Python), `?` one character, `[seq]`
//! one character in the set (ranges `a-z`), `[!seq]` one not in it; a `]` right after `[` or
//! `[!` belongs to the set, and a `[` without a closing `]` is itself. On a mismatch the
//! matcher goes back to the last `*` only, so the cost is at most pattern × name, with no
//! recursion: trying every split at every `*` is exponential (`*a*a*a*a*a*a*a*a*b`).

/// Whether `name` matches `pattern`, case-sensitively.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // The last `*` seen, and the position in the name it now matches up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if p.get(pi) == Some(&'*') {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some(next) = item(&p, pi, n[ni]) {
            pi = next;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            // Let that `*` take one more character and try again after it.
            star = Some((sp, sn + 1));
            pi = sp + 1;
            ni = sn + 1;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether the pattern item at `p[i]` (a character, `?` or a `[...]` set) matches `c`, and the
/// index after it if so.
fn item(p: &[char], i: usize, c: char) -> Option<usize> {
    match *p.get(i)? {
        '?' => Some(i + 1),
        '[' => {
            let negate = p.get(i + 1) == Some(&'!');
            let first = i + 1 + usize::from(negate);
            // A `]` first in the set is a member; the set ends at the next one.
            let search = (first + 1).min(p.len());
            let Some(end) = p[search..]
                .iter()
                .position(|e| *e == ']')
                .map(|e| e + search)
            else {
                return (c == '[').then_some(i + 1);
            };
            let set = &p[first..end];
            let mut hit = false;
            let mut k = 0;
            while k < set.len() {
                if k + 2 < set.len() && set[k + 1] == '-' {
                    hit |= set[k] <= c && c <= set[k + 2];
                    k += 3;
                } else {
                    hit |= set[k] == c;
                    k += 1;
                }
            }
            (hit != negate).then_some(end + 1)
        }
        ch => (ch == c).then_some(i + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn like_python() {
        assert!(fnmatch("web1", "web*"));
        assert!(fnmatch("web1", "w?b[0-9]"));
        assert!(!fnmatch("web1", "w?b[!0-9]"));
        assert!(fnmatch("@fake/a", "@fake/*"));
        assert!(!fnmatch("web1", "db*"));
        assert!(fnmatch("", "*"));
        assert!(fnmatch("aXbYbZc", "a*b*c"));
        assert!(!fnmatch("aXbYbZ", "a*b*c"));
        assert!(fnmatch("a/b.pyc", "*.pyc"));
        assert!(!fnmatch("a/b.py", "*.pyc"));
        assert!(fnmatch("a.b", "a.b"));
        assert!(!fnmatch("axb", "a.b"));
        assert!(fnmatch("xc1", "x[!ab]*"));
        assert!(!fnmatch("xa1", "x[!ab]*"));
        // Python: `[` without `]` is literal; `]` first in a set is a member.
        assert!(fnmatch("[", "["));
        assert!(fnmatch("a[b", "a[b"));
        assert!(fnmatch("]", "[]]"));
        assert!(fnmatch("x", "[!]]"));
        assert!(!fnmatch("]", "[!]]"));
        assert!(fnmatch("[]", "[]"));
    }

    #[test]
    fn no_exponential_time_and_no_recursion() {
        assert!(!fnmatch(
            &"a".repeat(200),
            &format!("{}*b", "*a".repeat(20))
        ));
        assert!(fnmatch(&"x".repeat(100_000), &"?".repeat(100_000)));
    }
}
