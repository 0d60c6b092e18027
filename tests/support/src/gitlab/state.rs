//! The emulator's data: projects, members, tokens, packages and files.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::faults::FaultQueues;
use super::{PackageFile, RecordedRequest, Role, Scope, Visibility};

/// GitLab's default `generic_packages_max_file_size`: 5 GiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 5_368_709_120;

pub struct Project {
    pub id: u64,
    pub full_path: String,
    pub visibility: Visibility,
}

impl Project {
    pub fn namespace(&self) -> &str {
        self.full_path.split('/').next().unwrap_or_default()
    }
}

pub struct NamespaceSettings {
    pub duplicates_allowed: bool,
    pub exception_regex: Option<regex::Regex>,
}

impl Default for NamespaceSettings {
    fn default() -> Self {
        Self {
            duplicates_allowed: true,
            exception_regex: None,
        }
    }
}

pub struct DeployToken {
    pub project_id: u64,
    pub read: bool,
    pub write: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Default,
    Hidden,
    PendingDestruction,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Default => "default",
            Status::Hidden => "hidden",
            Status::PendingDestruction => "pending_destruction",
        }
    }
}

pub struct Package {
    pub id: u64,
    pub project_id: u64,
    pub name: String,
    pub version: String,
    pub status: Status,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_downloaded_at: Option<Timestamp>,
    /// Ids of all its files, ascending (pending destruction included).
    pub files: Vec<u64>,
}

pub struct FileRow {
    pub id: u64,
    pub package_id: u64,
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub created_at: Timestamp,
    pub pending_destruction: bool,
}

pub struct State {
    pub api_url: String,
    pub object_storage_url: String,
    pub projects: BTreeMap<u64, Project>,
    pub namespaces: HashMap<String, NamespaceSettings>,
    pub max_file_size: u64,
    pub users: HashSet<String>,
    pub members: HashMap<(u64, String), Role>,
    pub personal_tokens: HashMap<String, (String, Scope)>,
    pub job_tokens: HashMap<String, String>,
    pub deploy_tokens: HashMap<String, DeployToken>,
    pub faults: FaultQueues,
    pub object_faults: FaultQueues,
    pub download_redirect: bool,
    pub requests: Vec<RecordedRequest>,
    pub object_requests: Vec<RecordedRequest>,
    pub packages: BTreeMap<u64, Package>,
    /// (project, name, version) -> the package not pending destruction.
    pub live_index: HashMap<(u64, String, String), u64>,
    pub files: BTreeMap<u64, FileRow>,
    next_package_id: u64,
    next_file_id: u64,
}

impl Default for State {
    fn default() -> Self {
        Self {
            api_url: String::new(),
            object_storage_url: String::new(),
            projects: BTreeMap::new(),
            namespaces: HashMap::new(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            users: HashSet::new(),
            members: HashMap::new(),
            personal_tokens: HashMap::new(),
            job_tokens: HashMap::new(),
            deploy_tokens: HashMap::new(),
            faults: FaultQueues::default(),
            object_faults: FaultQueues::default(),
            download_redirect: false,
            requests: Vec::new(),
            object_requests: Vec::new(),
            packages: BTreeMap::new(),
            live_index: HashMap::new(),
            files: BTreeMap::new(),
            next_package_id: 1,
            next_file_id: 1,
        }
    }
}

impl State {
    pub fn add_project(&mut self, id: u64, full_path: &str, visibility: Visibility) {
        self.projects.insert(
            id,
            Project {
                id,
                full_path: full_path.trim_matches('/').to_owned(),
                visibility,
            },
        );
    }

    pub fn namespace_mut(&mut self, namespace: &str) -> &mut NamespaceSettings {
        self.namespaces
            .entry(namespace.to_ascii_lowercase())
            .or_default()
    }

    pub fn namespace(&self, namespace: &str) -> Option<&NamespaceSettings> {
        self.namespaces.get(&namespace.to_ascii_lowercase())
    }

    /// `find_project`: a numeric id (`^-?\d+$`), or a decoded full path that
    /// contains `/` (case-insensitive, like GitLab routes).
    pub fn find_project(&self, id: &str) -> Option<&Project> {
        let numeric = {
            let digits = id.strip_prefix('-').unwrap_or(id);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        };
        if numeric {
            return id.parse::<u64>().ok().and_then(|n| self.projects.get(&n));
        }
        if id.contains('/') {
            return self
                .projects
                .values()
                .find(|p| p.full_path.eq_ignore_ascii_case(id));
        }
        None
    }

    pub fn role(&self, project_id: u64, user: &str) -> Option<Role> {
        self.members.get(&(project_id, user.to_owned())).copied()
    }

    pub fn live_package(&self, project_id: u64, name: &str, version: &str) -> Option<u64> {
        self.live_index
            .get(&(project_id, name.to_owned(), version.to_owned()))
            .copied()
    }

    /// Finds the package not pending destruction, or creates one.
    pub fn find_or_create_package(&mut self, project_id: u64, name: &str, version: &str) -> u64 {
        if let Some(id) = self.live_package(project_id, name, version) {
            return id;
        }
        let id = self.next_package_id;
        self.next_package_id += 1;
        let now = Timestamp::now();
        self.packages.insert(
            id,
            Package {
                id,
                project_id,
                name: name.to_owned(),
                version: version.to_owned(),
                status: Status::Default,
                created_at: now,
                updated_at: now,
                last_downloaded_at: None,
                files: Vec::new(),
            },
        );
        self.live_index
            .insert((project_id, name.to_owned(), version.to_owned()), id);
        id
    }

    pub fn add_file(&mut self, package_id: u64, file_name: &str, bytes: Vec<u8>) -> u64 {
        let id = self.next_file_id;
        self.next_file_id += 1;
        let now = Timestamp::now();
        let sha256 = sha256_hex(&bytes);
        self.files.insert(
            id,
            FileRow {
                id,
                package_id,
                file_name: file_name.to_owned(),
                bytes,
                sha256,
                created_at: now,
                pending_destruction: false,
            },
        );
        if let Some(p) = self.packages.get_mut(&package_id) {
            p.files.push(id);
            p.updated_at = now;
        }
        id
    }

    /// Live (not pending destruction) files of a package, by id ascending.
    pub fn installable_files(&self, package_id: u64) -> Vec<&FileRow> {
        self.packages
            .get(&package_id)
            .map(|p| {
                p.files
                    .iter()
                    .filter_map(|id| self.files.get(id))
                    .filter(|f| !f.pending_destruction)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn mark_package_for_destruction(&mut self, package_id: u64) {
        if let Some(p) = self.packages.get_mut(&package_id) {
            p.status = Status::PendingDestruction;
            let key = (p.project_id, p.name.clone(), p.version.clone());
            let files = p.files.clone();
            if self.live_index.get(&key) == Some(&package_id) {
                self.live_index.remove(&key);
            }
            for id in files {
                if let Some(f) = self.files.get_mut(&id) {
                    f.pending_destruction = true;
                }
            }
        }
    }

    pub fn live_files(&self, project_id: u64, name: &str, version: &str) -> Vec<PackageFile> {
        let Some(package_id) = self.live_package(project_id, name, version) else {
            return Vec::new();
        };
        self.installable_files(package_id)
            .into_iter()
            .map(|f| PackageFile {
                id: f.id,
                package_id: f.package_id,
                file_name: f.file_name.clone(),
                bytes: f.bytes.clone(),
            })
            .collect()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// ISO-8601 UTC with milliseconds, like GitLab's API entities.
pub fn iso(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
