//! Plain aligned tables, as pyinfra prints its "Detected changes" and "Results".

/// Render rows (the first is the header) with columns padded to their widest cell, each line
/// indented by four spaces.
pub(crate) fn render(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::from("    ");
        for (c, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < row.len() {
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_columns() {
        let t = super::render(&[
            vec!["Operation".into(), "Hosts".into()],
            vec!["a".into(), "1".into()],
        ]);
        assert_eq!(t, "    Operation   Hosts\n    a           1\n");
    }
}
