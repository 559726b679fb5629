//! Request validation: each RPC's wire message becomes a plan the
//! [`Reader`](crate::reader::Reader) executes, or a [`QueryError`] naming the
//! offending fields. Pure and cheap, so handlers run it before anything
//! waits: a malformed request is refused at once, even when it also asks for
//! a sequence the replica has not reached.

use sectorwire_proto::query::{
    ArticleFilter, ArticleOrder, ArticleView, CountArticlesRequest, GetCountryPairRequest,
    ListArticlesRequest, SearchArticlesRequest, SectorTimelineRequest, TimeBucket,
};

use crate::error::QueryError;
use crate::filter::{self, Filter, Violation};
use crate::index::{self, ListOrder};
use crate::page_token::{self, PageToken};
use crate::view;

/// Largest page of `ListArticles`.
pub const MAX_LIST_PAGE: usize = 200;
/// Largest page of `SearchArticles`.
pub const MAX_SEARCH_PAGE: usize = 100;
/// Deepest hit `SearchArticles` pages to (ranked results past this are noise).
pub const MAX_SEARCH_OFFSET: usize = 10_000;
/// Most ids in one `BatchGetArticles`.
pub const MAX_BATCH_GET: usize = 1000;
/// Longest accepted search query, in bytes.
pub const MAX_QUERY_BYTES: usize = 2048;

/// A validated `ListArticles`.
#[derive(Debug, Clone)]
pub struct ListPlan {
    /// What to match.
    pub filter: Filter,
    /// Sort order.
    pub order: ListOrder,
    /// Sort key to continue after (from the page token).
    pub after: Option<u64>,
    /// Page size.
    pub size: usize,
    /// How much of each record to return.
    pub view: ArticleView,
    /// Binds page tokens to this request's parameters.
    pub digest: u64,
}

/// A validated `SearchArticles`.
#[derive(Debug, Clone)]
pub struct SearchPlan {
    /// The user's query text.
    pub query: String,
    /// What to match besides the text.
    pub filter: Filter,
    /// Ranked hits to skip (from the page token).
    pub offset: usize,
    /// Page size.
    pub size: usize,
    /// How much of each record to return.
    pub view: ArticleView,
    /// Binds page tokens to this request's parameters.
    pub digest: u64,
}

/// A validated `CountArticles`.
#[derive(Debug, Clone)]
pub struct CountPlan {
    /// What to count.
    pub filter: Filter,
    /// Facets to compute (lower-case names).
    pub facets: Vec<String>,
    /// Values per facet.
    pub limit: usize,
}

/// A validated `SectorTimeline`.
#[derive(Debug, Clone)]
pub struct TimelinePlan {
    /// What to count.
    pub filter: Filter,
    /// Bucket width.
    pub bucket: TimeBucket,
}

/// A validated `GetCountryPair`.
#[derive(Debug, Clone)]
pub struct PairPlan {
    /// Articles naming both countries (and the caller's other filters).
    pub filter: Filter,
    /// First country (ISO code, upper case, sorted).
    pub a: String,
    /// Second country.
    pub b: String,
    /// Timeline bucket width.
    pub bucket: TimeBucket,
    /// Articles to return.
    pub max_articles: usize,
    /// Evidence sentences per sector.
    pub max_evidence: usize,
}

/// A validated filter, or INVALID_ARGUMENT with its violations.
pub fn filter(filter: Option<&ArticleFilter>) -> Result<Filter, QueryError> {
    filter::validate(filter).map_err(|v| QueryError::invalid("invalid filter", v))
}

/// An article id from `raw` (an id or `articles/{id}`).
pub fn article_id(raw: &str, field: &str) -> Result<String, QueryError> {
    sectorwire_domain::id::parse_article_id(raw)
        .map(str::to_string)
        .map_err(|e| QueryError::field(field, e.to_string()))
}

/// Ids of a `BatchGetArticles`.
pub fn article_ids(raw: &[String]) -> Result<Vec<String>, QueryError> {
    if raw.len() > MAX_BATCH_GET {
        return Err(QueryError::field(
            "ids",
            format!("at most {MAX_BATCH_GET} ids per call"),
        ));
    }
    raw.iter()
        .enumerate()
        .map(|(i, id)| article_id(id, &format!("ids[{i}]")))
        .collect()
}

fn size(requested: i32, default: usize, max: usize, field: &str) -> Result<usize, QueryError> {
    match requested {
        n if n < 0 => Err(QueryError::field(field, "must not be negative")),
        0 => Ok(default),
        n => Ok((n as usize).min(max)),
    }
}

fn article_view(raw: i32) -> Result<ArticleView, QueryError> {
    view::parse(raw).map_err(|e| QueryError::field("view", e))
}

fn bucket(raw: i32) -> Result<TimeBucket, QueryError> {
    TimeBucket::try_from(raw).map_err(|_| QueryError::field("bucket", format!("unknown bucket {raw}")))
}

fn token(raw: &str, digest: u64) -> Result<Option<PageToken>, QueryError> {
    PageToken::decode(raw, digest).map_err(|e| QueryError::field("page_token", e.to_string()))
}

/// Validates a `ListArticles`.
pub fn list(r: &ListArticlesRequest) -> Result<ListPlan, QueryError> {
    let filter = filter(r.filter.as_ref())?;
    let size = size(r.page_size, 20, MAX_LIST_PAGE, "page_size")?;
    let order = match ArticleOrder::try_from(r.order_by) {
        Ok(ArticleOrder::Unspecified | ArticleOrder::PublishedDesc) => ListOrder::PublishedDesc,
        Ok(ArticleOrder::PublishedAsc) => ListOrder::PublishedAsc,
        Ok(ArticleOrder::IngestedDesc) => ListOrder::IngestedDesc,
        Err(_) => {
            return Err(QueryError::field(
                "order_by",
                format!("unknown order {}", r.order_by),
            ))
        }
    };
    let view = article_view(r.view)?;
    let digest = page_token::digest(&[&filter.stable_encoding(), order.stable_name()]);
    let after = token(&r.page_token, digest)?.map(|t| t.position);
    Ok(ListPlan {
        filter,
        order,
        after,
        size,
        view,
        digest,
    })
}

/// Validates a `SearchArticles`.
pub fn search(r: &SearchArticlesRequest) -> Result<SearchPlan, QueryError> {
    if r.query.trim().is_empty() {
        return Err(QueryError::field("query", "must not be empty"));
    }
    if r.query.len() > MAX_QUERY_BYTES {
        return Err(QueryError::field(
            "query",
            format!("at most {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let filter = filter(r.filter.as_ref())?;
    let size = size(r.page_size, 10, MAX_SEARCH_PAGE, "page_size")?;
    let view = article_view(r.view)?;
    let digest = page_token::digest(&[&r.query, &filter.stable_encoding()]);
    let offset = token(&r.page_token, digest)?.map_or(0, |t| t.position as usize);
    if offset > MAX_SEARCH_OFFSET {
        return Err(QueryError::field(
            "page_token",
            format!("results past {MAX_SEARCH_OFFSET} are not served"),
        ));
    }
    Ok(SearchPlan {
        query: r.query.clone(),
        filter,
        offset,
        size,
        view,
        digest,
    })
}

/// Validates a `CountArticles`; no facets named means every facet.
pub fn count(r: &CountArticlesRequest) -> Result<CountPlan, QueryError> {
    let filter = filter(r.filter.as_ref())?;
    let limit = size(r.limit, 10, 1000, "limit")?;
    let mut facets = Vec::new();
    for (i, name) in r.facets.iter().enumerate() {
        let name = name.trim().to_ascii_lowercase();
        if !index::is_facet(&name) {
            return Err(QueryError::field(
                &format!("facets[{i}]"),
                format!("unknown facet; use one of {}", index::FACETS.join(", ")),
            ));
        }
        facets.push(name);
    }
    if facets.is_empty() {
        facets = index::FACETS.iter().map(|f| f.to_string()).collect();
    }
    Ok(CountPlan {
        filter,
        facets,
        limit,
    })
}

/// Validates a `SectorTimeline`.
pub fn timeline(r: &SectorTimelineRequest) -> Result<TimelinePlan, QueryError> {
    Ok(TimelinePlan {
        filter: filter(r.filter.as_ref())?,
        bucket: bucket(r.bucket)?,
    })
}

/// Validates a `GetCountryPair`: the pair joins the caller's filter.
pub fn country_pair(r: &GetCountryPairRequest) -> Result<PairPlan, QueryError> {
    let mut wire_filter = r.filter.clone().unwrap_or_default();
    if !wire_filter.country_pair.is_empty() {
        return Err(QueryError::field(
            "filter.country_pair",
            "must be empty: the pair is country_a and country_b",
        ));
    }
    wire_filter.country_pair = vec![r.country_a.clone(), r.country_b.clone()];
    let filter = filter::validate(Some(&wire_filter)).map_err(|violations| {
        let renamed = violations
            .into_iter()
            .map(|v| match v.field.as_str() {
                "filter.country_pair" => Violation::new(
                    "country_a",
                    "country_a and country_b must be two different ISO 3166-1 alpha-2 codes",
                ),
                _ => v,
            })
            .collect();
        QueryError::invalid("invalid request", renamed)
    })?;
    let key = filter.country_pair.clone().unwrap_or_default();
    let (a, b) = key.split_once('-').unwrap_or_default();
    let (a, b) = (a.to_string(), b.to_string());
    Ok(PairPlan {
        bucket: bucket(r.bucket)?,
        max_articles: size(r.max_articles, 10, 100, "max_articles")?,
        max_evidence: size(r.max_evidence, 3, 20, "max_evidence")?,
        filter,
        a,
        b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_are_bound_to_their_request() {
        let mut request = ListArticlesRequest::default();
        let digest = list(&request).map(|p| p.digest).ok();
        request.order_by = ArticleOrder::PublishedAsc as i32;
        assert_ne!(list(&request).map(|p| p.digest).ok(), digest);
    }

    #[test]
    fn unknown_facets_and_negative_sizes_are_refused() {
        let r = CountArticlesRequest {
            facets: vec!["colour".into()],
            ..Default::default()
        };
        assert!(matches!(count(&r), Err(QueryError::Invalid { .. })));
        let r = ListArticlesRequest {
            page_size: -1,
            ..Default::default()
        };
        assert!(matches!(list(&r), Err(QueryError::Invalid { .. })));
    }
}
