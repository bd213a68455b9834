//! Throwaway-inbox domains (mailinator.com, yopmail.com, …), refused by the join form because
//! an invite sent there is an account nobody will answer for.
//!
//! The list lives in `static/disposable_domains.txt` and is compiled into the binary.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::domain::Email;

const LIST: &str = include_str!("../../static/disposable_domains.txt");

static DOMAINS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| domains(LIST).collect());

/// The domains in the list file: one a line, `#` starts a comment line.
fn domains(list: &str) -> impl Iterator<Item = &str> {
    list.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Whether the address is at a listed domain or any subdomain of one.
pub fn is_disposable(email: &Email) -> bool {
    email
        .domain_and_parents()
        .any(|domain| DOMAINS.contains(domain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::is_domain_label;

    fn email(address: &str) -> Email {
        Email::parse(address).unwrap()
    }

    #[test]
    fn well_known_throwaway_domains_are_caught() {
        for address in [
            "x@mailinator.com",
            "x@guerrillamail.com",
            "x@10minutemail.com",
            "x@yopmail.com",
            "x@temp-mail.org",
            "x@trashmail.com",
            "x@sharklasers.com",
            "x@Mailinator.COM",
        ] {
            assert!(is_disposable(&email(address)), "{address}");
        }
    }

    #[test]
    fn subdomains_of_listed_domains_are_caught() {
        assert!(is_disposable(&email("x@inbox.mailinator.com")));
        assert!(is_disposable(&email("x@a.b.yopmail.com")));
    }

    #[test]
    fn ordinary_domains_pass() {
        for address in [
            "x@gmail.com",
            "x@outlook.com",
            "x@proton.me",
            "x@example.org",
            "x@notmailinator.example",
            "x@mailinator.com.example.org",
        ] {
            assert!(!is_disposable(&email(address)), "{address}");
        }
    }

    #[test]
    fn list_holds_a_few_hundred_well_formed_sorted_domains() {
        let listed: Vec<&str> = domains(LIST).collect();
        assert!(listed.len() >= 300, "only {} domains", listed.len());
        for domain in &listed {
            assert!(
                domain.contains('.') && domain.split('.').all(is_domain_label),
                "{domain:?} is not a lower-case domain name"
            );
        }
        assert!(listed.is_sorted(), "keep the list sorted");
        assert_eq!(DOMAINS.len(), listed.len(), "the list has duplicates");
    }
}
