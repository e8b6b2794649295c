//! Unified diffs for `--diff`.

/// The lines of a unified diff from `old` to `new` (hunk headers included, no file headers).
pub(crate) fn unified(old: &str, new: &str) -> Vec<String> {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff.unified_diff().context_radius(3).to_string();
    text.lines().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_changed_lines() {
        let d = super::unified("a\nb\n", "a\nc\n");
        assert!(d.contains(&"-b".to_string()), "{d:?}");
        assert!(d.contains(&"+c".to_string()), "{d:?}");
    }
}
