//! The pure core of imglife: what a build record is, how its inputs are
//! validated and normalised, where it is stored (the logical key), and the
//! ports the adapters implement. Nothing here performs I/O.

pub mod field;
pub mod key;
pub mod metadata;
pub mod platform;
pub mod ports;
pub mod project;
pub mod record;
pub mod reference;
pub mod revision;
pub mod text;

pub use field::CustomFields;
pub use key::RecordKey;
pub use metadata::ImageMetadata;
pub use platform::{Platform, Platforms};
pub use project::ProjectPath;
pub use record::BuildRecord;
pub use reference::{Digest, ImageRef};
pub use revision::Revision;
