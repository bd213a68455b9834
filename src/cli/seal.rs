//! `lobby keys seal --out FILE`: a Slack token from stdin, sealed under a password into a file that
//! is safe to commit (see `sealed_file` for the format). Also the password reading that
//! `lobby post --token-file` shares: never from the command line, where `ps` and shell history
//! would keep it.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use crate::sealed_file::{self, KdfParams};

/// Where a password may come from when no file names it.
pub const PASSWORD_ENV: &str = "LOBBY_KEY_PASSWORD";

/// Shorter passwords are refused when sealing: the file is public, so the password is all that
/// stands between the world and the token.
const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, Args)]
pub struct SealArgs {
    /// Where to write the sealed file (safe to commit to a public repository)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Read the password from this file (default: LOBBY_KEY_PASSWORD, else a prompt)
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

pub fn run(args: SealArgs) -> ExitCode {
    match seal(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("lobby: {message}");
            ExitCode::from(2)
        }
    }
}

fn seal(args: &SealArgs) -> Result<String, String> {
    let token = read_token()?;
    let password = read_password(args.password_file.as_deref(), Confirm::Twice)?;
    if password.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password is too short: the sealed file is public, use at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    let sealed = sealed_file::seal(&token, &password).map_err(|e| e.to_string())?;
    std::fs::write(&args.out, sealed)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    let KdfParams {
        m_cost_kib,
        t_cost,
        p_cost,
    } = KdfParams::RECOMMENDED;
    Ok(format!(
        "sealed the token into {} (Argon2id m={m_cost_kib} KiB, t={t_cost}, p={p_cost}; \
         XChaCha20-Poly1305); commit it, and share the password another way",
        args.out.display()
    ))
}

/// The token: typed with echo off on a terminal, else all of stdin.
fn read_token() -> Result<SecretString, String> {
    let raw = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Slack token: ")
            .map_err(|e| format!("cannot read the token: {e}"))?
    } else {
        let mut raw = String::new();
        std::io::stdin()
            .read_to_string(&mut raw)
            .map_err(|e| format!("cannot read the token from stdin: {e}"))?;
        raw
    };
    let raw = zeroize::Zeroizing::new(raw);
    let token = raw.trim();
    if token.is_empty() {
        return Err(
            "no token on stdin: pipe it in, e.g. `lobby keys seal --out slack.sealed < token.txt`"
                .into(),
        );
    }
    let looks_like_token = (token.starts_with("xox") || token.starts_with("xapp-"))
        && !token.chars().any(char::is_whitespace);
    if !looks_like_token {
        return Err("stdin does not hold one Slack token (xoxb-…, xoxp-…)".into());
    }
    Ok(SecretString::from(token.to_owned()))
}

/// Whether a prompted password is asked for twice.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    Once,
    Twice,
}

/// The password from `file`, else `LOBBY_KEY_PASSWORD`, else a prompt with echo off when there is
/// a terminal to ask on.
pub fn read_password(file: Option<&Path>, confirm: Confirm) -> Result<SecretString, String> {
    if let Some(path) = file {
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the password file {}: {e}", path.display()))?,
        );
        return non_empty(
            strip_line_end(&text),
            &format!("the password file {}", path.display()),
        );
    }
    if let Some(value) = std::env::var_os(PASSWORD_ENV) {
        let value = value
            .into_string()
            .map_err(|_| format!("{PASSWORD_ENV} is not valid UTF-8"))?;
        return non_empty(&zeroize::Zeroizing::new(value), PASSWORD_ENV);
    }
    if !(std::io::stdin().is_terminal() || std::io::stderr().is_terminal()) {
        return Err(format!(
            "no password: use --password-file FILE or set {PASSWORD_ENV} (there is no terminal to ask on)"
        ));
    }
    let first = zeroize::Zeroizing::new(
        rpassword::prompt_password("Password: ")
            .map_err(|e| format!("cannot read the password: {e}"))?,
    );
    if confirm == Confirm::Twice {
        let again = zeroize::Zeroizing::new(
            rpassword::prompt_password("Again: ")
                .map_err(|e| format!("cannot read the password: {e}"))?,
        );
        if *first != *again {
            return Err("the two passwords differ".into());
        }
    }
    non_empty(&first, "the password")
}

/// A password file written by `echo` ends with a newline that is not part of the password.
fn strip_line_end(text: &str) -> &str {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
}

fn non_empty(password: &str, source: &str) -> Result<SecretString, String> {
    if password.is_empty() {
        return Err(format!("{source} is empty"));
    }
    Ok(SecretString::from(password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_line_end_is_not_part_of_the_password() {
        assert_eq!(strip_line_end("hunter22\n"), "hunter22");
        assert_eq!(strip_line_end("hunter22\r\n"), "hunter22");
        assert_eq!(strip_line_end("hunter22\n\n"), "hunter22\n");
        assert_eq!(strip_line_end(" spaced "), " spaced ");
    }

    #[test]
    fn a_password_file_is_read_without_its_newline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "correct horse battery\n").expect("write");
        let password = read_password(Some(&path), Confirm::Once).expect("read");
        assert_eq!(password.expose_secret(), "correct horse battery");
    }

    #[test]
    fn an_empty_password_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "\n").expect("write");
        let err = read_password(Some(&path), Confirm::Once).expect_err("refused");
        assert!(err.contains("is empty"), "{err}");
    }
}
