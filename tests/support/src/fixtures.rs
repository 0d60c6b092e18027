//! Build records for read-side tests: a deterministic fleet of
//! applications on a few base images, written as the real record documents
//! (through `imglife_domain`), ready to drop into any store.

use imglife_domain::{
    BuildRecord, CustomFields, ImageRef, Platforms, ProjectPath, RecordKey, Revision,
};

/// One record to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub image: String,
    pub base: String,
    pub project: String,
    pub revision: String,
    /// Seconds since the Unix epoch.
    pub built_at: i64,
}

/// A stored record: its key parts and its bytes.
#[derive(Debug, Clone)]
pub struct Stored {
    pub spec: Spec,
    pub name: String,
    pub version: String,
    pub bytes: Vec<u8>,
}

impl Spec {
    pub fn store(&self) -> Stored {
        let image = ImageRef::parse(&self.image).unwrap();
        let record = BuildRecord::new(
            image.clone(),
            ImageRef::parse(&self.base).unwrap(),
            Revision::parse(&self.revision).unwrap(),
            ProjectPath::parse(&self.project).unwrap(),
            Platforms::parse_lists(["linux/amd64"]).unwrap().unwrap(),
            jiff::Timestamp::from_second(self.built_at).unwrap(),
            CustomFields::default(),
            None,
            None,
        );
        let key = RecordKey::for_reference(&image).unwrap();
        Stored {
            spec: self.clone(),
            name: key.name().to_owned(),
            version: key.version().to_owned(),
            bytes: record.to_json(),
        }
    }
}

/// Base images of the fleet, oldest tag first within each repository.
pub const BASES: &[&str] = &[
    "registry.example.com/bases/alpine:3.19.1",
    "registry.example.com/bases/alpine:3.20.3",
    "registry.example.com/bases/alpine:3.21.3-core1.0.0",
    "registry.example.com/bases/alpine:3.21.3-core1.2.0",
    "registry.example.com/bases/debian:12.5",
    "registry.example.com/bases/debian:12.8",
];

/// `n` records: applications `app-000`, `app-001`, ... each with up to 10
/// releases (`1.0` ... `1.9`). Release `r` of app `a` was built
/// `(n - i)` hours before `newest` (`i` the record's index), so the
/// newest record has the highest index. Bases rotate with the index, so
/// that apps end up on current and on outdated tags.
pub fn fleet(n: usize, newest: i64) -> Vec<Spec> {
    let apps = n.div_ceil(10).max(1);
    (0..n)
        .map(|i| {
            let app = i % apps;
            let release = i / apps;
            let base = BASES[(app + release) % BASES.len()];
            Spec {
                image: format!("registry.example.com/apps/app-{app:03}:1.{release}"),
                base: base.to_owned(),
                project: format!("team-{}/app-{app:03}", app % 7),
                revision: format!(
                    "{:032x}{i:08x}",
                    (i as u128 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
                ),
                built_at: newest - 3600 * (n - 1 - i) as i64,
            }
        })
        .collect()
}

/// Writes records into a filesystem store rooted at `root`.
pub fn write_fs(root: &std::path::Path, records: &[Stored]) {
    for r in records {
        let dir = root.join(&r.name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{}.json", r.version)), &r.bytes).unwrap();
    }
}
