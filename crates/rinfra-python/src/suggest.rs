//! "Did you mean" for names the user mistyped (operation arguments, global arguments, config
//! names).

/// The closest candidate within a small edit distance that starts like `word` (the same first
/// letter, ignoring case and leading underscores: `sudo` → `_sudo`, `dset` → `dest`). Typos
/// keep the first letter far more often than not, while two different names of one operation
/// or config often differ by a letter or two at the start (`mode` is no typo of `node`).
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let first = |s: &str| {
        s.trim_start_matches('_')
            .chars()
            .next()
            .map(|c| c.to_ascii_lowercase())
    };
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if first(word).is_none() || first(word) != first(c) {
            continue;
        }
        let d = edit_distance(word, c);
        let limit = (word.len().max(c.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Words for what an operation does that users bring from other tools (package managers,
/// Ansible, the shell), and pyinfra's name for it: `apt.install` means `apt.packages`. Only
/// suggested when the module has that operation.
const MEANINGS: &[(&str, &str)] = &[
    ("install", "packages"),
    ("package", "packages"),
    ("pkg", "packages"),
    ("command", "shell"),
    ("cmd", "shell"),
    ("run", "shell"),
    ("exec", "shell"),
    ("mkdir", "directory"),
    ("dir", "directory"),
    ("upload", "put"),
    ("useradd", "user"),
    ("groupadd", "group"),
];

/// A suggestion for a mistyped operation or fact name (`module.name`), only when it is close
/// in meaning and not just in spelling: pyinfra's name for a word of the same meaning
/// ([`MEANINGS`]: `apt.install` → `apt.packages`); a name of the same module that starts alike
/// (`server.shel` → `server.shell`, `server.hostname` → `server.Hostname`); for an unknown
/// module, a module spelled alike that starts alike and is not a short tool name (`sever.shell`
/// → `server.shell`, never `yum` for `sum`); for a bare name, the one name of any module
/// that is the same but for case (`hostname` → `server.Hostname`).
pub fn did_you_mean_name<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let candidates: Vec<(&str, &str, &str)> = candidates
        .filter_map(|c| c.rsplit_once('.').map(|(m, n)| (c, m, n)))
        .collect();
    let Some((module, name)) = word.rsplit_once('.') else {
        let mut same = candidates
            .iter()
            .filter(|(_, _, n)| n.eq_ignore_ascii_case(word));
        return match (same.next(), same.next()) {
            (Some((c, _, _)), None) => Some(c),
            _ => None,
        };
    };
    let module = if candidates.iter().any(|(_, m, _)| *m == module) {
        module.to_string()
    } else {
        // Short module names are mostly different tools (yum, apt, apk, dnf, pkg): only a
        // difference of case.
        let mut best: Option<(usize, &str)> = None;
        for (_, m, _) in &candidates {
            if let Some(d) = name_distance(module, m, module.len().min(m.len()) >= 4) {
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, m));
                }
            }
        }
        best?.1.to_string()
    };
    let meaning = MEANINGS
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(name))
        .and_then(|(_, n)| candidates.iter().find(|(_, m, cn)| *m == module && cn == n));
    if let Some((c, _, _)) = meaning {
        return Some(c);
    }
    let mut best: Option<(usize, &str)> = None;
    for (c, m, n) in &candidates {
        if *m != module {
            continue;
        }
        if let Some(d) = name_distance(name, n, true) {
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, c));
            }
        }
    }
    best.map(|(_, c)| c).filter(|c| *c != word)
}

/// The distance between two names when they are alike in meaning: the same but for case (0),
/// or, when `spelling` allows, a small edit distance between names that start alike (the
/// first letter; the first two for names of up to three letters).
fn name_distance(a: &str, b: &str, spelling: bool) -> Option<usize> {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    if a == b {
        return Some(0);
    }
    if !spelling {
        return None;
    }
    let prefix = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let needed = if a.len().min(b.len()) <= 3 { 2 } else { 1 };
    let d = edit_distance(&a, &b);
    let limit = (a.len().max(b.len()) / 3).max(1);
    (prefix >= needed && d <= limit).then_some(d + 1)
}

/// Optimal string alignment distance (an adjacent transposition costs 1).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("sudo", ["_sudo", "src"].into_iter()),
            Some("_sudo")
        );
        assert_eq!(
            did_you_mean("dset", ["src", "dest"].into_iter()),
            Some("dest")
        );
        assert_eq!(did_you_mean("zzzzzz", ["src", "dest"].into_iter()), None);
        assert_eq!(
            did_you_mean("pth", ["path", "user"].into_iter()),
            Some("path")
        );
        assert_eq!(
            did_you_mean("SUDOO", ["SUDO", "SU_USER"].into_iter()),
            Some("SUDO")
        );
        assert_eq!(
            did_you_mean("_sudo_usr", ["_sudo_user"].into_iter()),
            Some("_sudo_user")
        );
        // One letter apart, but not at the start: another name, not a typo.
        assert_eq!(did_you_mean("node", ["mode", "user"].into_iter()), None);
        assert_eq!(did_you_mean("sum", ["yum"].into_iter()), None);
        assert_eq!(did_you_mean("_", ["_sudo"].into_iter()), None);
    }

    #[test]
    fn name_suggestions_are_close_in_meaning() {
        let names = [
            "server.shell",
            "server.script",
            "server.Hostname",
            "yum.packages",
            "apt.deb",
            "apt.packages",
            "files.file",
            "files.directory",
        ];
        let s = |w: &str| did_you_mean_name(w, names.iter().copied());
        assert_eq!(s("server.shel"), Some("server.shell"));
        assert_eq!(s("server.hostname"), Some("server.Hostname"));
        assert_eq!(s("sever.shell"), Some("server.shell"));
        assert_eq!(s("files.directroy"), Some("files.directory"));
        assert_eq!(s("hostname"), Some("server.Hostname"));
        // The same meaning in other tools' words.
        assert_eq!(s("apt.install"), Some("apt.packages"));
        assert_eq!(s("yum.install"), Some("yum.packages"));
        assert_eq!(s("server.command"), Some("server.shell"));
        assert_eq!(s("files.mkdir"), Some("files.directory"));
        assert_eq!(s("sever.run"), Some("server.shell"));
        // Only where the module has that operation.
        assert_eq!(s("files.install"), None);
        // Spelt alike, different in meaning.
        assert_eq!(s("sum.packages"), None);
        assert_eq!(s("apt.hex"), None);
        assert_eq!(s("yum.deb"), None);
        assert_eq!(s("server.hsell"), None);
        assert_eq!(s("apk.packages"), None);
        assert_eq!(s("server.shell"), None);
    }
}
