//! The version line of `imglife --version`: `0.1.0 (82d686b 2026-12-01)`,
//! the package version, the commit it was built from and the build date.
//!
//! The commit comes from git when the sources are a git checkout that
//! holds this crate; otherwise (a source tarball, a vendored copy) the line
//! says `unknown commit`. The date is the day the build script ran (UTC),
//! or `SOURCE_DATE_EPOCH`'s when set, for reproducible builds.
//!
//! The script reruns only when the checked-out commit can have changed:
//! `.git/HEAD`, the branch ref it points to (loose or packed) and
//! `SOURCE_DATE_EPOCH`. Editing sources does not rerun it, so an ordinary
//! rebuild stays incremental.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let date = build_date();
    let line = match commit(&manifest_dir) {
        Some(hash) => format!("{version} ({hash} {date})"),
        None => format!("{version} (unknown commit {date})"),
    };
    println!("cargo:rustc-env=IMGLIFE_VERSION_LINE={line}");
}

/// The short hash of `HEAD`, when `dir` is inside a git checkout that
/// tracks this crate (and git is installed). Watches the files that change
/// when `HEAD` moves.
fn commit(dir: &Path) -> Option<String> {
    // A crate unpacked inside some unrelated repository (a home directory
    // kept in git) must not report that repository's commit.
    git(dir, &["ls-files", "--error-unmatch", "Cargo.toml"])?;
    let git_dir = PathBuf::from(git(dir, &["rev-parse", "--absolute-git-dir"])?);
    let common = git(dir, &["rev-parse", "--git-common-dir"]).map(|p| {
        let p = PathBuf::from(p);
        if p.is_absolute() { p } else { dir.join(p) }
    });
    watch(&git_dir.join("HEAD"));
    if let (Some(common), Some(reference)) = (common, git(dir, &["symbolic-ref", "-q", "HEAD"])) {
        watch(&common.join(&reference));
        watch(&common.join("packed-refs"));
    }
    git(dir, &["rev-parse", "--short=7", "HEAD"])
}

/// Only files that exist: cargo reruns a script every build while a path
/// it watches is missing.
fn watch(path: &Path) {
    if path.is_file() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// `YYYY-MM-DD` of `SOURCE_DATE_EPOCH`, else of now, in UTC.
fn build_date() -> String {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
        });
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to a
/// proleptic Gregorian date.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
