//! Plain left-aligned text tables: columns two spaces apart, no trailing
//! spaces, stable for snapshots and easy to `grep`/`awk`.

pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count() + 2;
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The stored documents as one JSON array, each element exactly as stored
/// (key order kept), indented one level.
pub fn json_array(documents: impl IntoIterator<Item = Vec<u8>>) -> String {
    let items: Vec<String> = documents
        .into_iter()
        .map(|doc| {
            String::from_utf8_lossy(&doc)
                .trim_end()
                .lines()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    if items.is_empty() {
        "[]\n".to_owned()
    } else {
        format!("[\n{}\n]\n", items.join(",\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_without_trailing_spaces() {
        let text = render(
            &["A", "BB"],
            &[vec!["long".into(), "x".into()], vec!["s".into(), "".into()]],
        );
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
