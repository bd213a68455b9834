//! The dashboard in a real browser: the `lobby` binary in demo mode, driven through headless
//! Chromium by chromedriver. It installs the app from a page opened on 127.0.0.1 (the public URL
//! is on localhost), takes a signup, signs in with Slack through the emulator's consent page,
//! chooses a channel by name, confirms an address, approves the request at phone width and finds
//! the invite link in the demo mailbox, and saves a screenshot of the overview to
//! `target/screenshots/overview.png`; the form embedded in a page of another origin (localhost on
//! another port: the same site, as embeds over http need) submits and shows its answer in the
//! frame. axe-core (from the npm registry, installed under the target folder on first use)
//! checks every page of Lobby's (a public error page, the question before removing an
//! installation and the emulator's consent page among them) at 1280 and 390 px: no violation of
//! any impact, and no page wider than the window.
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

/// `lobby serve` in demo mode on a port it picks itself, its public URL on `localhost`; returns it,
/// its public address and the same server by IP (`127.0.0.1`), from its "Lobby is listening" line.
async fn start_lobby(data_dir: &Path) -> (Running, String, String) {
    let log = data_dir.join("serve.log");
    let child = Command::new(env!("CARGO_BIN_EXE_lobby"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LOBBY_DATA_DIR", data_dir)
        .env("LOBBY_BIND", "127.0.0.1:0")
        .env("LOBBY_PUBLIC_URL", "http://localhost:0")
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
    let port = address.rsplit(':').next().expect("an address with a port");
    (
        running,
        format!("http://localhost:{port}"),
        format!("http://{address}"),
    )
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

/// axe-core's browser build, installed from the npm registry under the target folder on first use
/// (`.ci/run` needs nothing more than npm, which it installs for the fidelity checks).
fn axe_source() -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("axe-core");
    let file = dir.join("node_modules/axe-core/axe.min.js");
    if !file.exists() {
        let status = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&dir)
            .arg("axe-core@4")
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|e| {
                panic!("the browser test needs npm to install axe-core into {dir:?}: {e}")
            });
        assert!(
            status.success(),
            "npm could not install axe-core into {dir:?} ({status})"
        );
    }
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"))
}

/// The two widths every page is checked at: a laptop and a phone.
const WIDTHS: [u32; 2] = [1280, 390];

/// Runs axe-core on the page at both widths (leaving the window at the first) and adds what it
/// finds to `found`, each as `page @ width: rule (impact) at target — help`.
async fn axe_check(browser: &Session, axe: &str, page: &str, found: &mut Vec<String>) {
    for width in WIDTHS {
        browser.set_window_size(width, 900).await;
        let injected = browser
            .execute(
                &format!(
                    "if (typeof window.axe === 'undefined') {{ {axe}\n }} return typeof window.axe;"
                ),
                serde_json::json!([]),
            )
            .await;
        assert_eq!(injected, "object", "axe-core loaded on {page}");
        let result = browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done({
                     width: document.documentElement.clientWidth,
                     scrollWidth: document.documentElement.scrollWidth,
                     passes: r.passes.length,
                     violations: r.violations.map(v => ({
                       id: v.id, impact: v.impact, help: v.help,
                       targets: v.nodes.map(n => n.target.join(' ')),
                     })),
                   }))
                   .catch(e => done({ error: String(e) }));",
                serde_json::json!([]),
            )
            .await;
        let violations = result["violations"]
            .as_array()
            .unwrap_or_else(|| panic!("axe-core failed on {page}: {result}"));
        // axe-core checked something, at the width asked for (less a scroll bar, if any).
        assert!(
            result["passes"].as_u64() > Some(0),
            "axe-core checked {page}: {result}"
        );
        let seen = result["width"].as_u64().unwrap_or_default();
        assert!(
            seen <= u64::from(width) && seen + 20 >= u64::from(width),
            "{page} laid out {seen}px wide, not {width}px"
        );
        // Nothing wider than the window: a phone never scrolls sideways.
        let scroll = result["scrollWidth"].as_u64().unwrap_or_default();
        if scroll > seen {
            found.push(format!(
                "{page} @ {width}px: scrolls sideways ({scroll}px of content in {seen}px)"
            ));
        }
        for v in violations {
            found.push(format!(
                "{page} @ {width}px: {} ({}) at {} — {}",
                v["id"].as_str().unwrap_or_default(),
                v["impact"].as_str().unwrap_or("?"),
                v["targets"],
                v["help"].as_str().unwrap_or_default(),
            ));
        }
    }
    browser.set_window_size(WIDTHS[0], 900).await;
}

/// Another site's page on another local origin (`localhost`, another port) that embeds the
/// community's join form from `embed_url`; returns that page's URL. It serves the one page to
/// every request until the test ends.
async fn serve_host_page(embed_url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>A community's site</title></head>\
         <body style=\"margin: 0\"><main><h1>Our community</h1>\
         <iframe id=\"lobby\" title=\"Join us on Slack\" src=\"{embed_url}\" \
         style=\"display: block; width: 100%; height: 600px; border: 0\"></iframe>\
         </main></body></html>"
    );
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
        html.len()
    );
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://localhost:{port}/")
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
    let axe = axe_source();
    let mut violations = Vec::new();
    let data = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (_lobby, base, by_ip) = start_lobby(data.path()).await;
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
        "--window-size=1280,900",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--user-data-dir={}", profile.path().display())])
    .collect();
    let browser = Session::start(&driver, CHROMIUM, &args).await;

    // Add to Slack, opened on 127.0.0.1 while Lobby's public URL is on localhost: the page moves
    // to localhost before any cookie is set, and the install completes through the emulator.
    browser.goto(&format!("{by_ip}/slack/install")).await;
    let url = browser.url().await;
    assert_eq!(
        url,
        format!("{base}/slack/install"),
        "moved to the public URL"
    );
    axe_check(&browser, &axe, "install", &mut violations).await;
    browser.find("a.button.slack").await.click_and_wait().await;
    browser.find("button[value='allow']").await;
    axe_check(&browser, &axe, "emulator consent", &mut violations).await;
    consent(&browser, "T0DEMO0001", "U0ADMIN001").await;
    let heading = browser.find("h1").await.text().await;
    assert!(heading.contains("installed"), "{heading}");
    axe_check(&browser, &axe, "installed", &mut violations).await;

    // Sign in with Slack.
    browser.goto(&format!("{base}/admin/login")).await;
    consent(&browser, "T0DEMO0001", "U0ADMIN001").await;
    let nav = browser.find(".admin-nav").await.text().await;
    assert!(nav.contains("Sign out"), "signed in: {nav}");
    assert_eq!(browser.url().await, format!("{base}/admin"));

    // The community takes requests for approval, and new members join a channel chosen by its
    // name (the stored value is its id).
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
    let random = browser
        .execute(
            "const o = [...document.querySelectorAll('#default_channels option')]
               .find(o => o.textContent.trim() === '#random');
             return o ? o.value : null;",
            serde_json::json!([]),
        )
        .await;
    let random = random
        .as_str()
        .unwrap_or_else(|| panic!("no #random among the channels: {random}"))
        .to_owned();
    browser
        .find(&format!("#default_channels option[value='{random}']"))
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
    let chosen = browser
        .execute(
            "return [...document.querySelectorAll('#default_channels option:checked')]
               .map(o => o.textContent.trim());",
            serde_json::json!([]),
        )
        .await;
    assert!(
        chosen
            .as_array()
            .is_some_and(|c| c.iter().any(|name| name == "#random")),
        "#random is chosen after saving: {chosen}"
    );
    axe_check(&browser, &axe, "community settings", &mut violations).await;

    // Someone asks to join (after the form's minimum fill time).
    browser.goto(&format!("{base}/join/demo-community")).await;
    axe_check(&browser, &axe, "join", &mut violations).await;
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
    axe_check(&browser, &axe, "thanks", &mut violations).await;

    // The confirmation mail is in the demo mailbox; its link shows a button that confirms.
    browser.goto(&format!("{base}/_emulator/mail/")).await;
    browser
        .find("a[href*='/confirm?t=']")
        .await
        .click_and_wait()
        .await;
    axe_check(&browser, &axe, "confirmation", &mut violations).await;
    browser
        .find("form[action$='/confirm'] button")
        .await
        .click_and_wait()
        .await;
    let confirmed = browser.find("h1").await.text().await;
    assert!(confirmed.contains("confirmed"), "{confirmed}");
    axe_check(&browser, &axe, "confirmed", &mut violations).await;

    // On a phone, the requests page opens on all communities, and a row's Approve is reachable.
    browser.set_window_size(390, 844).await;
    browser.goto(&format!("{base}/admin/requests")).await;
    let shown = browser.find("#community option:checked").await.text().await;
    assert_eq!(shown, "All communities");
    let row = browser.find("tr[id^='request-'] td:nth-child(2)").await;
    assert!(row.text().await.contains("grace@example.org"));
    browser
        .find("tr[id^='request-'] button[formaction$='/approve']")
        .await
        .click_and_wait()
        .await;
    let notice = browser.find(".notice.ok").await.text().await;
    assert!(notice.contains("Approved"), "{notice}");
    browser.set_window_size(1280, 900).await;

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

    // Every other page, with what the steps above left in them.
    for (page, path) in [
        ("home", "/".to_owned()),
        ("embed", "/join/demo-community/embed".to_owned()),
        ("setup", "/admin/setup".to_owned()),
        ("overview", "/admin".to_owned()),
        ("communities", "/admin/communities".to_owned()),
        ("requests", "/admin/requests".to_owned()),
        ("installations", "/admin/installations".to_owned()),
        ("API keys", "/admin/keys".to_owned()),
        ("audit log", "/admin/audit".to_owned()),
        ("public error", "/join/no-such-community".to_owned()),
        ("emulator", "/_emulator/slack/".to_owned()),
        ("demo mailbox", "/_emulator/mail/".to_owned()),
    ] {
        browser.goto(&format!("{base}{path}")).await;
        browser.find("h1").await;
        axe_check(&browser, &axe, page, &mut violations).await;
    }
    // Removing an installation asks first; the question is checked, not answered.
    browser.goto(&format!("{base}/admin/installations")).await;
    browser
        .find("a[href$='/remove']")
        .await
        .click_and_wait()
        .await;
    let question = browser.find("h1").await.text().await;
    assert!(question.starts_with("Remove Lobby from"), "{question}");
    axe_check(&browser, &axe, "remove installation", &mut violations).await;

    // The form embedded in a page of another origin submits, and its answer shows in the frame.
    let host = serve_host_page(&format!("{base}/join/demo-community/embed")).await;
    browser.goto(&host).await;
    let frame = browser.find("iframe#lobby").await;
    browser.enter_frame(&frame).await;
    browser
        .find("#email")
        .await
        .type_text("ada@example.org")
        .await;
    // Not synchronisation: the form refuses (silently) what is sent sooner than a person could.
    tokio::time::sleep(Duration::from_millis(3300)).await;
    browser
        .find("form.join button[type='submit']")
        .await
        .click_and_wait()
        .await;
    let answer = browser.find("h1").await.text().await;
    assert!(answer.contains("check your mail"), "in the frame: {answer}");
    // The frame is as wide as the window, so the answer is checked at both widths too.
    axe_check(&browser, &axe, "embedded answer", &mut violations).await;
    browser.leave_frames().await;
    assert_eq!(browser.url().await, host, "the host page stays");
    browser.goto(&format!("{base}/admin")).await;

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

    assert!(
        violations.is_empty(),
        "axe-core found {} violation(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
}
