//! Fetching a pasted link without letting it reach anywhere it should not.
//!
//! Every hop (the link and each redirect) is checked the same way: http or https only, the host
//! resolved once, every address it resolved to checked, and the connection pinned to the checked
//! addresses so a second DNS answer cannot swap in an internal one (DNS rebinding). Redirects are
//! followed by hand for that reason. The whole fetch, body included, runs under one deadline and
//! one size cap.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use encoding_rs::{Encoding, UTF_8};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{Response, StatusCode, redirect};
use url::{Host, Url};

use super::address;
use super::error::SummarizeError;

/// How sites see Lobby's fetches, so their operators know what is calling.
const USER_AGENT: &str = concat!(
    "Lobby-Summarizer/",
    env!("CARGO_PKG_VERSION"),
    " (self-hosted Slack app; fetches one page when a user asks for a summary)"
);

/// The limits one fetch runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Whether private, loopback and other non-public addresses may be fetched
    /// (`LOBBY_SUMMARIZE_ALLOW_PRIVATE_NETWORKS`).
    pub allow_private_networks: bool,
    /// Whether ports other than 80 and 443 may be fetched (with the same setting).
    pub any_port: bool,
    /// Deadline for the whole fetch: lookups, redirects and the body.
    pub timeout: Duration,
    /// Largest body accepted, in bytes.
    pub max_bytes: usize,
    /// Redirects followed before giving up.
    pub max_redirects: u8,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            any_port: false,
            timeout: Duration::from_secs(10),
            max_bytes: 2 * 1024 * 1024,
            max_redirects: 3,
        }
    }
}

/// The kinds of page that can be summarized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Html,
    PlainText,
}

/// A page as fetched: where it ended up after redirects, what it is and its decoded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPage {
    pub url: Url,
    pub content_type: ContentType,
    pub body: String,
}

/// Fetches `url` under `policy`, refusing non-public addresses unless the policy allows them.
pub async fn fetch(url: &str, policy: &FetchPolicy) -> Result<FetchedPage, SummarizeError> {
    let allow_private = policy.allow_private_networks;
    fetch_with(url, policy, &|ip| allow_private || address::is_public(ip)).await
}

/// [`fetch`] with the address rule passed in, so tests can allow loopback (where their servers
/// are) while still refusing every other private range.
async fn fetch_with(
    url: &str,
    policy: &FetchPolicy,
    may_connect: &(dyn Fn(IpAddr) -> bool + Sync),
) -> Result<FetchedPage, SummarizeError> {
    let url = parse_link(url)?;
    tokio::time::timeout(policy.timeout, follow_redirects(url, policy, may_connect))
        .await
        .unwrap_or(Err(SummarizeError::Timeout {
            after: policy.timeout,
        }))
}

async fn follow_redirects(
    mut url: Url,
    policy: &FetchPolicy,
    may_connect: &(dyn Fn(IpAddr) -> bool + Sync),
) -> Result<FetchedPage, SummarizeError> {
    let mut redirects = 0;
    loop {
        let response = request(&url, may_connect, policy.any_port).await?;
        let status = response.status();
        if is_redirect(status) {
            if redirects >= policy.max_redirects {
                return Err(SummarizeError::TooManyRedirects {
                    max: policy.max_redirects,
                });
            }
            redirects += 1;
            url = redirect_target(&url, &response)?;
            continue;
        }
        if !status.is_success() {
            return Err(SummarizeError::HttpStatus(status.as_u16()));
        }
        let (content_type, charset) = content_type(&response)?;
        let bytes = read_capped(response, policy.max_bytes).await?;
        return Ok(FetchedPage {
            url,
            content_type,
            body: decode(&bytes, charset.as_deref()),
        });
    }
}

/// Parses a link and keeps it only if it is http(s). Credentials are dropped: they would be sent
/// to the site and shown in the channel with the summary.
fn parse_link(raw: &str) -> Result<Url, SummarizeError> {
    let mut url = Url::parse(raw.trim()).map_err(|_| SummarizeError::InvalidUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SummarizeError::SchemeNotAllowed {
            scheme: url.scheme().chars().take(20).collect(),
        });
    }
    if url.host().is_none() {
        return Err(SummarizeError::InvalidUrl);
    }
    // Both only fail for URLs without a host, excluded just above.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    Ok(url)
}

/// The ports a link may name: the web's own. Others reach mail, database and admin services that
/// happen to answer HTTP.
const WEB_PORTS: [u16; 2] = [80, 443];

/// Sends one GET to `url`, connecting only to addresses `may_connect` accepts and (unless
/// `any_port`) only to ports 80 and 443.
async fn request(
    url: &Url,
    may_connect: &(dyn Fn(IpAddr) -> bool + Sync),
    any_port: bool,
) -> Result<Response, SummarizeError> {
    // A client per fetch, because the pinned addresses are part of its configuration. Without a
    // cookie store (none is enabled) nothing carries over from one fetch to the next, and
    // `no_proxy` keeps a proxy from the environment out of the path the checks are about.
    let mut client = reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .no_proxy()
        .user_agent(USER_AGENT);
    match url.host() {
        Some(Host::Ipv4(ip)) => refuse_unless(IpAddr::V4(ip), may_connect)?,
        Some(Host::Ipv6(ip)) => refuse_unless(IpAddr::V6(ip), may_connect)?,
        Some(Host::Domain(domain)) => {
            let port = url
                .port_or_known_default()
                .ok_or(SummarizeError::InvalidUrl)?;
            let addresses = resolve(domain, port, may_connect).await?;
            client = client.dns_resolver(Arc::new(CheckedAddresses(addresses)));
        }
        None => return Err(SummarizeError::InvalidUrl),
    }
    let port = url
        .port_or_known_default()
        .ok_or(SummarizeError::InvalidUrl)?;
    if !any_port && !WEB_PORTS.contains(&port) {
        return Err(SummarizeError::PortNotAllowed { port });
    }
    let client = client.build().map_err(|_| SummarizeError::Unreachable)?;
    client
        .get(url.clone())
        .header(ACCEPT, "text/html, text/plain;q=0.9")
        .send()
        .await
        .map_err(|error| {
            if error.is_connect() {
                SummarizeError::Unreachable
            } else {
                SummarizeError::UnreadablePage
            }
        })
}

fn refuse_unless(
    ip: IpAddr,
    may_connect: &(dyn Fn(IpAddr) -> bool + Sync),
) -> Result<(), SummarizeError> {
    if may_connect(ip) {
        Ok(())
    } else {
        Err(SummarizeError::PrivateAddress)
    }
}

/// Looks `domain` up once and keeps the addresses that may be connected to. Refused ones are
/// dropped rather than failing the fetch, which is safe because only the kept ones are dialled.
async fn resolve(
    domain: &str,
    port: u16,
    may_connect: &(dyn Fn(IpAddr) -> bool + Sync),
) -> Result<Vec<SocketAddr>, SummarizeError> {
    let dns_failed = || SummarizeError::DnsFailed {
        host: domain.chars().take(253).collect(),
    };
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((domain, port))
        .await
        .map_err(|_| dns_failed())?
        .collect();
    if resolved.is_empty() {
        return Err(dns_failed());
    }
    let allowed: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|address| may_connect(address.ip()))
        .collect();
    if allowed.is_empty() {
        return Err(SummarizeError::PrivateAddress);
    }
    Ok(allowed)
}

/// The client's only DNS: it answers every lookup with the addresses already checked, so the
/// connection cannot go anywhere else even if some name slipped past an override table.
struct CheckedAddresses(Vec<SocketAddr>);

impl Resolve for CheckedAddresses {
    fn resolve(&self, _name: Name) -> Resolving {
        let addresses: Addrs = Box::new(self.0.clone().into_iter());
        Box::pin(std::future::ready(Ok(addresses)))
    }
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

/// Where a redirect points, checked like a pasted link.
fn redirect_target(from: &Url, response: &Response) -> Result<Url, SummarizeError> {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or(SummarizeError::HttpStatus(status))?;
    let target = from
        .join(location)
        .map_err(|_| SummarizeError::HttpStatus(status))?;
    parse_link(target.as_str())
}

/// The page's kind and declared charset, from `Content-Type`.
fn content_type(response: &Response) -> Result<(ContentType, Option<String>), SummarizeError> {
    let header = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let mut parts = header.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let kind = match essence.as_str() {
        "text/html" => ContentType::Html,
        "text/plain" => ContentType::PlainText,
        "" => {
            return Err(SummarizeError::NotHtmlOrText {
                content_type: "of no declared type".to_owned(),
            });
        }
        other => {
            return Err(SummarizeError::NotHtmlOrText {
                content_type: other.chars().take(60).collect(),
            });
        }
    };
    let charset = parts.find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    });
    Ok((kind, charset))
}

/// Reads the body chunk by chunk, stopping as soon as it passes `max_bytes`.
async fn read_capped(mut response: Response, max_bytes: usize) -> Result<Vec<u8>, SummarizeError> {
    let too_large = SummarizeError::TooLarge { max_bytes };
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes as u64)
    {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| SummarizeError::UnreadablePage)?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Decodes with the declared charset, or UTF-8 when none is declared or it is unknown. A byte
/// order mark wins over the header, and undecodable bytes become U+FFFD rather than an error.
fn decode(bytes: &[u8], charset: Option<&str>) -> String {
    let encoding = charset
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .unwrap_or(UTF_8);
    encoding.decode(bytes).0.into_owned()
}

#[cfg(test)]
mod tests {
    use actix_web::{HttpResponse, web};

    use super::super::test_server::{PageServer, serve_once_raw};
    use super::*;

    const ARTICLE: &str = "<html><head><title>Hello</title></head><body><p>Hi.</p></body></html>";

    fn routes(config: &mut web::ServiceConfig) {
        config
            .route("/article", web::get().to(article))
            .route("/redirect/{hops}", web::get().to(redirect_chain))
            .route("/to-private", web::get().to(to_private))
            .route("/to-file", web::get().to(to_file))
            .route("/big", web::get().to(big))
            .route("/image", web::get().to(image))
            .route("/untyped", web::get().to(untyped))
            .route("/missing", web::get().to(HttpResponse::NotFound))
            .route("/slow", web::get().to(slow))
            .route("/latin1", web::get().to(latin1))
            .route("/echo-headers", web::get().to(echo_headers));
    }

    async fn article() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(ARTICLE)
    }

    async fn redirect_chain(hops: web::Path<u32>) -> HttpResponse {
        let hops = hops.into_inner();
        let location = if hops == 0 {
            "/article".to_owned()
        } else {
            format!("/redirect/{}", hops - 1)
        };
        HttpResponse::Found()
            .insert_header(("Location", location))
            .finish()
    }

    async fn to_private() -> HttpResponse {
        HttpResponse::Found()
            .insert_header(("Location", "http://10.0.0.1/admin"))
            .finish()
    }

    async fn to_file() -> HttpResponse {
        HttpResponse::MovedPermanently()
            .insert_header(("Location", "file:///etc/passwd"))
            .finish()
    }

    async fn big() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/plain")
            .body("word ".repeat(1000))
    }

    async fn image() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("image/png")
            .body(vec![0x89, b'P', b'N', b'G'])
    }

    async fn untyped() -> HttpResponse {
        HttpResponse::Ok().body("no content type")
    }

    async fn slow() -> HttpResponse {
        // Never within the test: the fetch's short timeout always fires first.
        tokio::time::sleep(Duration::from_secs(3_600)).await;
        HttpResponse::Ok().content_type("text/plain").body("late")
    }

    async fn latin1() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/plain; charset=ISO-8859-1")
            .body(vec![b'c', b'a', b'f', 0xE9])
    }

    async fn echo_headers(request: actix_web::HttpRequest) -> HttpResponse {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        let body = format!(
            "user-agent={} cookie={} authorization={}",
            header("user-agent"),
            header("cookie"),
            header("authorization")
        );
        HttpResponse::Ok()
            .content_type("text/plain")
            .insert_header(("Set-Cookie", "session=abc"))
            .body(body)
    }

    fn local_policy() -> FetchPolicy {
        FetchPolicy {
            allow_private_networks: true,
            any_port: true,
            ..FetchPolicy::default()
        }
    }

    /// Loopback is where the test servers live; every other non-public range stays refused.
    fn loopback_or_public(ip: IpAddr) -> bool {
        ip.is_loopback() || address::is_public(ip)
    }

    #[tokio::test]
    async fn html_page_is_fetched_with_its_final_url() {
        let server = PageServer::start(routes);

        let page = fetch(&server.url("/article"), &local_policy())
            .await
            .expect("fetched");

        assert_eq!(page.url.as_str(), server.url("/article"));
        assert_eq!(page.content_type, ContentType::Html);
        assert_eq!(page.body, ARTICLE);
    }

    #[tokio::test]
    async fn domain_names_connect_to_the_addresses_checked() {
        let server = PageServer::start(routes);
        let port = server.base.port().expect("a port");
        let url = format!("http://localhost:{port}/article");

        let page = fetch(&url, &local_policy()).await.expect("fetched");

        assert_eq!(page.url.as_str(), url);
        assert_eq!(page.body, ARTICLE);
    }

    #[tokio::test]
    async fn declared_charset_is_used_to_decode() {
        let server = PageServer::start(routes);

        let page = fetch(&server.url("/latin1"), &local_policy())
            .await
            .expect("fetched");

        assert_eq!(page.content_type, ContentType::PlainText);
        assert_eq!(page.body, "café");
    }

    #[tokio::test]
    async fn requests_carry_a_user_agent_and_no_cookies_or_credentials() {
        let server = PageServer::start(routes);
        let with_credentials = server
            .url("/echo-headers")
            .replace("http://", "http://alice:hunter2@");

        let first = fetch(&with_credentials, &local_policy())
            .await
            .expect("fetched");
        let second = fetch(&server.url("/echo-headers"), &local_policy())
            .await
            .expect("fetched");

        assert!(first.body.starts_with("user-agent=Lobby-Summarizer/"));
        assert!(first.body.ends_with("cookie=- authorization=-"));
        assert!(second.body.ends_with("cookie=- authorization=-"));
        assert_eq!(first.url.as_str(), server.url("/echo-headers"));
    }

    #[tokio::test]
    async fn non_public_addresses_are_refused_without_the_setting() {
        let server = PageServer::start(routes);
        let port = server.base.port().expect("a port");
        let policy = FetchPolicy::default();

        for url in [
            server.url("/article"),
            format!("http://localhost:{port}/article"),
            format!("http://[::1]:{port}/article"),
            format!("http://[::ffff:127.0.0.1]:{port}/article"),
            format!("http://2130706433:{port}/article"),
            "http://10.0.0.1/".to_owned(),
            "http://192.168.1.1/".to_owned(),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "http://[fe80::1]/".to_owned(),
            "http://[fd00::1]/".to_owned(),
            "http://100.64.0.1/".to_owned(),
            "http://0.0.0.0/".to_owned(),
        ] {
            assert_eq!(
                fetch(&url, &policy).await,
                Err(SummarizeError::PrivateAddress),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn only_web_ports_are_fetched_without_the_setting() {
        let policy = FetchPolicy::default();
        for (url, port) in [
            ("http://93.184.215.14:25/", 25),
            ("https://93.184.215.14:8443/", 8443),
            ("http://[2606:2800:21f::1]:6379/", 6379),
        ] {
            assert_eq!(
                fetch_with(url, &policy, &|_| true).await,
                Err(SummarizeError::PortNotAllowed { port }),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn schemes_other_than_http_are_refused_even_with_the_setting() {
        for (url, scheme) in [
            ("file:///etc/passwd", "file"),
            ("ftp://example.com/file.txt", "ftp"),
            ("gopher://example.com/", "gopher"),
        ] {
            assert_eq!(
                fetch(url, &local_policy()).await,
                Err(SummarizeError::SchemeNotAllowed {
                    scheme: scheme.to_owned()
                })
            );
        }
        assert_eq!(
            fetch("not a link", &local_policy()).await,
            Err(SummarizeError::InvalidUrl)
        );
    }

    #[tokio::test]
    async fn redirect_to_a_private_address_is_refused() {
        let server = PageServer::start(routes);
        let policy = FetchPolicy {
            any_port: true,
            ..FetchPolicy::default()
        };

        let result = fetch_with(&server.url("/to-private"), &policy, &loopback_or_public).await;

        assert_eq!(result, Err(SummarizeError::PrivateAddress));
    }

    #[tokio::test]
    async fn redirect_to_another_scheme_is_refused() {
        let server = PageServer::start(routes);

        let result = fetch(&server.url("/to-file"), &local_policy()).await;

        assert_eq!(
            result,
            Err(SummarizeError::SchemeNotAllowed {
                scheme: "file".to_owned()
            })
        );
    }

    #[tokio::test]
    async fn three_redirects_are_followed_and_a_fourth_is_refused() {
        let server = PageServer::start(routes);

        let followed = fetch(&server.url("/redirect/2"), &local_policy())
            .await
            .expect("three redirects are fine");
        let refused = fetch(&server.url("/redirect/3"), &local_policy()).await;

        assert_eq!(followed.url.as_str(), server.url("/article"));
        assert_eq!(refused, Err(SummarizeError::TooManyRedirects { max: 3 }));
    }

    #[tokio::test]
    async fn body_over_the_cap_is_refused() {
        let server = PageServer::start(routes);
        let policy = FetchPolicy {
            max_bytes: 1024,
            ..local_policy()
        };

        let result = fetch(&server.url("/big"), &policy).await;

        assert_eq!(result, Err(SummarizeError::TooLarge { max_bytes: 1024 }));
    }

    #[tokio::test]
    async fn chunked_body_is_cut_off_at_the_cap() {
        // No Content-Length, so only counting the streamed chunks can catch it.
        let base = serve_once_raw(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n\
             200\r\n{chunk}\r\n200\r\n{chunk}\r\n200\r\n{chunk}\r\n0\r\n\r\n"
                .replace("{chunk}", &"x".repeat(0x200)),
        )
        .await;
        let policy = FetchPolicy {
            max_bytes: 1024,
            ..local_policy()
        };

        let result = fetch(&base, &policy).await;

        assert_eq!(result, Err(SummarizeError::TooLarge { max_bytes: 1024 }));
    }

    #[tokio::test]
    async fn content_other_than_html_or_text_is_refused() {
        let server = PageServer::start(routes);

        let image = fetch(&server.url("/image"), &local_policy()).await;
        let untyped = fetch(&server.url("/untyped"), &local_policy()).await;

        assert_eq!(
            image,
            Err(SummarizeError::NotHtmlOrText {
                content_type: "image/png".to_owned()
            })
        );
        assert!(matches!(untyped, Err(SummarizeError::NotHtmlOrText { .. })));
    }

    #[tokio::test]
    async fn error_status_is_reported() {
        let server = PageServer::start(routes);

        let result = fetch(&server.url("/missing"), &local_policy()).await;

        assert_eq!(result, Err(SummarizeError::HttpStatus(404)));
    }

    #[tokio::test]
    async fn slow_server_times_out() {
        let server = PageServer::start(routes);
        let policy = FetchPolicy {
            timeout: Duration::from_millis(300),
            ..local_policy()
        };

        let result = fetch(&server.url("/slow"), &policy).await;

        assert_eq!(
            result,
            Err(SummarizeError::Timeout {
                after: Duration::from_millis(300)
            })
        );
    }
}
