//! The emulator's data: owners, members, tokens, repositories, packages,
//! versions and files, with Gitea's case-insensitive look-ups.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256, Sha512};

use super::faults::FaultQueues;
use super::{Access, RecordedRequest, Scope, Visibility};

pub struct Owner {
    pub id: u64,
    pub name: String,
    pub is_org: bool,
    pub visibility: Visibility,
}

pub struct Repo {
    pub id: u64,
    pub owner: u64,
    pub name: String,
}

/// `package`: one per (owner, type, lower name); only generic here.
pub struct PackageRow {
    pub owner: u64,
    pub name: String,
    /// The linked repository (`package.repo_id`).
    pub repo: Option<u64>,
}

/// `package_version`: one per (package, lower version).
pub struct VersionRow {
    pub id: u64,
    pub package: u64,
    pub version: String,
    pub creator: u64,
    /// Whole seconds, as Gitea's `created_unix`.
    pub created_unix: i64,
}

/// `package_file` with its blob's hashes.
pub struct FileRow {
    pub id: u64,
    pub version: u64,
    pub name: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub sha512: String,
    pub created_unix: i64,
}

pub struct State {
    pub url: String,
    pub object_storage_url: String,
    pub owners: BTreeMap<u64, Owner>,
    /// (organisation, user) -> access to the organisation's packages.
    pub members: HashMap<(u64, u64), Access>,
    pub tokens: HashMap<String, (u64, Scope)>,
    pub repos: BTreeMap<u64, Repo>,
    pub packages: BTreeMap<u64, PackageRow>,
    pub versions: BTreeMap<u64, VersionRow>,
    pub files: BTreeMap<u64, FileRow>,
    /// (owner, lower name) -> package.
    package_index: HashMap<(u64, String), u64>,
    /// (package, lower version) -> version.
    version_index: HashMap<(u64, String), u64>,
    /// version -> its files' ids, ascending.
    version_files: HashMap<u64, Vec<u64>>,
    pub link_api: bool,
    pub size_limit: Option<u64>,
    pub max_response_items: usize,
    pub download_redirect: bool,
    pub faults: FaultQueues,
    pub object_faults: FaultQueues,
    pub requests: Vec<RecordedRequest>,
    pub object_requests: Vec<RecordedRequest>,
    next_owner: u64,
    next_repo: u64,
    next_package: u64,
    next_version: u64,
    next_file: u64,
}

impl Default for State {
    fn default() -> Self {
        Self {
            url: String::new(),
            object_storage_url: String::new(),
            owners: BTreeMap::new(),
            members: HashMap::new(),
            tokens: HashMap::new(),
            repos: BTreeMap::new(),
            packages: BTreeMap::new(),
            versions: BTreeMap::new(),
            files: BTreeMap::new(),
            package_index: HashMap::new(),
            version_index: HashMap::new(),
            version_files: HashMap::new(),
            link_api: true,
            size_limit: None,
            max_response_items: 50,
            download_redirect: false,
            faults: FaultQueues::default(),
            object_faults: FaultQueues::default(),
            requests: Vec::new(),
            object_requests: Vec::new(),
            next_owner: 1,
            next_repo: 1,
            next_package: 1,
            next_version: 1,
            next_file: 1,
        }
    }
}

/// Why a file could not be stored.
#[derive(Debug, PartialEq, Eq)]
pub enum AddError {
    /// `packages_model.ErrDuplicatePackageFile`.
    Duplicate,
}

impl std::fmt::Display for AddError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("package file already exists")
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl State {
    pub fn add_owner(&mut self, name: &str, is_org: bool, visibility: Visibility) -> u64 {
        assert!(
            self.owner_id(name).is_none(),
            "gitea emulator: the name {name} is taken"
        );
        let id = self.next_owner;
        self.next_owner += 1;
        self.owners.insert(
            id,
            Owner {
                id,
                name: name.to_owned(),
                is_org,
                visibility,
            },
        );
        id
    }

    /// `GetUserByName`: case-insensitive.
    pub fn owner_id(&self, name: &str) -> Option<u64> {
        self.owners
            .values()
            .find(|o| o.name.eq_ignore_ascii_case(name))
            .map(|o| o.id)
    }

    pub fn add_repository(&mut self, owner: u64, name: &str) -> u64 {
        let id = self.next_repo;
        self.next_repo += 1;
        self.repos.insert(
            id,
            Repo {
                id,
                owner,
                name: name.to_owned(),
            },
        );
        id
    }

    /// `GetRepositoryByName`: case-insensitive, within the owner.
    pub fn find_repository(&self, owner: u64, name: &str) -> Option<&Repo> {
        self.repos
            .values()
            .find(|r| r.owner == owner && r.name.eq_ignore_ascii_case(name))
    }

    /// `GetPackageByName` (generic): by lower name.
    pub fn find_package(&self, owner: u64, name: &str) -> Option<u64> {
        self.package_index
            .get(&(owner, name.to_lowercase()))
            .copied()
    }

    /// `GetVersionByNameAndVersion`: by lower name and lower version.
    pub fn find_version(&self, owner: u64, name: &str, version: &str) -> Option<u64> {
        let package = self.find_package(owner, name)?;
        self.version_index
            .get(&(package, version.to_lowercase()))
            .copied()
    }

    /// Files of a version, by id (`GetFilesByVersionID`).
    pub fn files_of(&self, version: u64) -> Vec<&FileRow> {
        self.version_files
            .get(&version)
            .map(|ids| ids.iter().filter_map(|id| self.files.get(id)).collect())
            .unwrap_or_default()
    }

    /// Every version of the owner's packages with its package, in no order.
    pub fn versions_of(&self, owner: u64) -> Vec<(&PackageRow, &VersionRow)> {
        self.versions
            .values()
            .filter_map(|v| {
                let p = self.packages.get(&v.package)?;
                (p.owner == owner).then_some((p, v))
            })
            .collect()
    }

    /// `CreatePackageOrAddFileToExisting`: finds or creates the package and
    /// the version, then adds the file unless the version already holds
    /// one of that (lower-case) name. Nothing is created on a duplicate.
    pub fn add_file(
        &mut self,
        owner: u64,
        creator: u64,
        name: &str,
        version: &str,
        file: &str,
        bytes: Vec<u8>,
    ) -> Result<u64, AddError> {
        if let Some(v) = self.find_version(owner, name, version)
            && self
                .files_of(v)
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(file))
        {
            return Err(AddError::Duplicate);
        }
        let package = match self.find_package(owner, name) {
            Some(id) => id,
            None => {
                let id = self.next_package;
                self.next_package += 1;
                self.packages.insert(
                    id,
                    PackageRow {
                        owner,
                        name: name.to_owned(),
                        repo: None,
                    },
                );
                self.package_index.insert((owner, name.to_lowercase()), id);
                id
            }
        };
        let version_id = match self.find_version(owner, name, version) {
            Some(id) => id,
            None => {
                let id = self.next_version;
                self.next_version += 1;
                self.versions.insert(
                    id,
                    VersionRow {
                        id,
                        package,
                        version: version.to_owned(),
                        creator,
                        created_unix: now(),
                    },
                );
                self.version_index
                    .insert((package, version.to_lowercase()), id);
                id
            }
        };
        let id = self.next_file;
        self.next_file += 1;
        let sha256 = hex(&Sha256::digest(&bytes));
        let sha512 = hex(&Sha512::digest(&bytes));
        self.files.insert(
            id,
            FileRow {
                id,
                version: version_id,
                name: file.to_owned(),
                bytes,
                sha256,
                sha512,
                created_unix: now(),
            },
        );
        self.version_files.entry(version_id).or_default().push(id);
        Ok(id)
    }

    /// `RemovePackageVersion`: the version and its files.
    pub fn remove_version(&mut self, version: u64) {
        if let Some(v) = self.versions.remove(&version) {
            self.version_index
                .remove(&(v.package, v.version.to_lowercase()));
        }
        for id in self.version_files.remove(&version).unwrap_or_default() {
            self.files.remove(&id);
        }
    }

    /// `DeletePackageFile`, or `RemovePackageVersion` when it is the last
    /// file of its version (`generic.DeletePackageFile`).
    pub fn remove_file(&mut self, file: u64) {
        let Some(version) = self.files.get(&file).map(|f| f.version) else {
            return;
        };
        if self.files_of(version).len() == 1 {
            self.remove_version(version);
        } else {
            self.files.remove(&file);
            if let Some(ids) = self.version_files.get_mut(&version) {
                ids.retain(|id| *id != file);
            }
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// RFC 3339 in UTC, as Go marshals a `time.Time` in UTC.
pub fn rfc3339(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
