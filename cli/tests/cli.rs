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
    // --log-format belongs to `up` only.
    let out = s.run(&["list", "--log-format", "json"]).await;
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
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
