//! The public join form: `GET/POST /join/{slug}`, the frameable `/join/{slug}/embed` and the
//! `/join/{slug}/badge.svg` member-count badge.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::pages::{Chrome, render_with_status};
use super::pages::{email_refusal, lang_of};
use crate::abuse::domains::DomainRefusal;
use crate::abuse::{self, captcha::CaptchaProvider};
use crate::cookies;
use crate::db::{self, communities::Community};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::invites::intake::{FormProof, IntakeRefusal, Signup, Via, intake};
use crate::invites::{self, AddressRefusal, SubmitError, Submitted};
use crate::state::AppState;

/// A served form may be sent back for this long (the form token expires with it).
const FORM_TOKEN_MAX_AGE_SECS: i64 = 2 * 60 * 60;

/// What the form shows about the community.
struct Showcase {
    slug: String,
    title: String,
    description: String,
    team_name: String,
    team_icon: Option<String>,
    member_count: Option<i64>,
    coc_url: Option<String>,
    coc_required: bool,
    captcha: Option<(String, String)>,
}

/// What the person typed, shown again when the form comes back with an error.
#[derive(Default)]
struct Entered {
    email: String,
    name: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    chrome: Chrome,
    lang: Lang,
    show: Showcase,
    entered: Entered,
    form_token: String,
    embed: bool,
}

#[derive(Template)]
#[template(path = "join_embed.html")]
struct EmbedPage {
    lang: Lang,
    show: Showcase,
    entered: Entered,
    form_token: String,
    embed: bool,
}

/// What happens next, as the thank-you page tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Confirm the address through the mailed link.
    Confirm,
    /// An admin decides.
    Approval,
    /// The invite link comes by mail.
    LinkMail,
    /// Slack mails an invitation.
    Slack,
}

#[derive(Template)]
#[template(path = "join_done.html")]
struct DonePage {
    chrome: Chrome,
    lang: Lang,
    show: Showcase,
    next: Next,
}

/// The answer inside another site's frame: no site chrome.
#[derive(Template)]
#[template(path = "join_done_embed.html")]
struct EmbedDonePage {
    lang: Lang,
    show: Showcase,
    next: Next,
}

#[derive(Template)]
#[template(path = "join_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    slug: String,
    token: String,
    /// The community's title while the link is valid; `None` shows "this link does not work".
    title: Option<String>,
}

#[derive(Template)]
#[template(path = "join_confirmed.html")]
struct ConfirmedPage {
    chrome: Chrome,
    title: String,
    next: Next,
}

#[derive(Debug, Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    coc: Option<String>,
    /// The honeypot: hidden from people, filled in by naive bots.
    #[serde(default)]
    website: String,
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    embed: Option<String>,
    #[serde(default, rename = "cf-turnstile-response")]
    turnstile: Option<String>,
    #[serde(default, rename = "h-captcha-response")]
    hcaptcha: Option<String>,
}

async fn community(state: &AppState, slug: &str) -> Result<(Community, Showcase), AppError> {
    let community = db::communities::by_slug(&state.db, slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let installation = state
        .installations
        .get(&state.db, &community.installation_id)
        .await?
        .filter(|i| i.is_active())
        .ok_or(AppError::NotFound)?;
    let show = Showcase {
        slug: community.slug.clone(),
        title: community.title.clone(),
        description: community.description.clone(),
        team_name: installation.team_name.clone(),
        team_icon: installation.team_icon.clone(),
        member_count: community.member_count,
        coc_url: community.coc_url.clone(),
        coc_required: community.coc_required,
        captcha: community
            .captcha_provider
            .clone()
            .zip(community.captcha_site_key.clone()),
    };
    Ok((community, show))
}

fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-lobby_join"
    } else {
        "lobby_join"
    }
}

/// A fresh form token and the cookie it is bound to. An embedded form lives in another site's
/// page, where only a `SameSite=None` cookie is sent back.
fn issue_token(state: &AppState, slug: &str, embed: bool) -> (String, Cookie<'static>) {
    let https = state.settings.is_https();
    let (token, cookie_value) = invites::intake::issue_form_token(state, slug);
    let mut cookie = cookies::build(
        cookie_name(https),
        cookie_value,
        https,
        FORM_TOKEN_MAX_AGE_SECS,
    );
    if embed && https {
        cookie.set_same_site(SameSite::None);
    }
    (token, cookie)
}

/// The policy for pages that load a captcha widget from its provider.
fn page_csp(show: &Showcase, frame_ancestors: &str) -> String {
    let third_party = show
        .captcha
        .as_ref()
        .and_then(|(p, _)| CaptchaProvider::parse(p))
        .map_or("", CaptchaProvider::csp_sources);
    format!(
        "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'{third_party}; \
         frame-src{frame_src}; connect-src 'self'{third_party}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {frame_ancestors}",
        frame_src = if third_party.is_empty() {
            " 'none'"
        } else {
            third_party
        },
    )
}

fn finish(
    mut res: HttpResponse,
    csp: &str,
    cookie: Option<&Cookie<'_>>,
) -> Result<HttpResponse, AppError> {
    if let Some(cookie) = cookie {
        res.add_cookie(cookie).map_err(AppError::internal)?;
    }
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(csp).map_err(AppError::internal)?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

fn render_form(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    show: Showcase,
    entered: Entered,
    embed: bool,
) -> Result<HttpResponse, AppError> {
    let (form_token, cookie) = issue_token(state, &show.slug, embed);
    let csp = page_csp(&show, if embed { "*" } else { "'none'" });
    let res = if embed {
        render_with_status(
            status,
            &EmbedPage {
                lang: lang_of(req),
                show,
                entered,
                form_token,
                embed,
            },
        )?
    } else {
        render_with_status(
            status,
            &JoinPage {
                chrome: Chrome::public(req),
                lang: lang_of(req),
                show,
                entered,
                form_token,
                embed,
            },
        )?
    };
    finish(res, &csp, Some(&cookie))
}

/// `GET /join/{slug}`
pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, show) = community(&state, &slug).await?;
    render_form(
        &req,
        &state,
        StatusCode::OK,
        show,
        Entered::default(),
        false,
    )
}

/// `GET /join/{slug}/embed`: the compact form, the only page other sites may frame.
pub async fn embed(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, show) = community(&state, &slug).await?;
    render_form(&req, &state, StatusCode::OK, show, Entered::default(), true)
}

/// `POST /join/{slug}`: the join policy (`invites::intake`), then the answer: the thank-you page,
/// or the form again with what was typed and why it was refused.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    form: web::Form<JoinForm>,
) -> Result<HttpResponse, AppError> {
    let (community, show) = community(&state, &slug).await?;
    let form = form.into_inner();
    let embed = form.embed.is_some() || req.path().ends_with("/embed");
    let cookie = req.cookie(cookie_name(state.settings.is_https()));
    let taken = intake(
        &state,
        Signup {
            community: &community,
            email: &form.email,
            name: &form.name,
            lang: lang_of(&req),
            via: Via::Form(FormProof {
                token: &form.form_token,
                cookie: cookie.as_ref().map(|c| c.value()),
                honeypot: &form.website,
                coc_accepted: form.coc.is_some(),
                turnstile: form.turnstile.as_deref(),
                hcaptcha: form.hcaptcha.as_deref(),
                client_ip: abuse::client_ip_of(&req, &state.settings.trusted_proxies),
            }),
        },
    )
    .await;
    let submitted = match taken {
        Ok(submitted) => submitted,
        // Bots get the usual answer and no request.
        Err(IntakeRefusal::Honeypot) => return done(&req, show, Next::Slack, embed),
        Err(refusal) => return refused(&req, &state, show, form, embed, refusal),
    };
    let next = match submitted {
        Submitted::Link { link, .. } => {
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, link.as_str()))
                .insert_header((header::REFERRER_POLICY, "no-referrer"))
                .finish());
        }
        Submitted::Confirming { .. } => Next::Confirm,
        Submitted::LinkMailed { .. } => Next::LinkMail,
        Submitted::Pending { .. } => Next::Approval,
        Submitted::Queued { .. } => Next::Slack,
        // An address that already asked gets the answer a new one would: the form tells nobody
        // who is a member.
        Submitted::AlreadyOpen
            if invites::needs_confirmation(state.mailer.as_ref(), &community) =>
        {
            Next::Confirm
        }
        Submitted::AlreadyOpen => usual_next(&state, &community),
    };
    done(&req, show, next, embed)
}

/// What a new request of this community usually leads to.
fn usual_next(state: &AppState, community: &Community) -> Next {
    match community.invite_mode {
        crate::domain::InviteMode::Approval => Next::Approval,
        crate::domain::InviteMode::Link if state.mailer.is_some() => Next::LinkMail,
        _ => Next::Slack,
    }
}

/// A refused signup: the form again, with what was typed and why (and when to retry, after too
/// many). A form that cannot be verified is an error page: it did not come from our page.
fn refused(
    req: &HttpRequest,
    state: &AppState,
    show: Showcase,
    form: JoinForm,
    embed: bool,
    refusal: IntakeRefusal,
) -> Result<HttpResponse, AppError> {
    let status = match refusal {
        IntakeRefusal::FormUnverified => {
            return Err(AppError::refused(
                StatusCode::FORBIDDEN,
                "error-form-not-verified",
            ));
        }
        // Link mode with no link yet: the form again, saying so (the API answers 409).
        IntakeRefusal::Submit(SubmitError::NoInviteLink) => StatusCode::CONFLICT,
        IntakeRefusal::Submit(e) => return Err(e.into()),
        IntakeRefusal::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    };
    let entered = Entered {
        email: form.email,
        name: form.name,
        error: Some(refusal_message(&refusal, lang_of(req))),
    };
    let mut res = render_form(req, state, status, show, entered, embed)?;
    if let IntakeRefusal::TooMany { retry_after_secs } = refusal {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&retry_after_secs.to_string()).map_err(AppError::internal)?,
        );
    }
    Ok(res)
}

/// The confirmation token, in the query of the mailed link and in the button's form. Never in
/// the path: paths are logged, query strings are not.
#[derive(Debug, Deserialize)]
pub struct ConfirmToken {
    #[serde(default)]
    t: String,
}

/// `GET /join/{slug}/confirm?t=…`: one button; opening the link alone confirms nothing
/// (mail scanners open links too).
pub async fn confirm_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    token: web::Query<ConfirmToken>,
) -> Result<HttpResponse, AppError> {
    show_confirm_page(&req, &state, slug.into_inner(), token.into_inner().t).await
}

async fn show_confirm_page(
    req: &HttpRequest,
    state: &AppState,
    slug: String,
    token: String,
) -> Result<HttpResponse, AppError> {
    let title = match invites::pending_confirmation(&state.db, &slug, &token).await {
        Ok((_, community)) => Some(community.title),
        Err(invites::ConfirmError::Invalid) => None,
        Err(invites::ConfirmError::Db(e)) => return Err(e.into()),
    };
    let status = if title.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let page = ConfirmPage {
        chrome: Chrome::public(req),
        slug,
        token,
        title,
    };
    let mut res = render_with_status(status, &page)?;
    // The token is in the URL: keep it out of Referer headers and caches.
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `POST /join/{slug}/confirm` (form field `t`): confirms the address and sends the request on.
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    form: web::Form<ConfirmToken>,
) -> Result<HttpResponse, AppError> {
    let (slug, token) = (slug.into_inner(), form.into_inner().t);
    let (_, community) = match invites::pending_confirmation(&state.db, &slug, &token).await {
        Ok(found) => found,
        Err(invites::ConfirmError::Invalid) => {
            return show_confirm_page(&req, &state, slug, token).await;
        }
        Err(invites::ConfirmError::Db(e)) => return Err(e.into()),
    };
    let next = match invites::confirm(&state, &slug, &token).await {
        Ok(invites::Confirmed::Queued) => Next::Slack,
        Ok(invites::Confirmed::Pending) => Next::Approval,
        Ok(invites::Confirmed::LinkMailed) => Next::LinkMail,
        Err(invites::ConfirmError::Invalid) => {
            return show_confirm_page(&req, &state, slug, token).await;
        }
        Err(invites::ConfirmError::Db(e)) => return Err(e.into()),
    };
    let mut res = render_with_status(
        StatusCode::OK,
        &ConfirmedPage {
            chrome: Chrome::public(&req),
            title: community.title,
            next,
        },
    )?;
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

/// What a person reads about a refused signup, in their language.
fn refusal_message(refusal: &IntakeRefusal, lang: Lang) -> String {
    match refusal {
        IntakeRefusal::Email(e) => email_refusal(e, lang),
        IntakeRefusal::CodeOfConduct => lang.t("join-error-coc"),
        IntakeRefusal::FormExpired => lang.t("join-error-expired"),
        IntakeRefusal::FormSpent => lang.t("join-error-sent"),
        IntakeRefusal::Captcha => lang.t("join-error-captcha"),
        IntakeRefusal::TooMany { retry_after_secs } => lang.count(
            "join-error-too-many",
            &i64::try_from(retry_after_secs.div_ceil(60).max(1)).unwrap_or(i64::MAX),
        ),
        IntakeRefusal::Address(AddressRefusal::Domain(DomainRefusal::Denied { domain })) => {
            lang.t1("join-error-domain-denied", "domain", domain)
        }
        IntakeRefusal::Address(AddressRefusal::Domain(DomainRefusal::NotAllowed { allowed })) => {
            lang.t1("join-error-domain-not-allowed", "allowed", allowed)
        }
        IntakeRefusal::Address(AddressRefusal::Disposable) => lang.t("join-error-disposable"),
        IntakeRefusal::Address(AddressRefusal::RulesBroken) => lang.t("join-error-closed"),
        IntakeRefusal::Submit(SubmitError::NoInviteLink) => lang.t("join-error-no-link"),
        // A honeypot hit gets the thanks page, and the rest are error pages, not form messages.
        other => other.to_string(),
    }
}
fn done(
    req: &HttpRequest,
    show: Showcase,
    next: Next,
    embed: bool,
) -> Result<HttpResponse, AppError> {
    let csp = page_csp(&show, if embed { "*" } else { "'none'" });
    let res = if embed {
        render_with_status(
            StatusCode::OK,
            &EmbedDonePage {
                lang: lang_of(req),
                show,
                next,
            },
        )?
    } else {
        render_with_status(
            StatusCode::OK,
            &DonePage {
                chrome: Chrome::public(req),
                lang: lang_of(req),
                show,
                next,
            },
        )?
    };
    finish(res, &csp, None)
}

/// `GET /join/{slug}/badge.svg`: "slack | N members", from the count refreshed in the background.
pub async fn badge(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let community = db::communities::by_slug(&state.db, &slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let value = match community.member_count {
        Some(1) => "1 member".to_owned(),
        Some(n) => format!("{n} members"),
        None => "join".to_owned(),
    };
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(badge_svg("slack", &value)))
}

/// A shields.io-style badge. Both texts are ours (a label and a number), never user input.
pub fn badge_svg(label: &str, value: &str) -> String {
    // Verdana 11px averages about 6.5 px a character; a little padding either side.
    let width = |s: &str| (s.chars().count() as u32) * 7 + 10;
    let (lw, vw) = (width(label), width(value));
    let total = lw + vw;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {value}"><title>{label}: {value}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{vw}" height="20" fill="#4a154b"/><rect width="{total}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="{lx}" y="14">{label}</text><text x="{vx}" y="14">{value}</text></g></svg>"##,
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_a_person_reads_is_in_each_language() {
        let refusals = [
            IntakeRefusal::CodeOfConduct,
            IntakeRefusal::FormExpired,
            IntakeRefusal::FormSpent,
            IntakeRefusal::Captcha,
            IntakeRefusal::TooMany {
                retry_after_secs: 90,
            },
            IntakeRefusal::Address(AddressRefusal::Domain(DomainRefusal::Denied {
                domain: "spam.example".into(),
            })),
            IntakeRefusal::Address(AddressRefusal::Domain(DomainRefusal::NotAllowed {
                allowed: "example.org".into(),
            })),
            IntakeRefusal::Address(AddressRefusal::Disposable),
            IntakeRefusal::Address(AddressRefusal::RulesBroken),
            IntakeRefusal::Submit(SubmitError::NoInviteLink),
        ];
        for (code, _) in crate::i18n::CATALOGS {
            let lang = Lang::choose(Some(code), None);
            for refusal in &refusals {
                let message = refusal_message(refusal, lang);
                // A missing message falls back to its key.
                assert!(
                    !message.starts_with("join-error"),
                    "{code}: {refusal:?} → {message}"
                );
                if code != "en" {
                    assert_ne!(
                        message,
                        refusal.to_string(),
                        "{code}: {refusal:?} is English"
                    );
                }
            }
        }
        let de = Lang::choose(Some("de"), None);
        let denied = IntakeRefusal::Address(AddressRefusal::Domain(DomainRefusal::Denied {
            domain: "spam.example".into(),
        }));
        assert!(refusal_message(&denied, de).contains("spam.example"));
    }
}
