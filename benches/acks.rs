//! Signed slash-command acks: requests per second, latency, CPU per ack and memory, measured
//! with `wrk` against the real `lobby` binary — and, in the same run, Bolt for Python.
//!
//! `cargo bench --bench acks` (release build; needs `wrk`, Debian's package). It starts a Slack
//! emulator, runs `lobby serve` as its own process pointed at it, installs the app in the demo
//! workspace through the consent page, then drives three commands in turn, 64 connections for 15
//! seconds each: `/echo` (not Lobby's: signature, replay guard, ack), `/lobby help` (the
//! installation looked up, the answer in the response) and `/summarize` (a durable job per command,
//! the workers running them meanwhile). Every request is distinct and signed (Lobby accepts a
//! signature once), as `../shared/bench/gen_requests.py` makes them; they are written to one file
//! per wrk thread right before each run and read line by line by `benches/acks/slash_lines.lua`.
//! CPU per ack is the server process's user + system time over the run (`/proc/<pid>/stat`)
//! divided by the requests wrk counted; memory is its resident set (`VmRSS`) before the first run
//! (idle) and after the last.
//!
//! Settings: `BENCH_CONNECTIONS` (64), `BENCH_SECONDS` (15), `BENCH_RATE` (requests generated per
//! second of a run, 60000: more than the server answers, so none repeats), `BENCH_BOLT_PYTHON`
//! (a Python with `slack_bolt` and `aiohttp`: Bolt's `AsyncApp` from `benches/acks/bolt_app.py` is
//! measured on `/echo` too), `BENCH_BASELINE_BIN` (another `lobby` binary, e.g. the previous
//! version, measured the same way first, so a before/after ratio comes from one run).

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::env_or;
use lobby::emulator::{self, EmulatorConfig};
use secrecy::{ExposeSecret, SecretString};

const WRK_THREADS: usize = 2;

/// One command to drive: what the requests say.
struct Load {
    name: &'static str,
    command: &'static str,
    /// The command's text; `{i}` becomes the request's number.
    text: &'static str,
}

const LOADS: [Load; 3] = [
    Load {
        name: "/echo ack (not Lobby's: signature, replay guard, ack)",
        command: "/echo",
        text: "hello bench request {i}",
    },
    Load {
        name: "/lobby help (installation looked up)",
        command: "/lobby",
        text: "help",
    },
    Load {
        name: "/summarize (a durable job per command)",
        command: "/summarize",
        text: "hello bench request {i}",
    },
];

/// What one wrk run reported, plus the server's CPU over it.
struct Run {
    requests: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non200: u64,
    cpu_us_per_ack: f64,
}

#[tokio::main]
async fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("BENCH skipped: wrk is not installed (apt-get install wrk)");
        return;
    }
    let connections = env_or("BENCH_CONNECTIONS", 64);
    let seconds = env_or("BENCH_SECONDS", 15);
    let rate = env_or("BENCH_RATE", 60_000);
    // Kept after the run: the servers' logs are there.
    let dir = tempfile::Builder::new()
        .prefix("lobby-acks-")
        .tempdir()
        .unwrap()
        .keep();
    println!("BENCH logs in {}", dir.display());
    let wrk = Wrk {
        connections,
        seconds,
        lines: rate * seconds,
        dir,
    };

    let baseline = std::env::var_os("BENCH_BASELINE_BIN").map(PathBuf::from);
    let mut servers: Vec<(String, PathBuf)> = Vec::new();
    if let Some(bin) = baseline {
        servers.push(("baseline".into(), bin));
    }
    servers.push(("lobby".into(), PathBuf::from(env!("CARGO_BIN_EXE_lobby"))));
    for (label, bin) in servers {
        bench_lobby(&label, &bin, &wrk).await;
    }
    if let Some(python) = std::env::var_os("BENCH_BOLT_PYTHON") {
        bench_bolt(Path::new(&python), &wrk).await;
    }
}

/// Starts `bin` against a fresh emulator and data directory, installs it, and drives every load.
async fn bench_lobby(label: &str, bin: &Path, wrk: &Wrk) {
    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    emu.emulator
        .set_app_url(url::Url::parse(&format!("{address}/")).unwrap());
    let config = emu.emulator.config();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(
        Command::new(bin)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LOBBY_BIND", format!("127.0.0.1:{port}"))
            .env("LOBBY_PUBLIC_URL", &address)
            .env("LOBBY_DATA_DIR", data.path())
            .env("SLACK_CLIENT_ID", &config.client_id)
            .env("SLACK_CLIENT_SECRET", config.client_secret.expose_secret())
            .env(
                "SLACK_SIGNING_SECRET",
                config.signing_secret.expose_secret(),
            )
            .env("SLACK_API_URL", emu.emulator.api_url().as_str())
            .env(
                "SLACK_OAUTH_AUTHORIZE_URL",
                emu.emulator.authorize_url().as_str(),
            ),
        &wrk.dir.join(format!("{label}.log")),
        &format!("{address}/readyz"),
    )
    .await;
    common::install(
        &address,
        emulator::seed::DEMO_TEAM,
        emulator::seed::DEMO_ADMIN,
    )
    .await;
    // Idle: what the process holds once installed, before any load.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = server.rss_kib();
    for load in &LOADS {
        let run = wrk
            .run(
                &server,
                &config.signing_secret,
                emulator::seed::DEMO_TEAM,
                load,
            )
            .await;
        run.print(label, load.name);
    }
    println!(
        "BENCH {label} memory_mb idle={:.1} after={:.1}",
        idle as f64 / 1024.0,
        server.rss_kib() as f64 / 1024.0
    );
}

/// Bolt for Python's `AsyncApp` acking `/echo`, driven the same way.
async fn bench_bolt(python: &Path, wrk: &Wrk) {
    let port = free_port();
    let secret = SecretString::from("bench-signing-secret");
    let app = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/acks/bolt_app.py");
    let server = Server::start(
        Command::new(python)
            .arg(app)
            .env("SLACK_SIGNING_SECRET", secret.expose_secret())
            .env("PORT", port.to_string()),
        &wrk.dir.join("bolt.log"),
        &format!("http://127.0.0.1:{port}/"),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = server.rss_kib();
    let run = wrk.run(&server, &secret, "T0FAKE01", &LOADS[0]).await;
    run.print("bolt-python", LOADS[0].name);
    println!(
        "BENCH bolt-python memory_mb idle={:.1} after={:.1}",
        idle as f64 / 1024.0,
        server.rss_kib() as f64 / 1024.0
    );
}

impl Run {
    fn print(&self, label: &str, load: &str) {
        println!(
            "BENCH {label} | {load} | {:.0}/s | {:.1} CPU µs/ack | p50 {:.2} ms | p99 {:.2} ms | requests={} non200={}",
            self.rps, self.cpu_us_per_ack, self.p50_ms, self.p99_ms, self.requests, self.non200
        );
    }
}

/// The load generator's settings and where its request files go.
struct Wrk {
    connections: usize,
    seconds: usize,
    lines: usize,
    dir: PathBuf,
}

impl Wrk {
    async fn run(&self, server: &Server, secret: &SecretString, team: &str, load: &Load) -> Run {
        let prefix = self.dir.join("requests");
        write_requests(&prefix, secret, team, load, self.lines);
        let cpu_before = server.cpu_ticks();
        let output = tokio::process::Command::new("wrk")
            .args([
                format!("-t{WRK_THREADS}"),
                format!("-c{}", self.connections),
                format!("-d{}s", self.seconds),
                "--latency".into(),
                "-s".into(),
                concat!(env!("CARGO_MANIFEST_DIR"), "/benches/acks/slash_lines.lua").into(),
                server.base.clone(),
            ])
            .env("SLASH_REQUESTS", &prefix)
            .output()
            .await
            .expect("wrk runs");
        let cpu = server.cpu_ticks() - cpu_before;
        for t in 0..WRK_THREADS {
            let _ = std::fs::remove_file(format!("{}.{t}", prefix.display()));
        }
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "wrk failed: {report}");
        let field = |key: &str| -> f64 {
            report
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("wrk did not report {key}: {report}"))
        };
        let requests = field("requests=") as u64;
        Run {
            requests,
            rps: field("rps="),
            p50_ms: field("p50="),
            p99_ms: field("p99="),
            non200: field("non200=") as u64,
            cpu_us_per_ack: cpu as f64 * 1e6 / clock_ticks_per_second() / requests.max(1) as f64,
        }
    }
}

/// `lines` signed requests for `load`, split over one file per wrk thread (`prefix.0`, `prefix.1`),
/// one `timestamp TAB signature TAB body` line each, all stamped now.
fn write_requests(prefix: &Path, secret: &SecretString, team: &str, load: &Load, lines: usize) {
    let ts = lobby::db::now().to_string();
    let mut files: Vec<_> = (0..WRK_THREADS)
        .map(|t| {
            std::io::BufWriter::new(
                std::fs::File::create(format!("{}.{t}", prefix.display())).unwrap(),
            )
        })
        .collect();
    for i in 0..lines {
        let body = slash_body(team, load, i);
        let signature = lobby::slack::signature::sign(secret, &ts, body.as_bytes());
        writeln!(files[i % WRK_THREADS], "{ts}\t{signature}\t{body}").unwrap();
    }
    for mut file in files {
        file.flush().unwrap();
    }
}

/// A slash command's form body, field for field as Slack sends one (and `gen_requests.py` writes).
fn slash_body(team: &str, load: &Load, i: usize) -> String {
    let text = load.text.replace("{i}", &i.to_string());
    serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", team),
        ("team_domain", "benchteam"),
        ("channel_id", "C0FAKE01"),
        ("channel_name", "general"),
        ("user_id", "U0FAKE01"),
        ("user_name", "bench"),
        ("command", load.command),
        ("text", &text),
        ("api_app_id", "A0FAKE01"),
        ("is_enterprise_install", "false"),
        ("response_url", &format!("http://127.0.0.1:9/response/{i}")),
        (
            "trigger_id",
            &format!("{}.5178071921.{i:032x}", 1_000_000_000 + i),
        ),
    ])
    .unwrap()
}

/// A server process under test; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Spawns `command`, its log going to `log`, and waits until `ready` answers at all (Bolt has
    /// no health route).
    async fn start(command: &mut Command, log: &Path, ready: &str) -> Server {
        let log = std::fs::File::create(log).unwrap();
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the server starts");
        let url = url::Url::parse(ready).unwrap();
        let base = format!("{}://{}", url.scheme(), url.authority());
        let server = Server { child, base };
        let deadline = Instant::now() + Duration::from_secs(60);
        while reqwest::get(ready).await.is_err() {
            assert!(Instant::now() < deadline, "{ready} did not answer in 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    /// User + system CPU time so far, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // The command name may hold spaces: count fields after its closing parenthesis.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// Resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
