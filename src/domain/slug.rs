//! A community's short name as it appears in URLs (`/join/{slug}`).

use std::fmt;

const MIN_LEN: usize = 2;
const MAX_LEN: usize = 48;

/// 2 to 48 lower-case ASCII letters, digits and single hyphens, not starting or ending with one:
/// safe in a URL path, an HTML attribute and a log line as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("A short name is {MIN_LEN} to {MAX_LEN} characters long.")]
    Length,
    #[error("A short name may only hold lower-case letters a–z, digits and hyphens.")]
    Characters,
    #[error("A short name cannot start or end with a hyphen or have two hyphens in a row.")]
    Hyphens,
}

impl Slug {
    pub fn parse(input: &str) -> Result<Self, SlugError> {
        if !(MIN_LEN..=MAX_LEN).contains(&input.len()) {
            return Err(SlugError::Length);
        }
        if !input
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(SlugError::Characters);
        }
        if input.starts_with('-') || input.ends_with('-') || input.contains("--") {
            return Err(SlugError::Hyphens);
        }
        Ok(Self(input.to_owned()))
    }

    /// A slug from a Slack team domain (`my-team` of `my-team.slack.com`): lower-cased, every
    /// other character turned into a hyphen, runs of hyphens collapsed, hyphens trimmed from
    /// both ends and the result cut to the maximum length.
    pub fn from_domain(team_domain: &str) -> Result<Self, SlugError> {
        let mut slug = String::with_capacity(team_domain.len().min(MAX_LEN));
        for c in team_domain.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                if slug.len() == MAX_LEN {
                    break;
                }
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        Self::parse(slug.trim_end_matches('-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_slugs_are_accepted() {
        for input in ["ab", "rust-lang", "team42", "a-b-c", &"x".repeat(48)] {
            assert_eq!(Slug::parse(input).unwrap().as_str(), input);
        }
    }

    #[test]
    fn malformed_slugs_are_refused_with_the_reason() {
        let too_long = "x".repeat(49);
        let cases = [
            ("", SlugError::Length),
            ("a", SlugError::Length),
            (too_long.as_str(), SlugError::Length),
            ("Rust", SlugError::Characters),
            ("rust_lang", SlugError::Characters),
            ("rust lang", SlugError::Characters),
            ("rust/lang", SlugError::Characters),
            ("café", SlugError::Characters),
            ("-rust", SlugError::Hyphens),
            ("rust-", SlugError::Hyphens),
            ("rust--lang", SlugError::Hyphens),
        ];
        for (input, expected) in cases {
            assert_eq!(Slug::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn team_domains_become_slugs() {
        let cases = [
            ("rust-lang", "rust-lang"),
            ("RustLang", "rustlang"),
            ("  my team!  ", "my-team"),
            ("a__b..c", "a-b-c"),
            ("--edge--", "edge"),
            ("café-crème", "caf-cr-me"),
        ];
        for (domain, slug) in cases {
            assert_eq!(
                Slug::from_domain(domain).unwrap().as_str(),
                slug,
                "{domain:?}"
            );
        }
    }

    #[test]
    fn long_team_domains_are_cut_without_a_trailing_hyphen() {
        let domain = format!("{}-tail", "a".repeat(47));
        let slug = Slug::from_domain(&domain).unwrap();
        assert_eq!(slug.as_str(), "a".repeat(47));
    }

    #[test]
    fn team_domains_with_too_little_left_are_refused() {
        assert_eq!(Slug::from_domain("x"), Err(SlugError::Length));
        assert_eq!(Slug::from_domain("!!!"), Err(SlugError::Length));
        assert_eq!(Slug::from_domain(""), Err(SlugError::Length));
    }
}
