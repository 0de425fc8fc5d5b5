//! Ctrl-C and SIGTERM during a send.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// First Ctrl-C (or SIGTERM, as from systemd): stop taking readers, let
/// the messages in flight finish. Second: quit at once. Runs on the
/// current runtime until it ends with the run.
pub fn watch(stop: Arc<AtomicBool>, wake: Arc<Notify>) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
        stop.store(true, Ordering::SeqCst);
        wake.notify_waiters();
        eprintln!("\nStopping: the messages in flight finish and the journal is saved. Ctrl-C again quits at once.");
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Quit at once; the journal holds every outcome known so far. Rerun the same send to resume.");
            std::process::exit(130);
        }
    });
}
