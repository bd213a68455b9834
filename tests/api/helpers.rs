//! `spawn_app()`: a Lobby server on port 0 with its own SQLite file, talking to its own Slack
//! emulator, and a browser-like client (cookie store, redirects off).

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;

use actix_web::web;
use lobby::config::{LogFormat, LogSettings, Settings};
use lobby::emulator::{self, Emulator, EmulatorConfig, RunningEmulator, seed};
use lobby::startup::Application;
use lobby::state::AppState;
use lobby::vault::{self, KeySource};
use secrecy::ExposeSecret;
use tempfile::TempDir;
use url::Url;

thread_local! {
    /// This test's log: every test runs on its own thread, and its servers log into this buffer.
    static TEST_LOG: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { std::cell::RefCell::new(None) };
}

#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Gives this test (this thread) its own log at every level, once: the app's tasks run on the
/// test's thread and its HTTP workers take the subscriber current when it was built, so another
/// test's lines never land here.
fn init_logs() -> Arc<Mutex<Vec<u8>>> {
    static BRIDGE: OnceLock<()> = OnceLock::new();
    BRIDGE.get_or_init(|| {
        // A global subscriber that drops everything, installed for its `log` bridge: records of
        // crates that use `log` then reach whichever subscriber is current, i.e. the test's.
        let _ =
            tracing_subscriber::util::SubscriberInitExt::try_init(tracing_subscriber::registry());
    });
    TEST_LOG.with(|slot| {
        slot.borrow_mut()
            .get_or_insert_with(|| {
                let buffer = Arc::new(Mutex::new(Vec::new()));
                let writer = LogBuffer(buffer.clone());
                let settings = LogSettings {
                    filter: "trace,actix_server=info,mio=info,h2=info".into(),
                    format: LogFormat::Pretty,
                };
                let dispatch = lobby::telemetry::dispatch_with_writer(
                    &settings,
                    move || writer.clone(),
                    false,
                )
                .expect("the test logger builds");
                // Kept for the rest of the test: its thread ends with it.
                std::mem::forget(tracing::dispatcher::set_default(&dispatch));
                buffer
            })
            .clone()
    })
}

/// Everything this test's servers logged so far.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&init_logs().lock().unwrap()).into_owned()
}

pub struct TestApp {
    pub address: String,
    /// A browser: keeps cookies, does not follow redirects.
    pub client: reqwest::Client,
    pub emulator: Emulator,
    pub state: web::Data<AppState>,
    pub data_dir: PathBuf,
    _emulator_server: RunningEmulator,
    _tmp: TempDir,
}

pub struct AppOptions {
    pub emulator: EmulatorConfig,
    pub env: Vec<(&'static str, String)>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            emulator: EmulatorConfig::demo(),
            env: Vec::new(),
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    init_logs();
    let running = emulator::spawn(options.emulator, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the emulator starts");
    let emulator = running.emulator.clone();
    let tmp = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(tmp.path()).await;

    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let port = listener.local_addr().unwrap().port();
    let address = format!("http://127.0.0.1:{port}");
    let config = emulator.config();
    let mut env: HashMap<String, String> = [
        ("LOBBY_BIND", "127.0.0.1:0".to_string()),
        ("LOBBY_PUBLIC_URL", address.clone()),
        ("LOBBY_DATA_DIR", tmp.path().display().to_string()),
        ("LOBBY_DATABASE_URL", database_url.clone()),
        ("SLACK_CLIENT_ID", config.client_id.clone()),
        (
            "SLACK_CLIENT_SECRET",
            config.client_secret.expose_secret().to_string(),
        ),
        (
            "SLACK_SIGNING_SECRET",
            config.signing_secret.expose_secret().to_string(),
        ),
        ("SLACK_API_URL", emulator.api_url().to_string()),
        (
            "SLACK_OAUTH_AUTHORIZE_URL",
            emulator.authorize_url().to_string(),
        ),
        (
            "SLACK_OPENID_AUTHORIZE_URL",
            emulator.openid_authorize_url().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in options.env {
        env.insert(k.to_string(), v);
    }
    let settings = Settings::from_sources(&env, None).expect("test settings are valid");
    let app = Application::build_with_listener(settings, listener)
        .await
        .expect("the app builds");
    let state = app.state().clone();
    emulator.set_app_url(Url::parse(&format!("{address}/")).unwrap());
    tokio::spawn(app.run_until_stopped());

    TestApp {
        address,

        client: browser(),
        emulator,
        state,
        data_dir: tmp.path().to_path_buf(),
        _emulator_server: running,
        _tmp: tmp,
    }
}

/// An app installed org-wide on the emulator's Enterprise Grid organisation with `admin.users:write`
/// (Slack grants admin scopes nowhere else), whose community invites through `admin.users.invite`,
/// and which believes `X-Forwarded-For` from loopback.
pub async fn app_with_admin_api(env: Vec<(&'static str, String)>) -> TestApp {
    let mut all = vec![
        ("SLACK_USER_SCOPES", "admin.users:write".to_owned()),
        ("LOBBY_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
    ];
    all.extend(env);
    let app = spawn_app_with(AppOptions {
        env: all,
        ..Default::default()
    })
    .await;
    let res = app.install(seed::ORG, seed::ORG_ADMIN).await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    create_grid_community(app.db()).await;
    app
}

/// An org-wide install makes no community (it has no single workspace), so the Admin API tests
/// create one in the organisation's workspace, under the slug the join helpers use.
pub async fn create_grid_community(db: &lobby::db::Db) {
    let settings = lobby::db::communities::CommunitySettings {
        title: "Enterprise Workspace".into(),
        description: String::new(),
        invite_mode: lobby::domain::InviteMode::AdminApi,
        default_channels: seed::ORG_GENERAL.into(),
        coc_url: None,
        coc_required: false,
        allowed_domains: String::new(),
        denied_domains: String::new(),
        captcha_provider: None,
        captcha_site_key: None,
        admin_channel: None,
    };
    lobby::db::communities::create(
        db,
        DEMO_SLUG,
        &team(seed::ORG),
        &team(seed::ORG_TEAM),
        &settings,
    )
    .await
    .unwrap();
}

/// A team id the tests know to be one (the emulator's seeds).
pub fn team(id: &str) -> lobby::domain::TeamId {
    lobby::domain::TeamId::parse(id).expect("a team id")
}

/// A user id the tests know to be one (the emulator's seeds).
pub fn user(id: &str) -> lobby::domain::UserId {
    lobby::domain::UserId::parse(id).expect("a user id")
}

/// Installs the server at `address` org-wide on the Grid organisation, as its admin, and gives it
/// the Admin API community (see `create_grid_community`).
pub async fn install_grid_at(address: &str, data_dir: &Path) {
    let res = install_at(address, &browser(), seed::ORG, seed::ORG_ADMIN).await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    create_grid_community(&open_db(data_dir).await).await;
}

/// The Add to Slack flow at `address` without the user scopes the server asks for: what a
/// workspace that cannot grant admin scopes (anything but an org-wide Grid install) gets.
pub async fn install_without_user_scopes(
    address: &str,
    browser: &reqwest::Client,
    workspace: &str,
    user: &str,
) -> reqwest::Response {
    let mut authorize = start_install_at(address, browser).await;
    let pairs: Vec<(String, String)> = authorize
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "user_scope")
        .collect();
    authorize.query_pairs_mut().clear().extend_pairs(pairs);
    let callback = consent_in(browser, &authorize, Consent::Allow { workspace, user }).await;
    browser.get(callback).send().await.unwrap()
}

/// A fresh browser: its own cookie jar, redirects off.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub fn db(&self) -> &lobby::db::Db {
        &self.state.db
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("lobby.db")
    }
}

/// The value of `attr` on the first element in `html` whose markup contains `marker`.
pub fn attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let start = html.find(marker)?;
    let tag_start = html[..start].rfind('<')?;
    let tag_end = start + html[start..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let needle = format!("{attr}=\"");
    let value_start = tag.find(&needle)? + needle.len();
    let value_end = value_start + tag[value_start..].find('"')?;
    Some(decode_entities(&tag[value_start..value_end]))
}

/// Undoes askama's escaping of attribute values.
pub fn decode_entities(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
}

/// Every file of the SQLite database (main file, WAL, shared memory), concatenated.
pub fn database_bytes(db_path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db_path.display()));
        if let Ok(b) = std::fs::read(&path) {
            bytes.extend(b);
        }
    }
    bytes
}

pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The `lobby` binary, with a clean environment.
pub fn lobby_command(data_dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lobby"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LOBBY_DATA_DIR", data_dir)
        .env("LOBBY_DATABASE_URL", database_url_of(data_dir))
        .env("LOBBY_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .current_dir(data_dir);
    cmd
}

/// What a person does on Slack's consent page.
pub enum Consent<'a> {
    Allow { workspace: &'a str, user: &'a str },
    Cancel,
}

/// Opens a Lobby server's install page in `browser`; returns where its Add to Slack button leads.
pub async fn start_install_at(address: &str, browser: &reqwest::Client) -> Url {
    let res = browser
        .get(format!("{address}/slack/install"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let href = attr_after(&html, "class=\"button slack\"", "href").expect("an Add to Slack button");
    Url::parse(&href).unwrap()
}

/// Answers Slack's consent page the way a person would; returns where Slack sends the browser.
pub async fn consent_in(browser: &reqwest::Client, authorize: &Url, consent: Consent<'_>) -> Url {
    let page = browser.get(authorize.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200, "the consent page shows");
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    match consent {
        Consent::Allow { workspace, user } => {
            form.push(("workspace".into(), workspace.into()));
            form.push(("user".into(), user.into()));
            form.push(("decision".into(), "allow".into()));
        }
        Consent::Cancel => form.push(("decision".into(), "cancel".into())),
    }
    let mut action = authorize.clone();
    action.set_query(None);
    let res = browser.post(action).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 302, "Slack redirects back to the app");
    Url::parse(res.headers()["location"].to_str().unwrap()).unwrap()
}

/// The whole Add to Slack flow against the server at `address`, as `user` of `workspace`.
pub async fn install_at(
    address: &str,
    browser: &reqwest::Client,
    workspace: &str,
    user: &str,
) -> reqwest::Response {
    let authorize = start_install_at(address, browser).await;
    let callback = consent_in(browser, &authorize, Consent::Allow { workspace, user }).await;
    browser.get(callback).send().await.unwrap()
}

/// The whole Sign in with Slack flow against the server at `address`, as `user` of `workspace`;
/// returns the callback's answer (a 303 to the dashboard when it worked).
pub async fn sign_in_at(
    address: &str,
    browser: &reqwest::Client,
    workspace: &str,
    user: &str,
) -> reqwest::Response {
    let res = browser
        .get(format!("{address}/admin/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "/admin/login goes to Slack");
    let authorize = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let callback = consent_in(browser, &authorize, Consent::Allow { workspace, user }).await;
    browser.get(callback).send().await.unwrap()
}

impl TestApp {
    pub async fn start_install(&self) -> Url {
        start_install_at(&self.address, &self.client).await
    }

    pub async fn consent(&self, authorize: &Url, consent: Consent<'_>) -> Url {
        consent_in(&self.client, authorize, consent).await
    }

    pub async fn install(&self, workspace: &str, user: &str) -> reqwest::Response {
        install_at(&self.address, &self.client, workspace, user).await
    }

    /// Installs the demo workspace as its admin and checks it worked.
    pub async fn install_demo_workspace(&self) {
        let res = self
            .install(
                lobby::emulator::seed::DEMO_TEAM,
                lobby::emulator::seed::DEMO_ADMIN,
            )
            .await;
        assert_eq!(
            res.status(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// `lobby serve` as a child process, for what only a real process shows (signals, crashes, logs).

/// The community every first install of the demo workspace creates.
pub const DEMO_SLUG: &str = "demo-community";

/// `lobby serve` in its own process, pointed at the emulator; its stderr goes to `log`.
pub struct Server {
    pub child: Child,
    pub address: String,
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `lobby serve` on a port of its own choosing (port 0) and waits until it says where.
    pub async fn start(dir: &Path, emulator: &Emulator, env: &[(&str, &str)]) -> Server {
        let server =
            Self::start_command(with_emulator(lobby_command(dir), emulator), dir, env).await;
        // Like a second Redirect URL in the Slack app's settings.
        emulator.register_app_url(Url::parse(&server.address).unwrap());
        server
    }

    /// `lobby serve` in demo mode: no Slack credentials, its own emulator on its own port.
    pub async fn start_demo(dir: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_command(lobby_command(dir), dir, env).await
    }

    async fn start_command(
        mut command: std::process::Command,
        dir: &Path,
        env: &[(&str, &str)],
    ) -> Server {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = dir.join(format!("serve-{}-{n}.log", std::process::id()));
        command
            .env("LOBBY_BIND", "127.0.0.1:0")
            .env("LOBBY_PUBLIC_URL", "http://127.0.0.1:0")
            .env("LOBBY_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .arg("serve");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let address = hang_guard("the server to say where it listens", async {
            loop {
                if let Some(address) = listening_address(&log) {
                    break address;
                }
                if let Some(status) = child.try_wait().unwrap() {
                    panic!(
                        "the server exited ({status}) before listening:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        Server {
            child,
            address,
            log,
        }
    }
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the process to exit.
    pub async fn exit_status(&mut self) -> ExitStatus {
        let child = &mut self.child;
        hang_guard("the server to exit", async {
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }

    /// Waits until the server has logged a line whose message is `message`.
    pub async fn logged(&self, message: &str) {
        eventually(&format!("the log line {message:?}"), || async {
            std::fs::read_to_string(&self.log)
                .ok()?
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .any(|line| line["fields"]["message"] == message)
                .then_some(())
        })
        .await;
    }

    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"))
            })
            .collect()
    }
}

/// The Slack settings that point a `lobby` process at `emulator`.
pub fn with_emulator(
    mut command: std::process::Command,
    emulator: &Emulator,
) -> std::process::Command {
    let config = emulator.config();
    command
        .env("SLACK_CLIENT_ID", &config.client_id)
        .env("SLACK_CLIENT_SECRET", config.client_secret.expose_secret())
        .env(
            "SLACK_SIGNING_SECRET",
            config.signing_secret.expose_secret(),
        )
        .env("SLACK_API_URL", emulator.api_url().as_str())
        .env(
            "SLACK_OAUTH_AUTHORIZE_URL",
            emulator.authorize_url().as_str(),
        )
        .env("SLACK_USER_SCOPES", "admin.users:write");
    command
}

/// Signs up on the join form of the server at `address`, as a person would; returns the response.
pub async fn sign_up_at(
    address: &str,
    data_dir: &Path,
    email: &str,
    ip: &str,
) -> reqwest::Response {
    sign_up_with(&browser(), &join_form_key(data_dir), address, email, ip).await
}

/// The key the join forms of servers with `data_dir`'s master key sign their form tokens with.
pub fn join_form_key(data_dir: &Path) -> [u8; 32] {
    let keyring = vault::load_keyring(&KeySource::Generated(data_dir.join("master.key")))
        .unwrap()
        .keyring;
    *keyring.derive_key("join-form")
}

/// [`sign_up_at`] with a client and form key made once, for tests that sign up by the thousand.
pub async fn sign_up_with(
    client: &reqwest::Client,
    key: &[u8; 32],
    address: &str,
    email: &str,
    ip: &str,
) -> reqwest::Response {
    let (token, cookie) = lobby::abuse::FormToken::issue(key, DEMO_SLUG, lobby::db::now() - 10);
    client
        .post(format!("{address}/join/{DEMO_SLUG}"))
        .header("cookie", format!("lobby_join={cookie}"))
        .header("x-forwarded-for", ip)
        .form(&[
            ("email", email),
            ("form_token", token.as_str()),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap()
}

/// True when this test run puts its apps on PostgreSQL: `LOBBY_TEST_ENGINE=postgres`, with the
/// cluster `.ci/run` starts at `LOBBY_TEST_POSTGRES_URL`.
pub fn on_postgres() -> bool {
    std::env::var("LOBBY_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// The PostgreSQL cluster's URL (its `postgres` database), for tests that always need it.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("LOBBY_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A new, empty database for one app: a SQLite file in `dir`, or on PostgreSQL (see
/// [`on_postgres`]) a database of its own on the shared cluster.
pub async fn fresh_database_url(dir: &Path) -> String {
    if !on_postgres() {
        return sqlite_url(dir);
    }
    let admin =
        postgres_admin_url().expect("LOBBY_TEST_ENGINE=postgres needs LOBBY_TEST_POSTGRES_URL");
    let url = fresh_postgres_database(&admin).await;
    DATABASES
        .lock()
        .unwrap()
        .insert(dir.to_path_buf(), url.clone());
    url
}

/// The PostgreSQL database of each data directory [`fresh_database_url`] gave one, so the CLI
/// and second processes started on a data directory find the same database.
static DATABASES: LazyLock<Mutex<HashMap<PathBuf, String>>> = LazyLock::new(Default::default);

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("lobby.db").display())
}

/// The database the app with data directory `dir` runs on.
pub fn database_url_of(dir: &Path) -> String {
    DATABASES
        .lock()
        .unwrap()
        .get(dir)
        .cloned()
        .unwrap_or_else(|| sqlite_url(dir))
}

/// Creates an empty database on the cluster at `admin_url`; returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("lobby_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("the test PostgreSQL cluster answers");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = Url::parse(admin_url).unwrap();
    url.set_path(&name);
    url.to_string()
}

pub async fn open_db(dir: &Path) -> lobby::db::Db {
    lobby::db::connect(&database_url_of(dir)).await.unwrap()
}

pub async fn count(db: &lobby::db::Db, sql: &'static str) -> i64 {
    lobby::on_conn!(db, |conn| sqlx::query_scalar(sql).fetch_one(conn).await).unwrap()
}

/// Waits until no job is waiting or running: what an app queued for itself (an install's member
/// count…) has called Slack and is done, so it cannot race with what a test does next.
pub async fn jobs_settled(db: &lobby::db::Db) {
    eventually("the queued jobs to finish", || async {
        let waiting = count(
            db,
            "SELECT COUNT(*) FROM jobs WHERE status IN ('ready', 'running')",
        )
        .await;
        (waiting == 0).then_some(())
    })
    .await;
}

/// Polls `sql` until it counts something.
pub async fn wait_for(db: &lobby::db::Db, what: &str, sql: &'static str) {
    eventually(what, || async { (count(db, sql).await > 0).then_some(()) }).await;
}

/// Polls `check` until it gives a value.
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    hang_guard(what, async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Fails a test that waits for `what` so long that it must be hung: a guard against a test
/// that would never end, never a statement about speed (a loaded machine gets minutes).
pub async fn hang_guard<T>(what: &str, wait: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(120), wait).await {
        Ok(value) => value,
        Err(_) => panic!("gave up waiting for {what}: the test seems hung"),
    }
}

/// The address in a JSON log's "Lobby is listening" line, as a base URL.
fn listening_address(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["fields"]["message"] == "Lobby is listening")
        .and_then(|line| {
            line["fields"]["address"]
                .as_str()
                .map(|a| format!("http://{a}"))
        })
}
