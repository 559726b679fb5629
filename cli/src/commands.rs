//! The client subcommands: each builds a request, calls one RPC and prints
//! the answer, as text or proto3 JSON.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use sectorwire_proto::ingest::{
    ingest_articles_response, ingest_service_client::IngestServiceClient, ArticleMetadata, ContentType,
    DeleteArticleRequest, GetIngestStatsRequest, IngestArticleRequest,
};
use sectorwire_proto::json;
use sectorwire_proto::query::{
    query_service_client::QueryServiceClient, ArticleFilter, Consistency, CountArticlesRequest,
    GetArticleRequest, GetQueryStatsRequest, ListArticlesRequest, ListSectorsRequest, SearchArticlesRequest,
    SectorTimelineRequest, TimeBucket,
};
use tonic::transport::Channel;

use crate::render;
use crate::{Endpoints, FilterArgs};

async fn channel(addr: &str) -> anyhow::Result<Channel> {
    let uri = sectorwire_runtime::endpoint_uri(addr);
    tonic::transport::Endpoint::from_shared(uri.clone())
        .with_context(|| format!("invalid address {addr}"))?
        .connect()
        .await
        .with_context(|| format!("cannot reach {uri}; is `sectorwire up` running?"))
}

async fn ingest_client(e: &Endpoints) -> anyhow::Result<IngestServiceClient<Channel>> {
    Ok(IngestServiceClient::new(channel(&e.ingest_addr).await?).max_encoding_message_size(32 * 1024 * 1024))
}

async fn query_client(e: &Endpoints) -> anyhow::Result<QueryServiceClient<Channel>> {
    Ok(QueryServiceClient::new(channel(&e.query_addr).await?).max_decoding_message_size(64 * 1024 * 1024))
}

fn content_type(path: &Path) -> ContentType {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html" | "htm" | "xhtml") => ContentType::Html,
        Some("txt" | "text") => ContentType::Text,
        _ => ContentType::Unspecified,
    }
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string(value)?)?;
    Ok(())
}

/// `sectorwire ingest FILE...`: streams every file through `IngestArticles`
/// (one connection, results in order), so large batches are fast.
pub async fn ingest(e: &Endpoints, files: &[PathBuf], as_json: bool) -> anyhow::Result<()> {
    let mut requests = Vec::with_capacity(files.len());
    for path in files {
        let content = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        requests.push(IngestArticleRequest {
            content,
            content_type: content_type(path) as i32,
            metadata: Some(ArticleMetadata::default()),
            return_article: false,
        });
    }
    let mut client = ingest_client(e).await?;
    let progress = if !as_json && std::io::stderr().is_terminal() && files.len() > 1 {
        let bar = ProgressBar::new(files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} articles {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut results = client
        .ingest_articles(tokio_stream::iter(requests))
        .await
        .context("IngestArticles")?
        .into_inner();
    let mut failures = 0usize;
    while let Some(item) = results.message().await.context("IngestArticles stream")? {
        let file = usize::try_from(item.index)
            .ok()
            .and_then(|i| files.get(i))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        progress.inc(1);
        match item.result {
            Some(ingest_articles_response::Result::Ok(ok)) => {
                if as_json {
                    print_json(&serde_json::json!({
                        "file": file, "id": ok.id, "sequence": ok.sequence, "created": ok.created,
                    }))?;
                } else {
                    progress.suspend(|| outln!("{}\t{file}", ok.id))?;
                }
            }
            Some(ingest_articles_response::Result::Error(err)) => {
                failures += 1;
                let fields: Vec<String> = err
                    .field_violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect();
                if as_json {
                    print_json(&serde_json::json!({
                        "file": file, "error": err.message, "code": err.code, "fieldViolations": fields,
                    }))?;
                } else {
                    progress.suspend(|| eprintln!("error\t{file}\t{}", err.message));
                }
            }
            None => {}
        }
    }
    progress.finish_and_clear();
    if failures > 0 {
        bail!("{failures} of {} files were not ingested", files.len());
    }
    Ok(())
}

/// `sectorwire delete ID`.
pub async fn delete(e: &Endpoints, id: &str) -> anyhow::Result<()> {
    let reply = ingest_client(e)
        .await?
        .delete_article(DeleteArticleRequest { id: id.to_string() })
        .await?
        .into_inner();
    if reply.deleted {
        outln!("deleted {id} at sequence {}", reply.sequence)?;
        Ok(())
    } else {
        bail!("article {id} not found")
    }
}

/// `sectorwire get ID`.
pub async fn get(e: &Endpoints, id: &str, as_json: bool, min_sequence: u64) -> anyhow::Result<()> {
    let reply = query_client(e)
        .await?
        .get_article(GetArticleRequest {
            id: id.to_string(),
            consistency: Some(Consistency { min_sequence }),
        })
        .await?
        .into_inner();
    let article = reply.article.unwrap_or_default();
    if as_json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json::article_to_json(&article)?)?
        )?;
    } else {
        outln!("{}", render::article(&article))?;
    }
    Ok(())
}

fn date_seconds(value: &str, flag: &str) -> anyhow::Result<i64> {
    let parts: Vec<&str> = value.split('-').collect();
    let parsed = match parts.as_slice() {
        [y, m, d] => y
            .parse::<i64>()
            .ok()
            .zip(m.parse::<u32>().ok())
            .zip(d.parse::<u32>().ok()),
        _ => None,
    };
    let Some(((y, m), d)) = parsed.filter(|((_, m), d)| (1..=12).contains(m) && (1..=31).contains(d)) else {
        bail!("{flag} must be a date like 2024-03-27, not {value:?}");
    };
    Ok(sectorwire_query::timeline::days_from_civil(y, m, d) * 86_400)
}

fn filter(f: &FilterArgs) -> anyhow::Result<ArticleFilter> {
    Ok(ArticleFilter {
        sectors: f.sectors.clone(),
        countries: f.countries.clone(),
        country_pair: f.pair.clone(),
        entities: f.entities.clone(),
        outlets: f.outlets.clone(),
        authors: f.authors.clone(),
        languages: Vec::new(),
        published_after: f
            .since
            .as_deref()
            .map(|s| date_seconds(s, "--since").map(sectorwire_proto::timestamp))
            .transpose()?,
        published_before: f
            .until
            .as_deref()
            .map(|s| date_seconds(s, "--until").map(sectorwire_proto::timestamp))
            .transpose()?,
    })
}

/// `sectorwire list`: pages through `ListArticles` up to `limit`.
pub async fn list(e: &Endpoints, f: &FilterArgs, limit: usize, as_json: bool) -> anyhow::Result<()> {
    let mut client = query_client(e).await?;
    let filter = filter(f)?;
    let mut page_token = String::new();
    let mut printed = 0usize;
    loop {
        let reply = client
            .list_articles(ListArticlesRequest {
                filter: Some(filter.clone()),
                page_size: i32::try_from(limit.saturating_sub(printed).min(200)).unwrap_or(200),
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        for article in &reply.articles {
            if as_json {
                print_json(&json::article_to_json(article)?)?;
            } else {
                outln!("{}", render::article_line(article))?;
            }
            printed += 1;
        }
        if reply.next_page_token.is_empty() || printed >= limit {
            return Ok(());
        }
        page_token = reply.next_page_token;
    }
}

/// `sectorwire search QUERY`.
pub async fn search(
    e: &Endpoints,
    query: &str,
    f: &FilterArgs,
    limit: usize,
    as_json: bool,
) -> anyhow::Result<()> {
    let reply = query_client(e)
        .await?
        .search_articles(SearchArticlesRequest {
            query: query.to_string(),
            filter: Some(filter(f)?),
            page_size: i32::try_from(limit.min(100)).unwrap_or(100),
            ..Default::default()
        })
        .await?
        .into_inner();
    if as_json {
        for hit in &reply.hits {
            print_json(&json::to_json("sectorwire.query.v1.SearchHit", hit)?)?;
        }
        return Ok(());
    }
    outln!("{} matching articles", reply.total_hits)?;
    for hit in &reply.hits {
        let article = hit.article.clone().unwrap_or_default();
        outln!("{:>6.2}  {}", hit.score, render::article_line(&article))?;
        outln!("        {}", hit.snippet.replace('\n', " "))?;
    }
    Ok(())
}

/// `sectorwire count`.
pub async fn count(e: &Endpoints, f: &FilterArgs, facets: &[String], as_json: bool) -> anyhow::Result<()> {
    let reply = query_client(e)
        .await?
        .count_articles(CountArticlesRequest {
            filter: Some(filter(f)?),
            facets: facets.to_vec(),
            limit: 10,
            ..Default::default()
        })
        .await?
        .into_inner();
    if as_json {
        return print_json(&json::to_json(
            "sectorwire.query.v1.CountArticlesResponse",
            &reply,
        )?);
    }
    outln!("{} articles", reply.total)?;
    for facet in &reply.facets {
        outln!("{}:", facet.name)?;
        for c in &facet.counts {
            outln!("  {:>6}  {}", c.count, c.value)?;
        }
    }
    Ok(())
}

/// `sectorwire timeline`.
pub async fn timeline(e: &Endpoints, f: &FilterArgs, bucket: &str, as_json: bool) -> anyhow::Result<()> {
    let bucket = match bucket {
        "day" => TimeBucket::Day,
        "week" => TimeBucket::Week,
        "month" => TimeBucket::Month,
        other => bail!("--bucket must be day, week or month, not {other:?}"),
    };
    let reply = query_client(e)
        .await?
        .sector_timeline(SectorTimelineRequest {
            filter: Some(filter(f)?),
            bucket: bucket as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    if as_json {
        return print_json(&json::to_json(
            "sectorwire.query.v1.SectorTimelineResponse",
            &reply,
        )?);
    }
    for series in &reply.series {
        outln!("{}:", series.sector)?;
        for p in &series.points {
            outln!("  {}  {}", render::date(p.start.as_ref()), p.count)?;
        }
    }
    Ok(())
}

/// `sectorwire sectors`.
pub async fn sectors(e: &Endpoints, as_json: bool) -> anyhow::Result<()> {
    let reply = query_client(e)
        .await?
        .list_sectors(ListSectorsRequest {})
        .await?
        .into_inner();
    if as_json {
        return print_json(&json::to_json("sectorwire.query.v1.ListSectorsResponse", &reply)?);
    }
    for s in &reply.sectors {
        outln!(
            "{:<12} {:<18} {:<28} {}",
            s.slug,
            s.iptc_media_topic,
            s.label,
            s.description
        )?;
    }
    Ok(())
}

/// `sectorwire stats`.
pub async fn stats(e: &Endpoints) -> anyhow::Result<()> {
    let ingest = ingest_client(e)
        .await?
        .get_ingest_stats(GetIngestStatsRequest {})
        .await?
        .into_inner();
    outln!(
        "ingest: {} articles, log head {}, {} bytes on disk, {} subscribers, {} writes in {} flushes",
        ingest.articles,
        ingest.log_head,
        ingest.disk_bytes,
        ingest.subscribers,
        ingest.writes,
        ingest.flushes
    )?;
    let query = query_client(e)
        .await?
        .get_query_stats(GetQueryStatsRequest {})
        .await?
        .into_inner();
    outln!(
        "query:  {} articles, applied {}, head {}, lag {}, {}",
        query.articles,
        query.applied_sequence,
        query.head_sequence,
        query.lag,
        if query.connected {
            "following"
        } else {
            "not connected"
        }
    )?;
    // The replica's own lag counts only what it has heard of; cut off from
    // ingest it hears nothing, so also show how far behind the log it is.
    outln!(
        "query is {} behind the ingest log head",
        ingest.log_head.saturating_sub(query.applied_sequence)
    )?;
    Ok(())
}
