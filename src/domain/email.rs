//! An email address as the join form accepts it.
//!
//! This is deliberately narrower than RFC 5322: a person joining a community types an ordinary
//! `name@example.org`, so quoted local parts, comments and IP-literal domains are refused with a
//! sentence that says what is wrong. Internationalised domains are accepted in their punycode
//! (`xn--…`) form.

use std::fmt;

/// The longest address SMTP can carry (RFC 5321 path limit minus the angle brackets).
pub const MAX_LEN: usize = 254;
pub const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

/// Characters an unquoted local part may hold besides ASCII letters and digits (RFC 5322 `atext`).
const LOCAL_SYMBOLS: &str = "!#$%&'*+-/=?^_`{|}~.";

/// A syntactically sensible email address with a lower-cased domain.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email {
    address: String,
    /// Byte index of the `@` in `address`.
    at: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Please enter an email address.")]
    Empty,
    #[error("An email address is at most {MAX_LEN} characters long.")]
    TooLong,
    #[error("An email address needs an @ between the name and the domain, like name@example.org.")]
    MissingAt,
    #[error("An email address has only one @.")]
    SeveralAts,
    #[error("The part before the @ is missing.")]
    EmptyLocalPart,
    #[error("The part before the @ is at most {MAX_LOCAL_LEN} characters long.")]
    LocalPartTooLong,
    #[error(
        "The part before the @ may only hold letters, digits and . ! # $ % & ' * + - / = ? ^ _ ` {{ | }} ~ (no spaces or quotes)."
    )]
    LocalPartCharacters,
    #[error("The part before the @ cannot start or end with a dot or have two dots in a row.")]
    LocalPartDots,
    #[error("The domain after the @ is missing.")]
    EmptyDomain,
    #[error("The domain after the @ needs a dot, like example.org.")]
    DomainWithoutDot,
    #[error(
        "The domain after the @ is made of letters, digits and hyphens separated by single dots, and does not end with a dot."
    )]
    DomainCharacters,
    #[error("The domain after the @ must end in a name like .org, not a number.")]
    NumericTopLevelDomain,
}

impl Email {
    /// Parses what a person typed: surrounding whitespace is ignored and the domain lower-cased
    /// (the local part keeps its case: only the receiving server may decide what it means).
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(EmailError::Empty);
        }
        if input.len() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = input.split_once('@').ok_or(EmailError::MissingAt)?;
        if domain.contains('@') {
            return Err(EmailError::SeveralAts);
        }
        check_local_part(local)?;
        let domain = parse_domain(domain)?;
        Ok(Self {
            address: format!("{local}@{domain}"),
            at: local.len(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before the `@`, as typed.
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The lower-cased domain after the `@`.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// The domain followed by each domain it is part of, down to the top-level domain:
    /// `mx.example.org`, `example.org`, `org`. Lists of domains match through this.
    pub fn domain_and_parents(&self) -> impl Iterator<Item = &str> {
        let domain = self.domain();
        std::iter::once(domain).chain(
            domain
                .match_indices('.')
                .map(move |(dot, _)| &domain[dot + 1..]),
        )
    }

    /// The address with the local part hidden, for logs: `a***@example.org`.
    pub fn masked(&self) -> String {
        let first = self.local_part().chars().next().unwrap_or('*');
        format!("{first}***@{}", self.domain())
    }
}

fn check_local_part(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(EmailError::LocalPartTooLong);
    }
    if !local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || LOCAL_SYMBOLS.contains(c))
    {
        return Err(EmailError::LocalPartCharacters);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::LocalPartDots);
    }
    Ok(())
}

/// Lower-cases and checks a mail domain: dot-separated labels of letters, digits and hyphens
/// (not at either end of a label), at least two labels, and a top-level domain that is not a
/// number (which would make it an IP address, not a name).
fn parse_domain(domain: &str) -> Result<String, EmailError> {
    if domain.is_empty() {
        return Err(EmailError::EmptyDomain);
    }
    let domain = domain.to_ascii_lowercase();
    if !domain.split('.').all(is_domain_label) {
        return Err(EmailError::DomainCharacters);
    }
    match domain.rsplit_once('.') {
        None => Err(EmailError::DomainWithoutDot),
        Some((_, tld)) if tld.bytes().all(|b| b.is_ascii_digit()) => {
            Err(EmailError::NumericTopLevelDomain)
        }
        Some(_) => Ok(domain),
    }
}

/// One label of a lower-case host name (LDH rule, RFC 1035 / 5890).
pub(crate) fn is_domain_label(label: &str) -> bool {
    (1..=MAX_LABEL_LEN).contains(&label.len())
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

/// Masked, so that a `?email` in a log line does not record the full address.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.masked()).finish()
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_are_accepted() {
        for input in [
            "ada@example.org",
            "ada.lovelace+slack@mail.example.co.uk",
            "o'brien@example.ie",
            "x@a.io",
            "user_name-1@sub-domain.example.com",
            "ada@xn--bcher-kva.example",
        ] {
            let email = Email::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(email.as_str(), input);
        }
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let email = Email::parse("  ada@example.org\n").unwrap();
        assert_eq!(email.as_str(), "ada@example.org");
    }

    #[test]
    fn domain_is_lower_cased_and_local_part_kept() {
        let email = Email::parse("Ada.Lovelace@Example.ORG").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace@example.org");
        assert_eq!(email.local_part(), "Ada.Lovelace");
        assert_eq!(email.domain(), "example.org");
    }

    #[test]
    fn garbage_is_refused_with_the_reason() {
        let cases = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("ada.example.org", EmailError::MissingAt),
            ("ada@home@example.org", EmailError::SeveralAts),
            ("@example.org", EmailError::EmptyLocalPart),
            ("ada@", EmailError::EmptyDomain),
            ("ada lovelace@example.org", EmailError::LocalPartCharacters),
            ("\"ada\"@example.org", EmailError::LocalPartCharacters),
            ("ada(comment)@example.org", EmailError::LocalPartCharacters),
            ("ada\u{0}@example.org", EmailError::LocalPartCharacters),
            ("adé@example.org", EmailError::LocalPartCharacters),
            (".ada@example.org", EmailError::LocalPartDots),
            ("ada.@example.org", EmailError::LocalPartDots),
            ("a..da@example.org", EmailError::LocalPartDots),
            ("ada@localhost", EmailError::DomainWithoutDot),
            ("ada@example.org.", EmailError::DomainCharacters),
            ("ada@example..org", EmailError::DomainCharacters),
            ("ada@.example.org", EmailError::DomainCharacters),
            ("ada@exa mple.org", EmailError::DomainCharacters),
            ("ada@-example.org", EmailError::DomainCharacters),
            ("ada@example-.org", EmailError::DomainCharacters),
            ("ada@exam_ple.org", EmailError::DomainCharacters),
            ("ada@[127.0.0.1]", EmailError::DomainCharacters),
            ("ada@127.0.0.1", EmailError::NumericTopLevelDomain),
            ("ada@example.123", EmailError::NumericTopLevelDomain),
        ];
        for (input, expected) in cases {
            assert_eq!(Email::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn overlong_parts_are_refused() {
        let local = "a".repeat(65);
        assert_eq!(
            Email::parse(&format!("{local}@example.org")),
            Err(EmailError::LocalPartTooLong)
        );
        let label = "a".repeat(64);
        assert_eq!(
            Email::parse(&format!("ada@{label}.org")),
            Err(EmailError::DomainCharacters)
        );
        let domain = format!("{}.org", vec!["a".repeat(60); 5].join("."));
        assert_eq!(
            Email::parse(&format!("ada@{domain}")),
            Err(EmailError::TooLong)
        );
        let longest = format!(
            "{}@{}.org",
            "a".repeat(64),
            vec!["b".repeat(61); 3].join(".")
        );
        assert_eq!(longest.len(), 254);
        assert!(Email::parse(&longest).is_ok());
    }

    #[test]
    fn errors_are_sentences_without_the_input() {
        let error = Email::parse("secret-person.example.org").unwrap_err();
        let message = error.to_string();
        assert!(message.ends_with('.'), "{message}");
        assert!(!message.contains("secret-person"), "{message}");
    }

    #[test]
    fn masked_hides_the_local_part() {
        let email = Email::parse("ada.lovelace@example.org").unwrap();
        assert_eq!(email.masked(), "a***@example.org");
        assert_eq!(format!("{email:?}"), "Email(\"a***@example.org\")");
        assert_eq!(email.to_string(), "ada.lovelace@example.org");
    }

    #[test]
    fn domain_and_parents_walk_up_to_the_tld() {
        let email = Email::parse("ada@mx.Example.org").unwrap();
        let parents: Vec<_> = email.domain_and_parents().collect();
        assert_eq!(parents, ["mx.example.org", "example.org", "org"]);
    }
}
