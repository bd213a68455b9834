//! The dashboard in a real browser: the `lobby` binary in demo mode, driven through headless
//! Chromium by chromedriver. It installs the app, takes a signup, signs in with Slack through the
//! emulator's consent page, approves the request, and saves a screenshot of the overview to
//! `target/screenshots/overview.png`.
//!
//! It needs Debian's `chromium` and `chromium-driver`. Without them it says so and passes, unless
//! `LOBBY_REQUIRE_BROWSER` is set (as `.ci/run` does), where a missing browser is a failure.

mod webdriver;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_until_ok(url: &str, what: &str) {
    let started = Instant::now();
    let http = reqwest::Client::new();
    loop {
        if let Ok(res) = http.get(url).send().await
            && res.status().is_success()
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not come up at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn browser_available() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(
            std::env::var_os("LOBBY_REQUIRE_BROWSER").is_none(),
            "LOBBY_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing \
             (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "skipping the browser test: {CHROMIUM} and {CHROMEDRIVER} are not installed \
             (apt-get install chromium chromium-driver)"
        );
    }
    present
}

/// Where the screenshot goes: `target/screenshots/`, beside the test's own temporary folder.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("screenshots")
}

fn start_lobby(data_dir: &Path, port: u16) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_lobby"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LOBBY_DATA_DIR", data_dir)
        .env("LOBBY_BIND", format!("127.0.0.1:{port}"))
        .env("LOBBY_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        // Approved requests are delivered with admin.users.invite, which Slack (and the emulator)
        // grants only to an org-wide install on Enterprise Grid.
        .env("SLACK_USER_SCOPES", "admin.users:write")
        .env("RUST_LOG", "warn")
        .current_dir(data_dir)
        .stdin(Stdio::null())
        .spawn()
        .expect("the lobby binary starts");
    Running(child)
}

fn start_chromedriver(port: u16) -> Running {
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    Running(child)
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
    if !browser_available() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _lobby = start_lobby(data.path(), port);
    let driver_port = free_port();
    let _driver = start_chromedriver(driver_port);
    let driver = format!("http://127.0.0.1:{driver_port}");
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

    // Add to Slack, through the emulator's consent page: org-wide, on the Grid organisation.
    browser.goto(&format!("{base}/slack/install")).await;
    browser.find("a.button.slack").await.click_and_wait().await;
    consent(&browser, "E0ORG00001", "U0ORGADM01").await;
    let heading = browser.find("h1").await.text().await;
    assert!(heading.contains("installed"), "{heading}");

    // Sign in with Slack, in the organisation's workspace.
    browser.goto(&format!("{base}/admin/login")).await;
    consent(&browser, "T0ORGWKS01", "U0ORGADM01").await;
    browser.find(".admin-nav").await;
    assert!(browser.url().await.ends_with("/admin"));

    // An org-wide install has no community yet: one for the workspace, taking requests for approval.
    browser.goto(&format!("{base}/admin/communities")).await;
    browser
        .find("#workspace")
        .await
        .type_text("T0ORGWKS01")
        .await;
    browser.find("#slug").await.type_text("enterprise").await;
    browser.find("#title").await.type_text("Enterprise").await;
    browser
        .find("form[action='/admin/communities'] button[type='submit']")
        .await
        .click_and_wait()
        .await;
    browser
        .find("#default_channels")
        .await
        .type_text("C0ORGGEN01")
        .await;
    browser
        .find("form[action^='/admin/communities/'] button[type='submit']")
        .await
        .click_and_wait()
        .await;
    let saved = browser.find(".notice.ok").await.text().await;
    assert!(saved.contains("Saved"), "{saved}");

    // Someone asks to join (after the form's minimum fill time).
    browser.goto(&format!("{base}/join/enterprise")).await;
    browser
        .find("#email")
        .await
        .type_text("grace@example.org")
        .await;
    tokio::time::sleep(Duration::from_millis(3300)).await;
    browser
        .find("form.join button[type='submit']")
        .await
        .click_and_wait()
        .await;
    let thanks = browser.find("h1").await.text().await;
    assert!(thanks.contains("your request is in"), "{thanks}");

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

    // The worker delivers it to Slack.
    let started = Instant::now();
    loop {
        browser
            .goto(&format!("{base}/admin/requests?status=invited"))
            .await;
        if browser.source().await.contains("grace@example.org") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the approved request was not delivered"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

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
    assert!(!browser.url().await.ends_with("/admin"));
    browser.quit().await;
}
