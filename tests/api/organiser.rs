//! What a community organiser sees (issue 14): names rather than ids, one request queue, what
//! needs attention, forms that keep what was typed, refusals that say what next, one host name,
//! and embeds whose answers stay in the frame.

use lobby::db::{self, invite_requests::NewRequest};
use lobby::domain::InviteStatus;
use lobby::emulator::seed::{DEMO_ADMIN, DEMO_GENERAL, DEMO_RANDOM, DEMO_TEAM};
use url::Url;

use crate::helpers::{
    AppOptions, Consent, DEMO_SLUG, TestApp, attr_after, browser, consent_in, install_at,
    spawn_app, spawn_app_with, start_install_at,
};

async fn admin_browser(app: &TestApp) -> reqwest::Client {
    let browser = browser();
    let res = browser.get(app.url("/admin/login")).send().await.unwrap();
    let authorize = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let callback = consent_in(
        &browser,
        &authorize,
        Consent::Allow {
            workspace: DEMO_TEAM,
            user: DEMO_ADMIN,
        },
    )
    .await;
    let res = browser.get(callback).send().await.unwrap();
    assert_eq!(res.status(), 303, "signed in");
    browser
}

async fn signed_in_demo() -> (TestApp, reqwest::Client) {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let admin = admin_browser(&app).await;
    (app, admin)
}

async fn html(admin: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let res = admin.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn csrf(admin: &reqwest::Client, app: &TestApp) -> String {
    let (_, page) = html(admin, app, "/admin").await;
    attr_after(&page, "name=\"csrf\"", "value").expect("a CSRF field")
}

async fn community_id(app: &TestApp, slug: &str) -> i64 {
    db::communities::by_slug(app.db(), slug)
        .await
        .unwrap()
        .expect("the community")
        .id
}

async fn request(app: &TestApp, slug: &str, email: &str, status: InviteStatus) -> i64 {
    db::invite_requests::insert(
        app.db(),
        &NewRequest {
            community_id: community_id(app, slug).await,
            email,
            name: "",
            source: "form",
            requested_by: None,
            status,
            status_message: "",
        },
    )
    .await
    .unwrap()
    .expect("a new request")
}

/// The settings of the demo community as the edit form sends them, plus `extra`.
fn settings_form<'a>(token: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf", token),
        ("title", "Demo community"),
        ("invite_mode", "approval"),
    ];
    form.extend_from_slice(extra);
    form
}

#[tokio::test]
async fn channels_are_chosen_by_name_and_stored_by_id() {
    let (app, admin) = signed_in_demo().await;
    let id = community_id(&app, DEMO_SLUG).await;
    let (status, page) = html(&admin, &app, &format!("/admin/communities/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("<select id=\"default_channels\" name=\"channel\" multiple"));
    assert!(page.contains(">#general</option>") && page.contains(">#random</option>"));
    assert!(
        !page.contains(">#lobby-admins</option>"),
        "private channels are not offered to everyone"
    );

    let token = csrf(&admin, &app).await;
    let form = settings_form(
        &token,
        &[
            ("channels_listed", "1"),
            ("channel", DEMO_GENERAL),
            ("channel", DEMO_RANDOM),
        ],
    );
    let res = admin
        .post(app.url(&format!("/admin/communities/{id}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let stored = db::communities::get(app.db(), id).await.unwrap().unwrap();
    assert_eq!(
        stored.default_channels,
        format!("{DEMO_GENERAL},{DEMO_RANDOM}")
    );
    let (_, page) = html(&admin, &app, &format!("/admin/communities/{id}")).await;
    assert!(page.contains(&format!(
        "value=\"{DEMO_RANDOM}\" title=\"{DEMO_RANDOM}\" selected>#random"
    )));

    // The refresh button reads the list again and comes back to the form.
    let res = admin
        .post(app.url(&format!("/admin/communities/{id}/channels")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn the_queue_shows_every_community_with_pending_requests_first_and_counts() {
    let (app, admin) = signed_in_demo().await;
    let token = csrf(&admin, &app).await;
    let res = admin
        .post(app.url("/admin/communities"))
        .form(&[
            ("csrf", token.as_str()),
            ("installation", DEMO_TEAM),
            ("slug", "second-group"),
            ("title", "Second group"),
            ("invite_mode", "approval"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    request(&app, DEMO_SLUG, "first@example.org", InviteStatus::Pending).await;
    request(
        &app,
        "second-group",
        "second@example.org",
        InviteStatus::Pending,
    )
    .await;
    let failed = request(&app, DEMO_SLUG, "failed@example.org", InviteStatus::Failed).await;
    request(&app, DEMO_SLUG, "joined@example.org", InviteStatus::Joined).await;

    let (status, page) = html(&admin, &app, "/admin/requests").await;
    assert_eq!(status, 200);
    let at = |email: &str| page.find(email).unwrap_or_else(|| panic!("{email} listed"));
    assert!(at("second@example.org") < at("joined@example.org"));
    assert!(at("first@example.org") < at("failed@example.org"));
    assert!(
        page.contains("Second group"),
        "each row names its community"
    );
    assert!(page.contains("Waiting for approval <span class=\"count\">2</span>"));
    assert!(page.contains("Failed <span class=\"count\">1</span>"));
    assert!(page.contains("All <span class=\"count\">4</span>"));
    // Actions only where they help: a pending request is decided, a failed one retried.
    assert_eq!(page.matches("/retry\"").count(), 1);
    assert!(page.contains(&format!("/admin/requests/{failed}/retry")));
    assert_eq!(page.matches("/approve\">Approve").count(), 2);
}

#[tokio::test]
async fn the_overview_lists_what_needs_attention_with_its_fix() {
    let (app, admin) = signed_in_demo().await;
    let id = community_id(&app, DEMO_SLUG).await;
    request(&app, DEMO_SLUG, "failed@example.org", InviteStatus::Failed).await;
    let (status, page) = html(&admin, &app, "/admin").await;
    assert_eq!(status, 200);
    assert!(page.contains("Needs attention"));
    assert!(
        !page.contains(">healthy<"),
        "not healthy while anything is listed"
    );
    for href in [
        format!("/admin/communities/{id}#invite_link"),
        format!("/admin/requests?community={id}&#38;status=failed"),
        "/admin/setup#mail".to_owned(),
    ] {
        assert!(
            page.contains(&format!("href=\"{href}\"")),
            "{href} in {page}"
        );
    }
    assert!(
        page.contains("href=\"/admin/setup\""),
        "the setup page is linked"
    );
}

#[tokio::test]
async fn a_form_with_several_problems_shows_them_all_and_keeps_what_was_typed() {
    let (app, admin) = signed_in_demo().await;
    let token = csrf(&admin, &app).await;
    let res = admin
        .post(app.url("/admin/communities"))
        .form(&[
            ("csrf", token.as_str()),
            ("installation", DEMO_TEAM),
            ("slug", "Not A Slug"),
            ("title", ""),
            ("invite_mode", "link"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("3 things to fix"), "{page}");
    assert!(page.contains("value=\"Not A Slug\""), "the slug is kept");
    assert!(page.contains("The address:"));
    assert!(page.contains("The title is required"));
    assert!(page.contains("needs the shared invite link"));
    assert!(page.contains("value=\"link\" selected"), "the mode is kept");

    // Editing: a link mode without a link is refused beside the link's field.
    let id = community_id(&app, DEMO_SLUG).await;
    let form = [
        ("csrf", token.as_str()),
        ("title", "Demo community"),
        ("invite_mode", "link"),
        ("coc_url", "ftp://nope"),
    ];
    let res = admin
        .post(app.url(&format!("/admin/communities/{id}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("value=\"ftp:&#47;&#47;nope\"") || page.contains("value=\"ftp://nope\""));
    assert!(page.contains("must be an http(s) address"));
    assert!(page.contains(
        "id=\"invite_link\" name=\"invite_link\" autocomplete=\"off\" aria-invalid=\"true\""
    ));
}

#[tokio::test]
async fn a_dashboard_refusal_stays_in_the_dashboard_and_says_what_next() {
    let (app, admin) = signed_in_demo().await;
    let token = csrf(&admin, &app).await;
    let id = request(&app, DEMO_SLUG, "ana@example.org", InviteStatus::Joined).await;
    let res = admin
        .post(app.url(&format!("/admin/requests/{id}/deny")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("aria-label=\"Dashboard\""),
        "inside the dashboard frame"
    );
    assert!(page.contains("href=\"/admin/requests\">Back to the requests"));
}

#[tokio::test]
async fn another_loopback_name_is_sent_to_the_public_url_before_any_cookie() {
    let app = spawn_app_with(AppOptions {
        env: vec![("LOBBY_PUBLIC_URL", "http://localhost:9/".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let res = browser()
        .get(app.url("/slack/install?team=T0DEMO0001"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 307);
    assert_eq!(
        res.headers()["location"],
        "http://localhost:9/slack/install?team=T0DEMO0001"
    );
    assert!(res.headers().get("set-cookie").is_none(), "no cookie yet");
    // Machines are not redirected.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn an_embedded_refusal_renders_in_the_frame() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let res = browser()
        .post(app.url(&format!("/join/{DEMO_SLUG}/embed")))
        .form(&[("email", "ana@example.org"), ("form_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    assert!(res.headers().get("x-frame-options").is_none());
    let page = res.text().await.unwrap();
    assert!(page.contains("<body class=\"embed\">"));
    assert!(page.contains("<h1 class=\"compact\">"));
    assert!(page.contains(&format!("href=\"/join/{DEMO_SLUG}/embed\"")));

    let (_, form) = {
        let res = browser()
            .get(app.url(&format!("/join/{DEMO_SLUG}/embed")))
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    };
    assert!(form.contains(&format!("action=\"/join/{DEMO_SLUG}/embed\"")));
    assert!(form.contains("<h1"), "the embed has a heading");
}

#[tokio::test]
async fn refreshing_the_installed_page_shows_the_workspace_again() {
    let app = spawn_app().await;
    let browser = browser();
    let authorize = start_install_at(&app.address, &browser).await;
    let callback = consent_in(
        &browser,
        &authorize,
        Consent::Allow {
            workspace: DEMO_TEAM,
            user: DEMO_ADMIN,
        },
    )
    .await;
    let first = browser.get(callback.clone()).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let again = browser.get(callback.clone()).send().await.unwrap();
    assert_eq!(again.status(), 200);
    let page = again.text().await.unwrap();
    assert!(page.contains("Lobby is installed in"), "{page}");
    // Another browser with the same address learns nothing.
    let stranger = crate::helpers::browser()
        .get(callback)
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 400);
}

/// Slack ids (`U0…`, `C0…`, `T0…`) in a page's text, outside tags, `<code>` and `<textarea>`.
fn raw_ids(page: &str) -> Vec<String> {
    let mut text = String::new();
    let mut rest = page;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        text.push(' ');
        let after = &rest[start..];
        let skip_to = ["<code", "<textarea", "<pre", "<title"]
            .iter()
            .find(|t| after.starts_with(**t))
            .and_then(|t| after.find(&format!("</{}>", &t[1..])))
            .unwrap_or(0);
        let end = after[skip_to..]
            .find('>')
            .map_or(after.len(), |e| skip_to + e + 1);
        rest = &after[end..];
    }
    text.push_str(rest);
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            w.len() >= 8
                && ["U0", "C0", "T0"].iter().any(|p| w.starts_with(p))
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn no_dashboard_page_shows_a_raw_slack_id_or_status_code() {
    let (app, admin) = signed_in_demo().await;
    let id = community_id(&app, DEMO_SLUG).await;
    request(
        &app,
        DEMO_SLUG,
        "ana@example.org",
        InviteStatus::AlreadyInTeam,
    )
    .await;
    for path in [
        "/admin".to_owned(),
        "/admin/communities".to_owned(),
        format!("/admin/communities/{id}"),
        "/admin/requests".to_owned(),
        "/admin/installations".to_owned(),
        "/admin/audit".to_owned(),
        "/admin/keys".to_owned(),
    ] {
        let (status, page) = html(&admin, &app, &path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(raw_ids(&page), Vec::<String>::new(), "{path}");
        for code in [
            ">already_in_team<",
            ">admin_api<",
            ">approval<",
            ">pending<",
        ] {
            assert!(!page.contains(code), "{path} shows {code}");
        }
    }
    let (_, requests) = html(&admin, &app, "/admin/requests").await;
    assert!(requests.contains(">Already a member<"));
}

#[tokio::test]
async fn visitors_get_the_join_and_thanks_pages_in_their_language() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let german = browser();
    let res = german
        .get(app.url(&format!("/join/{DEMO_SLUG}")))
        .header("accept-language", "de-DE,de;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("<html lang=\"de\">"));
    assert!(page.contains("Einladung anfragen"), "{page}");
    assert!(page.contains("E-Mail-Adresse"));

    let key = app.state.keyring.derive_key("join-form");
    let (token, cookie) = lobby::abuse::FormToken::issue(&key, DEMO_SLUG, lobby::db::now() - 10);
    let res = browser()
        .post(app.url(&format!("/join/{DEMO_SLUG}")))
        .header("accept-language", "de")
        .header("cookie", format!("lobby_join={cookie}"))
        .form(&[
            ("email", "grete@example.org"),
            ("form_token", token.as_str()),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let thanks = res.text().await.unwrap();
    assert!(thanks.contains("<html lang=\"de\">"));
    assert!(thanks.contains("Danke"), "{thanks}");
    // The request keeps the language, so the mails to the person speak it too.
    let id = community_id(&app, DEMO_SLUG).await;
    let requests = lobby::db::invite_requests::list(app.db(), id, None, None, 10)
        .await
        .unwrap();
    let grete = requests
        .iter()
        .find(|r| r.email == "grete@example.org")
        .expect("the request");
    assert_eq!(
        lobby::db::invite_requests::lang_of(app.db(), grete.id)
            .await
            .unwrap(),
        "de"
    );

    // The switch remembers another language in a cookie, and goes back only to this site.
    let res = german
        .get(app.url(&format!("/lang/ja?back=/join/{DEMO_SLUG}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/join/{DEMO_SLUG}").as_str()
    );
    let page = german
        .get(app.url(&format!("/join/{DEMO_SLUG}")))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"ja\">"));
    let res = german
        .get(app.url("/lang/fr?back=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/");
}

/// A browser whose visitor reads `lang` first.
fn browser_in(lang: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_str(lang).unwrap(),
    );
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

#[tokio::test]
async fn public_refusals_speak_the_visitors_language() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let german = browser_in("de-DE,de;q=0.9,en;q=0.5");

    // An unknown community.
    let res = german
        .get(app.url("/join/no-such-community"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.headers()["vary"],
        "Accept-Language, Cookie",
        "a cache must not hand this page to a visitor of another language"
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    assert!(page.contains("<h1>Seite nicht gefunden</h1>"), "{page}");
    assert!(page.contains("Unter dieser Adresse gibt es nichts."));
    assert!(page.contains(">Zurück zur Startseite<"));
    assert!(page.contains("Anfrage-ID:"));
    assert!(
        page.contains("aria-label=\"Sprache\""),
        "the language switch"
    );

    // A form that cannot be verified, on the page and in the embed's frame.
    for (path, back) in [
        (format!("/join/{DEMO_SLUG}"), "Zurück zum Formular"),
        (format!("/join/{DEMO_SLUG}/embed"), "Zurück zum Formular"),
    ] {
        let res = german
            .post(app.url(&path))
            .form(&[("email", "ana@example.org"), ("form_token", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
        let page = res.text().await.unwrap();
        assert!(page.contains("<html lang=\"de\">"), "{path}: {page}");
        assert!(page.contains("Das Formular konnte nicht geprüft werden"));
        assert!(page.contains(back), "{path}: {page}");
    }

    // A malformed install link.
    let res = german
        .get(app.url("/slack/install?team=nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("<html lang=\"de\">"));
    assert!(page.contains("ungültigen Workspace"), "{page}");
    assert!(page.contains("„Zu Slack hinzufügen“ neu beginnen"));

    // A remembered choice wins over the browser's, as on the join page.
    let res = german
        .get(app.url("/join/no-such-community"))
        .header("cookie", "lobby_lang=ja")
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    assert!(page.contains("<html lang=\"ja\">"));
    assert!(page.contains("ページが見つかりません"));

    // Machines are answered in English.
    let res = german.get(app.url("/api/v1/nothing")).send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["message"], "There is nothing at this address.");
}

#[tokio::test]
async fn the_start_and_install_pages_speak_the_visitors_language() {
    let app = spawn_app().await;
    let french = browser_in("fr");
    let home = french
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("<html lang=\"fr\">"));
    assert!(home.contains("Une porte d’entrée pour votre communauté Slack"));
    assert!(home.contains(">Ajouter à Slack<"));

    let install = french
        .get(app.url("/slack/install"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(install.contains("<html lang=\"fr\">"));
    assert!(install.contains("Ajouter Lobby à votre espace de travail Slack"));
    assert!(install.contains("Envoyer des messages en tant que @Lobby"));

    // Cancelled on Slack's page, then installed: both outcomes in French.
    let authorize = Url::parse(
        &attr_after(&install, "class=\"button slack\"", "href")
            .unwrap()
            .replace("&amp;", "&"),
    )
    .unwrap();
    let cancelled = consent_in(&french, &authorize, Consent::Cancel).await;
    let res = french.get(cancelled).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let page = res.text().await.unwrap();
    assert!(page.contains("<html lang=\"fr\">"));
    assert!(page.contains("Installation annulée"), "{page}");
    assert!(!page.contains("/lang/"), "no switch that replays the code");

    let page = install_at(&app.address, &french, DEMO_TEAM, DEMO_ADMIN)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Lobby est installé dans"), "{page}");
}

#[tokio::test]
async fn no_public_page_shows_a_raw_slack_id_or_status_code() {
    let app = spawn_app().await;
    let visitor = browser();
    let installed = install_at(&app.address, &visitor, DEMO_TEAM, DEMO_ADMIN).await;
    assert_eq!(installed.status(), 200);
    let mut pages = vec![("installed".to_owned(), installed.text().await.unwrap())];
    let key = app.state.keyring.derive_key("join-form");
    let (token, cookie) = lobby::abuse::FormToken::issue(&key, DEMO_SLUG, lobby::db::now() - 10);
    let thanks = browser()
        .post(app.url(&format!("/join/{DEMO_SLUG}")))
        .header("cookie", format!("lobby_join={cookie}"))
        .form(&[("email", "ana@example.org"), ("form_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(thanks.status(), 200);
    pages.push(("thanks".to_owned(), thanks.text().await.unwrap()));
    for (lang, path) in [
        ("en", "/".to_owned()),
        ("en", format!("/join/{DEMO_SLUG}")),
        ("en", format!("/join/{DEMO_SLUG}/embed")),
        ("en", format!("/slack/install?team={DEMO_TEAM}")),
        ("en", "/join/no-such-community".to_owned()),
        ("en", format!("/join/{DEMO_SLUG}/confirm?t=unknown")),
        ("de", "/".to_owned()),
        ("de", "/join/no-such-community".to_owned()),
    ] {
        let res = browser_in(lang).get(app.url(&path)).send().await.unwrap();
        pages.push((format!("{path} ({lang})"), res.text().await.unwrap()));
    }
    for (name, page) in pages {
        assert_eq!(raw_ids(&page), Vec::<String>::new(), "{name}");
        for code in [
            ">already_in_team<",
            ">admin_api<",
            ">approval<",
            ">pending<",
            ">link_sent<",
            ">not_found<",
            ">rate_limited<",
            ">forbidden<",
        ] {
            assert!(!page.contains(code), "{name} shows {code}");
        }
    }
}
