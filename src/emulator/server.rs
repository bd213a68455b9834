//! Running the emulator as its own HTTP server (tests on port 0, and `lobby emulator`).

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use tokio::task::JoinHandle;
use url::Url;

use super::{Emulator, EmulatorConfig};

/// An emulator serving HTTP in the background; stops when dropped.
pub struct RunningEmulator {
    pub emulator: Emulator,
    pub port: u16,
    handle: ServerHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// Stops serving and waits until the server is down.
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        if let Some(task) = self.task.take() {
            // Errors here only say how the server ended; it is stopped either way.
            let _ = task.await;
        }
    }

    /// Serves until the server is stopped (e.g. by a signal); for `lobby emulator`.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        // `stop` sends the command at once; the returned future only reports completion.
        drop(self.handle.stop(false));
    }
}

/// Binds `bind` (port 0 picks a free port), sets the base URL to the bound address and serves in the background.
pub async fn spawn(config: EmulatorConfig, bind: SocketAddr) -> std::io::Result<RunningEmulator> {
    let listener = TcpListener::bind(bind)?;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    let host = if addr.is_ipv6() && !addr.ip().is_unspecified() {
        format!("[{host}]")
    } else {
        host
    };
    let base_url =
        Url::parse(&format!("http://{host}:{}/", addr.port())).map_err(std::io::Error::other)?;
    let emulator = Emulator::new(config, base_url);

    let app_emulator = emulator.clone();
    let server = HttpServer::new(move || {
        let emulator = app_emulator.clone();
        App::new().configure(move |cfg| emulator.configure(cfg))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(RunningEmulator {
        emulator,
        port: addr.port(),
        handle,
        task: Some(task),
    })
}
