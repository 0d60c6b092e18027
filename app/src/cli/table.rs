//! Plain left-aligned text tables: columns two spaces apart, no trailing
//! spaces, stable for snapshots and easy to `grep`/`awk`.

/// The table of `count` rows made on demand by `row` (called twice per
/// row: once for the widths, once to write it), so that a table of 100,000
/// rows is never held as cells, only as the text it becomes.
pub fn render_from(headers: &[&str], count: usize, row: impl Fn(usize) -> Vec<String>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for i in 0..count {
        for (column, cell) in row(i).iter().enumerate() {
            if let Some(w) = widths.get_mut(column) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |out: &mut String, cells: &[&str]| {
        let start = out.len();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i] - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let kept = start + out[start..].trim_end().len();
        out.truncate(kept);
        out.push('\n');
    };
    let mut out = String::new();
    line(&mut out, headers);
    for i in 0..count {
        let cells = row(i);
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        line(&mut out, &cells);
    }
    out
}

/// The stored documents as one JSON array, each element exactly as stored
/// (key order kept), indented one level.
pub fn json_array(documents: impl IntoIterator<Item = Vec<u8>>) -> String {
    // Written straight into the answer: no copy of every document held
    // beside it.
    let mut out = String::new();
    for document in documents {
        out.push_str(if out.is_empty() { "[\n" } else { ",\n" });
        let text = String::from_utf8_lossy(&document);
        for (i, line) in text.trim_end().lines().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str("  ");
            out.push_str(line);
        }
    }
    if out.is_empty() {
        "[]\n".to_owned()
    } else {
        out.push_str("\n]\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_without_trailing_spaces() {
        let rows: [Vec<String>; 2] = [vec!["long".into(), "x".into()], vec!["s".into(), "".into()]];
        let text = render_from(&["A", "BB"], rows.len(), |i| rows[i].clone());
        assert_eq!(text, "A     BB\nlong  x\ns\n");
    }

    #[test]
    fn json_array_is_valid_json() {
        let text = json_array([b"{\n  \"a\": 1\n}\n".to_vec(), b"{}\n".to_vec()]);
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid");
        assert_eq!(value, serde_json::json!([{"a": 1}, {}]));
        assert_eq!(json_array(Vec::new()), "[]\n");
    }
}
