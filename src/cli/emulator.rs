//! `lobby emulator`: the Slack emulator on its own port.

use std::net::SocketAddr;
use std::process::ExitCode;

use secrecy::ExposeSecret;

use crate::emulator::{self, EmulatorConfig};

pub async fn run(bind: SocketAddr, app_url: url::Url) -> ExitCode {
    let _ = tracing_subscriber::fmt().with_env_filter("info").try_init();
    let running = match emulator::spawn(EmulatorConfig::demo(), bind).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("lobby: cannot listen on {bind}: {e}");
            return ExitCode::from(2);
        }
    };
    let emu = &running.emulator;
    emu.set_app_url(app_url.clone());
    let config = emu.config();
    // These are the fake app's credentials, valid only against this emulator: printing them is the point.
    // The base URL is printed whole, so a script that asked for port 0 learns where to go.
    println!("Slack emulator listening on {}", emu.base_url());
    println!("Point Lobby at it with:");
    println!("  SLACK_CLIENT_ID={}", config.client_id);
    println!(
        "  SLACK_CLIENT_SECRET={}",
        config.client_secret.expose_secret()
    );
    println!(
        "  SLACK_SIGNING_SECRET={}",
        config.signing_secret.expose_secret()
    );
    println!("  SLACK_API_URL={}", emu.api_url());
    println!("  SLACK_OAUTH_AUTHORIZE_URL={}", emu.authorize_url());
    println!(
        "  SLACK_OPENID_AUTHORIZE_URL={}",
        emu.openid_authorize_url()
    );
    println!("Events and slash commands go to {app_url}slack/events");
    match tokio::signal::ctrl_c().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lobby: {e}");
            ExitCode::FAILURE
        }
    }
}
