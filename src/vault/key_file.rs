//! Where master keys come from, and keeping them in files only their owner can read.
//!
//! A key file holds the text [`Keyring::parse`] reads: base64 keys, newest last, `#` comments.
//! Files are created mode 0600 (their directory 0700), written to a temporary file, fsynced and only
//! then moved into place, so a reader never sees half a key. A key file that group or others can
//! access is refused with [`VaultError::KeyFileExposed`], as ssh does with private keys: the key
//! may already have leaked, and carrying on would hide that.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{Keyring, MasterKey, VaultError};

/// Where the master keys come from.
#[derive(Debug)]
pub enum KeySource {
    /// The keyring text itself, from `LOBBY_MASTER_KEY`.
    Inline(SecretString),
    /// A key file the operator manages, from `LOBBY_MASTER_KEY_FILE`.
    File(PathBuf),
    /// `$LOBBY_DATA_DIR/master.key`, created with a fresh key on first start.
    Generated(PathBuf),
}

#[derive(Debug)]
pub struct LoadedKeyring {
    pub keyring: Keyring,
    /// A fresh key file was just created (the caller says where, and to back it up).
    pub created: bool,
    /// The key file read, if the keys came from one.
    pub path: Option<PathBuf>,
}

/// Loads the keyring from `source`, creating the key file first for [`KeySource::Generated`].
pub fn load_keyring(source: &KeySource) -> Result<LoadedKeyring, VaultError> {
    let (path, created) = match source {
        KeySource::Inline(text) => {
            return Ok(LoadedKeyring {
                keyring: Keyring::parse(text.expose_secret())?,
                created: false,
                path: None,
            });
        }
        KeySource::File(path) => (path, false),
        KeySource::Generated(path) => (path, create_if_missing(path)?),
    };
    Ok(LoadedKeyring {
        keyring: read_keyring(path)?.reloading_from(path.clone()),
        created,
        path: Some(path.clone()),
    })
}

/// Adds `key` to the key file at `path` as the newest key, keeping what is there (comments too).
///
/// The file is replaced atomically: a crash leaves either the old file or the new one.
pub fn append_key(path: &Path, key: &MasterKey) -> Result<(), VaultError> {
    let mut text = read_key_file(path)?;
    let keyring = parse_key_file(path, &text)?;
    if keyring.contains(key.id()) {
        return Err(VaultError::BadKey(format!(
            "master key {} is already in {}",
            key.id(),
            path.display()
        )));
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&key.to_base64());
    text.push('\n');
    let temp = write_temp_file(path, text.as_bytes())?;
    fs::rename(&temp, path).map_err(|error| {
        discard(&temp);
        io_error("replace master key file", path, error)
    })?;
    sync_dir(path)
}

/// Creates the key file with a fresh key unless it exists; says whether it created it.
fn create_if_missing(path: &Path) -> Result<bool, VaultError> {
    if path
        .try_exists()
        .map_err(|error| io_error("look for master key file", path, error))?
    {
        return Ok(false);
    }
    let dir = parent_dir(path);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|error| io_error("create directory", dir, error))?;
    let mut text = MasterKey::generate().to_base64();
    text.push('\n');
    let temp = write_temp_file(path, text.as_bytes())?;
    // A hard link, unlike a rename, refuses to replace an existing file: if another process
    // created the key file meanwhile, theirs wins and is already complete.
    let created = match fs::hard_link(&temp, path) {
        Ok(()) => true,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => false,
        Err(error) => {
            discard(&temp);
            return Err(io_error("create master key file", path, error));
        }
    };
    fs::remove_file(&temp).map_err(|error| io_error("remove temporary key file", &temp, error))?;
    sync_dir(path)?;
    Ok(created)
}

pub(super) fn read_keyring(path: &Path) -> Result<Keyring, VaultError> {
    let text = read_key_file(path)?;
    parse_key_file(path, &text)
}

fn parse_key_file(path: &Path, text: &str) -> Result<Keyring, VaultError> {
    Keyring::parse(text).map_err(|error| match error {
        VaultError::BadKey(why) => VaultError::BadKey(format!("{}: {why}", path.display())),
        other => other,
    })
}

/// Reads a key file, refusing one that group or others can access.
fn read_key_file(path: &Path) -> Result<Zeroizing<String>, VaultError> {
    let mut file =
        File::open(path).map_err(|error| io_error("open master key file", path, error))?;
    // Checked on the open file, so the file checked is the file read.
    let metadata = file
        .metadata()
        .map_err(|error| io_error("inspect master key file", path, error))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::KeyFileExposed {
            path: path.to_owned(),
            mode,
        });
    }
    // Sized up front: a growing buffer would leave copies of the keys in freed memory.
    let capacity = usize::try_from(metadata.len())
        .unwrap_or(0)
        .saturating_add(1);
    let mut text = Zeroizing::new(String::with_capacity(capacity));
    file.read_to_string(&mut text)
        .map_err(|error| io_error("read master key file", path, error))?;
    Ok(text)
}

/// Writes `contents` to a new 0600 file beside `path` and fsyncs it; returns the file's path.
fn write_temp_file(path: &Path, contents: &[u8]) -> Result<PathBuf, VaultError> {
    let mut suffix = [0u8; 8];
    super::fill_random(&mut suffix);
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.tmp", hex::encode(suffix)));
    let temp = parent_dir(path).join(name);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(contents)?;
            file.sync_all()
        });
    written.map_err(|error| {
        discard(&temp);
        io_error("write temporary key file", &temp, error)
    })?;
    Ok(temp)
}

/// Makes a new or renamed entry in `path`'s directory survive a crash.
fn sync_dir(path: &Path) -> Result<(), VaultError> {
    let dir = parent_dir(path);
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|error| io_error("sync directory", dir, error))
}

/// Removes a temporary file after a failure; the failure itself is what gets reported.
fn discard(temp: &Path) {
    let _ = fs::remove_file(temp);
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn io_error(action: &'static str, path: &Path, error: io::Error) -> VaultError {
    VaultError::Io {
        action,
        path: path.to_owned(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_generated_key_file_is_created_once_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("master.key");
        let source = KeySource::Generated(path.clone());

        let first = load_keyring(&source).unwrap();
        assert!(first.created);
        assert_eq!(first.path.as_deref(), Some(path.as_path()));
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(mode_of(path.parent().unwrap()), 0o700);

        let second = load_keyring(&source).unwrap();
        assert!(!second.created);
        assert_eq!(
            second.keyring.sealing_key_id(),
            first.keyring.sealing_key_id()
        );
        // No temporary files are left beside it.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn an_inline_keyring_is_parsed() {
        let key = MasterKey::generate();
        let source = KeySource::Inline(SecretString::from(key.to_base64().as_str()));
        let loaded = load_keyring(&source).unwrap();
        assert_eq!(loaded.keyring.sealing_key_id(), key.id());
        assert!(!loaded.created && loaded.path.is_none());
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        fs::write(&path, MasterKey::generate().to_base64().as_bytes()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = load_keyring(&KeySource::File(path.clone())).unwrap_err();
        assert!(
            matches!(error, VaultError::KeyFileExposed { mode: 0o644, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("chmod 600"));
    }

    #[test]
    fn a_missing_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.key");
        let error = load_keyring(&KeySource::File(path.clone())).unwrap_err();
        assert!(matches!(error, VaultError::Io { .. }));
        assert!(error.to_string().contains("absent.key"), "{error}");
    }

    #[test]
    fn a_bad_key_file_names_the_file_and_not_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap();
        file.write_all(b"hunter2\n").unwrap();
        let error = load_keyring(&KeySource::File(path)).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, VaultError::BadKey(_)));
        assert!(
            message.contains("master.key") && !message.contains("hunter2"),
            "{message}"
        );
    }

    #[test]
    fn append_key_adds_the_newest_key_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let source = KeySource::Generated(path.clone());
        let old_id = load_keyring(&source)
            .unwrap()
            .keyring
            .sealing_key_id()
            .to_owned();
        let mut text = fs::read_to_string(&path).unwrap();
        text.insert_str(0, "# first key\n");
        fs::write(&path, text.trim_end()).unwrap();

        let new_key = MasterKey::generate();
        append_key(&path, &new_key).unwrap();

        let ring = load_keyring(&source).unwrap().keyring;
        assert_eq!(
            ring.key_ids().collect::<Vec<_>>(),
            [old_id.as_str(), new_key.id()]
        );
        assert_eq!(mode_of(&path), 0o600);
        assert!(
            fs::read_to_string(&path)
                .unwrap()
                .starts_with("# first key\n")
        );
        assert!(matches!(
            append_key(&path, &new_key),
            Err(VaultError::BadKey(_))
        ));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    const AAD: super::super::Aad<'static> = super::super::Aad {
        table: "installations",
        column: "bot_token",
        row: "T0123",
    };

    /// A keyring as `lobby serve` holds it, and its key file.
    fn served_keyring(dir: &Path) -> (PathBuf, Keyring) {
        let path = dir.join("master.key");
        let ring = load_keyring(&KeySource::Generated(path.clone()))
            .unwrap()
            .keyring;
        (path, ring)
    }

    #[test]
    fn a_value_sealed_with_a_key_added_to_the_file_makes_the_keyring_reload() {
        let dir = tempfile::tempdir().unwrap();
        let (path, served) = served_keyring(dir.path());
        let new_key = MasterKey::generate();
        append_key(&path, &new_key).unwrap();
        // What `lobby keys rotate` seals with, in another process.
        let rotated = load_keyring(&KeySource::File(path)).unwrap().keyring;
        let sealed = rotated.seal_str("xoxb-secret", &AAD);

        let opened = served.open_str(&sealed, &AAD).unwrap();

        assert_eq!(opened.expose_secret(), "xoxb-secret");
        assert_eq!(served.sealing_key_id(), new_key.id());
    }

    #[test]
    fn reloads_for_unknown_keys_are_rate_limited_and_sighup_style_reloads_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let (path, served) = served_keyring(dir.path());
        let stranger = Keyring::new(vec![MasterKey::generate()]).unwrap();
        assert!(matches!(
            served.open(&stranger.seal_str("x", &AAD), &AAD),
            Err(VaultError::UnknownKey(_))
        ));
        // That reload found nothing new; one right after it is not tried.
        append_key(&path, &MasterKey::generate()).unwrap();
        let rotated = load_keyring(&KeySource::File(path)).unwrap().keyring;
        let sealed = rotated.seal_str("x", &AAD);
        assert!(matches!(
            served.open(&sealed, &AAD),
            Err(VaultError::UnknownKey(_))
        ));
        assert!(served.reload().unwrap(), "an explicit reload always reads");
        assert_eq!(*served.open(&sealed, &AAD).unwrap(), *b"x");
    }

    #[test]
    fn a_reload_refuses_a_file_without_the_sealing_key() {
        let dir = tempfile::tempdir().unwrap();
        let (path, served) = served_keyring(dir.path());
        let before = served.sealing_key_id();
        let mut text = MasterKey::generate().to_base64();
        text.push('\n');
        let temp = write_temp_file(&path, text.as_bytes()).unwrap();
        fs::rename(&temp, &path).unwrap();

        assert!(matches!(served.reload(), Err(VaultError::BadKey(_))));
        assert_eq!(served.sealing_key_id(), before);
    }

    #[test]
    fn inline_keys_have_nothing_to_reload() {
        let key = MasterKey::generate();
        let source = KeySource::Inline(SecretString::from(key.to_base64().as_str()));
        let ring = load_keyring(&source).unwrap().keyring;
        assert!(!ring.reload().unwrap());
    }
}
