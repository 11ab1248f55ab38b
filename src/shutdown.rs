//! The shutdown signal, passed into long-running work: SIGTERM/SIGINT (or a test) trips
//! the [`ShutdownTrigger`]; every holder of a [`Shutdown`] sees it, between items and in
//! `select!`s, and stops taking new work.

use tokio::sync::watch;

/// Trips the shutdown once; dropping it does not.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

/// A cheap, cloneable view of the shutdown state.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// A new signal, not yet tripped.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }
}

impl Shutdown {
    /// A signal that never trips, for one-shot commands.
    pub fn never() -> Shutdown {
        // With the sender gone, `wait` pends forever and `is_triggered` stays false.
        let (_, rx) = watch::channel(false);
        Shutdown { rx }
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown has been asked for.
    pub async fn wait(&mut self) {
        // An error means the trigger was dropped without tripping: then nobody can ask
        // for shutdown any more, so wait forever.
        if self.rx.wait_for(|tripped| *tripped).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Trips `trigger` on SIGTERM or SIGINT (Ctrl-C).
pub fn trigger_on_signals(trigger: ShutdownTrigger) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        trigger.trigger();
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            tracing::warn!("cannot install signal handlers; only Ctrl-C will stop newsvault");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
