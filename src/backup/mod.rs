//! A backup set across components: the coordinator that makes it atomic (two-phase commit
//! over every component's store), the shared point in time of its copies (`freeze`) and the crash recovery that finishes or undoes one a crash
//! interrupted. Below the job runner (`crate::jobs`), above the stores and the engine.

pub mod coordinator;
pub mod freeze;
pub mod recovery;
