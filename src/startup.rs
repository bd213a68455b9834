//! Building the application: storage, the Slack client, the routes, and the listener it serves.
//!
//! `Application::build` binds its own listener, so with port 0 every test gets its own server.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use url::Url;

use crate::commands::{mention, summarize};
use crate::config::{Settings, SlackCredentials};
use crate::emulator::{Emulator, EmulatorConfig};
use crate::invites::announce;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::middleware;
use crate::replies as reply;
use crate::routes;
use crate::slack::client::SlackClient;
use crate::slack::openid_keys::OpenIdKeys;
use crate::state::AppState;
use crate::storage::{self, StorageError};
use crate::{abuse, housekeeping, invites, jobs, members};

/// Every Slack Web API call gives up after this long.
pub const SLACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the emulator is mounted in demo mode.
pub const EMULATOR_PATH: &str = "/_emulator/slack";

/// Where the demo mailbox is mounted in demo mode.
pub const MAILBOX_PATH: &str = "/_emulator/mail";

/// The sender of demo mail when no `LOBBY_MAIL_FROM` is set.
const DEMO_MAIL_FROM: &str = "lobby@demo.invalid";

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the Slack client: {0}")]
    Slack(String),
    #[error("cannot start the server: {0}")]
    Server(std::io::Error),
    #[error("outgoing mail: {0}")]
    Mail(String),
}

impl StartupError {
    /// Configuration problems exit with 2, like the configuration errors found before start.
    pub fn exit_code(&self) -> i32 {
        match self {
            StartupError::Bind { .. } | StartupError::Storage(_) | StartupError::Mail(_) => 2,
            StartupError::Slack(_) | StartupError::Server(_) => 1,
        }
    }
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    workers: jobs::Workers,
    /// The periodic loops (member counts, housekeeping); they stop when the server does.
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            addr: settings.bind,
            source,
        })?;
        Self::build_with_listener(settings, listener).await
    }

    /// Builds on a listener the caller already bound (tests bind first to learn the port).
    pub async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
    ) -> Result<Self, StartupError> {
        let local = listener.local_addr().map_err(StartupError::Server)?;
        let mut settings = settings;
        if settings.public_url.port() == Some(0) {
            // `LOBBY_PUBLIC_URL=http://127.0.0.1:0` beside `LOBBY_BIND=127.0.0.1:0`: whatever port
            // the system gave us (tests and scripts read it from the "Lobby is listening" line).
            // A URL with a host always takes a port, so this cannot fail.
            let _ = settings.public_url.set_port(Some(local.port()));
        }
        let state = web::Data::new(build_state(settings, local).await?);
        let workers = jobs::Workers::start(
            &state.queue,
            handlers(state.clone()),
            jobs::WorkerConfig {
                metrics: state.metrics.clone(),
                lease: state.settings.job_lease,
                ..jobs::WorkerConfig::default()
            },
        )
        .await
        .map_err(|e| {
            StartupError::Storage(StorageError::Database {
                url: crate::db::printable_url(&state.settings.database_url),
                source: e,
            })
        })?;
        let background = vec![
            members::spawn_refresher(state.clone()),
            housekeeping::spawn(state.clone()),
        ];
        let background: Vec<_> = background
            .into_iter()
            .chain(crate::cross_instance::spawn(state.clone()))
            .collect();

        let server_state = state.clone();
        let grace = state.settings.shutdown_grace;
        // The server's worker threads log where the code that built it logs: the global
        // subscriber in `lobby serve`, a test's own subscriber in the tests.
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let server = HttpServer::new(move || {
            // Runs once on each worker thread, which lives as long as the server: the default
            // stays set for the thread's life.
            std::mem::forget(tracing::dispatcher::set_default(&dispatch));
            let emulator = server_state.emulator.clone();
            App::new()
                .app_data(server_state.clone())
                .wrap(from_fn(middleware::error_pages))
                .wrap(from_fn(middleware::canonical_host))
                .wrap(from_fn(middleware::security_headers))
                .wrap(from_fn(middleware::request_context))
                .configure(routes::configure)
                .configure(|cfg| {
                    if let Some(emulator) = emulator {
                        let mailbox = emulator.mailbox().clone();
                        cfg.service(web::scope(MAILBOX_PATH).configure(|c| mailbox.configure(c)));
                        cfg.service(web::scope(EMULATOR_PATH).configure(|c| emulator.configure(c)));
                    }
                })
                .default_service(web::to(middleware::not_found))
        })
        // Signals are the caller's (`run_until`): actix's own would stop abruptly on Ctrl-C.
        .disable_signals()
        .shutdown_timeout(grace.as_secs().max(1))
        .listen(listener)
        .map_err(StartupError::Server)?
        .run();

        tracing::info!(
            address = %local,
            public_url = %state.settings.public_url,
            "Lobby is listening"
        );
        Ok(Application {
            port: local.port(),
            server,
            state,
            workers,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &web::Data<AppState> {
        &self.state
    }

    /// Serves until the server stops by itself (only an I/O failure stops it).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `stop` completes, then shuts down gracefully: no new connections, in-flight
    /// requests and running jobs get `LOBBY_SHUTDOWN_GRACE` to finish, and jobs still running
    /// then are handed back to the queue, so the next start runs them at once.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> std::io::Result<()> {
        let Application {
            mut server,
            state,
            workers,
            background,
            ..
        } = self;
        let grace = state.settings.shutdown_grace;
        tokio::select! {
            served = &mut server => {
                background.iter().for_each(|task| task.abort());
                workers.shutdown(grace).await;
                return served;
            }
            () = stop => {}
        }
        // The loops only queue work or forget old rows: stopping one mid-way loses nothing.
        background.iter().for_each(|task| task.abort());
        tracing::info!(
            grace_secs = grace.as_secs(),
            "shutting down: finishing requests and jobs"
        );
        let handle = server.handle();
        // New connections are refused at once, but the HTTP workers stay up until the jobs are
        // done: a job's Slack call may ride a pooled connection opened on a worker's runtime (the
        // install exchange runs there), and stopping that runtime would cut the call off. The
        // server future must be polled for its handle's commands to be carried out.
        let drain = async {
            handle.pause().await;
            workers.shutdown(grace).await;
            // actix only stops a server whose accept loop runs.
            handle.resume().await;
            handle.stop(true).await;
        };
        let ((), served) = tokio::join!(drain, server);
        tracing::info!("stopped");
        served
    }
}

/// The state every handler and command shares: storage opened and checked, the Slack client, and
/// in demo mode the emulator standing in for Slack. `local` is where this process serves HTTP.
pub async fn build_state(settings: Settings, local: SocketAddr) -> Result<AppState, StartupError> {
    let storage = storage::open(&settings).await?;
    if let Some(path) = &storage.generated_key {
        tracing::warn!(
            path = %path.display(),
            "generated a new master key; back it up apart from the database: without it the sealed tokens cannot be opened"
        );
    }

    let (credentials, api_url, oauth_authorize_url, openid_authorize_url, keys_url, emulator) =
        match &settings.slack.credentials {
            Some(credentials) => (
                credentials.clone(),
                settings.slack.api_url.clone(),
                settings.slack.oauth_authorize_url.clone(),
                settings.slack.openid_authorize_url.clone(),
                settings.slack.openid_keys_url.clone(),
                None,
            ),
            None => {
                let emulator = demo_emulator(&settings, local);
                let config = emulator.config();
                let credentials = SlackCredentials {
                    client_id: config.client_id.clone(),
                    client_secret: config.client_secret.clone(),
                    signing_secret: config.signing_secret.clone(),
                };
                // The server calls its own emulator over loopback; browsers use the public URL.
                let api_url = loopback_url(local, &format!("{EMULATOR_PATH}/api/"));
                let keys_url = loopback_url(local, &format!("{EMULATOR_PATH}/openid/connect/keys"));
                (
                    credentials,
                    api_url,
                    emulator.authorize_url(),
                    emulator.openid_authorize_url(),
                    keys_url,
                    Some(emulator),
                )
            }
        };
    if emulator.is_some() {
        tracing::warn!(
            emulator = %settings.url(&format!("{EMULATOR_PATH}/")),
            "demo mode: no SLACK_CLIENT_ID is set, so Lobby talks to its built-in Slack emulator"
        );
    }

    let mailer = match (&settings.mail, &emulator) {
        (Some(mail), _) => Some(Mailer::smtp(mail).map_err(StartupError::Mail)?),
        (None, Some(emulator)) => Some(Mailer::outbox(emulator.mailbox().clone(), DEMO_MAIL_FROM)),
        (None, None) => None,
    };
    let metrics = Metrics::new();
    let slack = SlackClient::new(api_url, SLACK_TIMEOUT)
        .map_err(|e| StartupError::Slack(e.to_string()))?
        .with_metrics(metrics.clone());
    // The Web API client's HTTP client: same timeouts, and it never follows a redirect.
    let openid_keys = OpenIdKeys::new(keys_url, slack.http().clone());
    let queue = jobs::Queue::new(storage.db.clone());
    Ok(AppState {
        signups: crate::invites::recorder::Recorder::new(storage.db.clone(), queue.clone()),
        queue,
        join_limiter: abuse::JoinLimits::default(),
        oauth_start_limiter: abuse::RateLimiter::oauth_start(),
        channels: Default::default(),
        names: Default::default(),
        settings,
        db: storage.db,
        keyring: storage.keyring,
        slack,
        credentials,
        oauth_authorize_url,
        openid_authorize_url,
        openid_keys,
        emulator,
        refresh_locks: Default::default(),
        metrics,
        replays: Default::default(),
        installations: Default::default(),
        mailer,
    })
}

/// A job handler that runs `$run(&AppState, Job)` with the shared state.
macro_rules! handler {
    ($state:expr, $run:path) => {{
        let state = $state.clone();
        move |job| {
            let state = state.clone();
            async move { $run(&state, job).await }
        }
    }};
}

/// Which code runs each kind of job.
fn handlers(state: web::Data<AppState>) -> jobs::Registry {
    let mut registry = jobs::Registry::new();
    registry
        .register(invites::DELIVER_JOB, handler!(state, invites::deliver::run))
        .register(
            announce::ANNOUNCE_JOB,
            handler!(state, announce::run_announce),
        )
        .register(announce::DECIDE_JOB, handler!(state, announce::run_decide))
        .register(
            invites::mail::CONFIRM_JOB,
            handler!(state, invites::mail::run_confirm),
        )
        .register(
            invites::mail::LINK_JOB,
            handler!(state, invites::mail::run_link),
        )
        .register(
            invites::mail::DENIED_JOB,
            handler!(state, invites::mail::run_denied),
        )
        .register(
            invites::mail::LINK_WARNING_JOB,
            handler!(state, invites::mail::run_link_warning),
        )
        .register(members::REFRESH_JOB, handler!(state, members::run))
        .register(reply::REPLY_JOB, handler!(state, reply::run))
        .register(summarize::SUMMARIZE_JOB, handler!(state, summarize::run))
        .register(mention::EVENT_JOB, handler!(state, mention::run));
    registry
}

fn demo_emulator(settings: &Settings, local: SocketAddr) -> Emulator {
    let emulator = Emulator::new(
        EmulatorConfig::demo(),
        settings.url(&format!("{EMULATOR_PATH}/")),
    );
    emulator.set_app_url(loopback_url(local, "/"));
    // The browser comes back to the public URL (localhost, say, while Lobby listens on
    // 127.0.0.1): its callbacks are registered Redirect URLs too.
    emulator.register_app_url(settings.public_url.clone());
    emulator
}

/// A URL reaching this server from the same machine, whatever address it listens on.
fn loopback_url(local: SocketAddr, path: &str) -> Url {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let host = match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    Url::parse(&format!("http://{host}:{}{path}", local.port()))
        .unwrap_or_else(|_| unreachable!("an IP, a port and a fixed path make a valid URL"))
}
