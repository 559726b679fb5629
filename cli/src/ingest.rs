//! `sectorwire ingest`: streams articles from files, directories, stdin,
//! gzip files and JSON Lines through one `IngestArticles` stream.
//!
//! Inputs are read lazily on a blocking thread into a bounded channel, and
//! every article read holds its size in a byte budget until the service has
//! answered it, so memory stays bounded however many articles there are and
//! however large each is, even when the service stops reading. Results come
//! back in request order, which is how each one is matched with its label.
//! After the last acknowledgement the command waits (bounded) until the
//! query service has applied the highest sequence, so
//! `sectorwire ingest a.txt && sectorwire get ID` finds it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sectorwire_proto::article::DatePrecision;
use sectorwire_proto::ingest::{
    ingest_articles_response, ArticleMetadata, ContentType, IngestArticleRequest, IngestOutcome,
};
use sectorwire_proto::query::{ArticleView, Consistency, ListArticlesRequest};
use serde::Deserialize;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_stream::wrappers::ReceiverStream;

use crate::commands::{ingest_client, print_json, query_client};
use crate::{exit, Global};

pub const LONG_ABOUT: &str = "\
Ingest articles and print one `ID<TAB>SOURCE` line per article (--json: one object per line).

Inputs:
  FILE         plain text (.txt) or HTML (.html, .htm); any other name is sniffed
  DIR          every .txt/.text/.html/.htm/.xhtml/.jsonl/.ndjson file below it (and their .gz)
  FILE.gz      decompressed on the fly
  FILE.jsonl   JSON Lines: one article per line, {\"content\": TEXT} or {\"html\": HTML}
               with optional \"url\", \"source_id\", \"outlet\", \"title\",
               \"published_at\" (RFC 3339 or YYYY-MM-DD)
  -            standard input: JSON Lines when it starts with '{', else one article

Afterwards a summary goes to stderr, and the command waits (up to --wait-timeout) until
the query service has applied the last write, so a following `get`/`list` sees it.
Exit status: 0 when every article was stored, 3 when some failed, 1 when the stream failed.";

/// Options of `ingest`.
#[derive(Args, Debug, Clone)]
pub struct IngestArgs {
    /// Files, directories, or `-` for standard input.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Do not wait for the query service to apply the writes.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest wait for the query service, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub wait_timeout: f64,
}

/// Largest single input read; the service refuses more than 16 MiB anyway,
/// and the cap keeps one odd file from taking the memory.
const MAX_ITEM_BYTES: u64 = 24 * 1024 * 1024;
/// Articles read ahead of the stream.
const READ_AHEAD: usize = 64;
/// Content bytes read and not yet answered. The count above alone would let
/// 64 large articles (and as many more queued for the stream) pile up.
const READ_AHEAD_BYTES: u32 = 16 * 1024 * 1024;

/// One input read from disk: a request, or why it could not be made.
struct Item {
    label: String,
    request: Result<IngestArticleRequest, String>,
    /// The request's share of [`READ_AHEAD_BYTES`], released when it is
    /// answered (or dropped).
    budget: Option<OwnedSemaphorePermit>,
}

/// One line of a JSON Lines input.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    url: String,
    #[serde(default, alias = "sourceId")]
    source_id: String,
    #[serde(default)]
    outlet: String,
    #[serde(default)]
    title: String,
    #[serde(default, alias = "publishedAt")]
    published_at: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    html: Option<String>,
}

fn content_type(name: &str) -> ContentType {
    match name.rsplit('.').next().map(str::to_ascii_lowercase).as_deref() {
        Some("html" | "htm" | "xhtml") => ContentType::Html,
        Some("txt" | "text") => ContentType::Text,
        _ => ContentType::Unspecified,
    }
}

/// The name without a trailing `.gz`, for type detection.
fn inner_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(".gz").map(str::to_string).unwrap_or(name)
}

fn is_json_lines(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".jsonl") || lower.ends_with(".ndjson")
}

fn wanted_in_directory(path: &Path) -> bool {
    let name = inner_name(path);
    !name.starts_with('.') && (is_json_lines(&name) || content_type(&name) != ContentType::Unspecified)
}

/// A published time from RFC 3339 (second precision) or a bare date.
fn published(value: &str) -> Result<(prost_types::Timestamp, DatePrecision), String> {
    if let Ok(seconds) = crate::commands::parse_day(value) {
        return Ok((sectorwire_proto::timestamp(seconds), DatePrecision::Day));
    }
    let t = chrono::DateTime::parse_from_rfc3339(value.trim())
        .map_err(|e| format!("published_at {value:?} is neither RFC 3339 nor YYYY-MM-DD: {e}"))?;
    Ok((
        prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
        },
        DatePrecision::Second,
    ))
}

fn line_request(line: &str) -> Result<IngestArticleRequest, String> {
    let line: Line = serde_json::from_str(line).map_err(|e| format!("not a JSON article: {e}"))?;
    let (content, content_type) = match (line.content, line.html) {
        (Some(text), None) => (text, ContentType::Unspecified),
        (None, Some(html)) => (html, ContentType::Html),
        (Some(_), Some(_)) => return Err("give either \"content\" or \"html\", not both".into()),
        (None, None) => return Err("no \"content\" or \"html\" field".into()),
    };
    let (published_at, precision) = match line.published_at.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(value) => {
            let (t, p) = published(value)?;
            (Some(t), p)
        }
        None => (None, DatePrecision::Unspecified),
    };
    Ok(IngestArticleRequest {
        content: content.into_bytes(),
        content_type: content_type as i32,
        metadata: Some(ArticleMetadata {
            source_id: line.source_id,
            url: line.url,
            outlet: line.outlet,
            title: line.title,
            published_at,
            published_precision: precision as i32,
        }),
        return_article: false,
    })
}

/// A request sent and not yet answered: its label and budget share.
type Sent = (String, Option<OwnedSemaphorePermit>);

/// Reads inputs one at a time and hands them over; stops early when the
/// receiver is gone (the stream failed).
struct Reader {
    tx: mpsc::Sender<Item>,
    budget: Arc<Semaphore>,
    runtime: tokio::runtime::Handle,
}

impl Reader {
    /// Hands `request` over once the budget has room for its content. A
    /// closed budget means the stream is over: the item goes on without a
    /// share, to be counted as never sent.
    fn send(&self, label: String, request: Result<IngestArticleRequest, String>) -> bool {
        let budget = match &request {
            Ok(r) => {
                let share = u32::try_from(r.content.len())
                    .unwrap_or(u32::MAX)
                    .clamp(1, READ_AHEAD_BYTES);
                self.runtime
                    .block_on(self.budget.clone().acquire_many_owned(share))
                    .ok()
            }
            Err(_) => None,
        };
        self.tx
            .blocking_send(Item {
                label,
                request,
                budget,
            })
            .is_ok()
    }

    fn fail(&self, label: String, error: impl std::fmt::Display) -> bool {
        self.send(label, Err(error.to_string()))
    }

    fn run(&self, inputs: &[PathBuf]) {
        for input in inputs {
            let more = if input.as_os_str() == "-" {
                self.stdin()
            } else if input.is_dir() {
                self.directory(input)
            } else {
                self.file(input)
            };
            if !more {
                return;
            }
        }
    }

    fn stdin(&self) -> bool {
        let mut reader = BufReader::new(std::io::stdin().lock());
        let starts_with_brace = match reader.fill_buf() {
            Ok(buf) => buf.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
            Err(e) => return self.fail("-".into(), format!("reading standard input: {e}")),
        };
        if starts_with_brace {
            self.json_lines("-", reader)
        } else {
            self.whole("-".into(), reader, ContentType::Unspecified)
        }
    }

    fn directory(&self, dir: &Path) -> bool {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) => return self.fail(dir.display().to_string(), format!("reading directory: {e}")),
        };
        entries.sort();
        for path in entries {
            let more = if path.is_dir() {
                self.directory(&path)
            } else if wanted_in_directory(&path) {
                self.file(&path)
            } else {
                true
            };
            if !more {
                return false;
            }
        }
        true
    }

    fn file(&self, path: &Path) -> bool {
        let label = path.display().to_string();
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) => return self.fail(label, format!("cannot open: {e}")),
        };
        let name = inner_name(path);
        let gz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        let reader: Box<dyn BufRead> = if gz {
            Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        if is_json_lines(&name) {
            self.json_lines(&label, reader)
        } else {
            self.whole(label, reader, content_type(&name))
        }
    }

    fn whole(&self, label: String, reader: impl Read, content_type: ContentType) -> bool {
        let mut content = Vec::new();
        match reader.take(MAX_ITEM_BYTES + 1).read_to_end(&mut content) {
            Ok(_) if content.len() as u64 > MAX_ITEM_BYTES => {
                self.fail(label, format!("larger than {MAX_ITEM_BYTES} bytes"))
            }
            Ok(_) => self.send(
                label,
                Ok(IngestArticleRequest {
                    content,
                    content_type: content_type as i32,
                    metadata: Some(ArticleMetadata::default()),
                    return_article: false,
                }),
            ),
            Err(e) => self.fail(label, format!("reading: {e}")),
        }
    }

    fn json_lines(&self, label: &str, reader: impl BufRead) -> bool {
        let mut line = Vec::new();
        let mut reader = reader.take(u64::MAX);
        for number in 1.. {
            line.clear();
            // Bounded per line: a missing newline cannot make one line eat memory.
            let limit = reader.limit();
            reader.set_limit(MAX_ITEM_BYTES + 1);
            let read = reader.read_until(b'\n', &mut line);
            reader.set_limit(limit);
            let item_label = format!("{label}:{number}");
            match read {
                Ok(0) => return true,
                Ok(_) if line.len() as u64 > MAX_ITEM_BYTES => {
                    return self.fail(item_label, format!("line longer than {MAX_ITEM_BYTES} bytes"));
                }
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    if text.trim().is_empty() {
                        continue;
                    }
                    let more = self.send(item_label, line_request(&text));
                    if !more {
                        return false;
                    }
                }
                Err(e) => return self.fail(item_label, format!("reading: {e}")),
            }
        }
        true
    }
}

/// Outcome counts for the closing summary.
#[derive(Default)]
struct Summary {
    created: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
    bytes: u64,
    max_sequence: u64,
}

impl Summary {
    fn done(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.failed
    }
}

fn progress_bar(as_json: bool) -> ProgressBar {
    if as_json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} articles  {per_sec}  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn report_error(
    progress: &ProgressBar,
    as_json: bool,
    label: &str,
    code: Option<i32>,
    message: &str,
    fields: &[String],
) -> anyhow::Result<()> {
    if as_json {
        print_json(&serde_json::json!({
            "file": label, "error": message, "code": code, "fieldViolations": fields,
        }))
    } else {
        let detail = if fields.is_empty() {
            String::new()
        } else {
            format!(" ({})", fields.join("; "))
        };
        progress.suspend(|| eprintln!("error\t{label}\t{message}{detail}"));
        Ok(())
    }
}

/// Why an item has no result: the stream ended before it was sent or answered.
const NOT_SENT: &str = "no answer: the ingest stream ended first";

/// Runs `sectorwire ingest`; returns the exit status.
pub async fn run(g: &Global, args: &IngestArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let mut client = ingest_client(g).await?;
    let (item_tx, mut item_rx) = mpsc::channel::<Item>(READ_AHEAD);
    let inputs = args.inputs.clone();
    let budget = Arc::new(Semaphore::new(READ_AHEAD_BYTES as usize));
    let reader = std::thread::spawn({
        let (budget, runtime) = (budget.clone(), tokio::runtime::Handle::current());
        move || {
            Reader {
                tx: item_tx,
                budget,
                runtime,
            }
            .run(&inputs)
        }
    });

    let progress = progress_bar(g.json);
    let summary = Arc::new(Mutex::new(Summary::default()));
    // Requests sent and not yet answered, oldest first.
    let pending: Arc<Mutex<VecDeque<Sent>>> = Arc::default();
    let (request_tx, request_rx) = mpsc::channel::<IngestArticleRequest>(READ_AHEAD);
    let dispatcher = tokio::spawn({
        let (summary, pending, progress, as_json) =
            (summary.clone(), pending.clone(), progress.clone(), g.json);
        async move {
            // Set once the request stream is gone: later items are never sent.
            let mut closed = false;
            while let Some(item) = item_rx.recv().await {
                match item.request {
                    Ok(_) if closed => {
                        if let Ok(mut s) = summary.lock() {
                            s.failed += 1;
                        }
                        report_error(&progress, as_json, &item.label, None, NOT_SENT, &[])?;
                    }
                    Ok(request) => {
                        if let Ok(mut s) = summary.lock() {
                            s.bytes += request.content.len() as u64;
                        }
                        if let Ok(mut p) = pending.lock() {
                            p.push_back((item.label, item.budget));
                        }
                        // A failed send leaves its label pending: counted below.
                        closed = request_tx.send(request).await.is_err();
                    }
                    Err(message) => {
                        if let Ok(mut s) = summary.lock() {
                            s.failed += 1;
                        }
                        progress.inc(1);
                        report_error(&progress, as_json, &item.label, None, &message, &[])?;
                    }
                }
            }
            anyhow::Ok(())
        }
    });

    let mut results = client
        .ingest_articles(ReceiverStream::new(request_rx))
        .await
        .context("IngestArticles")?
        .into_inner();
    let stream_result: anyhow::Result<()> = async {
        while let Some(item) = results.message().await.context("IngestArticles stream")? {
            // Dropping the share lets the reader read on.
            let (label, _share) = pending
                .lock()
                .ok()
                .and_then(|mut p| p.pop_front())
                .unwrap_or_default();
            progress.inc(1);
            match item.result {
                Some(ingest_articles_response::Result::Ok(ok)) => {
                    if let Ok(mut s) = summary.lock() {
                        match ok.outcome() {
                            IngestOutcome::Updated => s.updated += 1,
                            IngestOutcome::Unchanged => s.unchanged += 1,
                            _ => s.created += 1,
                        }
                        s.max_sequence = s.max_sequence.max(ok.sequence);
                    }
                    if g.json {
                        print_json(&serde_json::json!({
                            "file": label, "id": ok.id, "sequence": ok.sequence, "created": ok.created,
                            "outcome": ok.outcome().as_str_name().trim_start_matches("INGEST_OUTCOME_").to_lowercase(),
                        }))?;
                    } else {
                        progress.suspend(|| outln!("{}\t{label}", ok.id))?;
                    }
                }
                Some(ingest_articles_response::Result::Error(err)) => {
                    if let Ok(mut s) = summary.lock() {
                        s.failed += 1;
                    }
                    let fields: Vec<String> = err
                        .field_violations
                        .iter()
                        .map(|v| format!("{}: {}", v.field, v.description))
                        .collect();
                    report_error(&progress, g.json, &label, Some(err.code), &err.message, &fields)?;
                }
                None => {}
            }
        }
        Ok(())
    }
    .await;
    progress.finish_and_clear();
    // Nothing more will be answered: a reader waiting for budget must not
    // wait for shares held by requests the stream left unanswered.
    budget.close();
    if stream_result.is_ok() {
        // The request stream ended, so the dispatcher has returned and the
        // reader has nothing left to send.
        if let Ok(Err(e)) = dispatcher.await {
            return Err(e);
        }
        let _ = reader.join();
        // A stream that ends without answering everything sent (a connection
        // closed cleanly, e.g. after a TLS alert) must not read as success.
        let unanswered: Vec<String> = pending
            .lock()
            .map(|mut p| p.drain(..).map(|(label, _)| label).collect())
            .unwrap_or_default();
        if let Ok(mut s) = summary.lock() {
            s.failed += unanswered.len() as u64;
        }
        for label in &unanswered {
            report_error(&progress, g.json, label, None, NOT_SENT, &[])?;
        }
    } else {
        // The reader may be blocked on stdin; exiting ends it.
        dispatcher.abort();
    }
    let (created, updated, unchanged, failed, bytes, max_sequence, done) = {
        let s = summary
            .lock()
            .map_err(|_| anyhow::anyhow!("summary lock poisoned"))?;
        (
            s.created,
            s.updated,
            s.unchanged,
            s.failed,
            s.bytes,
            s.max_sequence,
            s.done(),
        )
    };
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "{done} articles: {created} created, {updated} updated, {unchanged} unchanged, {failed} failed; \
         {bytes} bytes in {elapsed:.2} s ({:.0} articles/s); last sequence {max_sequence}",
        done as f64 / elapsed.max(1e-9)
    );
    stream_result?;
    if max_sequence > 0 && !args.no_wait {
        wait_applied(g, max_sequence, args.wait_timeout).await;
    }
    Ok(if failed == 0 {
        exit::OK
    } else if done > failed {
        exit::PARTIAL
    } else {
        exit::FAILED
    })
}

/// Waits until the query service has applied `sequence`, so the caller's
/// next read sees its writes. The writes are durable either way, so a
/// timeout or an unreachable query service is a warning, not a failure.
async fn wait_applied(g: &Global, sequence: u64, timeout_seconds: f64) {
    let timeout = Duration::from_secs_f64(timeout_seconds.clamp(0.0, 3600.0));
    let attempt = async {
        let mut client = query_client(g).await?;
        let mut request = tonic::Request::new(ListArticlesRequest {
            page_size: 1,
            view: ArticleView::Basic as i32,
            consistency: Some(Consistency {
                min_sequence: sequence,
            }),
            ..Default::default()
        });
        // The service waits for the sequence up to the call's deadline.
        request.set_timeout(timeout);
        client
            .list_articles(request)
            .await
            .context("waiting for the query service")?;
        anyhow::Ok(())
    };
    let outcome = tokio::time::timeout(timeout + Duration::from_secs(1), attempt).await;
    let reason = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(e)) => crate::render::one_line(&e),
        Err(_) => format!("no answer within {timeout_seconds} s"),
    };
    eprintln!(
        "warning: the query service has not confirmed sequence {sequence} ({reason}); \
         reads may not see these articles yet: pass --min-sequence {sequence}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_metadata_and_pick_the_content_type() {
        let r = line_request(
            r#"{"url": "https://x.example/a", "sourceId": "s-1", "outlet": "X", "published_at": "2024-03-27T12:43:00+05:00", "html": "<p>hi</p>"}"#,
        )
        .unwrap();
        assert_eq!(r.content_type, ContentType::Html as i32);
        let meta = r.metadata.unwrap();
        assert_eq!(
            (meta.url.as_str(), meta.source_id.as_str(), meta.outlet.as_str()),
            ("https://x.example/a", "s-1", "X")
        );
        assert_eq!(meta.published_at.map(|t| t.seconds), Some(1_711_525_380));
        assert_eq!(meta.published_precision, DatePrecision::Second as i32);
        let day = line_request(r#"{"content": "text", "published_at": "2024-03-27"}"#).unwrap();
        assert_eq!(
            day.metadata.unwrap().published_precision,
            DatePrecision::Day as i32
        );
        assert_eq!(day.content_type, ContentType::Unspecified as i32);
    }

    #[test]
    fn bad_lines_say_why() {
        for (line, why) in [
            (r#"{"title": "no body"}"#, "no \"content\""),
            (r#"{"content": "a", "html": "b"}"#, "not both"),
            (
                r#"{"content": "a", "published_at": "2024-02-30"}"#,
                "published_at",
            ),
            (r#"{"content": "a", "bogus": 1}"#, "unknown field"),
            ("not json", "not a JSON article"),
        ] {
            let err = line_request(line).unwrap_err();
            assert!(err.contains(why), "{line}: {err}");
        }
    }

    #[test]
    fn directories_pick_article_files() {
        for (name, wanted) in [
            ("a.txt", true),
            ("b.HTML", true),
            ("c.jsonl.gz", true),
            ("d.txt.gz", true),
            ("notes.md", false),
            (".hidden.txt", false),
        ] {
            assert_eq!(wanted_in_directory(Path::new(name)), wanted, "{name}");
        }
    }
}
