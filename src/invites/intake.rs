//! Taking a signup in. The public join form, `POST /api/v1/invites` and `/lobby-invite` all come
//! through [`intake`], which holds the join policy in one place: the address and the community's
//! domain rules for everyone; for the public form also its token, the honeypot, the per-client
//! limits, the code of conduct and the captcha. Routes only parse input and render the answer.

use std::net::IpAddr;

use super::{AddressRefusal, Source, Submission, SubmitError, Submitted};
use crate::abuse::captcha::{self, CaptchaProvider};
use crate::abuse::form_token::MAX_AGE_SECS;
use crate::abuse::{FormToken, FormTokenError};
use crate::db::{self, communities::Community, communities::CommunitySecret};
use crate::domain::{Email, EmailError, UserId};
use crate::i18n::Lang;
use crate::state::AppState;

/// Purpose of the key that signs join-form tokens.
const FORM_KEY_PURPOSE: &str = "join-form";

/// A fresh token for a community's join form, and the value of the cookie it is bound to.
pub fn issue_form_token(state: &AppState, slug: &str) -> (String, String) {
    let key = state.keyring.derive_key(FORM_KEY_PURPOSE);
    FormToken::issue(&key, slug, db::now())
}

/// One signup, as it came in.
pub struct Signup<'a> {
    pub community: &'a Community,
    /// The address as typed; parsed here.
    pub email: &'a str,
    /// The name as typed; cleaned when stored.
    pub name: &'a str,
    /// The language the person asked in; their mails speak it.
    pub lang: Lang,
    pub via: Via<'a>,
}

/// The way a signup came in, with what that way proves.
pub enum Via<'a> {
    /// The public join form, sent by a browser nobody vouches for.
    Form(FormProof<'a>),
    /// A system holding the workspace's API key; it vouches for the person, and for the address
    /// too when it says `verified`.
    Api { verified: bool },
    /// A member of the workspace, in Slack (`/lobby-invite`); they vouch for the address.
    Slack { user_id: &'a UserId },
}

/// What the join form sends besides the address and the name.
#[derive(Default)]
pub struct FormProof<'a> {
    /// The form token the page was served with, and its cookie.
    pub token: &'a str,
    pub cookie: Option<&'a str>,
    /// The field hidden from people.
    pub honeypot: &'a str,
    pub coc_accepted: bool,
    /// The captcha widgets' answers; the community's provider decides which one counts.
    pub turnstile: Option<&'a str>,
    pub hcaptcha: Option<&'a str>,
    /// The client, when known (the per-client limits and the captcha service use it).
    pub client_ip: Option<IpAddr>,
}

/// Why a signup was not taken. The sentences are for the person who sent it.
#[derive(Debug, thiserror::Error)]
pub enum IntakeRefusal {
    #[error("{0}")]
    Email(EmailError),
    #[error("{0}")]
    Address(#[from] AddressRefusal),
    /// The field hidden from people was filled in. Nothing is recorded; the form tells the bot
    /// what it would tell a person, so it learns nothing.
    #[error("The form was filled in by a program, not a person.")]
    Honeypot,
    #[error("Please read and accept the code of conduct.")]
    CodeOfConduct,
    #[error("The form was open for too long. Please check your details and send it again.")]
    FormExpired,
    #[error(
        "The form could not be verified (it may have been sent from another site). Please reload the page and try again."
    )]
    FormUnverified,
    #[error("This form was already sent. To send another request, reload the page.")]
    FormSpent,
    #[error(
        "Too many requests from your network right now. Please send the form again in {} minute(s).",
        .retry_after_secs.div_ceil(60).max(1)
    )]
    TooMany { retry_after_secs: u64 },
    #[error("The captcha could not be verified. Please try again.")]
    Captcha,
    /// The request could not be recorded (no invite link to show, the database).
    #[error(transparent)]
    Submit(#[from] SubmitError),
}

impl From<sqlx::Error> for IntakeRefusal {
    fn from(e: sqlx::Error) -> Self {
        IntakeRefusal::Submit(e.into())
    }
}

/// Checks a signup against the join policy and, when it passes, records it with its next job.
/// Checks run cheapest first: a mistyped address is corrected and sent again, so only
/// well-formed entries count against the per-client limit, which comes before the captcha (a
/// call to its provider).
pub async fn intake(state: &AppState, signup: Signup<'_>) -> Result<Submitted, IntakeRefusal> {
    let community = signup.community;
    let too_fast = match &signup.via {
        Via::Form(proof) => {
            let too_fast = check_form_token(state, community, proof)?;
            if !proof.honeypot.trim().is_empty() {
                return Err(IntakeRefusal::Honeypot);
            }
            too_fast
        }
        Via::Api { .. } | Via::Slack { .. } => false,
    };
    let email = Email::parse(signup.email).map_err(IntakeRefusal::Email)?;
    super::check_address(community, &email)?;
    let mut spent = None;
    if let Via::Form(proof) = &signup.via {
        if community.coc_required && !proof.coc_accepted {
            return Err(IntakeRefusal::CodeOfConduct);
        }
        if let Some(ip) = proof.client_ip
            && let Err(wait) = state
                .join_limiter
                .check_shared(
                    &state.db,
                    community.id,
                    community.signups_per_30_minutes,
                    ip,
                )
                .await
        {
            return Err(IntakeRefusal::TooMany {
                retry_after_secs: wait.whole_seconds(),
            });
        }
        check_captcha(state, community, proof).await?;
        spent = Some(crate::opaque::token_hash(proof.token));
    }
    let (source, requested_by, verified) = match signup.via {
        Via::Form(_) => (Source::Form, None, false),
        Via::Api { verified } => (Source::Api, None, verified),
        Via::Slack { user_id } => (Source::Slack, Some(user_id), true),
    };
    let submission = Submission {
        community,
        email: &email,
        name: signup.name,
        source,
        requested_by,
        verified,
        too_fast,
        lang: signup.lang,
    };
    match spent {
        // One accepted signup per form page: a captured or resent form adds nothing. The token
        // is spent in the transaction that records the request.
        Some(spent) => super::submit_form(state, submission, (spent, db::now() + MAX_AGE_SECS))
            .await?
            .ok_or(IntakeRefusal::FormSpent),
        None => Ok(super::submit(state, submission).await?),
    }
}

/// The form token and its cookie. `Ok(true)` is a form sent back faster than a person fills it
/// in: browser autofill is fast too, so it is kept, but confirmed or held for an admin.
fn check_form_token(
    state: &AppState,
    community: &Community,
    proof: &FormProof<'_>,
) -> Result<bool, IntakeRefusal> {
    let key = state.keyring.derive_key(FORM_KEY_PURPOSE);
    let token = Some(proof.token).filter(|t| !t.is_empty());
    match FormToken::verify(&key, &community.slug, token, proof.cookie, db::now()) {
        Ok(()) => Ok(false),
        Err(FormTokenError::TooFast) => Ok(true),
        Err(FormTokenError::Expired) => Err(IntakeRefusal::FormExpired),
        Err(_) => Err(IntakeRefusal::FormUnverified),
    }
}

/// The community's captcha, verified with its provider. Fails closed: a captcha switched on
/// without its secret, or whose secret does not open, refuses every signup.
async fn check_captcha(
    state: &AppState,
    community: &Community,
    proof: &FormProof<'_>,
) -> Result<(), IntakeRefusal> {
    let Some(setting) = community.captcha_provider.as_deref() else {
        return Ok(());
    };
    let Some(provider) = CaptchaProvider::parse(setting) else {
        return Err(IntakeRefusal::Captcha);
    };
    let answer = match provider {
        CaptchaProvider::Turnstile => proof.turnstile,
        CaptchaProvider::HCaptcha => proof.hcaptcha,
    };
    let secret = match db::communities::secret(
        &state.db,
        &state.keyring,
        community.id,
        CommunitySecret::CaptchaSecret,
    )
    .await
    {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(IntakeRefusal::Captcha),
        Err(e) => {
            tracing::warn!(community = %community.slug, error = %e, "the captcha secret could not be read");
            return Err(IntakeRefusal::Captcha);
        }
    };
    captcha::verify(
        state.slack.http(),
        provider,
        state.settings.captcha.verify_url(provider),
        &secret,
        answer.unwrap_or_default(),
        proof.client_ip,
    )
    .await
    .map_err(|_| IntakeRefusal::Captcha)
}
