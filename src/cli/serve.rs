//! `lobby serve`: run the server until SIGTERM or Ctrl-C, then stop gracefully; SIGHUP reloads
//! the master key file (after `lobby keys rotate`, though a value sealed with a key the server
//! does not hold makes it reload by itself too).

use std::process::ExitCode;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::Settings;
use crate::startup::Application;
use crate::state::AppState;

pub async fn run(settings: Settings) -> ExitCode {
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("lobby: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    // The one address to open: cookies belong to its host name (127.0.0.1 is redirected there).
    println!(
        "Lobby is running. Open {} in your browser.",
        app.state().settings.public_url
    );
    match signal(SignalKind::hangup()) {
        Ok(hangup) => {
            tokio::spawn(reload_keys_on(hangup, app.state().clone()));
        }
        Err(e) => {
            eprintln!("lobby: cannot listen for SIGHUP: {e}");
            return ExitCode::FAILURE;
        }
    }
    let stop = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(terminate), Ok(interrupt)) => first_signal(StopSignals {
            terminate,
            interrupt,
        }),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("lobby: cannot listen for SIGTERM and SIGINT: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until(stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lobby: the server stopped: {e}");
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM and SIGINT (Ctrl-C), listened for from the start: a signal that arrives between the
/// first and the wait for a second is kept, not lost.
struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
}

impl StopSignals {
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}

/// Resolves at the first SIGTERM or SIGINT (Ctrl-C). From then on a second one ends the process
/// at once: someone who asks twice does not want to wait for the grace period. Jobs cut short
/// that way are taken back at the next start, as after a crash.
async fn first_signal(mut signals: StopSignals) {
    let name = signals.next().await;
    tracing::info!(
        signal = name,
        "stopping gracefully; send the signal again to stop at once"
    );
    tokio::spawn(async move {
        let name = signals.next().await;
        tracing::warn!(signal = name, "stopping at once");
        std::process::exit(if name == "SIGINT" { 130 } else { 143 });
    });
}

/// Reads the master key file again at every SIGHUP.
async fn reload_keys_on(mut hangup: Signal, state: actix_web::web::Data<AppState>) {
    while hangup.recv().await.is_some() {
        match state.keyring.reload() {
            Ok(changed) => tracing::info!(
                signal = "SIGHUP",
                changed,
                sealing_key_id = %state.keyring.sealing_key_id(),
                "master keys reloaded"
            ),
            Err(error) => {
                tracing::error!(signal = "SIGHUP", %error, "could not reload the master keys")
            }
        }
    }
}
