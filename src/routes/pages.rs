//! What every page shares: the chrome around it (demo banner, navigation) and how it is rendered.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::EmailError;
use crate::error::AppError;
use crate::i18n::{self, Lang};
use crate::state::AppState;

/// The frame of every page, filled in by `base.html`.
pub struct Chrome {
    pub demo: bool,
    /// The page's language (English unless `public` chose another).
    pub lang: Lang,
    /// The public side offers a language switch; its address comes back here.
    pub switch_back: Option<String>,
}

impl Chrome {
    /// The dashboard's frame: English.
    pub fn for_request(req: &HttpRequest) -> Self {
        Chrome {
            demo: req
                .app_data::<web::Data<AppState>>()
                .is_some_and(|s| s.is_demo()),
            lang: Lang::default(),
            switch_back: None,
        }
    }

    /// A public page's frame, in the visitor's language, with the language switch.
    pub fn public(req: &HttpRequest) -> Self {
        Chrome {
            lang: lang_of(req),
            // The query too: the confirmation page's token must survive a change of language.
            switch_back: Some(
                req.uri()
                    .path_and_query()
                    .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned()),
            ),
            ..Chrome::for_request(req)
        }
    }
}

/// The visitor's language: a remembered choice, else `Accept-Language`.
pub fn lang_of(req: &HttpRequest) -> Lang {
    let cookie = req.cookie(i18n::LANG_COOKIE);
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::choose(cookie.as_ref().map(|c| c.value()), accept)
}

/// Why a typed address is not one, in the visitor's language.
pub fn email_refusal(error: &EmailError, lang: Lang) -> String {
    let max = |key, max: usize| lang.t1(key, "max", &max.to_string());
    match error {
        EmailError::Empty => lang.t("email-error-empty"),
        EmailError::TooLong => max("email-error-too-long", crate::domain::EMAIL_MAX_LEN),
        EmailError::MissingAt => lang.t("email-error-missing-at"),
        EmailError::SeveralAts => lang.t("email-error-several-ats"),
        EmailError::EmptyLocalPart => lang.t("email-error-empty-local"),
        EmailError::LocalPartTooLong => max(
            "email-error-local-too-long",
            crate::domain::EMAIL_MAX_LOCAL_LEN,
        ),
        EmailError::LocalPartCharacters => lang.t("email-error-local-characters"),
        EmailError::LocalPartDots => lang.t("email-error-local-dots"),
        EmailError::EmptyDomain => lang.t("email-error-empty-domain"),
        EmailError::DomainWithoutDot => lang.t("email-error-domain-dot"),
        EmailError::DomainCharacters => lang.t("email-error-domain-characters"),
        EmailError::NumericTopLevelDomain => lang.t("email-error-numeric-tld"),
    }
}

#[derive(serde::Deserialize)]
pub struct SwitchQuery {
    #[serde(default)]
    back: String,
}

/// `GET /lang/{code}?back=/join/x`: remembers the language for a year and goes back. Only a
/// path on this site is followed, never another address.
pub async fn switch_language(
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<SwitchQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = i18n::supported(&code).ok_or(AppError::NotFound)?;
    let back = Some(query.back.as_str())
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or("/");
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.is_https());
    let cookie = crate::cookies::build(i18n::LANG_COOKIE, lang.to_owned(), https, 365 * 86_400);
    let mut res = HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, back.to_owned()))
        .finish();
    res.add_cookie(&cookie).map_err(AppError::internal)?;
    Ok(res)
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub chrome: Chrome,
    pub title: &'a str,
    pub message: &'a str,
    pub request_id: &'a str,
    pub next: NextStep,
}

/// A refusal inside the dashboard's frame, for a signed-in admin.
#[derive(Template)]
#[template(path = "admin/error.html")]
pub struct AdminErrorPage<'a> {
    pub chrome: Chrome,
    pub nav: crate::routes::admin::Nav,
    pub title: &'a str,
    pub message: &'a str,
    pub request_id: &'a str,
    pub next: NextStep,
}

/// A refusal of an embedded join form, inside the other site's frame: compact, with a heading.
#[derive(Template)]
#[template(path = "error_embed.html")]
pub struct EmbedErrorPage<'a> {
    pub lang: Lang,
    pub title: &'a str,
    pub message: &'a str,
    pub request_id: &'a str,
    pub next: NextStep,
}

/// Where a person goes after a refusal: the words of the link and its address.
pub struct NextStep {
    pub label: String,
    pub href: String,
}

impl NextStep {
    /// The most useful next page for a refusal of `path` with `status`; the public side's words
    /// in `lang` (the dashboard's stay English).
    pub fn for_path(path: &str, status: StatusCode, lang: Lang) -> Self {
        let step = |label: &str, href: &str| NextStep {
            label: label.to_owned(),
            href: href.to_owned(),
        };
        let public = |key: &str, href: &str| NextStep {
            label: lang.t(key),
            href: href.to_owned(),
        };
        if status == StatusCode::UNAUTHORIZED {
            return step("Sign in", "/admin/login");
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["admin", "communities", id, ..] if id.chars().all(|c| c.is_ascii_digit()) => step(
                "Back to the community's settings",
                &format!("/admin/communities/{id}"),
            ),
            ["admin", "communities", ..] => step("Back to the communities", "/admin/communities"),
            ["admin", "requests", ..] => step("Back to the requests", "/admin/requests"),
            ["admin", "installations", ..] => {
                step("Back to the installations", "/admin/installations")
            }
            ["admin", "keys", ..] => step("Back to the API keys", "/admin/keys"),
            ["admin", "login" | "oauth_redirect", ..] => step("Sign in again", "/admin/login"),
            ["admin", ..] => step("Back to the overview", "/admin"),
            ["join", slug, "embed", ..] if status != StatusCode::NOT_FOUND => {
                public("next-back-to-form", &format!("/join/{slug}/embed"))
            }
            ["join", slug, ..] if status != StatusCode::NOT_FOUND => {
                public("next-back-to-form", &format!("/join/{slug}"))
            }
            ["slack", "install" | "oauth_redirect", ..] => {
                public("next-install-again", "/slack/install")
            }
            _ => public("next-start-page", "/"),
        }
    }
}

/// Renders a page with status 200.
/// A page's words follow `Accept-Language` and the language (or session) cookie: a cache in
/// front of Lobby must not hand one visitor's page to another.
pub const VARY_BY_LANGUAGE: (actix_web::http::header::HeaderName, &str) =
    (actix_web::http::header::VARY, "Accept-Language, Cookie");

pub fn render(page: &impl Template) -> Result<HttpResponse, AppError> {
    render_with_status(StatusCode::OK, page)
}

pub fn render_with_status(
    status: StatusCode,
    page: &impl Template,
) -> Result<HttpResponse, AppError> {
    let html = page.render()?;
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        .insert_header(VARY_BY_LANGUAGE)
        .body(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_refusals_say_in_english_what_the_domain_says() {
        for input in [
            "",
            "a",
            "a@b@c",
            "@x.org",
            "a b@x.org",
            ".a@x.org",
            "a@",
            "a@x",
            "a@x..org",
            "a@x.123",
        ] {
            let error = crate::domain::Email::parse(input).unwrap_err();
            assert_eq!(
                email_refusal(&error, Lang::default()),
                error.to_string(),
                "{input:?}"
            );
        }
    }

    #[test]
    fn a_refusal_points_at_the_page_that_helps() {
        let href = |path, status| NextStep::for_path(path, status, Lang::default()).href;
        assert_eq!(
            href("/admin/requests/5/approve", StatusCode::CONFLICT),
            "/admin/requests"
        );
        assert_eq!(
            href("/admin/communities/7", StatusCode::BAD_REQUEST),
            "/admin/communities/7"
        );
        assert_eq!(href("/admin/x", StatusCode::UNAUTHORIZED), "/admin/login");
        assert_eq!(
            href("/join/rust/embed", StatusCode::FORBIDDEN),
            "/join/rust/embed"
        );
        assert_eq!(href("/join/nope", StatusCode::NOT_FOUND), "/");
        let german = Lang::choose(Some("de"), None);
        assert_eq!(
            NextStep::for_path("/join/rust", StatusCode::FORBIDDEN, german).label,
            "Zurück zum Formular"
        );
    }
}
