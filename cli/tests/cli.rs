//! The real `sectorwire` binary against real services on `127.0.0.1:0`
//! (in-process, real sled, tantivy and gRPC), checked the way a script or a
//! person would use it: exit statuses, stdout, stderr.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use sectorwire_tests::{generated_article, start_ingest, start_query, Running};

struct Services {
    dir: tempfile::TempDir,
    ingest: Running<sectorwire_ingest::ServeError>,
    query: Running<sectorwire_query::ServeError>,
}

impl Services {
    async fn start() -> Services {
        let dir = tempfile::tempdir().expect("tempdir");
        let ingest = start_ingest(&dir.path().join("ingest")).await;
        let query = start_query(&dir.path().join("query"), ingest.addr).await;
        Services { dir, ingest, query }
    }

    fn ingest_addr(&self) -> String {
        format!("http://{}", self.ingest.addr)
    }

    fn query_addr(&self) -> String {
        format!("http://{}", self.query.addr)
    }

    /// Runs the binary with both addresses set through the environment.
    async fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None).await
    }

    async fn run_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        run_binary(
            args,
            &[
                ("SECTORWIRE_INGEST_ADDR", &self.ingest_addr()),
                ("SECTORWIRE_QUERY_ADDR", &self.query_addr()),
            ],
            stdin,
        )
        .await
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn stop(self) {
        self.query.stop().await;
        self.ingest.stop().await;
    }
}

async fn run_binary(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sectorwire"));
    command
        .args(args)
        .env_remove("SECTORWIRE_INGEST_ADDR")
        .env_remove("SECTORWIRE_QUERY_ADDR")
        .env("RUST_BACKTRACE", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn sectorwire");
    if let Some(bytes) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(bytes).await.expect("write stdin");
        drop(pipe);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("sectorwire finished within 60 s")
        .expect("sectorwire ran");
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !stream.contains(&0x1b),
            "no ANSI escapes off a terminal: {}",
            text(stream)
        );
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn write(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, content).expect("write");
}

/// The ids printed by `ingest` (first column of stdout).
fn ids(out: &Output) -> Vec<String> {
    text(&out.stdout)
        .lines()
        .filter_map(|l| l.split('\t').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_then_get_reads_its_own_write() {
    let s = Services::start().await;
    for n in 0..5 {
        let file = s.path(&format!("a{n}.txt"));
        write(&file, &generated_article(100 + n));
        let out = s.run(&["ingest", file.to_str().expect("path")]).await;
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        let id = ids(&out).pop().expect("an id");
        // No --min-sequence, no sleep: ingest waited for the query service.
        let got = s.run(&["get", &id]).await;
        assert_eq!(code(&got), 0, "round {n}: {}", text(&got.stderr));
        assert!(text(&got.stdout).contains(&format!("Test bulletin {}", 100 + n)));
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_failure_has_its_own_exit_code_and_a_summary() {
    let s = Services::start().await;
    let dir = s.path("batch");
    write(&dir.join("good.txt"), &generated_article(1));
    write(&dir.join("nested/empty.txt"), "   \n");
    write(&dir.join("notes.md"), "skipped: not an article extension");
    let out = s.run(&["ingest", dir.to_str().expect("path")]).await;
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 3, "{stderr}");
    assert_eq!(ids(&out).len(), 1, "{}", text(&out.stdout));
    assert!(
        stderr.contains("empty.txt") && stderr.contains("content"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 articles: 1 created, 0 updated, 0 unchanged, 1 failed"),
        "{stderr}"
    );
    assert!(stderr.contains("articles/s"), "{stderr}");

    let all_bad = s.path("empty.txt");
    write(&all_bad, " ");
    assert_eq!(
        code(&s.run(&["ingest", all_bad.to_str().expect("path")]).await),
        1
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_gzip_stdin_and_directories_stream_in_and_are_idempotent() {
    let s = Services::start().await;
    let dir = s.path("crawl");
    let lines: Vec<String> = (0..3)
        .map(|n| {
            serde_json_line(
                &format!("crawler-{n}"),
                &format!("https://news.example/{n}"),
                "2024-03-27T12:43:00Z",
                &generated_article(200 + n),
            )
        })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines.join("\n").as_bytes()).expect("gzip");
    std::fs::create_dir_all(dir.join("day1")).expect("mkdir");
    std::fs::write(dir.join("day1/feed.jsonl.gz"), gz.finish().expect("gzip")).expect("write");
    write(&dir.join("plain.txt"), &generated_article(210));
    let args = ["ingest", dir.to_str().expect("path"), "-"];
    let stdin = generated_article(211);
    let out = s.run_with_stdin(&args, Some(stdin.as_bytes())).await;
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 0, "{stderr}");
    assert!(stderr.contains("5 articles: 5 created"), "{stderr}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("feed.jsonl.gz:3"),
        "lines are labelled by number: {stdout}"
    );

    // Per-line metadata reached the record.
    let first = ids(&out)[0].clone();
    let got = s.run(&["get", &first, "--json"]).await;
    let article: serde_json::Value = serde_json::from_slice(&got.stdout).expect("JSON article");
    assert_eq!(article["url"], "https://news.example/0");
    assert_eq!(article["outlet"], "Example News");

    // The same inputs again: nothing changes.
    let again = s.run_with_stdin(&args, Some(stdin.as_bytes())).await;
    let stderr = text(&again.stderr);
    assert_eq!(code(&again), 0, "{stderr}");
    assert!(stderr.contains("0 created, 0 updated, 5 unchanged"), "{stderr}");

    // A bad line fails alone.
    let bad = s.path("bad.jsonl");
    write(&bad, &format!("{}\n{{\"content\": 5}}\n", lines[0]));
    let out = s.run(&["ingest", bad.to_str().expect("path")]).await;
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("bad.jsonl:2"), "{}", text(&out.stderr));
    s.stop().await;
}

/// One JSON Lines record.
fn serde_json_line(source_id: &str, url: &str, published_at: &str, content: &str) -> String {
    serde_json::json!({
        "source_id": source_id, "url": url, "outlet": "Example News",
        "published_at": published_at, "content": content,
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readable_get_shows_publication_time_with_aligned_labels() {
    let s = Services::start().await;
    let feed = s.path("one.jsonl");
    write(
        &feed,
        &serde_json_line(
            "t-1",
            "https://news.example/t",
            "2024-03-27T12:43:05Z",
            &generated_article(7),
        ),
    );
    let out = s.run(&["ingest", feed.to_str().expect("path")]).await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let id = ids(&out).pop().expect("id");
    let got = text(&s.run(&["get", &id]).await.stdout);
    assert!(got.contains("published:    2024-03-27 12:43:05 UTC"), "{got}");
    assert!(got.contains("outlet:       Example News"), "{got}");
    assert!(got.contains(&format!("id:           {id}")), "{got}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_line_per_cause_with_field_violations() {
    let s = Services::start().await;
    let out = s.run(&["list", "--sector", "energyy"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 1, "{stderr}");
    assert!(stderr.contains("INVALID_ARGUMENT"), "{stderr}");
    assert!(
        stderr.contains("filter.sectors[0]: \"energyy\" is not a sector"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("acktrace") && !stderr.contains("Stack"),
        "{stderr}"
    );
    assert!(stderr.lines().count() <= 4, "{stderr}");

    // A service that is down: one clear line, the refusal said once.
    let out = run_binary(
        &["get", "0123456789abcdef0123", "--query-addr", "127.0.0.1:1"],
        &[],
        None,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.matches("cannot reach").count(), 1, "{stderr}");
    assert!(
        stderr.to_lowercase().matches("connection refused").count() <= 1,
        "{stderr}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_flags_go_before_or_after_the_subcommand() {
    let s = Services::start().await;
    let addr = s.query_addr();
    for args in [
        vec!["--query-addr", addr.as_str(), "--json", "sectors"],
        vec!["sectors", "--json", "--query-addr", addr.as_str()],
    ] {
        let out = run_binary(&args, &[], None).await;
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("{\"sectors\":["), "{args:?}");
    }
    // The write side too: --ingest-addr after the subcommand, --json before.
    let file = s.path("g.txt");
    write(&file, &generated_article(42));
    let ingest_addr = s.ingest_addr();
    let out = run_binary(
        &[
            "--json",
            "ingest",
            file.to_str().expect("path"),
            "--ingest-addr",
            &ingest_addr,
            "--no-wait",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let ack: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json before the subcommand");
    assert_eq!(ack["outcome"], "created", "{ack}");
    // --log-format belongs to `up` only: refused elsewhere, and not offered.
    let out = s.run(&["list", "--log-format", "json"]).await;
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    for command in ["list", "ingest", "get", "pair"] {
        let help = s.run(&[command, "--help"]).await;
        assert_eq!(code(&help), 0);
        assert!(
            !text(&help.stdout).contains("--log-format"),
            "{command}: {}",
            text(&help.stdout)
        );
    }
    let help = s.run(&["up", "--help"]).await;
    assert!(
        text(&help.stdout).contains("--log-format"),
        "{}",
        text(&help.stdout)
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_reports_what_it_reaches_and_dates_are_checked() {
    let s = Services::start().await;
    let out = run_binary(
        &["stats"],
        &[
            ("SECTORWIRE_QUERY_ADDR", &s.query_addr()),
            ("SECTORWIRE_INGEST_ADDR", "127.0.0.1:1"),
        ],
        None,
    )
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 3, "{stdout} {}", text(&out.stderr));
    assert!(stdout.contains("ingest: unreachable"), "{stdout}");
    assert!(stdout.contains("query:  0 articles"), "{stdout}");
    assert_eq!(code(&s.run(&["stats"]).await), 0);

    let out = s.run(&["list", "--since", "2024-02-30"]).await;
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("2024-02-30 does not exist"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        code(&s.run(&["list", "--since", "2024-02-29"]).await),
        0,
        "a leap day exists"
    );
    let out = s.run(&["list", "--limit", "0"]).await;
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    s.stop().await;
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_and_pair_answer_on_the_shipped_examples() {
    let s = Services::start().await;
    let examples = examples_dir();
    let out = s.run(&["ingest", examples.to_str().expect("path")]).await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));

    // Only the requested sectors, one SVG line each.
    let svg_path = s.path("timeline.svg");
    let svg = svg_path.to_str().expect("path");
    let out = s
        .run(&[
            "timeline", "--sector", "energy", "--sector", "defence", "--svg", svg,
        ])
        .await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let sectors: std::collections::BTreeSet<&str> =
        stdout.lines().filter_map(|l| l.split('\t').next()).collect();
    assert_eq!(sectors, ["defence", "energy"].into(), "{stdout}");
    let svg_text = std::fs::read_to_string(&svg_path).expect("svg written");
    let doc = roxmltree::Document::parse(&svg_text).expect("the SVG parses as XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let series: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("2"))
        .collect();
    assert_eq!(series.len(), 2, "one line per requested sector");
    let colours: std::collections::BTreeSet<_> =
        series.iter().filter_map(|n| n.attribute("stroke")).collect();
    assert_eq!(colours.len(), 2);
    let texts: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    for sector in ["energy", "defence"] {
        assert!(texts.contains(&sector), "legend names {sector}: {texts:?}");
    }

    // The pair question: ranked sectors, evidence with titles and dates, timeline.
    let out = s.run(&["pair", "PK", "AZ"]).await;
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        stdout.starts_with("AZ and PK: 3 articles relate them"),
        "{stdout}"
    );
    for expected in [
        "energy",
        "defence",
        "2024-11-12  Azerbaijan and Pakistan sign deal on liquefied natural gas and trade",
        "timeline",
        "2025-01",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
    let out = s
        .run(&[
            "pair",
            "AZ",
            "PK",
            "--json",
            "--since",
            "2025-01-01",
            "--sector",
            "defence",
        ])
        .await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(reply["articleCount"], "1", "{reply}");
    assert_eq!(reply["sectors"][0]["sector"], "defence", "{reply}");
    assert_eq!(
        reply["sectors"].as_array().map(Vec::len),
        Some(1),
        "only the asked sector: {reply}"
    );
    assert_eq!(reply["timeline"].as_array().map(Vec::len), Some(1), "{reply}");
    let pair_svg = s.path("pair.svg");
    let out = s
        .run(&["pair", "AZ", "PK", "--svg", pair_svg.to_str().expect("path")])
        .await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    roxmltree::Document::parse(&std::fs::read_to_string(&pair_svg).expect("svg")).expect("pair SVG parses");

    // Facets by display name.
    let out = s.run(&["count", "--facet", "country", "--facet", "outlet"]).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Pakistan (PK)"), "{stdout}");
    assert!(stdout.contains("Caspian Example Review"), "{stdout}");
    assert!(!stdout.contains("caspian example review"), "{stdout}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_streams_stdin_as_it_arrives() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let s = Services::start().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sectorwire"))
        .args(["ingest", "-", "--no-wait"])
        .env("SECTORWIRE_INGEST_ADDR", s.ingest_addr())
        .env("SECTORWIRE_QUERY_ADDR", s.query_addr())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    for n in 0..3 {
        let line = serde_json_line(
            &format!("live-{n}"),
            "",
            "2024-05-01",
            &generated_article(300 + n),
        ) + "\n";
        stdin.write_all(line.as_bytes()).await.expect("write");
        stdin.flush().await.expect("flush");
        // The acknowledgement arrives while stdin is still open: inputs are
        // streamed as they come, not gathered first.
        let ack = tokio::time::timeout(std::time::Duration::from_secs(20), stdout.next_line())
            .await
            .expect("ack before stdin closes")
            .expect("read")
            .expect("a line");
        assert!(ack.ends_with(&format!("-:{}", n + 1)), "{ack}");
    }
    drop(stdin);
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert_eq!(status.code(), Some(0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_options_before_another_subcommand_are_refused() {
    let out = run_binary(&["--demo", "list"], &[], None).await;
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("--demo is an option of `up`"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs `command` through `bash` in `dir` with the binary first on `PATH`
/// and both addresses set, as a person would type it.
async fn run_shell(s: &Services, dir: &Path, command: &str) -> Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_sectorwire"))
        .parent()
        .expect("binary directory")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let child = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", command])
        .current_dir(dir)
        .env("PATH", path)
        .env("SECTORWIRE_INGEST_ADDR", s.ingest_addr())
        .env("SECTORWIRE_QUERY_ADDR", s.query_addr())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bash");
    tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("finished within 60 s")
        .expect("bash ran")
}

/// Runs `command` (a shell line) on a pseudo-terminal with `script`
/// (util-linux), so stdout and stderr are terminals; returns the exit
/// status, the lines the terminal ends up showing, and everything written
/// (progress redraws included).
async fn run_on_terminal(s: &Services, dir: &Path, command: &str) -> (i32, String, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_sectorwire"))
        .parent()
        .expect("binary directory")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let child = tokio::process::Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .current_dir(dir)
        .env("PATH", path)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env("SECTORWIRE_INGEST_ADDR", s.ingest_addr())
        .env("SECTORWIRE_QUERY_ADDR", s.query_addr())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script (util-linux) to get a terminal");
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("finished within 60 s")
        .expect("script ran");
    let raw = text(&out.stdout);
    (code(&out), strip_terminal_codes(&raw), raw)
}

/// The lines a terminal would end up showing: `\r` returns to the start of
/// the line, `ESC [ K` / `ESC [ 2K` clear it (how progress lines are redrawn
/// and removed), other control sequences are dropped.
fn strip_terminal_codes(raw: &str) -> String {
    let mut out = String::new();
    let mut line: Vec<char> = Vec::new();
    let mut col = 0;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() != Some(&'[') {
                    continue;
                }
                chars.next();
                let mut params = String::new();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        if c == 'K' {
                            if params == "2" {
                                line.clear();
                            } else {
                                line.truncate(col);
                            }
                        }
                        break;
                    }
                    params.push(c);
                }
            }
            '\r' => col = 0,
            '\n' => {
                out.extend(line.drain(..));
                out.push('\n');
                col = 0;
            }
            c => {
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.resize(col, ' ');
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    out.extend(line);
    out
}

/// A copy of `examples/` in `dir`, so README commands run as written there.
fn copy_examples(dir: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read examples") {
            let entry = entry.expect("entry");
            let name = entry.file_name();
            if name == "generated" || name == "__pycache__" {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                copy(&path, &to.join(&name));
            } else {
                std::fs::copy(&path, to.join(&name)).expect("copy");
            }
        }
    }
    copy(&examples_dir(), &dir.join("examples"));
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README.md")
}

/// The "Using it" section of README, up to "Scripts".
fn using_it(readme: &str) -> &str {
    let start = readme.find("## Using it").expect("README has ## Using it");
    let end = start
        + readme[start..]
            .find("### Scripts")
            .expect("README has ### Scripts");
    &readme[start..end]
}

/// README's `sectorwire` commands under "Using it": the ```sh block, then
/// every `sectorwire ...` in the "Questions you can ask" table.
fn readme_commands(section: &str) -> Vec<String> {
    let block = &section[section.find("```sh").expect("a ```sh block")..];
    let block = &block[..5 + block[5..].find("```").expect("closed block")];
    let mut commands: Vec<String> = block
        .lines()
        .filter(|l| l.starts_with("sectorwire "))
        .map(|l| l.split("  #").next().unwrap_or(l).trim().to_string())
        .collect();
    let questions = &section[section.find("### Questions").expect("a Questions section")..];
    for part in questions.split('`').skip(1).step_by(2) {
        if part.starts_with("sectorwire ") {
            commands.push(part.to_string());
        }
    }
    commands
}

/// README's sample outputs: each `$ command` of the ```text block with the
/// lines shown under it (`...` marks lines left out).
fn readme_samples(section: &str) -> Vec<(String, Vec<String>)> {
    let block = &section[section.find("```text").expect("a ```text block")..];
    let block = &block[..7 + block[7..].find("```").expect("closed block")];
    let mut samples: Vec<(String, Vec<String>)> = Vec::new();
    for line in block.lines().skip(1) {
        if let Some(command) = line.strip_prefix("$ ") {
            let command = command.split("  #").next().unwrap_or(command).trim();
            samples.push((command.to_string(), Vec::new()));
        } else if let Some((_, lines)) = samples.last_mut() {
            if !line.trim().is_empty() && line.trim() != "..." {
                lines.push(line.trim_end().to_string());
            }
        }
    }
    samples
}

/// A line as compared with README: the ingest summary's figures masked
/// (timings differ from run to run), and so is a record's sequence (one
/// ingest stream's articles are analysed concurrently and committed in the
/// order they finish); other lines as they are.
fn normalise(line: &str) -> String {
    if let Some(at) = line.find("(sequence ") {
        let rest = &line[at + "(sequence ".len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        return format!("{}(sequence N{}", &line[..at], &rest[digits..]);
    }
    if !line.contains("articles/s") {
        return line.to_string();
    }
    let mut out = String::new();
    let mut last_digit = false;
    for c in line.chars() {
        if c.is_ascii_digit() || (c == '.' && last_digit) {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
        } else {
            last_digit = false;
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_commands_work_as_written_and_print_what_readme_shows() {
    let s = Services::start().await;
    let work = s.path("readme");
    copy_examples(&work);
    let readme = readme();
    let section = using_it(&readme);
    let commands = readme_commands(section);
    assert!(commands.len() >= 14, "{commands:?}");
    let mut transcript = String::new();
    for command in &commands {
        let out = run_shell(&s, &work, command).await;
        assert_eq!(
            code(&out),
            0,
            "README command failed: {command}\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        transcript.push_str(&text(&out.stdout));
    }
    assert!(
        transcript.contains("AZ and PK: 3 articles relate them"),
        "{transcript}"
    );
    assert!(
        transcript.contains("Kenya and Uganda extend oil pipeline plans"),
        "the KE search finds the pipeline article: {transcript}"
    );
    assert!(
        transcript.contains("Direct flights between Baku and Lahore lift tourism"),
        "the README's get id names the crawl article: {transcript}"
    );
    for svg in ["energy.svg", "defence.svg"] {
        let svg = std::fs::read_to_string(work.join(svg)).expect("README's --svg file written");
        roxmltree::Document::parse(&svg).expect("SVG parses");
    }

    // The sample outputs: every line README shows is printed (on a terminal,
    // as README shows them, bars included), timings aside. The services now
    // hold the examples already, so ingest is run on a fresh pair.
    let fresh = Services::start().await;
    let work = fresh.path("readme");
    copy_examples(&work);
    let samples = readme_samples(section);
    assert!(samples.len() >= 5, "{samples:?}");
    for (command, expected) in &samples {
        let failing = command.contains("energyy");
        let (status, shown) = if failing {
            // Errors are read on a pipe here: what a script's log shows.
            let out = run_shell(&fresh, &work, command).await;
            (code(&out), text(&out.stderr))
        } else {
            let (status, shown, _) = run_on_terminal(&fresh, &work, command).await;
            (status, shown)
        };
        assert_eq!(status, if failing { 1 } else { 0 }, "{command}: {shown}");
        let shown_lines: Vec<String> = shown.lines().map(|l| normalise(l.trim_end())).collect();
        for line in expected {
            let line = normalise(line);
            assert!(
                shown_lines.contains(&line),
                "README shows {line:?} under `{command}`, the command printed:\n{shown}"
            );
        }
    }
    fresh.stop().await;
    s.stop().await;
}

/// Block characters of sparklines and bars.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

fn has_blocks(s: &str) -> bool {
    s.contains(BLOCKS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_and_progress_on_a_terminal_plain_text_on_a_pipe() {
    let s = Services::start().await;
    let work = s.path("term");
    copy_examples(&work);

    // A terminal: a progress line with articles/s while stdin stays open.
    let (status, shown, raw) = run_on_terminal(
        &s,
        &work,
        "(cat examples/crawl.jsonl; sleep 1.5) | sectorwire ingest - && sectorwire ingest examples",
    )
    .await;
    assert_eq!(status, 0, "{shown}");
    assert!(
        raw.contains(" articles  ") && raw.contains("/s  "),
        "a progress line with a rate while stdin is open: {raw:?}"
    );
    assert!(
        !shown.contains(" articles  "),
        "the progress line is gone once done: {shown}"
    );
    assert!(
        shown.contains("7 articles: 5 created, 0 updated, 2 unchanged"),
        "{shown}"
    );

    for (command, what) in [
        (
            "sectorwire timeline --sector energy --sector defence",
            "sparklines",
        ),
        ("sectorwire pair AZ PK", "bars and sparklines"),
    ] {
        let (status, shown, _) = run_on_terminal(&s, &work, command).await;
        assert_eq!(status, 0, "{shown}");
        assert!(has_blocks(&shown), "{what} on a terminal: {shown}");
        let out = run_shell(&s, &work, command).await;
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        let piped = text(&out.stdout);
        assert!(!has_blocks(&piped), "plain text on a pipe: {piped}");
    }
    // On a terminal each sector is one sparkline row; its total closes it.
    let (_, shown, _) =
        run_on_terminal(&s, &work, "sectorwire timeline --sector energy --sector defence").await;
    for sector in ["energy", "defence"] {
        let row = shown
            .lines()
            .find(|l| l.starts_with(sector))
            .unwrap_or_else(|| panic!("a row for {sector}: {shown}"));
        assert!(has_blocks(row), "{row}");
    }

    // And no progress drawing when stderr is a pipe.
    let out = run_binary(
        &["ingest", work.join("examples").to_str().expect("path")],
        &[
            ("SECTORWIRE_INGEST_ADDR", &s.ingest_addr()),
            ("SECTORWIRE_QUERY_ADDR", &s.query_addr()),
        ],
        None,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 0, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "the summary alone: {stderr}");
    s.stop().await;
}

/// The number of data lines in a chart written by `--svg`.
fn svg_series(path: &Path) -> usize {
    let svg = std::fs::read_to_string(path).expect("svg written");
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("2"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_takes_the_filters_of_list_and_charts_one_line_per_sector() {
    let s = Services::start().await;
    let out = s.run(&["ingest", examples_dir().to_str().expect("path")]).await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let pair_json = |extra: &'static [&'static str]| {
        let s = &s;
        async move {
            let mut args = vec!["pair", "AZ", "PK", "--json"];
            args.extend_from_slice(extra);
            let out = s.run(&args).await;
            assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
            serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
        }
    };
    let count = |v: &serde_json::Value| v["articleCount"].as_str().unwrap_or("0").to_string();
    let all = pair_json(&[]).await;
    assert_eq!(count(&all), "3", "{all}");
    let until = pair_json(&["--until", "2025-01-01"]).await;
    assert_eq!(count(&until), "1", "only the 2024 article: {until}");
    assert_eq!(until["sectors"][0]["sector"], "energy", "{until}");
    let outlet = pair_json(&["--outlet", "Example Wire"]).await;
    assert_eq!(count(&outlet), "1", "only the crawled article: {outlet}");
    assert!(
        outlet["sectors"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["sector"] == "tourism")),
        "{outlet}"
    );
    for evidence in all["sectors"]
        .as_array()
        .expect("sectors")
        .iter()
        .flat_map(|s| s["evidence"].as_array().cloned().unwrap_or_default())
    {
        assert!(
            evidence["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{evidence}"
        );
        assert!(evidence["publishedAt"].is_string(), "{evidence}");
    }

    // One chart line per sector of the timeline, and per requested sector.
    let timeline_sectors = all["timeline"].as_array().expect("timeline").len();
    assert!(timeline_sectors >= 3, "{all}");
    let whole = s.path("pair.svg");
    let out = s
        .run(&["pair", "AZ", "PK", "--svg", whole.to_str().expect("path")])
        .await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(svg_series(&whole), timeline_sectors);
    let two = s.path("pair-two.svg");
    let args = [
        "pair",
        "AZ",
        "PK",
        "--sector",
        "energy",
        "--sector",
        "defence",
        "--svg",
        two.to_str().expect("path"),
    ];
    let out = s.run(&args).await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(svg_series(&two), 2);
    // One bucket only: the line is still drawn.
    let one = s.path("pair-one.svg");
    let args = [
        "pair",
        "AZ",
        "PK",
        "--sector",
        "defence",
        "--since",
        "2025-01-01",
        "--svg",
        one.to_str().expect("path"),
    ];
    let out = s.run(&args).await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(svg_series(&one), 1);
    // A one-point line has no length: the point is marked so it shows.
    let svg = std::fs::read_to_string(&one).expect("svg");
    let doc = roxmltree::Document::parse(&svg).expect("SVG parses");
    let line_colour = doc
        .descendants()
        .find(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("2"))
        .and_then(|n| n.attribute("stroke"));
    assert!(
        doc.descendants()
            .any(|n| n.has_tag_name("circle") && n.attribute("stroke") == line_colour),
        "a marker in the line's colour: {svg}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_command_takes_min_sequence() {
    let s = Services::start().await;
    let file = s.path("a.txt");
    write(&file, &generated_article(40));
    let out = s
        .run(&["ingest", "--no-wait", "--json", file.to_str().expect("path")])
        .await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let ack: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON ack");
    let id = ack["id"].as_str().expect("id").to_string();
    let sequence = ack["sequence"].as_u64().expect("sequence");
    let reached = sequence.to_string();
    let beyond = (sequence + 1_000).to_string();
    let reads: Vec<Vec<&str>> = vec![
        vec!["get", &id],
        vec!["list"],
        vec!["search", "bulletin"],
        vec!["count"],
        vec!["timeline"],
        vec!["pair", "AZ", "PK"],
        vec!["stats"],
    ];
    // Reached: every command answers, and sees the write.
    for read in &reads {
        let mut args = read.clone();
        args.extend(["--min-sequence", &reached]);
        let out = s.run(&args).await;
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
    }
    // Never reached: the service waits (bounded) and says so, so each
    // command really sends the flag. All at once: each waits a few seconds.
    let outs = futures::future::join_all(reads.iter().map(|read| {
        let mut args = read.clone();
        args.extend(["--min-sequence", &beyond]);
        let s = &s;
        async move { (args.clone(), s.run(&args).await) }
    }))
    .await;
    for (args, out) in outs {
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        if args[0] == "stats" {
            assert_eq!(code(&out), 3, "{stdout}{stderr}");
            assert!(
                stdout.contains("query:  unreachable") && stdout.contains("min_sequence"),
                "{stdout}"
            );
        } else {
            assert_eq!(code(&out), 1, "{args:?}: {stdout}{stderr}");
            assert!(stderr.contains("min_sequence"), "{args:?}: {stderr}");
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_waits_for_the_query_service_but_only_so_long() {
    // A query service that follows another ingest service never applies
    // these writes: ingest gives up after --wait-timeout with a warning that
    // says how to read them, and still succeeds (the writes are durable).
    let s = Services::start().await;
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = start_ingest(&other_dir.path().join("ingest")).await;
    let file = s.path("a.txt");
    write(&file, &generated_article(41));
    let started = std::time::Instant::now();
    let out = run_binary(
        &["ingest", file.to_str().expect("path"), "--wait-timeout", "1"],
        &[
            ("SECTORWIRE_INGEST_ADDR", &format!("http://{}", other.addr)),
            ("SECTORWIRE_QUERY_ADDR", &s.query_addr()),
        ],
        None,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 0, "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "bounded");
    assert!(
        stderr.contains("warning: the query service has not confirmed sequence 1")
            && stderr.contains("--min-sequence 1"),
        "{stderr}"
    );
    // --no-wait: no wait, no warning.
    let out = run_binary(
        &["ingest", file.to_str().expect("path"), "--no-wait"],
        &[
            ("SECTORWIRE_INGEST_ADDR", &format!("http://{}", other.addr)),
            ("SECTORWIRE_QUERY_ADDR", &s.query_addr()),
        ],
        None,
    )
    .await;
    assert_eq!(code(&out), 0);
    assert!(!text(&out.stderr).contains("warning"), "{}", text(&out.stderr));
    other.stop().await;
    s.stop().await;
}

/// Whether `python3` with `grpc_tools` is here. CI installs it (.ci/run),
/// so there its absence fails the test; elsewhere the test is skipped.
fn python_with_grpc_tools() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import grpc, grpc_tools"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "python3 with grpcio-tools is required when CI=true (.ci/run installs it)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "skipping: python3 with grpcio-tools not found (pip install grpcio-tools)"
        );
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_example_client_ingests_reads_searches_pairs_and_watches() {
    if !python_with_grpc_tools() {
        return;
    }
    let s = Services::start().await;
    let examples = examples_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&examples)
        .expect("examples")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt" || x == "html"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    let child = tokio::process::Command::new("python3")
        .arg(examples.join("python/sectorwire_client.py"))
        .args(&files)
        .env("SECTORWIRE_INGEST_ADDR", s.ingest_addr())
        .env("SECTORWIRE_QUERY_ADDR", s.query_addr())
        // Fresh stubs from today's proto/, outside the source tree.
        .env("SECTORWIRE_STUBS_DIR", s.path("python-stubs"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the Python client finished within 120 s")
        .expect("python3 ran");
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}{}", text(&out.stderr));
    assert_eq!(stdout.matches(", created").count(), 5, "{stdout}");
    assert!(stdout.contains("get "), "{stdout}");
    assert!(stdout.contains("search 'energy': "), "{stdout}");
    assert!(stdout.contains("pair AZ-PK: 2 articles"), "{stdout}");
    assert!(stdout.contains("watch: 5 of 5 new articles seen"), "{stdout}");
    s.stop().await;
}

/// Peak resident memory of process `pid` (`VmHWM`), in bytes.
#[cfg(target_os = "linux")]
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_reads_ahead_a_bounded_amount_when_the_service_stops_reading() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncWriteExt;
    const MIB: u64 = 1024 * 1024;
    const LINES: usize = 200;
    // A service that accepts connections and never reads from them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stalled = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sectorwire"))
        .args(["ingest", "-", "--no-wait"])
        .env("SECTORWIRE_INGEST_ADDR", format!("http://{addr}"))
        .env("SECTORWIRE_QUERY_ADDR", "http://127.0.0.1:1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let pid = child.id().expect("pid");
    let mut stdin = child.stdin.take().expect("stdin");
    // 1 MiB articles, many more than the read-ahead can hold.
    let line = serde_json::json!({ "content": "word ".repeat(MIB as usize / 5) }).to_string() + "\n";
    let written = std::sync::Arc::new(AtomicUsize::new(0));
    let writer = tokio::spawn({
        let written = written.clone();
        async move {
            for _ in 0..LINES {
                if stdin.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
                written.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    // Until the command stops taking input: blocked on the silent service.
    let (mut last, mut quiet) = (usize::MAX, 0);
    while quiet < 8 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let now = written.load(Ordering::Relaxed);
        assert!(
            now < LINES,
            "the command read all {LINES} MiB while nothing was answered"
        );
        (quiet, last) = if now == last { (quiet + 1, now) } else { (0, now) };
    }
    let peak = peak_rss(pid);
    let _ = child.kill().await;
    writer.abort();
    stalled.abort();
    let taken = written.load(Ordering::Relaxed);
    // Read-ahead is 16 MiB of content; the pipe holds a little more.
    assert!(taken <= 24, "{taken} MiB taken from stdin with nothing answered");
    assert!(peak < 96 * MIB, "peak RSS {} MiB", peak / MIB);
    eprintln!("stalled service: {taken} MiB read, peak RSS {} MiB", peak / MIB);
}

/// README's grpcurl calls ("From any gRPC client"), made as grpcurl makes
/// them: the shell expands each line, the `-d` JSON is read as proto3 JSON
/// against the services' descriptors and sent to the method named. grpcurl
/// itself is not needed; `grpcurl list` (reflection) is covered by the
/// health_reflection tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_grpcurl_requests_are_valid_and_answered() {
    use prost::Message as _;
    use prost_reflect::{DescriptorPool, DynamicMessage};
    let s = Services::start().await;
    let work = s.path("grpcurl");
    copy_examples(&work);
    let out = run_shell(&s, &work, "sectorwire ingest examples/").await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));

    let readme = readme();
    let section = &readme[readme.find("### From any gRPC client").expect("section")..];
    let block = &section[section.find("```sh").expect("a ```sh block")..];
    let block = block[..5 + block[5..].find("```").expect("closed")].replace("\\\n", " ");
    let pool = DescriptorPool::decode(sectorwire_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
    let mut answers: std::collections::BTreeMap<String, serde_json::Value> = Default::default();
    for line in block.lines().filter(|l| l.starts_with("grpcurl ")) {
        // The arguments grpcurl would receive, NUL-separated.
        let out = run_shell(
            &s,
            &work,
            &format!("printf '%s\\0' {}", &line["grpcurl ".len()..]),
        )
        .await;
        assert_eq!(code(&out), 0, "{line}: {}", text(&out.stderr));
        let args: Vec<String> = text(&out.stdout)
            .split('\0')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        let data = args
            .iter()
            .position(|a| a == "-d")
            .map_or("{}", |i| args[i + 1].as_str());
        let addr = args
            .iter()
            .find(|a| a.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| panic!("an address in {line}"));
        let addr = match addr.as_str() {
            "127.0.0.1:50051" => s.ingest.addr,
            "127.0.0.1:50052" => s.query.addr,
            other => panic!("README names {other}: not a default port"),
        };
        let Some(method) = args.last().filter(|a| a.contains('/')) else {
            continue; // `grpcurl ... list`
        };
        if method == "grpc.health.v1.Health/Check" {
            let mut health =
                tonic_health::pb::health_client::HealthClient::new(sectorwire_tests::channel(addr).await);
            let status = health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .expect("health check")
                .into_inner()
                .status;
            assert_eq!(
                status,
                tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            );
            continue;
        }
        let (service, name) = method.split_once('/').expect("service/method");
        let descriptor = pool
            .get_service_by_name(service)
            .and_then(|svc| svc.methods().find(|m| m.name() == name))
            .unwrap_or_else(|| panic!("README names {method}, which the contract lacks"));
        let mut deserializer = serde_json::Deserializer::from_str(data);
        let request = DynamicMessage::deserialize(descriptor.input(), &mut deserializer)
            .unwrap_or_else(|e| panic!("{method}: README's JSON is not a valid request: {e}\n{data}"));
        let path: &'static str = Box::leak(format!("/{method}").into_boxed_str());
        let reply = sectorwire_tests::raw_unary(addr, path, request.encode_to_vec())
            .await
            .unwrap_or_else(|e| panic!("{method}: {e:?}"));
        let reply = DynamicMessage::decode(descriptor.output(), reply.as_slice()).expect("reply decodes");
        answers.insert(
            name.to_string(),
            serde_json::to_value(&reply).expect("reply as JSON"),
        );
    }
    // The same bytes as `sectorwire ingest` sent, with no content-type hint.
    assert_eq!(
        answers["IngestArticle"]["outcome"], "INGEST_OUTCOME_UNCHANGED",
        "{}",
        answers["IngestArticle"]
    );
    let listed = answers["ListArticles"]["articles"].as_array().expect("articles");
    assert!(
        !listed.is_empty() && listed.iter().all(|a| a.get("body").is_none()),
        "basic view"
    );
    let hits = answers["SearchArticles"]["hits"].as_array().expect("hits");
    assert!(
        hits.iter()
            .any(|h| h["article"]["title"] == "Kenya and Uganda extend oil pipeline plans"),
        "{}",
        answers["SearchArticles"]
    );
    assert_eq!(
        answers["GetCountryPair"]["articleCount"], "3",
        "{}",
        answers["GetCountryPair"]
    );
    s.stop().await;
}

/// An ingest refused at the TLS layer (mutual TLS, no client certificate) must fail
/// loudly. The server's alert can surface as a broken pipe on the connection, which the
/// CLI once took for a closed standard output (`| head`) and answered with status 0 and
/// no output, about one run in four; a few runs catch it reliably.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_refused_for_a_missing_client_certificate_fails_loudly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki_dir = dir.path().join("pki");
    std::fs::create_dir_all(&pki_dir).expect("pki dir");
    let pki = sectorwire_tests::pki::Pki::generate(&pki_dir);
    let ingest = sectorwire_tests::start_ingest_with(&dir.path().join("ingest"), |c| {
        c.server.security.tls_cert = Some(pki.server_cert.clone());
        c.server.security.tls_key = Some(pki.server_key.clone());
        c.server.security.tls_client_ca = Some(pki.ca.clone());
    })
    .await;
    let article = dir.path().join("article.txt");
    write(&article, &generated_article(1));
    let addr = format!("https://{}", ingest.addr);
    let ca = pki.ca.to_string_lossy().into_owned();
    let file = article.to_string_lossy().into_owned();
    for run in 0..12 {
        let out = run_binary(
            &["--tls-ca", &ca, "ingest", "--no-wait", &file],
            &[("SECTORWIRE_INGEST_ADDR", &addr)],
            None,
        )
        .await;
        assert_ne!(
            code(&out),
            0,
            "run {run}: refused yet exit 0; stderr: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("error"),
            "run {run}: says why: {}",
            text(&out.stderr)
        );
    }
    // With the client certificate the same command gets through.
    let cert = pki.client_cert.to_string_lossy().into_owned();
    let key = pki.client_key.to_string_lossy().into_owned();
    let out = run_binary(
        &[
            "--tls-ca",
            &ca,
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "ingest",
            "--no-wait",
            &file,
        ],
        &[("SECTORWIRE_INGEST_ADDR", &addr)],
        None,
    )
    .await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    ingest.stop().await;
}
