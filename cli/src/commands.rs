//! The read subcommands (and `delete`): each builds a request, calls the
//! query service and prints the answer, as text or proto3 JSON.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{bail, Context};
use sectorwire_proto::ingest::{
    ingest_service_client::IngestServiceClient, DeleteArticleRequest, GetIngestStatsRequest,
};
use sectorwire_proto::json;
use sectorwire_proto::query::{
    query_service_client::QueryServiceClient, ArticleFilter, ArticleView, Consistency, CountArticlesRequest,
    GetArticleRequest, GetCountryPairRequest, GetQueryStatsRequest, ListArticlesRequest, ListSectorsRequest,
    SearchArticlesRequest, SectorTimelineRequest, TimeBucket,
};
use sectorwire_runtime::client::AuthChannel;

use crate::{chart, exit, render};
use crate::{ChartArgs, FilterArgs, Global, ListFilter, ReadArgs};

/// How long connecting may take: a service that is down should fail a
/// script quickly, not hang it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A channel to `addr` with the TLS files and token of the command line.
pub async fn channel(g: &Global, addr: &str) -> anyhow::Result<AuthChannel> {
    let security = g.security()?;
    let uri = security.uri(addr);
    let endpoint = security.endpoint(addr)?;
    let channel = endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("cannot reach {uri}; is `sectorwire up` running?"))?;
    Ok(security.authorize(channel))
}

pub async fn ingest_client(g: &Global) -> anyhow::Result<IngestServiceClient<AuthChannel>> {
    Ok(IngestServiceClient::new(channel(g, &g.ingest_addr).await?)
        .max_encoding_message_size(32 * 1024 * 1024))
}

pub async fn query_client(g: &Global) -> anyhow::Result<QueryServiceClient<AuthChannel>> {
    Ok(QueryServiceClient::new(channel(g, &g.query_addr).await?).max_decoding_message_size(64 * 1024 * 1024))
}

fn consistency(read: ReadArgs) -> Option<Consistency> {
    Some(Consistency {
        min_sequence: read.min_sequence,
    })
}

pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string(value)?)?;
    Ok(())
}

/// Whether stdout is a terminal: charts and bars there, plain lines on a pipe.
fn terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// `YYYY-MM-DD` → seconds at 00:00 UTC. Rejects dates that do not exist
/// (2024-02-30), which plain range checks on the parts would let through.
pub fn parse_day(value: &str) -> Result<i64, String> {
    let err = || format!("{value:?} is not a date like 2024-03-27");
    let mut parts = value.trim().splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(err());
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return Err(err());
    };
    if !(1..=12).contains(&m) || d == 0 {
        return Err(err());
    }
    let days = sectorwire_query::timeline::days_from_civil(y, m, d);
    if sectorwire_query::timeline::civil_from_days(days) != (y, m, d) {
        return Err(format!("{value} does not exist"));
    }
    Ok(days * 86_400)
}

fn filter(f: &FilterArgs, pair: &[String]) -> ArticleFilter {
    ArticleFilter {
        sectors: f.sectors.clone(),
        countries: f.countries.clone(),
        country_pair: pair.to_vec(),
        entities: f.entities.clone(),
        outlets: f.outlets.clone(),
        authors: f.authors.clone(),
        languages: Vec::new(),
        published_after: f.since.map(sectorwire_proto::timestamp),
        published_before: f.until.map(sectorwire_proto::timestamp),
    }
}

fn list_filter(f: &ListFilter) -> ArticleFilter {
    filter(&f.filter, &f.pair)
}

fn bucket(name: &str) -> TimeBucket {
    match name {
        "day" => TimeBucket::Day,
        "week" => TimeBucket::Week,
        _ => TimeBucket::Month,
    }
}

/// `sectorwire delete ID`.
pub async fn delete(g: &Global, id: &str) -> anyhow::Result<()> {
    let reply = ingest_client(g)
        .await?
        .delete_article(DeleteArticleRequest { id: id.to_string() })
        .await
        .context("DeleteArticle")?
        .into_inner();
    if !reply.deleted {
        bail!("article {id} not found");
    }
    if g.json {
        print_json(&serde_json::json!({"id": id, "deleted": true, "sequence": reply.sequence}))
    } else {
        outln!("deleted {id} at sequence {}", reply.sequence)?;
        Ok(())
    }
}

/// `sectorwire backup NAME`: an online snapshot of the ingest store, written
/// on the ingest host under its `--backup-root`.
pub async fn backup(g: &Global, name: &str) -> anyhow::Result<()> {
    use sectorwire_proto::ingest::{
        ingest_admin_service_client::IngestAdminServiceClient, CreateBackupRequest,
    };
    let reply = IngestAdminServiceClient::new(channel(g, &g.ingest_addr).await?)
        .create_backup(CreateBackupRequest {
            name: name.to_string(),
        })
        .await
        .context("CreateBackup")?
        .into_inner();
    if g.json {
        print_json(&serde_json::json!({
            "path": reply.path,
            "log_id": reply.log_id,
            "log_head": reply.log_head,
            "articles": reply.articles,
        }))
    } else {
        outln!(
            "backup written to {} on the ingest host: log {} up to sequence {}, {} articles",
            reply.path,
            reply.log_id,
            reply.log_head,
            reply.articles
        )?;
        Ok(())
    }
}

/// `sectorwire get ID`.
pub async fn get(g: &Global, id: &str, read: ReadArgs) -> anyhow::Result<()> {
    let reply = query_client(g)
        .await?
        .get_article(GetArticleRequest {
            id: id.to_string(),
            consistency: consistency(read),
        })
        .await
        .with_context(|| format!("getting article {id}"))?
        .into_inner();
    let article = reply.article.unwrap_or_default();
    if g.json {
        print_json(&json::article_to_json(&article)?)?;
    } else {
        outln!("{}", render::article(&article))?;
    }
    Ok(())
}

/// `sectorwire list`: pages through `ListArticles` up to `limit`.
pub async fn list(g: &Global, f: &ListFilter, limit: usize, read: ReadArgs) -> anyhow::Result<()> {
    let mut client = query_client(g).await?;
    let filter = list_filter(f);
    let mut page_token = String::new();
    let mut printed = 0usize;
    loop {
        let reply = client
            .list_articles(ListArticlesRequest {
                filter: Some(filter.clone()),
                page_size: i32::try_from(limit.saturating_sub(printed).min(200)).unwrap_or(200),
                page_token: page_token.clone(),
                consistency: consistency(read),
                // The line shows title, date and tags; bodies would only cost.
                view: if g.json {
                    ArticleView::Full
                } else {
                    ArticleView::Basic
                } as i32,
                ..Default::default()
            })
            .await
            .context("ListArticles")?
            .into_inner();
        for article in &reply.articles {
            if g.json {
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

/// `sectorwire search QUERY`: pages through hits up to `limit`.
pub async fn search(
    g: &Global,
    query: &str,
    f: &ListFilter,
    limit: usize,
    read: ReadArgs,
) -> anyhow::Result<()> {
    let mut client = query_client(g).await?;
    let filter = list_filter(f);
    let mut page_token = String::new();
    let mut printed = 0usize;
    loop {
        let reply = client
            .search_articles(SearchArticlesRequest {
                query: query.to_string(),
                filter: Some(filter.clone()),
                page_size: i32::try_from(limit.saturating_sub(printed).min(100)).unwrap_or(100),
                page_token: page_token.clone(),
                consistency: consistency(read),
                view: if g.json {
                    ArticleView::Full
                } else {
                    ArticleView::Basic
                } as i32,
            })
            .await
            .context("SearchArticles")?
            .into_inner();
        if printed == 0 && !g.json {
            outln!("{} matching articles", reply.total_hits)?;
        }
        for hit in &reply.hits {
            if g.json {
                print_json(&json::to_json("sectorwire.query.v1.SearchHit", hit)?)?;
            } else {
                let article = hit.article.clone().unwrap_or_default();
                outln!("{:>6.2}  {}", hit.score, render::article_line(&article))?;
                outln!("        {}", render::snippet(&hit.snippet))?;
            }
            printed += 1;
        }
        if reply.next_page_token.is_empty() || printed >= limit {
            return Ok(());
        }
        page_token = reply.next_page_token;
    }
}

/// Display names for facet values: the index keeps lower-cased keys
/// (`the daily star`, `pk`), so one matching article per value supplies the
/// name as written (`The Daily Star`, `Pakistan`), and sectors take their
/// taxonomy labels.
async fn display_names(
    client: &mut QueryServiceClient<AuthChannel>,
    facet: &str,
    values: &[String],
    base: &ArticleFilter,
    read: ReadArgs,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut names = BTreeMap::new();
    if facet == "sector" {
        let sectors = client
            .list_sectors(ListSectorsRequest {})
            .await
            .context("ListSectors")?
            .into_inner();
        for s in sectors.sectors {
            names.insert(s.slug, s.label);
        }
        return Ok(names);
    }
    if facet == "language" {
        return Ok(names);
    }
    for value in values {
        let mut filter = base.clone();
        match facet {
            "country" => filter.countries = vec![value.clone()],
            "entity" => filter.entities = vec![value.clone()],
            "outlet" => filter.outlets = vec![value.clone()],
            "author" => filter.authors = vec![value.clone()],
            _ => continue,
        }
        let page = client
            .list_articles(ListArticlesRequest {
                filter: Some(filter),
                page_size: 1,
                consistency: consistency(read),
                view: ArticleView::Basic as i32,
                ..Default::default()
            })
            .await
            .context("ListArticles (facet names)")?
            .into_inner();
        let Some(article) = page.articles.first() else {
            continue;
        };
        let found = match facet {
            "country" | "entity" => article
                .entities
                .iter()
                .find(|e| e.key.eq_ignore_ascii_case(value) || e.key.to_lowercase() == *value)
                .map(|e| e.name.clone()),
            "outlet" => Some(article.outlet.clone()),
            "author" => article
                .authors
                .iter()
                .find(|a| a.to_lowercase() == *value)
                .cloned(),
            _ => None,
        };
        if let Some(name) = found.filter(|n| !n.is_empty()) {
            names.insert(value.clone(), name);
        }
    }
    Ok(names)
}

/// `sectorwire count`.
pub async fn count(
    g: &Global,
    f: &ListFilter,
    facets: &[String],
    limit: usize,
    read: ReadArgs,
) -> anyhow::Result<()> {
    let mut client = query_client(g).await?;
    let filter = list_filter(f);
    let reply = client
        .count_articles(CountArticlesRequest {
            filter: Some(filter.clone()),
            facets: facets.to_vec(),
            limit: i32::try_from(limit.min(1000)).unwrap_or(1000),
            consistency: consistency(read),
        })
        .await
        .context("CountArticles")?
        .into_inner();
    if g.json {
        return print_json(&json::to_json(
            "sectorwire.query.v1.CountArticlesResponse",
            &reply,
        )?);
    }
    outln!("{} articles", reply.total)?;
    for facet in &reply.facets {
        let values: Vec<String> = facet.counts.iter().map(|c| c.value.clone()).collect();
        let names = display_names(&mut client, &facet.name, &values, &filter, read).await?;
        outln!("{}:", facet.name)?;
        for c in &facet.counts {
            match names.get(&c.value) {
                // The key in brackets only when it is more than a spelling
                // of the name: `Pakistan (PK)`, `Energy (energy)`.
                Some(name) if name.to_lowercase() != c.value.to_lowercase() => {
                    outln!("  {:>6}  {name} ({})", c.count, c.value)?
                }
                Some(name) => outln!("  {:>6}  {name}", c.count)?,
                _ => outln!("  {:>6}  {}", c.count, c.value)?,
            }
        }
    }
    Ok(())
}

/// `sectorwire timeline`.
pub async fn timeline(
    g: &Global,
    f: &ListFilter,
    chart_args: &ChartArgs,
    read: ReadArgs,
) -> anyhow::Result<()> {
    let bucket = bucket(&chart_args.bucket);
    let reply = query_client(g)
        .await?
        .sector_timeline(SectorTimelineRequest {
            filter: Some(list_filter(f)),
            bucket: bucket as i32,
            consistency: consistency(read),
        })
        .await
        .context("SectorTimeline")?
        .into_inner();
    if let Some(path) = &chart_args.svg {
        chart::write_svg(path, "Articles per sector", &reply.series, bucket)?;
    }
    if g.json {
        return print_json(&json::to_json(
            "sectorwire.query.v1.SectorTimelineResponse",
            &reply,
        )?);
    }
    if reply.series.is_empty() {
        outln!("no dated articles match")?;
    } else if terminal() {
        outln!("{}", render::sparklines(&reply.series, bucket))?;
    } else {
        outln!("{}", render::series_lines(&reply.series))?;
    }
    if let Some(path) = &chart_args.svg {
        eprintln!("chart written to {}", path.display());
    }
    Ok(())
}

/// `sectorwire pair A B`.
pub async fn pair(
    g: &Global,
    [a, b]: [&String; 2],
    f: &FilterArgs,
    evidence: usize,
    chart_args: &ChartArgs,
    read: ReadArgs,
) -> anyhow::Result<()> {
    let bucket = bucket(&chart_args.bucket);
    let reply = query_client(g)
        .await?
        .get_country_pair(GetCountryPairRequest {
            country_a: a.clone(),
            country_b: b.clone(),
            filter: Some(filter(f, &[])),
            bucket: bucket as i32,
            max_articles: 10,
            max_evidence: i32::try_from(evidence).unwrap_or(3),
            consistency: consistency(read),
        })
        .await
        .with_context(|| format!("GetCountryPair {a} {b}"))?
        .into_inner();
    if let Some(path) = &chart_args.svg {
        let title = format!("{} and {}: articles per sector", reply.a, reply.b);
        chart::write_svg(path, &title, &reply.timeline, bucket)?;
    }
    if g.json {
        return print_json(&json::to_json(
            "sectorwire.query.v1.GetCountryPairResponse",
            &reply,
        )?);
    }
    outln!("{}", render::pair(&reply, bucket, terminal()))?;
    if let Some(path) = &chart_args.svg {
        eprintln!("chart written to {}", path.display());
    }
    Ok(())
}

/// `sectorwire sectors`.
pub async fn sectors(g: &Global) -> anyhow::Result<()> {
    let reply = query_client(g)
        .await?
        .list_sectors(ListSectorsRequest {})
        .await
        .context("ListSectors")?
        .into_inner();
    if g.json {
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

/// `sectorwire stats`: each service that answers is shown; one that does
/// not is marked with the reason, and the exit status says so.
pub async fn stats(g: &Global, read: ReadArgs) -> anyhow::Result<i32> {
    let ingest = async {
        ingest_client(g)
            .await?
            .get_ingest_stats(GetIngestStatsRequest {})
            .await
            .context("GetIngestStats")
            .map(tonic::Response::into_inner)
    }
    .await;
    let query = async {
        let mut client = query_client(g).await?;
        if read.min_sequence > 0 {
            // Waits (bounded by the service) for the sequence, like any read.
            client
                .list_articles(ListArticlesRequest {
                    page_size: 1,
                    consistency: consistency(read),
                    view: ArticleView::Basic as i32,
                    ..Default::default()
                })
                .await
                .context("waiting for --min-sequence")?;
        }
        client
            .get_query_stats(GetQueryStatsRequest {})
            .await
            .context("GetQueryStats")
            .map(tonic::Response::into_inner)
    }
    .await;
    let failed = usize::from(ingest.is_err()) + usize::from(query.is_err());
    if g.json {
        fn part<T: prost::Message>(name: &str, r: &anyhow::Result<T>) -> anyhow::Result<serde_json::Value> {
            Ok(match r {
                Ok(stats) => json::to_json(name, stats)?,
                Err(e) => serde_json::json!({"unreachable": render::one_line(e)}),
            })
        }
        print_json(&serde_json::json!({
            "ingest": part("sectorwire.ingest.v1.IngestStats", &ingest)?,
            "query": part("sectorwire.query.v1.QueryStats", &query)?,
        }))?;
    } else {
        match &ingest {
            Ok(s) => outln!(
                "ingest: {} articles, log head {}, {} bytes on disk, {} subscribers, {} writes in {} flushes, log id {}",
                s.articles,
                s.log_head,
                s.disk_bytes,
                s.subscribers,
                s.writes,
                s.flushes,
                s.log_id
            )?,
            Err(e) => outln!("ingest: unreachable ({})", render::one_line(e))?,
        }
        match &query {
            Ok(s) => {
                outln!(
                    "query:  {} articles, applied {}, head {}, lag {}, {}, ingest last heard {}, log id {}",
                    s.articles,
                    s.applied_sequence,
                    s.head_sequence,
                    s.lag,
                    if s.connected { "following" } else { "not connected" },
                    s.millis_since_ingest_heard
                        .map_or_else(|| "never".to_string(), |ms| format!("{ms} ms ago")),
                    if s.log_id.is_empty() {
                        "(none yet)"
                    } else {
                        &s.log_id
                    }
                )?;
                if !s.stopped_reason.is_empty() {
                    outln!("query STOPPED applying the change log: {}", s.stopped_reason)?;
                }
                if !s.follow_error.is_empty() {
                    outln!("query follow error: {}", s.follow_error)?;
                }
            }
            Err(e) => outln!("query:  unreachable ({})", render::one_line(e))?,
        }
        // The replica's own lag counts only what it has heard of; cut off
        // from ingest it hears nothing, so also show how far behind the log
        // it is.
        if let (Ok(i), Ok(q)) = (&ingest, &query) {
            outln!(
                "query is {} behind the ingest log head",
                i.log_head.saturating_sub(q.applied_sequence)
            )?;
        }
    }
    Ok(match failed {
        0 => exit::OK,
        1 => exit::PARTIAL,
        _ => exit::FAILED,
    })
}
