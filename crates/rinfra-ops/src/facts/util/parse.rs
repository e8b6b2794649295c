//! Small parsing pieces shared by facts: cached regexes with Python's `re.match` semantics,
//! `try_int`, package lists and timestamps in the JSON shapes pyinfra emits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex::{Captures, Regex};
use serde_json::{Map, Value};

/// A compiled regex, cached by pattern (facts parse many lines with the same few patterns).
pub(crate) fn regex(pattern: &str) -> Arc<Regex> {
    let mut map = regex_cache().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = map.get(pattern) {
        return re.clone();
    }
    // Patterns are constants of this crate: a bad one is a bug caught by the unit tests.
    let re = Arc::new(Regex::new(pattern).unwrap_or_else(|e| panic!("bad regex {pattern}: {e}")));
    map.insert(pattern.to_string(), re.clone());
    re
}

/// Whether a cached pattern contains `text` (tests check that input-built patterns stay out).
#[cfg(test)]
pub(crate) fn is_cached(text: &str) -> bool {
    let cache = regex_cache().lock().unwrap_or_else(|e| e.into_inner());
    cache.keys().any(|k| k.contains(text))
}

/// Compiled constant patterns, by pattern text.
fn regex_cache() -> &'static Mutex<HashMap<String, Arc<Regex>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Python's `re.match`: the pattern must match at the start of `s`.
pub(crate) fn re_match<'s>(pattern: &str, s: &'s str) -> Option<Captures<'s>> {
    regex(&format!("^(?:{pattern})")).captures(s)
}

/// Python's `re.fullmatch`.
pub(crate) fn re_fullmatch<'s>(pattern: &str, s: &'s str) -> Option<Captures<'s>> {
    regex(&format!("^(?:{pattern})$")).captures(s)
}

/// A capture group as `&str` (empty when the group did not take part).
pub(crate) fn group<'s>(caps: &Captures<'s>, i: usize) -> &'s str {
    caps.get(i).map_or("", |m| m.as_str())
}

/// pyinfra's `try_int`: an integer when the text is one (Python `int()` rules), else the text.
pub(crate) fn try_int(s: &str) -> Value {
    match parse_py_int(s) {
        Some(n) => Value::from(n),
        None => Value::String(s.to_string()),
    }
}

/// Python's `int(s)` for base-10 text: surrounding whitespace, a sign, digits and `_`
/// separators between digits.
pub(crate) fn parse_py_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let n: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -n } else { n })
}

/// pyinfra's `parse_packages`: `{name: [versions]}` from lines matching `regex` (group 1 the
/// name, group 2 the version). Versions form a set in pyinfra; we emit them sorted, as the
/// vector harness does when it serialises sets.
pub(crate) fn parse_packages(pattern: &str, lines: &[String]) -> Value {
    let mut packages: Vec<(String, Vec<String>)> = Vec::new();
    for line in lines {
        if let Some(caps) = re_match(pattern, line) {
            let name = group(&caps, 1).to_string();
            let version = group(&caps, 2).to_string();
            match packages.iter_mut().find(|(n, _)| *n == name) {
                Some((_, versions)) => {
                    if !versions.contains(&version) {
                        versions.push(version);
                    }
                }
                None => packages.push((name, vec![version])),
            }
        }
    }
    let mut map = Map::new();
    for (name, mut versions) in packages {
        versions.sort();
        map.insert(
            name,
            Value::Array(versions.into_iter().map(Value::String).collect()),
        );
    }
    Value::Object(map)
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A Unix timestamp as pyinfra's JSON shows a naive UTC datetime: `2020-07-15T09:19:27`.
pub(crate) fn timestamp_iso(ts: i64) -> String {
    let (y, m, d) = civil_from_days(ts.div_euclid(86_400));
    let secs = ts.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// An ISO datetime (`2015-01-01T03:00:00`, optionally with `.fff` and `Z`/`+HH:MM`) as a
/// Unix timestamp; naive times are taken as UTC, as pyinfra's file facts report them.
pub(crate) fn iso_to_timestamp(s: &str) -> Option<i64> {
    let (date, rest) = s.trim().split_once(['T', ' '])?;
    let d: Vec<i64> = date
        .split('-')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [y, m, day] = d[..] else { return None };
    let (clock, offset) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, o) = rest.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (h, mi) = o[1..].split_once(':').unwrap_or((&o[1..], "0"));
        (
            c,
            sign * (h.parse::<i64>().ok()? * 3600 + mi.parse::<i64>().ok()? * 60),
        )
    } else {
        (rest, 0)
    };
    let clock = clock.split('.').next()?;
    let t: Vec<i64> = clock
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs =
        t.first()? * 3600 + t.get(1).copied().unwrap_or(0) * 60 + t.get(2).copied().unwrap_or(0);
    Some(days * 86_400 + secs - offset)
}

/// Month abbreviation (`Jan`) to its number.
pub(crate) fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.iter().position(|m| *m == name).map(|i| i as u32 + 1)
}

/// Python's `str.split()` with a maximum number of splits (whitespace runs, no empty parts).
pub(crate) fn split_ws_n(s: &str, maxsplit: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if parts.len() == maxsplit {
            parts.push(rest);
            break;
        }
        match rest.find(char::is_whitespace) {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = rest[i..].trim_start();
            }
            None => {
                parts.push(rest);
                break;
            }
        }
    }
    parts
}

/// Whether `src` starts with a URL scheme (`https:`), as `urlparse(src).scheme` is set.
pub(crate) fn has_scheme(src: &str) -> bool {
    re_match(r"[a-zA-Z][a-zA-Z0-9+.\-]*:", src).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_ints() {
        assert_eq!(try_int("42"), Value::from(42));
        assert_eq!(try_int(" -3 "), Value::from(-3));
        assert_eq!(try_int("1_000"), Value::from(1000));
        assert_eq!(try_int("*"), Value::from("*"));
        assert_eq!(try_int("0x1"), Value::from("0x1"));
        assert_eq!(try_int(""), Value::from(""));
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp_iso(0), "1970-01-01T00:00:00");
        assert_eq!(timestamp_iso(1_594_804_767), "2020-07-15T09:19:27");
        assert_eq!(timestamp_iso(-1), "1969-12-31T23:59:59");
    }

    #[test]
    fn whitespace_split() {
        assert_eq!(split_ws_n("  a  b c d ", 2), ["a", "b", "c d "]);
        assert_eq!(split_ws_n("a", 5), ["a"]);
        assert!(split_ws_n("   ", 5).is_empty());
    }
}
