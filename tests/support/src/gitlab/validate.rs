//! GitLab's generic package regexes (newest), checked by hand.

/// `generic_package_name_regex`: `\A[A-Za-z0-9\.\_\-\+]+\z`.
pub fn package_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
}

/// `generic_package_version_regex`: `\A(?!.*\.\.)[\w+.-]+\z` (Ruby `\w` is ASCII).
pub fn package_version(s: &str) -> bool {
    !s.is_empty()
        && !s.contains("..")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'.' | b'-'))
}

/// Newest `generic_package_file_name_regex`:
/// `\A(?![~@])[A-Za-z0-9._+~@-]+(?<![~@])\z`.
pub fn file_name(s: &str) -> bool {
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'~' | b'@' | b'-'));
    let edge = |c: Option<char>| matches!(c, Some('~' | '@'));
    !s.is_empty() && ok_chars && !edge(s.chars().next()) && !edge(s.chars().last())
}

/// Grape's `file_path: true` (`Gitlab::PathTraversal.check_path_traversal!`):
/// no `..` path segment, no absolute path.
pub fn file_path(s: &str) -> bool {
    !s.starts_with('/') && !s.split(['/', '\\']).any(|seg| seg == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_gitlab_spec() {
        for ok in [
            "1.3.350-20201230123456",
            "1.2.3",
            "1.2.3g",
            "1.2",
            "1.2.bananas",
            "v1.2.4-build",
            "d50d836eb3de6177ce6c7a5482f27f9c2c84b672",
        ] {
            assert!(package_version(ok), "{ok}");
        }
        for bad in ["..1.2.3", "1.2.3-4/../../", "../1.2.3", "", "1.2 3"] {
            assert!(!package_version(bad), "{bad}");
        }
    }

    #[test]
    fn file_names_from_gitlab_spec() {
        for ok in ["my+file.tar.gz", "my~file.tar.gz", "myfile@1.1.tar.gz", "a"] {
            assert!(file_name(ok), "{ok}");
        }
        for bad in [
            "@myfile1.1.tar.gz",
            "myfile1.1.tar.gz@",
            "~myfile.tar.gz",
            "myfile.tar.gz~",
            "my file",
            "a/b",
            "",
        ] {
            assert!(!file_name(bad), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(package_name("my_package-1.0+x"));
        assert!(!package_name("my package"));
        assert!(!package_name("my-package/../"));
        assert!(!package_name("a~b"));
    }
}
