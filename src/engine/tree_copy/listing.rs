//! What a copy lists: every regular file it put in place with its SHA-256 and index entry,
//! kept in sorted runs on disk and read back in path order, and the `SHA256SUMS` and index
//! written from it.

use std::path::Path;

use crate::engine::fsutil::IoError;
use crate::engine::index::{IndexEntry, IndexWriter, INDEX_FILE_NAME};
use crate::engine::runs::Merge;
use crate::engine::sums::{SumsWriter, SUMS_FILE_NAME};

/// One copied file as listed after the copy: its path relative to the folder, its SHA-256 and,
/// when it may be reused by the next backup, its index entry.
#[derive(Debug, PartialEq, Eq)]
pub struct ListedFile {
    pub rel: Vec<u8>,
    pub sha256: [u8; 32],
    pub index: Option<IndexEntry>,
}

/// Every regular file a copy put in place, in path order, read from the sorted runs.
pub struct Listing(pub(super) Merge);

impl std::fmt::Debug for Listing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listing")
    }
}

pub(super) fn encode_listed(sha: &[u8; 32], index: Option<&IndexEntry>) -> Vec<u8> {
    let mut v = Vec::with_capacity(32 + IndexEntry::ENCODED_LEN);
    v.extend_from_slice(sha);
    if let Some(e) = index {
        e.encode(&mut v);
    }
    v
}

impl Iterator for Listing {
    type Item = Result<ListedFile, IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next()?.map(|(rel, value)| {
            let mut sha256 = [0u8; 32];
            let (sha, rest) = value.split_at(value.len().min(32));
            if sha.len() == 32 {
                sha256.copy_from_slice(sha);
            }
            ListedFile {
                rel,
                sha256,
                index: IndexEntry::decode(rest),
            }
        }))
    }
}

/// Writes `SHA256SUMS` and the index into `folder` (new files) from a copy's listing.
pub fn write_sums_and_index(folder: &Path, listing: Listing) -> Result<(), IoError> {
    let mut sums = SumsWriter::create(&folder.join(SUMS_FILE_NAME))?;
    let mut index = IndexWriter::create(&folder.join(INDEX_FILE_NAME))?;
    for f in listing {
        let f = f?;
        sums.add(&f.rel, &f.sha256)?;
        if let Some(e) = &f.index {
            index.add(&f.rel, e)?;
        }
    }
    sums.finish()?;
    index.finish()
}
