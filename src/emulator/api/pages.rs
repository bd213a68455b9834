//! Cursor pagination like Slack's: an opaque `next_cursor`, empty on the last page.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::ApiError;
use super::request::ApiRequest;

/// The most items one page holds, whatever `limit` asks (Slack may return fewer than asked).
pub const MAX_PAGE: usize = 200;

/// One page of `items`, and the cursor for the next (empty when there is none).
pub fn page<T>(req: &ApiRequest, items: Vec<T>, kind: &str) -> Result<(Vec<T>, String), ApiError> {
    let start = match req.string("cursor") {
        Some(cursor) => decode(&cursor, kind).ok_or_else(|| ApiError::code("invalid_cursor"))?,
        None => 0,
    };
    let limit = req
        .string("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|&l| l > 0)
        .map_or(MAX_PAGE, |l| l.min(MAX_PAGE));
    let end = start.saturating_add(limit).min(items.len());
    let next = if end < items.len() {
        encode(end, kind)
    } else {
        String::new()
    };
    let page = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Ok((page, next))
}

fn encode(offset: usize, kind: &str) -> String {
    STANDARD.encode(format!("{kind}:{offset}"))
}

fn decode(cursor: &str, kind: &str) -> Option<usize> {
    let text = String::from_utf8(STANDARD.decode(cursor).ok()?).ok()?;
    text.strip_prefix(kind)?.strip_prefix(':')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(query: &str) -> ApiRequest {
        ApiRequest::parse(
            &TestRequest::get()
                .uri(&format!("/api/x?{query}"))
                .to_http_request(),
            b"",
        )
    }

    #[test]
    fn pages_follow_the_cursor_to_an_empty_one() {
        let items: Vec<u32> = (0..5).collect();
        let (first, next) = page(&request("limit=2"), items.clone(), "user").expect("first page");
        assert_eq!(first, vec![0, 1]);
        let (second, next) = page(
            &request(&format!("limit=2&cursor={}", urlencode(&next))),
            items.clone(),
            "user",
        )
        .expect("page");
        assert_eq!(second, vec![2, 3]);
        let (last, next) = page(
            &request(&format!("limit=2&cursor={}", urlencode(&next))),
            items,
            "user",
        )
        .expect("last");
        assert_eq!(last, vec![4]);
        assert_eq!(next, "");
    }

    #[test]
    fn a_foreign_or_garbled_cursor_is_refused() {
        let items = vec![1, 2, 3];
        let channel_cursor = urlencode(&encode(1, "channel"));
        assert!(
            page(
                &request(&format!("cursor={channel_cursor}")),
                items.clone(),
                "user"
            )
            .is_err()
        );
        assert!(page(&request("cursor=%%%"), items, "user").is_err());
    }

    fn urlencode(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }
}
