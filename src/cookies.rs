//! Lobby's cookies: all HttpOnly, SameSite=Lax, for the whole site, and `Secure` on https (where
//! their names carry the `__Host-` prefix, which browsers only accept with these settings).

use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, SameSite};

/// A cookie holding `value` for `max_age_secs`.
pub fn build(name: &'static str, value: String, https: bool, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Lax)
        .max_age(Duration::seconds(max_age_secs))
        .finish()
}

/// The cookie that removes `name` from the browser.
pub fn removal(name: &'static str, https: bool) -> Cookie<'static> {
    let mut cookie = build(name, String::new(), https, 0);
    cookie.make_removal();
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_locked_down() {
        let c = build("__Host-x", "v".into(), true, 60);
        assert_eq!(c.http_only(), Some(true));
        assert_eq!(c.secure(), Some(true));
        assert_eq!(c.same_site(), Some(SameSite::Lax));
        assert_eq!(c.path(), Some("/"));
        let gone = removal("x", false);
        assert_eq!(gone.max_age(), Some(Duration::ZERO));
        assert_eq!(gone.value(), "");
    }
}
