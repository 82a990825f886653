//! Backup sets found on disk (placeholder until the backup-sets work lands).

use std::path::Path;

use crate::jobs::Engine;

#[derive(Debug, thiserror::Error)]
pub enum SetsError {
    #[error("{0}")]
    Io(String),
}

#[derive(Clone)]
pub struct Sets {
    _engine: Engine,
}

impl Sets {
    pub fn open(_state_dir: &Path, engine: Engine) -> Result<Sets, SetsError> {
        Ok(Sets { _engine: engine })
    }
}
