//! The `lobby` command line: parse, load settings, dispatch. Every failure is one line on stderr.

mod api_keys;
mod backup;
mod check;
mod community;
mod database;
mod emulator;
mod invites;
mod keys;
mod post;
mod seal;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::state::AppState;

#[derive(Debug, Parser)]
#[command(
    name = "lobby",
    version,
    about = "A self-hosted Slack app server: Add to Slack, join forms, invites, slash commands and a posting API"
)]
pub struct Cli {
    /// A lobby.toml with the same keys as the environment (default: ./lobby.toml when it exists)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default). Demo mode with the built-in Slack emulator when no credentials are set.
    Serve,
    /// Run the Slack emulator on its own, for trying Lobby or another Slack app without slack.com
    Emulator {
        #[arg(long, default_value = "127.0.0.1:3333")]
        bind: SocketAddr,
        /// Where the emulator delivers signed events and slash commands
        #[arg(long, default_value = "http://127.0.0.1:8080/")]
        app_url: url::Url,
    },
    /// Manage the master keys that seal tokens at rest
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Create, list and change communities (their join forms)
    Community {
        #[command(subcommand)]
        command: Box<community::CommunityCommand>,
    },
    /// List and decide invite requests
    Invites {
        #[command(subcommand)]
        command: invites::InvitesCommand,
    },
    /// Keys for other systems to call the API
    ApiKeys {
        #[command(subcommand)]
        command: api_keys::ApiKeysCommand,
    },
    /// Print the Slack app manifest for this server (paste it at api.slack.com/apps → Create New App → From a manifest)
    Manifest,
    /// Post a message or a file to a channel, through a Lobby server or straight to Slack
    Post(Box<post::PostArgs>),
    /// Check the configuration, the database, the master key and Slack (api.test, and auth.test
    /// per installation); one line per check, non-zero exit if any fails
    Check,
    /// Write a consistent copy of the database while the server runs (the master key is not in it)
    Backup(backup::BackupArgs),
    /// Move the deployment to another database: `lobby db copy --to postgres://…`
    Db {
        #[command(subcommand)]
        command: database::DbCommand,
    },
}

pub fn run(cli: Cli) -> ExitCode {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Emulator { bind, app_url } = command {
        return with_runtime(emulator::run(bind, app_url));
    }
    // Posting and sealing run on a script's machine: they need no settings and no database.
    if let Command::Post(args) = command {
        return with_runtime(post::run(*args));
    }
    if let Command::Keys {
        command: keys::KeysCommand::Seal(args),
    } = command
    {
        return seal::run(args);
    }
    // A check reports a bad configuration as one of its lines.
    if let Command::Check = command {
        return check::run(cli.config.as_deref());
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(errors) => {
            for error in errors {
                eprintln!("lobby: {error}");
            }
            return ExitCode::from(2);
        }
    };
    if let (Command::Serve, Some(refusal)) = (&command, settings.demo_refusal()) {
        eprintln!("lobby: {refusal}");
        return ExitCode::from(2);
    }
    if let Err(e) = crate::telemetry::init(&settings.log) {
        eprintln!("lobby: {e}");
        return ExitCode::from(2);
    }
    match command {
        Command::Serve => with_runtime(serve::run(settings)),
        Command::Backup(args) => with_runtime(backup::run(&settings, args)),
        Command::Db { command } => with_runtime(database::run(&settings, command)),
        Command::Keys { command } => with_runtime(keys::run(settings, command)),
        Command::Manifest => {
            println!("{}", crate::slack::manifest::render(&settings));
            ExitCode::SUCCESS
        }
        Command::Community { command } => with_runtime(with_state(settings, |state| {
            Box::pin(async move { community::run(&state, *command).await })
        })),
        Command::Invites { command } => with_runtime(with_state(settings, |state| {
            Box::pin(async move { invites::run(&state, command).await })
        })),
        Command::ApiKeys { command } => with_runtime(with_state(settings, |state| {
            Box::pin(async move { api_keys::run(&state, command).await })
        })),
        Command::Emulator { .. } | Command::Post(_) | Command::Check => {
            unreachable!("handled above")
        }
    }
}

type CommandFuture = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<String>>>>;

/// Runs a command that works on the app's state (database, keyring, queue), printing its answer.
async fn with_state(
    settings: Settings,
    command: impl FnOnce(AppState) -> CommandFuture,
) -> ExitCode {
    let local = settings.bind;
    let state = match crate::startup::build_state(settings, local).await {
        Ok(state) => state,
        Err(e) => {
            eprintln!("lobby: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match command(state).await {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => match e.downcast_ref::<Refused>() {
            Some(Refused(problems)) => {
                for problem in problems {
                    eprintln!("lobby: {problem}");
                }
                ExitCode::from(2)
            }
            None => {
                eprintln!("lobby: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Input a command refuses, a sentence per problem: printed one per line, exit code 2.
#[derive(Debug)]
pub struct Refused(pub Vec<String>);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl std::error::Error for Refused {}

fn with_runtime(fut: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(fut),
        Err(e) => {
            eprintln!("lobby: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
