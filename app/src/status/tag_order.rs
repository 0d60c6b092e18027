//! The order of base image tags, to find a repository's current tag.

use std::cmp::Ordering;

/// Natural version order: runs of digits compare as numbers, other runs
/// as text; when one tag continues the other, the longer is newer
/// (`3.21.3` < `3.21.3-core1.0.0` < `3.21.3-core1.2.0` < `3.21.10`).
pub fn compare_tags(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (chunks(a), chunks(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let order = match (p.parse::<u128>(), q.parse::<u128>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    _ => p.cmp(q),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

fn chunks(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digit = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digit)
            .unwrap_or(rest.len());
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_tag_order() {
        let mut tags = vec![
            "3.21.10",
            "3.21.3-core1.2.0",
            "3.9",
            "3.21.3",
            "3.21.3-core1.0.0",
            "3.19",
        ];
        tags.sort_by(|a, b| compare_tags(a, b));
        assert_eq!(
            tags,
            [
                "3.9",
                "3.19",
                "3.21.3",
                "3.21.3-core1.0.0",
                "3.21.3-core1.2.0",
                "3.21.10"
            ]
        );
    }

    #[test]
    fn numbers_compare_as_numbers_and_text_as_text() {
        assert_eq!(compare_tags("3.10", "3.9"), Ordering::Greater);
        assert_eq!(compare_tags("v2", "v10"), Ordering::Less);
        assert_eq!(compare_tags("3.19-alpha", "3.19-beta"), Ordering::Less);
        // Same number, other spelling: still a strict, stable order.
        assert_eq!(compare_tags("3.09", "3.9"), "3.09".cmp("3.9"));
        assert_eq!(compare_tags("3.19", "3.19"), Ordering::Equal);
    }

    proptest::proptest! {
        // A total order, so that sorting groups and picking the current tag
        // never depend on the order the records were read in.
        #[test]
        fn is_a_total_order(
            a in "[0-9a-z.-]{0,8}",
            b in "[0-9a-z.-]{0,8}",
            c in "[0-9a-z.-]{0,8}",
        ) {
            proptest::prop_assert_eq!(compare_tags(&a, &b), compare_tags(&b, &a).reverse());
            proptest::prop_assert_eq!(compare_tags(&a, &b) == Ordering::Equal, a == b);
            if compare_tags(&a, &b) != Ordering::Greater && compare_tags(&b, &c) != Ordering::Greater {
                proptest::prop_assert_ne!(compare_tags(&a, &c), Ordering::Greater);
            }
        }
    }
}
