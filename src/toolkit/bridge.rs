//! The one bridge from blocking code to async code: run a future to its end from a thread that
//! is not a runtime worker (a job thread, the blocking pool, start-up).

use std::future::Future;

use tokio::runtime::Handle;

/// Why a future bridged to did not give its output.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// No runtime could be made for it.
    #[error("cannot start a runtime: {0}")]
    Runtime(std::io::Error),
    /// It panicked or its runtime went away.
    #[error("the task stopped")]
    Stopped,
}

/// The runtime of code started outside any runtime (unit tests, tools): one for the whole
/// process, made at its first use and never dropped. The server never uses it: its jobs run
/// on the server's runtime.
pub fn shared_handle() -> Result<Handle, BridgeError> {
    static SHARED: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    if let Some(rt) = SHARED.get() {
        return Ok(rt.handle().clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("shared-runtime")
        .enable_all()
        .build()
        .map_err(BridgeError::Runtime)?;
    // A runtime made by a racing first use is dropped here, outside any runtime.
    Ok(SHARED.get_or_init(|| rt).handle().clone())
}

/// Runs `fut` on the runtime `rt` when there is one (the server's), else on a runtime of its
/// own; waits for its output on this thread.
pub fn run_blocking<T: Send + 'static>(
    rt: Option<&Handle>,
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<T, BridgeError> {
    match rt {
        Some(h) => {
            let (tx, rx) = std::sync::mpsc::channel();
            h.spawn(async move {
                // The receiver is gone only when the waiting thread is: nobody to tell.
                let _ = tx.send(fut.await);
            });
            rx.recv().map_err(|_| BridgeError::Stopped)
        }
        None => run_here(fut),
    }
}

/// Runs `fut` (which may borrow from the caller) on a current-thread runtime of its own, in a
/// scoped thread: usable from sync code, inside or outside a runtime.
pub fn run_here<F>(fut: F) -> Result<F::Output, BridgeError>
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(fut))
                .map_err(BridgeError::Runtime)
        })
        .join()
        .unwrap_or(Err(BridgeError::Stopped))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_here_and_on_a_runtime() {
        let local = 41;
        assert_eq!(run_here(async { local + 1 }).unwrap(), 42);
        assert_eq!(run_blocking(None, async { 7 }).unwrap(), 7);
        let rt = tokio::runtime::Runtime::new().unwrap();
        assert_eq!(run_blocking(Some(rt.handle()), async { 8 }).unwrap(), 8);
    }
}
