//! Step two of Slack's external upload: the app POSTs the file's bytes to the URL step one handed out.

use std::fmt;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{Emulator, multipart};

/// The largest file the emulator takes (Slack's own limit is far higher; tests never need it).
pub const MAX_UPLOAD_BYTES: usize = 50 * 1024 * 1024;

/// A file from `files.getUploadURLExternal` through `files.completeUploadExternal`.
#[derive(Clone)]
pub struct Upload {
    pub file_id: String,
    pub filename: String,
    /// The `length` announced in step one.
    pub declared_length: u64,
    /// What arrived at the upload URL; None until then.
    pub bytes: Option<Vec<u8>>,
    pub title: Option<String>,
    pub channel_id: Option<String>,
    pub initial_comment: Option<String>,
    pub completed: bool,
    pub uploaded_by: String,
    /// The upload URL's last path segment.
    pub(crate) upload_key: String,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("file_id", &self.file_id)
            .field("filename", &self.filename)
            .field("declared_length", &self.declared_length)
            .field("received_bytes", &self.bytes.as_ref().map(Vec::len))
            .field("title", &self.title)
            .field("channel_id", &self.channel_id)
            .field("completed", &self.completed)
            .finish_non_exhaustive()
    }
}

/// `POST upload/v1/{key}`: raw bytes or a multipart form whose file part is taken.
pub(crate) async fn receive(
    emulator: web::Data<Emulator>,
    key: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bytes = if content_type.starts_with("multipart/form-data") {
        match multipart_file(content_type, &body) {
            Some(bytes) => bytes.to_vec(),
            None => return HttpResponse::BadRequest().body("invalid multipart body"),
        }
    } else {
        body.to_vec()
    };
    let len = bytes.len();
    let mut state = emulator.lock();
    match state
        .uploads
        .iter_mut()
        .find(|u| u.upload_key == *key && !u.completed)
    {
        Some(upload) => {
            upload.bytes = Some(bytes);
            HttpResponse::Ok()
                .content_type("text/plain")
                .body(format!("OK - {len}"))
        }
        None => HttpResponse::NotFound()
            .content_type("text/plain")
            .body("upload not found"),
    }
}

/// The content of the first part that carries a file (or the first part at all).
fn multipart_file<'a>(content_type: &str, body: &'a [u8]) -> Option<&'a [u8]> {
    let parts = multipart::parts(content_type, body)?;
    parts
        .iter()
        .find(|p| p.is_file)
        .or_else(|| parts.first())
        .map(|p| p.content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_part_of_a_multipart_body_is_extracted() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n\
line one\r\nline two\r\n--XyZ--\r\n";
        let file = multipart_file("multipart/form-data; boundary=XyZ", body);
        assert_eq!(file, Some(&b"line one\r\nline two"[..]));
    }

    #[test]
    fn a_body_without_the_boundary_has_no_file() {
        assert_eq!(
            multipart_file("multipart/form-data; boundary=abc", b"just bytes"),
            None
        );
        assert_eq!(
            multipart_file("multipart/form-data", b"--abc\r\n\r\nx"),
            None
        );
    }
}
