//! How the dashboard binds "the installations this admin manages" to a query: one JSON array
//! parameter, read back with SQLite's `json_each` or PostgreSQL's `json_array_elements_text`, so
//! every scoped statement stays static SQL.

use crate::domain::TeamId;

/// `["T1","E2"]`: the ids as one bindable value, for `IN (SELECT value FROM json_each($1))`
/// (SQLite) or `IN (SELECT json_array_elements_text($1::json))` (PostgreSQL).
pub fn json_list(ids: &[TeamId]) -> String {
    serde_json::Value::from(ids.iter().map(TeamId::as_str).collect::<Vec<_>>()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_a_json_array() {
        let ids = [
            TeamId::parse("T0ONE").unwrap(),
            TeamId::parse("E0TWO").unwrap(),
        ];
        assert_eq!(json_list(&ids), r#"["T0ONE","E0TWO"]"#);
        assert_eq!(json_list(&[]), "[]");
    }
}
