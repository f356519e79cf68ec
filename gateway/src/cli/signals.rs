//! Process signals: SIGTERM / SIGINT stop, SIGHUP reloads.

use tokio::signal::unix::{signal, SignalKind};

/// Resolves at the first SIGTERM or SIGINT (Ctrl-C).
pub async fn wait_for_stop() {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers we can only wait for Ctrl-C the portable way.
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
