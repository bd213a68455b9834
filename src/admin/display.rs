//! How the dashboard writes times.

use time::OffsetDateTime;
use time::macros::format_description;

/// `2026-11-22 14:05 UTC`.
pub fn when(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// A token's expiry: when, or that it does not expire.
pub fn expiry(unix: Option<i64>) -> String {
    match unix {
        Some(at) => format!("expires {}", when(at)),
        None => "never expires".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc_to_the_minute() {
        assert_eq!(when(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(expiry(None), "never expires");
        assert_eq!(expiry(Some(0)), "expires 1970-01-01 00:00 UTC");
    }
}
