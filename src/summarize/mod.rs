//! `/summarize <url>`: fetch a page safely, extract its main text, and pick its most central
//! sentences locally, with no summarizing service involved.
//!
//! The steps are usable on their own: [`fetch`] (SSRF-safe, size- and time-bounded),
//! [`extract`] (title and paragraphs), [`summarize`] (TextRank); [`summarize_url`] runs all
//! three and [`Summary`] renders the result for Slack. It is slow work for a job, never for the
//! request that acknowledges the slash command.

mod address;
mod error;
mod extract;
mod fetch;
mod rank;
mod sentences;
mod summary;
#[cfg(test)]
mod test_server;

pub use error::SummarizeError;
pub use extract::{Document, extract};
pub use fetch::{ContentType, FetchPolicy, FetchedPage, fetch};
pub use rank::summarize;
pub use summary::Summary;

/// How many sentences `/summarize` answers with.
pub const SUMMARY_SENTENCES: usize = 3;

/// Fetches `url` under `policy` and summarizes it in [`SUMMARY_SENTENCES`] sentences.
pub async fn summarize_url(url: &str, policy: &FetchPolicy) -> Result<Summary, SummarizeError> {
    let page = fetch(url, policy).await?;
    let document = extract(&page)?;
    let sentences = summarize(&document, SUMMARY_SENTENCES);
    if sentences.is_empty() {
        return Err(SummarizeError::TooLittleText);
    }
    Ok(Summary {
        title: document.title,
        sentences,
        url: page.url,
    })
}

#[cfg(test)]
mod tests {
    use actix_web::{HttpResponse, web};

    use super::test_server::PageServer;
    use super::*;

    const NEWS_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Harbour bridge reopens after repairs</title>
  <script>window.analytics = "The bridge repairs were a hoax. Click here for bridge deals.";</script>
  <style>.bridge { color: blue; }</style>
</head>
<body>
  <header><h1>The Harbour Gazette</h1><p>Your bridge news. Every bridge, every day.</p></header>
  <nav><ul><li><a href="/">Bridge news home</a></li><li><a href="/sport">Sport about the bridge</a></li></ul></nav>
  <div id="cookie-consent">We use cookies to improve your bridge reading experience. Accept all cookies.</div>
  <article>
    <h1>Harbour bridge reopens after repairs</h1>
    <p>The harbour bridge reopened to traffic on Monday after eight months of repairs.</p>
    <p>Engineers replaced the rusted steel cables that had forced the bridge to close last spring.
       A local bakery sold a record number of croissants that morning.</p>
    <p>The city council said the repairs cost &pound;4.5 million, e.g. the new cables and the resurfacing.
       Commuters welcomed the shorter journey across the harbour bridge.</p>
    <p>Dr. Patel, who led the engineers, said the new cables should keep the bridge safe for decades.
       Gulls nested on the old lamp posts.</p>
  </article>
  <aside><p>Related: the history of every bridge in the harbour, from the first bridge to the last.</p></aside>
  <footer><p>Copyright the Harbour Gazette. The bridge photos are by our staff.</p></footer>
</body>
</html>"#;

    fn routes(config: &mut web::ServiceConfig) {
        config
            .route(
                "/news",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(NEWS_PAGE)
                }),
            )
            .route(
                "/moved",
                web::get().to(|| async {
                    HttpResponse::MovedPermanently()
                        .insert_header(("Location", "/news"))
                        .finish()
                }),
            )
            .route(
                "/empty",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html")
                        .body("<nav>Home</nav><p>Menu</p>")
                }),
            );
    }

    fn local_policy() -> FetchPolicy {
        FetchPolicy {
            allow_private_networks: true,
            any_port: true,
            ..FetchPolicy::default()
        }
    }

    #[tokio::test]
    async fn article_is_summarized_in_three_of_its_own_sentences_in_order() {
        let server = PageServer::start(routes);

        let summary = summarize_url(&server.url("/moved"), &local_policy())
            .await
            .expect("a summary");

        assert_eq!(summary.title, "Harbour bridge reopens after repairs");
        assert_eq!(summary.url.as_str(), server.url("/news"));
        assert_eq!(
            summary.sentences,
            [
                "The harbour bridge reopened to traffic on Monday after eight months of repairs.",
                "Engineers replaced the rusted steel cables that had forced the bridge to close last spring.",
                "Dr. Patel, who led the engineers, said the new cables should keep the bridge safe for decades.",
            ]
        );
    }

    #[tokio::test]
    async fn page_without_usable_text_is_too_little() {
        let server = PageServer::start(routes);

        let result = summarize_url(&server.url("/empty"), &local_policy()).await;

        assert_eq!(result, Err(SummarizeError::TooLittleText));
    }

    #[tokio::test]
    async fn loopback_page_is_refused_by_default() {
        let server = PageServer::start(routes);

        let result = summarize_url(&server.url("/news"), &FetchPolicy::default()).await;

        assert_eq!(result, Err(SummarizeError::PrivateAddress));
    }
}
