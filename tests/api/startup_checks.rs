//! Starting the binary: configuration problems are one line and exit code 2, never a panic.

use crate::helpers::lobby_command;

fn stderr_lines(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_bad_bind_address_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = lobby_command(dir.path())
        .env("LOBBY_BIND", "localhost:eighty")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("LOBBY_BIND"), "{lines:?}");
}

#[test]
fn half_set_credentials_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = lobby_command(dir.path())
        .env("SLACK_CLIENT_ID", "1.2")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET missing"));
}

#[test]
fn an_unreadable_key_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = lobby_command(dir.path())
        .env("LOBBY_MASTER_KEY_FILE", dir.path().join("missing.key"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr_lines(&output).len(), 1);
}

#[test]
fn help_lists_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let output = lobby_command(dir.path()).arg("--help").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for sub in ["serve", "emulator", "keys", "manifest"] {
        assert!(text.contains(sub), "{sub} missing from:\n{text}");
    }
}

#[test]
fn a_wrong_master_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let key_a = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let key_b = "HxwdHhscGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";
    // `keys reseal` opens the database with key A (writing its canary) and exits.
    let first = lobby_command(dir.path())
        .env("LOBBY_MASTER_KEY", key_a)
        .args(["keys", "reseal"])
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );

    let output = lobby_command(dir.path())
        .env("LOBBY_MASTER_KEY", key_b)
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("master key does not match"), "{lines:?}");
    assert!(!lines[0].contains(key_a) && !lines[0].contains(key_b));
}

#[test]
fn without_credentials_a_public_server_is_refused_demo_mode() {
    let dir = tempfile::tempdir().unwrap();
    let output = lobby_command(dir.path())
        .env("LOBBY_PUBLIC_URL", "https://join.example.org")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    for name in [
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_SIGNING_SECRET",
        "LOBBY_DEMO",
    ] {
        assert!(lines[0].contains(name), "{lines:?}");
    }
}

#[tokio::test]
async fn the_database_and_its_wal_are_private_to_their_owner() {
    if crate::helpers::on_postgres() {
        // SQLite files only: PostgreSQL keeps its own files.
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let app = crate::helpers::spawn_app().await;
    app.install_demo_workspace().await;
    let db = app.db_path();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path} is {mode:o}");
    }
}
