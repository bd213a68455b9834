//! The session gate in front of every dashboard page, and the extractors handlers use: the
//! signed-in `Admin`, and `AdminForm`, a form whose CSRF token has been checked.

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::Cookie;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use serde::de::DeserializeOwned;

use crate::admin::roles::{self, Rechecked};
use crate::admin::{Admin, session};
use crate::cookies;
use crate::error::AppError;
use crate::state::AppState;

/// The cookie that carries a new dashboard session.
pub fn session_cookie(session_id: String, https: bool) -> Cookie<'static> {
    cookies::build(
        session::cookie_name(https),
        session_id,
        https,
        session::ABSOLUTE_SECS,
    )
}

/// The cookie that removes the session from the browser.
pub fn clear_session_cookie(https: bool) -> Cookie<'static> {
    cookies::removal(session::cookie_name(https), https)
}

/// Where a browser without a session is sent.
pub const LOGIN_PATH: &str = "/admin/login";

/// Resolves the session cookie. Without a live session a page view is sent to sign in (303) and
/// anything else is refused (401); with one, the `Admin` rides along in the request.
pub async fn require_session(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        let error = AppError::internal(anyhow::anyhow!("the application state is missing"));
        return Ok(no_store(req.error_response(error)));
    };
    let https = state.settings.is_https();
    let presented = req
        .cookie(session::cookie_name(https))
        .map(|c| c.value().to_owned());
    let admin = match presented.as_deref() {
        Some(value) => match session::resolve(&state.db, value).await {
            Ok(admin) => admin,
            Err(e) => return Ok(no_store(req.error_response(AppError::from(e)))),
        },
        None => None,
    };
    let mut res = match admin.map(|admin| roles::recheck(&state, admin)) {
        Some(check) => match check.await {
            Ok(Rechecked::Admin(admin)) => {
                req.extensions_mut().insert(admin);
                let res = next.call(req).await?.map_into_boxed_body();
                return Ok(no_store(res));
            }
            Ok(Rechecked::Demoted) => req.error_response(AppError::Forbidden(
                "Slack no longer lists you as an admin or owner of a workspace Lobby is installed in, \
                 so your dashboard session has ended."
                    .into(),
            )),
            Ok(Rechecked::NothingLeft) => no_session(req),
            Ok(Rechecked::Unconfirmed) => {
                return Ok(no_store(req.error_response(AppError::BadGateway(
                    "Lobby could not confirm with Slack that you are still an admin. Please try again in a minute."
                        .into(),
                ))));
            }
            Err(e) => return Ok(no_store(req.error_response(AppError::from(e)))),
        },
        None => no_session(req),
    };
    if presented.is_some()
        && let Err(e) = res.response_mut().add_cookie(&clear_session_cookie(https))
    {
        tracing::error!(error = %e, "could not clear a dead session cookie");
    }
    Ok(no_store(res))
}

/// Without a live session a page view is sent to sign in; anything else is refused.
fn no_session(req: ServiceRequest) -> ServiceResponse<BoxBody> {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        req.into_response(
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, LOGIN_PATH))
                .finish(),
        )
    } else {
        req.error_response(AppError::Unauthorized(
            "Your session has ended. Please sign in again.".into(),
        ))
    }
}

pub fn no_store<B>(mut res: ServiceResponse<B>) -> ServiceResponse<B> {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Admin>()
                .cloned()
                .ok_or_else(|| AppError::Unauthorized("Please sign in.".into())),
        )
    }
}

/// A dashboard form: the signed-in admin, the form's fields, and every raw pair (for repeated
/// fields such as bulk selections). Extracting it fails with 403 unless the form carries the
/// session's CSRF token, before any field is read.
pub struct AdminForm<T> {
    pub admin: Admin,
    pub fields: T,
    pairs: Vec<(String, String)>,
}

impl<T> AdminForm<T> {
    /// Every value sent under `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The name of the token field in every dashboard form.
pub const CSRF_FIELD: &str = "csrf";

impl<T: DeserializeOwned + 'static> FromRequest for AdminForm<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let admin = req.extensions().get::<Admin>().cloned();
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let admin = admin.ok_or_else(|| AppError::Unauthorized("Please sign in.".into()))?;
            let bytes = body.await?;
            let pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(&bytes).into_owned().collect();
            let token = pairs
                .iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.as_str());
            if !admin.csrf_matches(token) {
                return Err(AppError::Forbidden(
                    "This form is out of date or did not come from the dashboard. Please reload the page and try again."
                        .into(),
                )
                .into());
            }
            let fields = serde_urlencoded::from_bytes(&bytes)
                .map_err(|e| AppError::bad_request(format!("The form could not be read: {e}")))?;
            Ok(AdminForm {
                admin,
                fields,
                pairs,
            })
        })
    }
}
