//! Local page servers for the summarizer's tests: 127.0.0.1, port 0, stopped when dropped.

use std::net::TcpListener;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

pub(super) struct PageServer {
    pub base: Url,
    handle: ServerHandle,
}

impl PageServer {
    /// Serves the routes `configure` mounts.
    pub fn start(configure: fn(&mut web::ServiceConfig)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let port = listener.local_addr().expect("local address").port();
        let server = HttpServer::new(move || App::new().configure(configure))
            .workers(1)
            .disable_signals()
            .shutdown_timeout(0)
            .listen(listener)
            .expect("listen")
            .run();
        let handle = server.handle();
        tokio::spawn(server);
        let base = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("base URL");
        Self { base, handle }
    }

    pub fn url(&self, path: &str) -> String {
        self.base.join(path).expect("a path").to_string()
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// Answers one connection with `response` verbatim, for replies actix-web will not produce.
/// Returns the URL to fetch.
pub(super) async fn serve_once_raw(response: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let port = listener.local_addr().expect("local address").port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("a connection");
        let mut request = [0_u8; 4096];
        let _ = socket.read(&mut request).await;
        let _ = socket.write_all(response.as_bytes()).await;
        let _ = socket.shutdown().await;
    });
    format!("http://127.0.0.1:{port}/")
}
