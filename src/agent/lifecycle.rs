//! The agent's side of a restore's stop, start and health commands (`crate::restore::apply`'s
//! lifecycle steps for a remote component): it runs the command the master sends in the
//! component's home on this machine, like the master runs a local component's
//! ([`crate::toolkit::command`]: argv split, no shell unless named, its own process group,
//! killed at its timeout, the output's tail kept), and answers how it ended. The master's
//! commands run here only for a component whose agent config says `run_commands = true`.
//! Nothing is recorded here: the master journals each step before it asks for it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::config::AgentComponentConfig;
use crate::engine::lifecycle::MAX_START_TIMEOUT;
use crate::error::{ApiError, ProblemKind};
use crate::store::wire::{LifecycleAnswer, LifecycleRequest};

/// The components whose lifecycle commands this agent may run. Cheap to clone.
#[derive(Clone)]
pub struct AgentLifecycle {
    components: Arc<Vec<AgentComponentConfig>>,
}

impl AgentLifecycle {
    pub fn new(components: Vec<AgentComponentConfig>) -> AgentLifecycle {
        AgentLifecycle {
            components: Arc::new(components),
        }
    }

    /// Runs the command of `req` for component `component` and restore `restore_id`. 404 for
    /// a component not served here; 422 naming the field for a bad request, and naming
    /// `command` when this agent's config does not let the master run commands for it.
    pub async fn step(
        &self,
        component: &str,
        restore_id: &str,
        req: &LifecycleRequest,
    ) -> Result<LifecycleAnswer, ApiError> {
        let c = self.check(component, restore_id, req)?;
        let run = crate::toolkit::command::Run {
            command: req.command.clone(),
            env: crate::restore::apply::lifecycle::command_env(
                &c.name,
                &c.home.display().to_string(),
                restore_id,
                &req.backup_id,
            ),
            cwd: Some(PathBuf::from(&c.home)),
            timeout: Duration::from_secs(req.timeout_seconds),
        };
        let home = c.home.display().to_string();
        // To its end even when the master stops waiting: a stop or a start half done is worse.
        let outcome = super::to_the_end(async move {
            tokio::task::spawn_blocking(move || crate::toolkit::command::run(&run))
                .await
                .map_err(|e| ApiError::internal(format!("the command's task stopped: {e}")))
        })
        .await?;
        tracing::info!(component, restore = restore_id, step = ?req.step, result = %outcome.describe(), "lifecycle command");
        Ok(LifecycleAnswer { home, outcome })
    }

    fn check(
        &self,
        component: &str,
        restore_id: &str,
        req: &LifecycleRequest,
    ) -> Result<AgentComponentConfig, ApiError> {
        if !crate::store::restore_record::is_restore_id(restore_id) {
            return Err(ApiError::field(
                "restore_id",
                format!("{restore_id:?} is not a restore ID"),
            ));
        }
        let c = self
            .components
            .iter()
            .find(|c| c.name == component)
            .ok_or_else(|| {
                ApiError::new(
                    ProblemKind::NotFound,
                    format!("component {component:?} is not served by this agent"),
                )
            })?;
        if req.command.contains('\0') || crate::toolkit::command::split(&req.command).is_err() {
            return Err(ApiError::field(
                "command",
                "must be a command that splits into arguments",
            ));
        }
        if !(1..=MAX_START_TIMEOUT).contains(&req.timeout_seconds) {
            return Err(ApiError::field(
                "timeout_seconds",
                format!("must be between 1 and {MAX_START_TIMEOUT}"),
            ));
        }
        if !crate::engine::backup_id::is_valid(&req.backup_id) {
            return Err(ApiError::field(
                "backup_id",
                format!("{:?} is not a backup ID", req.backup_id),
            ));
        }
        if !c.run_commands {
            return Err(ApiError::field(
                "command",
                format!(
                    "this agent does not run the master's commands for component {component:?}: \
                     set run_commands = true for it in the agent's config"
                ),
            ));
        }
        Ok(c.clone())
    }
}
