//! Unguessable strings for secrets, tokens, codes and URLs, straight from the OS RNG.

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    // A machine whose OS RNG fails cannot mint a single safe secret; uuid and rand make the same call.
    if let Err(err) = getrandom::fill(&mut buf) {
        panic!("the operating system's random number generator failed: {err}");
    }
    buf
}

/// `len` random bytes as lowercase hex (`2 * len` characters).
pub fn hex(len: usize) -> String {
    hex::encode(bytes(len))
}

/// `len` random ASCII letters and digits.
pub fn alphanumeric(len: usize) -> String {
    // 62 symbols: the modulo bias (256 % 62) is irrelevant for test credentials.
    bytes(len)
        .into_iter()
        .map(|b| char::from(ALPHANUMERIC[usize::from(b) % ALPHANUMERIC.len()]))
        .collect()
}

/// `len` random decimal digits, the first one non-zero (Slack's numeric id parts look like this).
pub fn digits(len: usize) -> String {
    bytes(len)
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let digit = if i == 0 { 1 + b % 9 } else { b % 10 };
            char::from(b'0' + digit)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_have_the_requested_shape() {
        assert_eq!(hex(16).len(), 32);
        assert!(alphanumeric(24).chars().all(|c| c.is_ascii_alphanumeric()));
        let d = digits(12);
        assert_eq!(d.len(), 12);
        assert!(d.chars().all(|c| c.is_ascii_digit()) && !d.starts_with('0'));
        assert_ne!(alphanumeric(24), alphanumeric(24));
    }
}
