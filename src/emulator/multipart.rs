//! Reading `multipart/form-data` bodies: Web API calls may come as multipart forms, and step two of
//! the external upload often does.

/// One part of a multipart body.
pub(crate) struct Part<'a> {
    pub name: Option<String>,
    pub is_file: bool,
    pub content: &'a [u8],
}

/// The parts of a multipart body, or None when the content type names no boundary found in the body.
pub(crate) fn parts<'a>(content_type: &str, body: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut chunks = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, delimiter.as_bytes()) {
        chunks.push(&rest[..at]);
        rest = &rest[at + delimiter.len()..];
    }
    if chunks.is_empty() {
        return None;
    }
    let parsed = chunks
        .into_iter()
        .skip(1) // the preamble before the first delimiter
        .filter_map(|chunk| {
            let chunk = chunk.strip_prefix(b"\r\n")?;
            let split = find(chunk, b"\r\n\r\n")?;
            let headers = String::from_utf8_lossy(&chunk[..split]);
            let content = &chunk[split + 4..];
            Some(Part {
                name: disposition_param(&headers, "name"),
                is_file: disposition_param(&headers, "filename").is_some(),
                content: content.strip_suffix(b"\r\n").unwrap_or(content),
            })
        })
        .collect();
    Some(parsed)
}

/// The text fields of a multipart form (file parts are left out), or None if it is not one.
pub(crate) fn fields(content_type: &str, body: &[u8]) -> Option<Vec<(String, String)>> {
    Some(
        parts(content_type, body)?
            .into_iter()
            .filter(|p| !p.is_file)
            .filter_map(|p| Some((p.name?, String::from_utf8_lossy(p.content).into_owned())))
            .collect(),
    )
}

/// `name="value"` from a part's `Content-Disposition` header.
fn disposition_param(headers: &str, param: &str) -> Option<String> {
    let disposition = headers
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    disposition.split(';').find_map(|p| {
        let (key, value) = p.trim().split_once('=')?;
        (key.trim() == param).then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\nC1\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n\
line one\r\nline two\r\n--XyZ--\r\n";

    #[test]
    fn text_fields_are_read_and_files_left_out() {
        let fields = fields("multipart/form-data; boundary=XyZ", BODY).expect("multipart");
        assert_eq!(fields, vec![("channel".to_owned(), "C1".to_owned())]);
    }

    #[test]
    fn file_parts_keep_their_bytes() {
        let parts = parts("multipart/form-data; boundary=XyZ", BODY).expect("multipart");
        let file = parts.iter().find(|p| p.is_file).expect("a file part");
        assert_eq!(file.content, b"line one\r\nline two");
        assert_eq!(file.name.as_deref(), Some("file"));
    }

    #[test]
    fn a_body_without_its_boundary_is_not_multipart() {
        assert!(parts("multipart/form-data; boundary=abc", b"just bytes").is_none());
        assert!(parts("multipart/form-data", b"--abc\r\n\r\nx").is_none());
    }
}
