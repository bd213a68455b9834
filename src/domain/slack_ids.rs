//! Slack's identifiers: a letter that says what it is, then upper-case letters and digits.
//!
//! They bind and decode as text on either engine, and (de)serialize as plain strings, so rows,
//! job payloads and JSON carry them typed. Decoding parses again: the database only holds ids that
//! were parsed on the way in, so a failure there is a row written by hand, and it comes back as a
//! decode error, never a panic.

use std::fmt;

use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

fn is_slack_id(s: &str, prefixes: &[char]) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if prefixes.contains(&c))
        && (3..=32).contains(&s.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

macro_rules! slack_id {
    ($(#[$doc:meta])* $name:ident, $prefixes:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, String> {
                Self::try_from(s.to_owned())
            }

            pub fn is_valid(s: &str) -> bool {
                is_slack_id(s, $prefixes)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Lets maps keyed by ids be looked up by a `&str` (the derived `Hash` and `Eq` are the
        /// string's).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        /// Compares with the id as text (a constant, a field of a Slack payload).
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(s: String) -> Result<Self, String> {
                if Self::is_valid(&s) {
                    Ok(Self(s))
                } else {
                    Err(format!("{s:?} is not a Slack {}", $what))
                }
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl<DB: Database> Type<DB> for $name
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            String: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, BoxDynError> {
                <String as Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }

            fn size_hint(&self) -> usize {
                <String as Encode<'q, DB>>::size_hint(&self.0)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            String: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(Self::try_from(<String as Decode<'r, DB>>::decode(value)?)?)
            }
        }
    };
}

slack_id!(
    /// A workspace (`T…`) or, for org-wide installs, an Enterprise Grid organisation (`E…`).
    TeamId,
    &['T', 'E'],
    "team id"
);
slack_id!(
    /// A user (`U…`, or `W…` on Enterprise Grid).
    UserId,
    &['U', 'W'],
    "user id"
);

slack_id!(
    /// A conversation: a public channel (`C…`), a private channel or group (`G…`) or a direct
    /// message (`D…`).
    ChannelId,
    &['C', 'G', 'D'],
    "channel id"
);
slack_id!(
    /// An Enterprise Grid organisation (`E…`).
    EnterpriseId,
    &['E'],
    "enterprise id"
);

impl From<EnterpriseId> for TeamId {
    /// An org-wide installation is keyed by its organisation, which Slack then treats as a team.
    fn from(id: EnterpriseId) -> Self {
        TeamId(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_ids_parse() {
        assert!(TeamId::parse("T0123ABCD").is_ok());
        assert!(TeamId::parse("E0123ABCD").is_ok());
        assert!(TeamId::parse("t0123abcd").is_err());
        assert!(TeamId::parse("T01<script>").is_err());
        assert!(TeamId::parse("").is_err());
        assert!(UserId::parse("U0ADMIN001").is_ok());
        assert!(UserId::parse("T0ADMIN001").is_err());
    }

    #[test]
    fn channel_ids_parse() {
        for ok in ["C0GENERAL", "G0PRIVATE1", "D0DIRECT1"] {
            assert!(ChannelId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["U0GENERAL", "c0general", "#general", "C", "C0<b>", ""] {
            assert!(ChannelId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn enterprise_ids_parse() {
        assert!(EnterpriseId::parse("E0ORG0001").is_ok());
        assert!(EnterpriseId::parse("T0ORG0001").is_err());
        assert!(EnterpriseId::parse("e0org0001").is_err());
        let team: TeamId = EnterpriseId::parse("E0ORG0001").unwrap().into();
        assert_eq!(team.as_str(), "E0ORG0001");
    }

    #[test]
    fn ids_serialize_as_strings_and_deserialize_only_when_valid() {
        let id = ChannelId::parse("C0GENERAL").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""C0GENERAL""#);
        let back: ChannelId = serde_json::from_str(r#""C0GENERAL""#).unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<ChannelId>(r#""U0GENERAL""#).is_err());
        assert!(serde_json::from_str::<TeamId>(r#""not an id""#).is_err());
    }

    #[tokio::test]
    async fn ids_bind_and_decode_as_text_and_refuse_what_does_not_parse() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let team = TeamId::parse("T0BIND001").unwrap();
        let back: TeamId = sqlx::query_scalar("SELECT $1")
            .bind(&team)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(back, team);
        let refused = sqlx::query_scalar::<_, TeamId>("SELECT 'not an id'")
            .fetch_one(&pool)
            .await;
        assert!(matches!(refused, Err(sqlx::Error::ColumnDecode { .. })));
    }
}
