//! A community's own email-domain rules: only some domains allowed, some refused.

use crate::domain::{Email, is_domain_label};

/// Which email domains may join. An empty `allowed` list allows any domain; `denied` wins over
/// `allowed`; a rule covers its subdomains too (`example.org` covers `mx.example.org`).
/// Entries are lower-case domains, as [`DomainRules::parse`] produces them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainRules {
    pub allowed: Vec<String>,
    pub denied: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainRefusal {
    #[error("Addresses at {domain} cannot join this community.")]
    Denied { domain: String },
    #[error("This community is open to addresses at {allowed} only.")]
    NotAllowed { allowed: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not a domain name like example.org.")]
pub struct DomainListError {
    pub entry: String,
}

impl DomainRules {
    /// Parses two comma-separated lists (`"example.org, example.com"`); blanks are skipped,
    /// entries are lower-cased and a leading `@` is dropped, so `@Example.org` works too.
    pub fn parse(allowed: &str, denied: &str) -> Result<Self, DomainListError> {
        Ok(Self {
            allowed: parse_list(allowed)?,
            denied: parse_list(denied)?,
        })
    }

    pub fn check(&self, email: &Email) -> Result<(), DomainRefusal> {
        if covers(&self.denied, email) {
            return Err(DomainRefusal::Denied {
                domain: email.domain().to_owned(),
            });
        }
        if !self.allowed.is_empty() && !covers(&self.allowed, email) {
            return Err(DomainRefusal::NotAllowed {
                allowed: self.allowed.join(", "),
            });
        }
        Ok(())
    }
}

/// Whether a rule in `rules` is the address's domain or one it is part of.
fn covers(rules: &[String], email: &Email) -> bool {
    email
        .domain_and_parents()
        .any(|domain| rules.iter().any(|rule| rule.eq_ignore_ascii_case(domain)))
}

fn parse_list(list: &str) -> Result<Vec<String>, DomainListError> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let domain = entry
                .strip_prefix('@')
                .unwrap_or(entry)
                .to_ascii_lowercase();
            // A bare top-level domain (`edu`) is a fine rule even though it is no mail domain.
            if domain.split('.').all(is_domain_label) {
                Ok(domain)
            } else {
                Err(DomainListError {
                    entry: entry.to_owned(),
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(address: &str) -> Email {
        Email::parse(address).unwrap()
    }

    #[test]
    fn lists_are_parsed_and_normalised() {
        let rules = DomainRules::parse(" Example.org, @uni.edu ,, ", "").unwrap();
        assert_eq!(rules.allowed, ["example.org", "uni.edu"]);
        assert!(rules.denied.is_empty());
    }

    #[test]
    fn malformed_entries_are_refused() {
        for list in [
            "example..org",
            "exa mple.org",
            "*.example.org",
            "example.org.",
        ] {
            assert_eq!(
                DomainRules::parse(list, ""),
                Err(DomainListError {
                    entry: list.to_owned()
                }),
                "{list:?}"
            );
        }
        assert!(DomainRules::parse("", "ok.org, not ok").is_err());
    }

    #[test]
    fn empty_rules_allow_any_domain() {
        let rules = DomainRules::default();
        assert_eq!(rules.check(&email("ada@anywhere.example")), Ok(()));
    }

    #[test]
    fn allowed_list_admits_its_domains_and_their_subdomains_only() {
        let rules = DomainRules::parse("example.org", "").unwrap();
        assert_eq!(rules.check(&email("ada@example.org")), Ok(()));
        assert_eq!(rules.check(&email("ada@cs.Example.org")), Ok(()));
        assert_eq!(
            rules.check(&email("ada@notexample.org")),
            Err(DomainRefusal::NotAllowed {
                allowed: "example.org".into()
            })
        );
        assert!(rules.check(&email("ada@example.org.evil.test")).is_err());
    }

    #[test]
    fn denied_wins_over_allowed() {
        let rules = DomainRules::parse("example.org", "students.example.org").unwrap();
        assert_eq!(rules.check(&email("ada@staff.example.org")), Ok(()));
        assert_eq!(
            rules.check(&email("bob@x.students.example.org")),
            Err(DomainRefusal::Denied {
                domain: "x.students.example.org".into()
            })
        );
    }

    #[test]
    fn a_top_level_domain_rule_covers_everything_under_it() {
        let rules = DomainRules::parse("edu", "").unwrap();
        assert_eq!(rules.check(&email("ada@mit.edu")), Ok(()));
        assert!(rules.check(&email("ada@mit.com")).is_err());
    }

    #[test]
    fn refusals_are_sentences() {
        let rules = DomainRules::parse("", "example.com").unwrap();
        let refusal = rules.check(&email("ada@example.com")).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "Addresses at example.com cannot join this community."
        );
    }
}
