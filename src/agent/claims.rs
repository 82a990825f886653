//! One participant, one job: which backup or restore holds each component on this agent.
//!
//! A backup's prepare and a restore's apply claim their component; the claim lasts until that
//! transaction is final on this agent (committed, aborted, rolled back, ...), in doubt or not,
//! and is taken again from the records when the agent starts. A prepare while a restore holds
//! the component, or an apply while a backup holds it (also a second backup or restore), is
//! refused with 409 naming the holder: a backup never copies a half-restored home that is then
//! rolled back, and a restore never changes a home whose prepared backup may still be
//! committed.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::error::ApiError;
use crate::store::wire::TxnKind;

/// The transaction holding a component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub kind: TxnKind,
    pub id: String,
}

/// The claims of every component of this agent.
#[derive(Debug, Default)]
pub struct Claims(Mutex<HashMap<String, Holder>>);

impl Claims {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Holder>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims `component` for (`kind`, `id`); already holding it is fine. Refused (409 naming
    /// the holder) while another transaction holds it.
    pub fn claim(&self, component: &str, kind: TxnKind, id: &str) -> Result<(), ApiError> {
        let mut map = self.map();
        match map.get(component) {
            Some(h) if h.kind == kind && h.id == id => Ok(()),
            Some(h) => Err(ApiError::conflict(busy_text(component, h, kind))),
            None => {
                map.insert(
                    component.to_string(),
                    Holder {
                        kind,
                        id: id.to_string(),
                    },
                );
                Ok(())
            }
        }
    }

    /// Frees `component` when (`kind`, `id`) holds it.
    pub fn release(&self, component: &str, kind: TxnKind, id: &str) {
        let mut map = self.map();
        if map
            .get(component)
            .is_some_and(|h| h.kind == kind && h.id == id)
        {
            map.remove(component);
        }
    }

    /// Who holds `component`.
    pub fn holder(&self, component: &str) -> Option<Holder> {
        self.map().get(component).cloned()
    }
}

fn busy_text(component: &str, h: &Holder, wanted: TxnKind) -> String {
    let what = match h.kind {
        TxnKind::Backup => format!(
            "backup {} of component {component} is being prepared, or prepared and waiting \
             for the master's decision (perhaps in doubt)",
            h.id
        ),
        TxnKind::Restore => format!(
            "restore {} of component {component} is being applied, or applied and waiting for \
             the master's decision (perhaps in doubt)",
            h.id
        ),
    };
    format!(
        "{what} on this agent; one job per component, so this {} has to wait until the master \
         has resolved it (or an operator, with `backup-master agent resolve`)",
        wanted.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_component() {
        let c = Claims::default();
        c.claim("trk", TxnKind::Backup, "B1").unwrap();
        c.claim("trk", TxnKind::Backup, "B1").unwrap();
        c.claim("hub", TxnKind::Restore, "R1").unwrap();
        let e = c.claim("trk", TxnKind::Restore, "R2").unwrap_err();
        assert!(e.to_string().contains("backup B1"), "{e}");
        assert!(c.claim("trk", TxnKind::Backup, "B2").is_err());
        c.release("trk", TxnKind::Restore, "R2");
        assert_eq!(c.holder("trk").unwrap().id, "B1");
        c.release("trk", TxnKind::Backup, "B1");
        c.claim("trk", TxnKind::Restore, "R2").unwrap();
    }
}
