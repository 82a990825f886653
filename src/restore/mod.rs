//! Restore jobs (placeholder until the restore work lands).

use std::path::Path;

use crate::jobs::Engine;
use crate::sets::Sets;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0}")]
    Io(String),
}

#[derive(Clone)]
pub struct Restorer {
    _engine: Engine,
    _sets: Sets,
}

impl Restorer {
    pub fn open(_state_dir: &Path, engine: Engine, sets: Sets) -> Result<Restorer, RestoreError> {
        Ok(Restorer {
            _engine: engine,
            _sets: sets,
        })
    }
}
