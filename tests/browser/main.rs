//! The dashboard in a real browser: the `lobby` binary in demo mode, driven through headless
//! Chromium by chromedriver. It installs the app, takes a signup, signs in with Slack through the
//! emulator's consent page, confirms an address and finds the invite link in the demo mailbox
//! after approving the request, and saves a screenshot of the overview to
//! `target/screenshots/overview.png`.
//!
//! It needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). A missing browser
//! fails the test with the reason; only `LOBBY_SKIP_BROWSER_TEST=1` skips it, on purpose.

mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use webdriver::Session;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A child process that is stopped when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_until_ok(url: &str, what: &str) {
    let http = reqwest::Client::new();
    webdriver::hang_guard(&format!("{what} at {url}"), async {
        loop {
            if let Ok(res) = http.get(url).send().await
                && res.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

/// Whether to run: yes, unless skipped on purpose; a missing browser is a failure, not a skip.
fn browser_wanted() -> bool {
    if std::env::var_os("LOBBY_SKIP_BROWSER_TEST").is_some_and(|v| v == "1") {
        eprintln!("skipping the browser test: LOBBY_SKIP_BROWSER_TEST=1");
        return false;
    }
    for program in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(program).exists(),
            "{program} is missing: install Debian's chromium and chromium-driver \
             (apt-get install chromium chromium-driver), or set LOBBY_SKIP_BROWSER_TEST=1 to skip this test"
        );
    }
    true
}

/// Where the screenshot goes: `target/screenshots/`, beside the test's own temporary folder.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("screenshots")
}

/// `lobby serve` in demo mode on a port it picks itself; returns it and its address, read from
/// its "Lobby is listening" log line.
async fn start_lobby(data_dir: &Path) -> (Running, String) {
    let log = data_dir.join("serve.log");
    let child = Command::new(env!("CARGO_BIN_EXE_lobby"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LOBBY_DATA_DIR", data_dir)
        .env("LOBBY_BIND", "127.0.0.1:0")
        .env("LOBBY_PUBLIC_URL", "http://127.0.0.1:0")
        // No invite API (like most workspaces): approved people get the shared link by mail,
        // which demo mode keeps in its mailbox.
        .env("RUST_LOG", "info")
        .env("LOBBY_LOG_FORMAT", "json")
        .current_dir(data_dir)
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("a log file"))
        .spawn()
        .expect("the lobby binary starts");
    let mut running = Running(child);
    let address = webdriver::hang_guard("lobby to say where it listens", async {
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let address = text
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .find(|line| line["fields"]["message"] == "Lobby is listening")
                .and_then(|line| line["fields"]["address"].as_str().map(str::to_owned));
            if let Some(address) = address {
                return address;
            }
            if let Some(status) = running.0.try_wait().unwrap() {
                panic!("lobby exited ({status}) before listening:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    (running, format!("http://{address}"))
}

/// ChromeDriver on a port it picks itself; returns it and its address, read from the line it
/// prints once it listens.
fn start_chromedriver() -> (Running, String) {
    use std::io::BufRead;
    let mut child = Command::new(CHROMEDRIVER)
        .arg("--port=0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let stdout = child.stdout.take().expect("chromedriver's output");
    let running = Running(child);
    let mut lines = std::io::BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("chromedriver said where it listens before exiting")
            .expect("chromedriver's output is text");
        if let Some(port) = line
            .split("started successfully on port ")
            .nth(1)
            .and_then(|rest| rest.trim_end_matches('.').trim().parse::<u16>().ok())
        {
            break port;
        }
    };
    // Keep reading, so chromedriver never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (running, format!("http://127.0.0.1:{port}"))
}

/// On the emulator's consent page: pick the workspace and the person, then Allow.
async fn consent(browser: &Session, workspace: &str, user: &str) {
    browser
        .find(&format!("#workspace option[value='{workspace}']"))
        .await
        .click()
        .await;
    browser
        .find(&format!("#user option[value='{user}']"))
        .await
        .click()
        .await;
    browser
        .find("button[value='allow']")
        .await
        .click_and_wait()
        .await;
}

#[tokio::test]
async fn an_admin_signs_in_approves_a_request_and_the_overview_shows_it() {
    if !browser_wanted() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (_lobby, base) = start_lobby(data.path()).await;
    let (_driver, driver) = start_chromedriver();
    wait_until_ok(&format!("{base}/readyz"), "lobby").await;
    wait_until_ok(&format!("{driver}/status"), "chromedriver").await;

    let args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,1500",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--user-data-dir={}", profile.path().display())])
    .collect();
    let browser = Session::start(&driver, CHROMIUM, &args).await;

    // Add to Slack, through the emulator's consent page.
    browser.goto(&format!("{base}/slack/install")).await;
    browser.find("a.button.slack").await.click_and_wait().await;
    consent(&browser, "T0DEMO0001", "U0ADMIN001").await;
    let heading = browser.find("h1").await.text().await;
    assert!(heading.contains("installed"), "{heading}");

    // Sign in with Slack.
    browser.goto(&format!("{base}/admin/login")).await;
    consent(&browser, "T0DEMO0001", "U0ADMIN001").await;
    let nav = browser.find(".admin-nav").await.text().await;
    assert!(nav.contains("Sign out"), "signed in: {nav}");
    assert_eq!(browser.url().await, format!("{base}/admin"));

    // The community takes requests for approval.
    browser
        .find("a[href^='/admin/communities/']")
        .await
        .click_and_wait()
        .await;
    browser
        .find("#invite_mode option[value='approval']")
        .await
        .click()
        .await;
    browser
        .find("form[action^='/admin/communities/'] button[type='submit']")
        .await
        .click_and_wait()
        .await;
    let saved = browser.find(".notice.ok").await.text().await;
    assert!(saved.contains("Saved"), "{saved}");

    // Someone asks to join (after the form's minimum fill time).
    browser.goto(&format!("{base}/join/demo-community")).await;
    browser
        .find("#email")
        .await
        .type_text("grace@example.org")
        .await;
    // Not synchronisation: the form refuses (silently) what is sent sooner than a person could.
    tokio::time::sleep(Duration::from_millis(3300)).await;
    browser
        .find("form.join button[type='submit']")
        .await
        .click_and_wait()
        .await;
    let thanks = browser.find("h1").await.text().await;
    assert!(thanks.contains("check your mail"), "{thanks}");

    // The confirmation mail is in the demo mailbox; its link shows a button that confirms.
    browser.goto(&format!("{base}/_emulator/mail/")).await;
    browser
        .find("a[href*='/confirm?t=']")
        .await
        .click_and_wait()
        .await;
    browser
        .find("form[action$='/confirm'] button")
        .await
        .click_and_wait()
        .await;
    let confirmed = browser.find("h1").await.text().await;
    assert!(confirmed.contains("confirmed"), "{confirmed}");

    // The admin approves it.
    browser
        .goto(&format!("{base}/admin/requests?status=pending"))
        .await;
    let row = browser.find("tr[id^='request-'] td:nth-child(2)").await;
    assert!(row.text().await.contains("grace@example.org"));
    browser
        .find("tr[id^='request-'] button[formaction$='/approve']")
        .await
        .click_and_wait()
        .await;
    let notice = browser.find(".notice.ok").await.text().await;
    assert!(notice.contains("Approved"), "{notice}");

    // A worker mails the shared invite link; it lands in the demo mailbox.
    webdriver::hang_guard("the invite link to be mailed", async {
        loop {
            browser
                .goto(&format!("{base}/admin/requests?status=link_sent"))
                .await;
            if browser.source().await.contains("grace@example.org") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    browser.goto(&format!("{base}/_emulator/mail/")).await;
    // Newest first: the invite, with the link the emulator serves.
    let invite = browser.find(".mail").await.text().await;
    assert!(invite.contains("Your invitation to"), "{invite}");
    browser.find("a[href*='/_emulator/slack/join/']").await;

    browser.goto(&format!("{base}/admin")).await;
    let legend = browser.find("figcaption.legend").await.text().await;
    assert!(
        legend.contains("1 requested") && legend.contains("1 invited"),
        "{legend}"
    );
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("overview.png");
    std::fs::write(&path, &png).unwrap();
    eprintln!("saved {}", path.display());

    // The session ends at sign-out, in the browser too.
    browser
        .find("form[action='/admin/logout'] button")
        .await
        .click_and_wait()
        .await;
    browser.goto(&format!("{base}/admin")).await;
    // Sent to sign in again: Slack's (the emulator's) consent page, and no dashboard.
    let url = browser.url().await;
    assert!(
        url.starts_with(&format!("{base}/_emulator/slack/")),
        "signed out, /admin leads to Slack's sign-in, not {url}"
    );
    assert!(!browser.source().await.contains("admin-nav"));
    browser.find("button[value='allow']").await;
    browser.quit().await;
}
