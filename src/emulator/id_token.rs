//! OpenID `id_token`s as Slack issues them: compact JWTs signed RS256, and the key set (JWKS)
//! that publishes the public half at `openid/connect/keys`.
//!
//! The signing key below is a fixed test key, public on purpose: the emulator is a fake Slack
//! for demos and tests, so anyone may forge its tokens. Lobby trusts it only where it is pointed
//! at the emulator, which never happens with real Slack credentials.

use actix_web::HttpResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

/// The issuer Slack writes into its id_tokens; the emulator issues the same, so Lobby checks one.
pub const ISSUER: &str = "https://slack.com";

/// The `kid` of the emulator's only key.
pub const KEY_ID: &str = "lobby-emulator-rs256-1";

/// RSA 2048, PKCS#1. Made for the emulator with `openssl genrsa -traditional 2048`.
const PRIVATE_KEY_PEM: &str = "\
-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEAvRB31cF7BkhbW0MLG00M6u0vddU7nB1FTzw17BvqLmB0db7R
pHmUDRKudKant8LGQFWmPPoBetmgV6mLx83J+BrcSYUyFbR0mcbsxS80opF8RAEO
MNPohGHOZ7YIO92b28S3TKJ0uyRAIirUpfQnJOhFbXpnEO4hRQspO4c6CurJNgWX
2Wd9F24rVEjsgifiR03fwh9nUuRCBlFheAe2J1wVaxMD2jnPNLWRL5CXy/szD1gL
5FUSMk/c4oZXySenlEe9w9KATJNOQRtRQPvY5ov4NjXNjllctvjXJIUCslfzsWMd
GxI9yd66zNBJbNxI2lhQ8sY6OwZVuIZ6ScSgTwIDAQABAoIBAAiADYs4PDI/nY/g
V0b+c1a6nDglgp0VudCCqf/4D1LPdlz229ETwELINLy842yBHs20rBkwulFOKIXY
cxbkGzEC8CWEDgjoyJdDWNDSuwCWHuqly4AJfvo4tYF3Ly6V25SJZx5UbYAedJ20
pEPj0sC3iquN5cVel3NVuaBaB5OG/+YpF2ln0VDejP5/wGAmgH+Dm7cpmcalUNCd
WAoEBBPKM+v9dfPKqnKALHRHyMFQUDcVGfnYKpy63/P+nNMhKt8+MgPS8k/3dRo9
Gr9jo7yJUuDdNzuPBYruHQaN05HIE5kxmiqIGSqivHtb9PtOgWFYIlaH9oyPslba
HYB4ZU0CgYEA9egBlqq2CsMGgSLBAvpFzCD/baao3TBDJLd8Db1d7mGxyxh0QWSk
+7kYTqWxMF9iy8iohv12ELq6MQkTWg5uXvGfebFkfoCLIaiTFC2bpRkGMO7oYFwQ
x1b+Io/xgcaEnuiOWRDcSgKde3FG3XRVV4QP+c72SCB+BKCSHVtO9SsCgYEAxNMq
DZA+FyxoMq6TyFmg9HsufxKd8j4pyNIOTwy4G6F/ZTI5HJ8k/LzaTIi49I6EX9tQ
gf73/QBtFMWMHa5jGI22cuZtTNPqMZMVgtfT1RXY46EhitfRBick+koLLIFWiNjj
EfZKqBVItY2hSO8lGLU+gb3USGtmIxW+NE5uN20CgYEAkbNg1ZPafu/lN7iO4iPG
HVfj4GViIoSJFAU/lKiCMk9iV/LqVyC5/IhEVb0pCn9J+3KuICWnwevRjGJTPAXW
8Zx6oFEyOR4S0eOfGdKYKS91kqLLvuRt8J6jv3jIYNtuEvW5+h3aWGPKSazpjydx
tYQDL0GofT37TOSTDp/eXbcCgYA/IOtwBj+j9x5EgzHrJLQ3NfsnzrTSKZYFTzo/
qHi0hAv0TTN8Np8KYRgzS/bmmX9jr1gXGcw4XZae/u1955zpFyrZl4afCakn1WEk
4kyTH7q858V2Xtov+wYlMPJ8h89VfRr3e+NeHdWARbjhR7LCRf+SZWxc/fV4c1Ta
Of2n0QKBgQDgnedsDuVldtsdqbIbDadSSZzsgE+FCCG4k7sN6U2keVSj5DwnYTv9
HQMBm7APMFV1tH6j5B+VzlH4BdTYOsKouJEEPIX25HqbCcWhEMg/mbVOFsV1FdkC
i7GYvzCi5xQn9fkJgD3PLadtltxPDlRRPs93ZL/823DmvtFbgNgwJQ==
-----END RSA PRIVATE KEY-----
";

/// The public key's modulus (base64url, big-endian), as the JWKS publishes it.
const MODULUS: &str = concat!(
    "vRB31cF7BkhbW0MLG00M6u0vddU7nB1FTzw17BvqLmB0db7RpHmUDRKudKant8LG",
    "QFWmPPoBetmgV6mLx83J-BrcSYUyFbR0mcbsxS80opF8RAEOMNPohGHOZ7YIO92b",
    "28S3TKJ0uyRAIirUpfQnJOhFbXpnEO4hRQspO4c6CurJNgWX2Wd9F24rVEjsgifi",
    "R03fwh9nUuRCBlFheAe2J1wVaxMD2jnPNLWRL5CXy_szD1gL5FUSMk_c4oZXySen",
    "lEe9w9KATJNOQRtRQPvY5ov4NjXNjllctvjXJIUCslfzsWMdGxI9yd66zNBJbNxI",
    "2lhQ8sY6OwZVuIZ6ScSgTw",
);
/// 65537.
const EXPONENT: &str = "AQAB";

/// How a test wants the next id_token spoiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdTokenFlaw {
    /// The claims are changed after signing, so the signature no longer matches.
    BadSignature,
    /// Signed properly, but by another issuer than Slack.
    WrongIssuer,
    /// Signed properly, but it expired an hour ago.
    Expired,
    /// Signed properly, naming a key id the key set does not have.
    UnknownKey,
}

#[derive(Debug, thiserror::Error)]
#[error("the emulator could not sign an id_token: {0}")]
pub struct SignError(String);

fn signing_key() -> Result<EncodingKey, SignError> {
    let base64: String = PRIVATE_KEY_PEM
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = STANDARD
        .decode(base64)
        .map_err(|e| SignError(e.to_string()))?;
    Ok(EncodingKey::from_rsa_der(&der))
}

/// `header.claims.signature`, signed RS256 with the emulator's key (or spoiled by `flaw`).
pub fn sign(claims: &Map<String, Value>, flaw: Option<IdTokenFlaw>) -> Result<String, SignError> {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(match flaw {
        Some(IdTokenFlaw::UnknownKey) => "not-a-published-key".to_owned(),
        _ => KEY_ID.to_owned(),
    });
    let token = jsonwebtoken::encode(&header, claims, &signing_key()?)
        .map_err(|e| SignError(e.to_string()))?;
    if flaw != Some(IdTokenFlaw::BadSignature) {
        return Ok(token);
    }
    // Swap in other claims, keeping the signature made over the real ones.
    let mut forged = claims.clone();
    forged.insert("name".into(), json!("Mallory"));
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Value::Object(forged).to_string());
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(_), Some(signature)) => Ok(format!("{header}.{payload}.{signature}")),
        _ => Err(SignError(
            "jsonwebtoken made a token without three parts".into(),
        )),
    }
}

/// The key set Slack publishes at `https://slack.com/openid/connect/keys`.
pub fn jwks() -> Value {
    json!({
        "keys": [{
            "kty": "RSA",
            "kid": KEY_ID,
            "use": "sig",
            "alg": "RS256",
            "n": MODULUS,
            "e": EXPONENT,
        }]
    })
}

/// `GET openid/connect/keys`.
pub(crate) async fn keys() -> HttpResponse {
    HttpResponse::Ok().json(jwks())
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation};

    use super::*;

    fn claims() -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("U1"));
        claims.insert("iss".into(), json!(ISSUER));
        claims.insert("aud".into(), json!("app"));
        claims.insert(
            "exp".into(),
            json!(jsonwebtoken::get_current_timestamp() + 600),
        );
        claims
    }

    fn published_key() -> DecodingKey {
        let jwk = serde_json::from_value(jwks()["keys"][0].clone()).expect("a JWK");
        DecodingKey::from_jwk(&jwk).expect("an RSA key")
    }

    fn validation() -> Validation {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&["app"]);
        validation
    }

    #[test]
    fn a_token_verifies_with_the_published_key() {
        let token = sign(&claims(), None).expect("signed");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(KEY_ID));
        let decoded =
            jsonwebtoken::decode::<Value>(&token, &published_key(), &validation()).expect("valid");
        assert_eq!(decoded.claims["sub"], "U1");
    }

    #[test]
    fn a_bad_signature_flaw_does_not_verify() {
        let token = sign(&claims(), Some(IdTokenFlaw::BadSignature)).expect("signed");
        let error = jsonwebtoken::decode::<Value>(&token, &published_key(), &validation())
            .expect_err("forged");
        assert_eq!(
            error.kind(),
            &jsonwebtoken::errors::ErrorKind::InvalidSignature
        );
    }
}
