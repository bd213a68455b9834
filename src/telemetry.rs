//! Logging: a `tracing` subscriber, pretty on a terminal or one JSON object per line.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber writing to stderr. Returns an error line if `RUST_LOG` is invalid.
pub fn init(log: &LogSettings) -> Result<(), String> {
    init_with_writer(log, std::io::stderr, std::io::stderr().is_terminal())
}

/// Installs the global subscriber with any writer.
pub fn init_with_writer<W>(log: &LogSettings, writer: W, ansi: bool) -> Result<(), String>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&log.filter)
        .map_err(|e| format!("RUST_LOG={:?} is not a valid filter: {e}", log.filter))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match log.format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.with_ansi(ansi).try_init(),
    };
    installed.map_err(|e| format!("cannot install the logger: {e}"))
}

/// The same subscriber as a [`tracing::Dispatch`] that is not installed anywhere, for a caller
/// that scopes it (tests give each test its own log this way, with `dispatcher::set_default`).
pub fn dispatch_with_writer<W>(
    log: &LogSettings,
    writer: W,
    ansi: bool,
) -> Result<tracing::Dispatch, String>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&log.filter)
        .map_err(|e| format!("RUST_LOG={:?} is not a valid filter: {e}", log.filter))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    Ok(match log.format {
        LogFormat::Json => tracing::Dispatch::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Pretty => tracing::Dispatch::new(builder.with_ansi(ansi).finish()),
    })
}
