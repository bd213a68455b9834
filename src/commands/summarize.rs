//! `/summarize <url>` and "@Lobby summarize <url>": fetched and summarized in a job, answered
//! in the channel with the title, three sentences and the link.

use crate::jobs::{Job, JobKind, Outcome};
use crate::replies::{self as reply, Reply, ReplyTo};
use crate::slack::mrkdwn::escape as escape_slack_text;
use crate::state::AppState;
use crate::summarize::{self, FetchPolicy, SummarizeError};

pub const SUMMARIZE_JOB: &str = "summarize";

/// The `summarize` job: a page to summarize and where the summary goes.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Summarize {
    pub url: String,
    pub to: ReplyTo,
}

impl JobKind for Summarize {
    const KIND: &'static str = SUMMARIZE_JOB;
}

pub async fn queue(state: &AppState, url: &str, to: &ReplyTo) -> Result<(), sqlx::Error> {
    let job = Summarize {
        url: url.to_owned(),
        to: to.clone(),
    }
    .job()
    // A page that cannot be read now will not be readable in a minute either: one attempt.
    .max_attempts(1);
    state.queue.enqueue(job).await.map(|_| ())
}

/// What the channel (or the person, when it fails) is told.
pub async fn compose(state: &AppState, url: &str) -> Reply {
    let policy = FetchPolicy {
        allow_private_networks: state.settings.summarize_allow_private_networks,
        // The testing setting opens the local servers' ports too.
        any_port: state.settings.summarize_allow_private_networks,
        ..FetchPolicy::default()
    };
    match summarize::summarize_url(url, &policy).await {
        Ok(summary) => {
            let message = summary.to_slack_blocks();
            let text = message["text"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| summary.to_slack_text());
            Reply::in_channel(text, message.get("blocks").cloned())
        }
        Err(e) => Reply::ephemeral(failure_text(&e)),
    }
}

fn failure_text(error: &SummarizeError) -> String {
    // The message may quote a host name or content type the site chose.
    format!(
        "I could not summarize that page: {}",
        escape_slack_text(&error.to_string())
    )
}

/// The `summarize` job.
pub async fn run(state: &AppState, job: Job) -> Outcome {
    let Summarize { url, to } = match job.decode() {
        Ok(payload) => payload,
        Err(outcome) => return outcome,
    };
    let answer = compose(state, &url).await;
    reply::outcome_of(reply::send(state, &to, &answer).await)
}
