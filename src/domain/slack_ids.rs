//! Slack's identifiers: a letter that says what it is, then upper-case letters and digits.

use std::fmt;

fn is_slack_id(s: &str, prefixes: &[char]) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if prefixes.contains(&c))
        && (3..=32).contains(&s.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

macro_rules! slack_id {
    ($(#[$doc:meta])* $name:ident, $prefixes:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, String> {
                if Self::is_valid(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(format!("{s:?} is not a Slack {}", $what))
                }
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
}
