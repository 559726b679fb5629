//! Services in their own processes, so a load generator measures the server
//! and not its own scheduling: the bench binary re-executes itself with
//! [`ROLE_VAR`] set, the child serves on `127.0.0.1:0`, prints its address,
//! and stops (flushing) when its stdin closes — also when the parent dies.
//!
//! A bench binary calls [`serve_if_child`] first thing in `main`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

/// Environment variable naming the role a child process plays.
pub const ROLE_VAR: &str = "SECTORWIRE_BENCH_ROLE";
const DIR_VAR: &str = "SECTORWIRE_BENCH_DIR";
const FOLLOW_VAR: &str = "SECTORWIRE_BENCH_FOLLOW";
const READY: &str = "listening on ";

/// A service running in a child process.
pub struct ChildService {
    /// Bound address.
    pub addr: SocketAddr,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl ChildService {
    /// Starts an ingest service over `dir`.
    pub fn ingest(dir: &Path) -> anyhow::Result<Self> {
        Self::spawn("ingest", dir, None, &[])
    }

    /// Starts a query replica over `dir` following the ingest service at `follow`.
    pub fn query(dir: &Path, follow: SocketAddr) -> anyhow::Result<Self> {
        Self::spawn("query", dir, Some(follow), &[])
    }

    /// Starts an ingest service over `dir` with configuration from `env`
    /// (the service's own `SECTORWIRE_*` variables, as its `--help` lists).
    pub fn ingest_with(dir: &Path, env: &[(&str, String)]) -> anyhow::Result<Self> {
        Self::spawn("ingest", dir, None, env)
    }

    /// Starts a query replica with configuration from `env`, as [`Self::ingest_with`].
    pub fn query_with(dir: &Path, follow: SocketAddr, env: &[(&str, String)]) -> anyhow::Result<Self> {
        Self::spawn("query", dir, Some(follow), env)
    }

    fn spawn(
        role: &str,
        dir: &Path,
        follow: Option<SocketAddr>,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating the bench executable")?;
        let mut command = Command::new(exe);
        command.envs(env.iter().map(|(k, v)| (k, v)));
        command
            .env(ROLE_VAR, role)
            .env(DIR_VAR, dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(follow) = follow {
            command.env(FOLLOW_VAR, format!("http://{follow}"));
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting the {role} process"))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix(READY)
            .and_then(|a| a.parse().ok())
            .with_context(|| format!("{role} process did not report its address (said {line:?})"))?;
        let stdin = child.stdin.take();
        Ok(ChildService { addr, child, stdin })
    }

    /// The child's process id (for `perf record -p`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system, all threads) the child has used so far.
    pub fn cpu_time(&self) -> anyhow::Result<std::time::Duration> {
        cpu_time_of(&format!("/proc/{}/stat", self.child.id()))
    }

    /// CPU time used so far by the child's threads named `name` (all of them, if several).
    pub fn thread_cpu_time(&self, name: &str) -> anyhow::Result<std::time::Duration> {
        let tasks = format!("/proc/{}/task", self.child.id());
        let mut total = std::time::Duration::ZERO;
        for task in std::fs::read_dir(&tasks).with_context(|| format!("reading {tasks}"))? {
            let task = task?.path();
            // The kernel keeps the first 15 bytes of a thread's name.
            let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
            if comm.trim_end_matches('\n').as_bytes() == &name.as_bytes()[..name.len().min(15)] {
                total += cpu_time_of(&task.join("stat").to_string_lossy())?;
            }
        }
        Ok(total)
    }

    /// Peak resident memory of the child so far, in bytes (`VmHWM`).
    pub fn peak_rss(&self) -> anyhow::Result<u64> {
        self.status_bytes("VmHWM:")
    }

    /// Resident memory of the child now, in bytes (`VmRSS`).
    pub fn rss(&self) -> anyhow::Result<u64> {
        self.status_bytes("VmRSS:")
    }

    /// Whether the child is still running (it has not exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn status_bytes(&self, field: &str) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .with_context(|| format!("no {field} in {path}"))
    }

    /// Asks the service to stop, and waits for it to flush and exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let status = self.child.wait()?;
        anyhow::ensure!(status.success(), "service exited with {status}");
        Ok(())
    }
}

impl Drop for ChildService {
    fn drop(&mut self) {
        if self.stdin.take().is_some() {
            let _ = self.child.wait();
        }
    }
}

/// The `main` of a bench binary whose services run as children: in a child,
/// serves and exits; otherwise runs `bench` on a one-worker runtime, leaving
/// the other cores to the services it measures.
pub fn bench_main<F>(bench: impl FnOnce() -> F) -> anyhow::Result<()>
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    serve_if_child();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(bench())
}

/// When this process was started as a child service, runs it to the end and
/// exits; otherwise returns at once.
pub fn serve_if_child() {
    let Ok(role) = std::env::var(ROLE_VAR) else {
        return;
    };
    let code = match run_child(&role) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{role} service: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run_child(role: &str) -> anyhow::Result<()> {
    let dir = std::path::PathBuf::from(std::env::var(DIR_VAR).context("data dir")?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        // Stdin closing is the stop signal; it also fires when the parent dies.
        std::thread::spawn({
            let shutdown = shutdown.clone();
            move || {
                let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
                shutdown.cancel();
            }
        });
        println!("{READY}{addr}");
        match role {
            "ingest" => {
                let mut config: sectorwire_ingest::IngestConfig = from_env()?;
                (config.listen, config.data_dir) = (addr, dir);
                sectorwire_ingest::serve(config, listener, shutdown)
                    .await
                    .map_err(anyhow::Error::from)
            }
            "query" => {
                let mut config: sectorwire_query::QueryConfig = from_env()?;
                (config.listen, config.data_dir) = (addr, dir);
                config.ingest_addr = std::env::var(FOLLOW_VAR).context("ingest address")?;
                sectorwire_query::serve(config, listener, shutdown)
                    .await
                    .map_err(anyhow::Error::from)
            }
            other => anyhow::bail!("unknown role {other}"),
        }
    })
}

/// A service configuration read as the service binaries read it with no
/// flags: each field from its `SECTORWIRE_*` variable, else its default.
fn from_env<T: clap::Args + clap::FromArgMatches>() -> anyhow::Result<T> {
    let matches = T::augment_args(clap::Command::new("child")).try_get_matches_from(["child"])?;
    Ok(T::from_arg_matches(&matches)?)
}

/// CPU time (user + system, all threads) this process has used so far.
pub fn own_cpu_time() -> anyhow::Result<std::time::Duration> {
    cpu_time_of("/proc/self/stat")
}

/// Kernel clock ticks per second in `/proc/*/stat` (USER_HZ, which Linux fixes at 100 for
/// this interface on every mainstream architecture).
const USER_HZ: u64 = 100;

/// Reads utime + stime from a `/proc/<pid>/stat` file. CPU time per article is the figure
/// that says how far a run is from a throughput target on a given core count, and it is far
/// steadier than wall-clock throughput on a shared two-core machine.
fn cpu_time_of(path: &str) -> anyhow::Result<std::time::Duration> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) is parenthesised and may hold spaces: count fields after it.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("unexpected {path}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) sit at 11 and 12.
    let ticks = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .with_context(|| format!("no field {} in {path}", i + 3))
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(std::time::Duration::from_millis(total * 1000 / USER_HZ))
}

/// Connects a channel, retrying briefly while the server starts.
pub async fn channel(addr: SocketAddr) -> anyhow::Result<tonic::transport::Channel> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?.tcp_nodelay(true);
    let mut last = None;
    for _ in 0..100 {
        match endpoint.connect().await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Err(anyhow::anyhow!("cannot connect to {addr}: {last:?}"))
}
