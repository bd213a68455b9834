//! `lobby post`: a message or a file to a channel, for scripts, CI jobs and experiments. Either
//! through a Lobby server (`--server`, the API key in `LOBBY_API_KEY`) or straight to Slack with a
//! password-sealed token file (`--token-file`). Needs neither the server's settings nor its
//! database. Every failure is one line on stderr; a wrong password exits with 2 before any call
//! to Slack.

mod progress;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Args};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::AsyncReadExt as _;
use url::Url;

use super::seal::{Confirm, read_password};
use crate::posting::{ChannelDirectory, FileUpload, Message, PostError, Poster, UPLOAD_TIMEOUT};
use crate::sealed_file::{self, SealedFileError};
use crate::slack::client::SlackClient;
use progress::Progress;

/// Where the API key for `--server` comes from.
const API_KEY_ENV: &str = "LOBBY_API_KEY";

/// The Slack Web API when `SLACK_API_URL` is not set.
const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api/";

/// Bounds connecting and every call but a file's upload.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A script can afford to wait out Slack's rate limits for a while.
const PATIENCE: Duration = Duration::from_secs(120);

/// Files are read and sent in pieces of this size.
const CHUNK_BYTES: usize = 64 * 1024;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("content").required(true).args(["text", "file"])))]
#[command(group(ArgGroup::new("via").required(true).args(["server", "token_file"])))]
pub struct PostArgs {
    /// The channel: its name (with or without #) or its id
    #[arg(long)]
    channel: String,
    /// The message to post
    #[arg(long)]
    text: Option<String>,
    /// A file to upload to the channel
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// The file's title (default: its name)
    #[arg(long, requires = "file")]
    title: Option<String>,
    /// A message shown with the file
    #[arg(long, requires = "file")]
    comment: Option<String>,
    /// Post through this Lobby server, with the API key in LOBBY_API_KEY
    #[arg(long, value_name = "URL")]
    server: Option<Url>,
    /// Post straight to Slack with this sealed token file (from `lobby keys seal`); Slack's URL
    /// comes from SLACK_API_URL
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// The sealed file's password, from this file (default: LOBBY_KEY_PASSWORD, else a prompt)
    #[arg(long, value_name = "FILE", requires = "token_file")]
    password_file: Option<PathBuf>,
}

/// Why `lobby post` failed: one line, and the exit code.
#[derive(Debug)]
struct Failure {
    exit: u8,
    message: String,
}

impl Failure {
    /// A problem with how the command was set up (a missing key, a wrong password).
    fn setup(message: impl Into<String>) -> Self {
        Failure {
            exit: 2,
            message: message.into(),
        }
    }

    fn failed(message: impl Into<String>) -> Self {
        Failure {
            exit: 1,
            message: message.into(),
        }
    }
}

pub async fn run(args: PostArgs) -> ExitCode {
    match post(args).await {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("lobby: {}", failure.message);
            ExitCode::from(failure.exit)
        }
    }
}

/// What to post; a file is opened before anything is sent anywhere.
enum Content {
    Text(String),
    File(LocalFile),
}

struct LocalFile {
    file: tokio::fs::File,
    about: AboutFile,
}

struct AboutFile {
    name: String,
    length: u64,
    title: Option<String>,
    comment: Option<String>,
}

impl LocalFile {
    /// The file's bytes as a request body (with a progress bar on a terminal), and what to say
    /// about it.
    fn into_body(self) -> (reqwest::Body, AboutFile) {
        let label = format!("uploading {}", self.about.name);
        let progress = Progress::on_terminal(&label, self.about.length);
        (streamed(self.file, progress), self.about)
    }
}

async fn post(args: PostArgs) -> Result<String, Failure> {
    let content = match (args.text, &args.file) {
        (Some(text), _) => Content::Text(text),
        (None, Some(path)) => Content::File(open_file(path, args.title, args.comment).await?),
        (None, None) => return Err(Failure::setup("give --text or --file")),
    };
    match (&args.server, &args.token_file) {
        (Some(server), _) => via_server(server, &args.channel, content).await,
        (None, Some(token_file)) => {
            via_slack(
                token_file,
                args.password_file.as_deref(),
                &args.channel,
                content,
            )
            .await
        }
        (None, None) => Err(Failure::setup("give --server or --token-file")),
    }
}

async fn open_file(
    path: &Path,
    title: Option<String>,
    comment: Option<String>,
) -> Result<LocalFile, Failure> {
    let cannot =
        |e: std::io::Error| Failure::failed(format!("cannot read {}: {e}", path.display()));
    let file = tokio::fs::File::open(path).await.map_err(cannot)?;
    let metadata = file.metadata().await.map_err(cannot)?;
    if !metadata.is_file() {
        return Err(Failure::failed(format!("{} is not a file", path.display())));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    Ok(LocalFile {
        file,
        about: AboutFile {
            name,
            length: metadata.len(),
            title,
            comment,
        },
    })
}

/// The file's bytes as a stream, advancing the progress bar as reqwest takes them.
fn streamed(file: tokio::fs::File, progress: Option<Progress>) -> reqwest::Body {
    let chunks =
        futures_util::stream::unfold((file, progress), |(mut file, mut progress)| async move {
            let mut chunk = vec![0u8; CHUNK_BYTES];
            match file.read(&mut chunk).await {
                Ok(0) => {
                    if let Some(progress) = progress.as_mut() {
                        progress.finish();
                    }
                    None
                }
                Ok(n) => {
                    chunk.truncate(n);
                    if let Some(progress) = progress.as_mut() {
                        progress.advance(n);
                    }
                    Some((Ok(chunk), (file, progress)))
                }
                Err(e) => Some((Err(e), (file, None))),
            }
        });
    reqwest::Body::wrap_stream(chunks)
}

// --- through a Lobby server ---

async fn via_server(server: &Url, channel: &str, content: Content) -> Result<String, Failure> {
    let key = std::env::var(API_KEY_ENV)
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(SecretString::from)
        .ok_or_else(|| {
            Failure::setup(format!(
                "set {API_KEY_ENV} to an API key of the workspace (`lobby api-keys create`)"
            ))
        })?;
    let http = reqwest::Client::builder()
        .user_agent(concat!("lobby-post/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CALL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Failure::failed(format!("cannot build the HTTP client: {e}")))?;
    let request = match content {
        Content::Text(text) => http
            .post(endpoint(server, "api/v1/messages")?)
            .timeout(CALL_TIMEOUT)
            .json(&serde_json::json!({ "channel": channel, "text": text })),
        Content::File(file) => {
            let (body, about) = file.into_body();
            let part = reqwest::multipart::Part::stream_with_length(body, about.length)
                .file_name(about.name);
            let mut form = reqwest::multipart::Form::new()
                .text("channel", channel.to_owned())
                .part("file", part);
            if let Some(title) = about.title {
                form = form.text("title", title);
            }
            if let Some(comment) = about.comment {
                form = form.text("initial_comment", comment);
            }
            http.post(endpoint(server, "api/v1/files")?)
                .timeout(UPLOAD_TIMEOUT)
                .multipart(form)
        }
    };
    let response = request
        .bearer_auth(key.expose_secret())
        .send()
        .await
        .map_err(|e| {
            Failure::failed(format!(
                "cannot reach the Lobby server: {}",
                e.without_url()
            ))
        })?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await.map_err(|_| {
        Failure::failed(format!(
            "the Lobby server answered HTTP {status} without a JSON body"
        ))
    })?;
    if answer["ok"] != true {
        let code = answer["error"].as_str().unwrap_or("error");
        let message = answer["message"]
            .as_str()
            .unwrap_or("the server refused the post");
        return Err(Failure::failed(format!("{message} ({code})")));
    }
    Ok(
        match (answer["ts"].as_str(), answer["file"]["id"].as_str()) {
            (Some(ts), _) => format!(
                "posted to {} (ts {ts})",
                answer["channel"].as_str().unwrap_or(channel)
            ),
            (None, Some(id)) => format!("shared file {id} in {channel}"),
            (None, None) => format!("posted to {channel}"),
        },
    )
}

/// `path` under the server's URL, which may itself have a path (`https://example.org/lobby`).
fn endpoint(server: &Url, path: &str) -> Result<Url, Failure> {
    let mut base = server.clone();
    if !base.path().ends_with('/') {
        let with_slash = format!("{}/", base.path());
        base.set_path(&with_slash);
    }
    base.join(path)
        .map_err(|_| Failure::setup("--server must be an http(s) URL"))
}

// --- straight to Slack ---

async fn via_slack(
    token_file: &Path,
    password_file: Option<&Path>,
    channel: &str,
    content: Content,
) -> Result<String, Failure> {
    let token = open_token_file(token_file, password_file)?;
    let base = std::env::var("SLACK_API_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SLACK_API_URL.to_owned());
    let base = Url::parse(&base).map_err(|_| Failure::setup("SLACK_API_URL is not a URL"))?;
    let slack = SlackClient::new(base, CALL_TIMEOUT).map_err(|e| Failure::setup(e.to_string()))?;
    let directory = ChannelDirectory::default();
    let poster = Poster {
        slack: &slack,
        token: &token,
        directory: &directory,
        workspace: "",
        patience: PATIENCE,
    };
    match content {
        Content::Text(text) => {
            let message = Message {
                channel: channel.to_owned(),
                text: Some(text),
                ..Message::default()
            };
            let posted = poster.post_message(&message).await.map_err(refused)?;
            Ok(format!("posted to {} (ts {})", posted.channel, posted.ts))
        }
        Content::File(file) => {
            let (body, about) = file.into_body();
            let upload = FileUpload {
                channel,
                filename: &about.name,
                length: about.length,
                title: about.title.as_deref(),
                initial_comment: about.comment.as_deref(),
                thread_ts: None,
            };
            let shared = poster.post_file(upload, body).await.map_err(refused)?;
            Ok(format!("shared file {} in {channel}", shared.id))
        }
    }
}

/// The token, or exit code 2 for a wrong password: checked before any call to Slack.
fn open_token_file(path: &Path, password_file: Option<&Path>) -> Result<SecretString, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::failed(format!("cannot read {}: {e}", path.display())))?;
    let password = read_password(password_file, Confirm::Once).map_err(Failure::setup)?;
    sealed_file::open(&text, &password).map_err(|e| match e {
        SealedFileError::WrongPassword => Failure::setup(format!(
            "wrong password for {} (or the file was altered)",
            path.display()
        )),
        other => Failure::setup(format!("{}: {other}", path.display())),
    })
}

fn refused(error: PostError) -> Failure {
    let message = match error.slack_error() {
        Some(e) if e.is_auth_failure() => format!(
            "Slack refused the sealed token ({}); seal a fresh one with `lobby keys seal`",
            error.code()
        ),
        _ => format!("{} ({})", error.message(), error.code()),
    };
    Failure::failed(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_servers_path() {
        let server = Url::parse("https://example.org/lobby").expect("url");
        assert_eq!(
            endpoint(&server, "api/v1/messages").expect("url").as_str(),
            "https://example.org/lobby/api/v1/messages"
        );
        let root = Url::parse("http://127.0.0.1:8080").expect("url");
        assert_eq!(
            endpoint(&root, "api/v1/files").expect("url").as_str(),
            "http://127.0.0.1:8080/api/v1/files"
        );
    }
}
