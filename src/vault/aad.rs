//! The associated data that binds a sealed value to where it is stored.

/// Where a sealed value lives: a value sealed for one row, column or table does not open in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub column: &'a str,
    /// The row's identity, e.g. a team id: stable for the row's lifetime.
    pub row: &'a str,
}

/// Names the encoding, so these bytes can never be mistaken for another use of the same key.
const LABEL: &[u8] = b"lobby.vault.aad.v1";

impl Aad<'_> {
    /// The label, then each field prefixed by its length, so `("ab", "c")` and `("a", "bc")` differ.
    pub(super) fn encode(&self) -> Vec<u8> {
        let fields = [self.table, self.column, self.row];
        let len = LABEL.len() + fields.iter().map(|f| 8 + f.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(LABEL);
        for field in fields {
            // usize → u64 is lossless on every platform Rust supports.
            out.extend_from_slice(&(field.len() as u64).to_be_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_bytes_between_fields_changes_the_encoding() {
        let a = Aad {
            table: "ab",
            column: "c",
            row: "1",
        };
        let b = Aad {
            table: "a",
            column: "bc",
            row: "1",
        };
        assert_ne!(a.encode(), b.encode());
    }

    #[test]
    fn the_encoding_starts_with_the_label_and_prefixes_lengths() {
        let encoded = Aad {
            table: "t",
            column: "",
            row: "r1",
        }
        .encode();
        let mut expected = LABEL.to_vec();
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, b't']);
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2, b'r', b'1']);
        assert_eq!(encoded, expected);
    }
}
