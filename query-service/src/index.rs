//! The tantivy side of the read model: full text (BM25 over title and body,
//! title boosted), exact filters, ordering keys and aggregations for facets
//! and timelines. Records themselves live in sled ([`crate::model`]); the
//! index stores only the id, so each article's bytes are kept once.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;

use sectorwire_proto::article::{Article, EntityKind};
use serde_json::json;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::AggregationCollector;
use tantivy::collector::{Count, TopDocs};
use tantivy::indexer::LogMergePolicy;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED,
    STORED, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

use crate::filter::{pair_key, Filter};
use crate::snippet::Excerpts;

/// Errors of the search index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// tantivy failed.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The index directory could not be opened.
    #[error("search index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    /// The index directory could not be created.
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    /// The user's query text does not parse.
    #[error("{0}")]
    Query(#[source] tantivy::query::QueryParserError),
    /// Aggregation request or output had an unexpected shape.
    #[error("aggregation result: {0}")]
    Aggregation(#[source] serde_json::Error),
}

/// Field handles, looked up once.
#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    title: Field,
    body: Field,
    sector: Field,
    country: Field,
    pair: Field,
    entity: Field,
    outlet: Field,
    author: Field,
    language: Field,
    published: Field,
    order_key: Field,
    seq: Field,
}

const KEYWORD_FIELDS: [&str; 7] = [
    "sector", "country", "pair", "entity", "outlet", "author", "language",
];

fn schema() -> Schema {
    let mut b = Schema::builder();
    b.add_text_field("id", STRING | STORED);
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    b.add_text_field("title", text.clone());
    b.add_text_field("body", text);
    for name in KEYWORD_FIELDS {
        b.add_text_field(name, STRING | FAST);
    }
    b.add_i64_field("published", NumericOptions::default() | INDEXED | FAST);
    b.add_u64_field("order_key", NumericOptions::default() | INDEXED | FAST);
    b.add_u64_field("seq", NumericOptions::default() | INDEXED | FAST);
    b.build()
}

/// Sort key for "newest published first": publication seconds in the high
/// bits, the sequence as tie-break in the low 31 bits, so keyset pagination
/// never skips or repeats equal dates. Undated articles get 0: a reader of
/// "newest first" wants dated news on top, not whatever was ingested last.
pub fn order_key(article: &Article) -> u64 {
    let seconds = article.published_at.map(|t| t.seconds.max(0) as u64).unwrap_or(0);
    (seconds << 31) | (article.sequence & 0x7FFF_FFFF)
}

/// The facets the index can count, in the order `CountArticles` returns them
/// when none are named.
pub const FACETS: [&str; 6] = ["sector", "country", "entity", "outlet", "author", "language"];

/// A facet the index can count.
pub fn is_facet(name: &str) -> bool {
    FACETS.contains(&name)
}

/// Read and write access to the tantivy index.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl SearchIndex {
    /// Opens or creates the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir).map_err(IndexError::Io)?;
        let directory = tantivy::directory::MmapDirectory::open(dir)?;
        let index = Index::open_or_create(directory, schema())?;
        let s = index.schema();
        let field = |name: &str| s.get_field(name);
        let fields = Fields {
            id: field("id")?,
            title: field("title")?,
            body: field("body")?,
            sector: field("sector")?,
            country: field("country")?,
            pair: field("pair")?,
            entity: field("entity")?,
            outlet: field("outlet")?,
            author: field("author")?,
            language: field("language")?,
            published: field("published")?,
            order_key: field("order_key")?,
            seq: field("seq")?,
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
        })
    }

    /// A writer for the follower (tantivy allows one per index).
    ///
    /// Tuned for many small commits (the follower commits every batch, often
    /// a handful of articles): the smallest arena tantivy allows, because a
    /// fresh segment writer initialises its whole arena on every commit; and
    /// a merge policy whose bottom layer holds only tiny segments, so merging
    /// them does not drag large segments along. With tantivy's default (all
    /// segments under 10,000 docs in one layer) steady ingest kept rewriting
    /// the large segments and merges took most of the replica's CPU.
    pub fn writer(&self) -> Result<IndexWriter, IndexError> {
        let writer: IndexWriter = self.index.writer_with_num_threads(1, 16_000_000)?;
        let mut policy = LogMergePolicy::default();
        policy.set_min_layer_size(64);
        writer.set_merge_policy(Box::new(policy));
        Ok(writer)
    }

    /// The change-log sequence stored with the last commit.
    pub fn committed_sequence(&self) -> Result<u64, IndexError> {
        let metas = self.index.load_metas()?;
        Ok(metas.payload.and_then(|p| p.parse().ok()).unwrap_or(0))
    }

    /// Live documents.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Stages removal of `id` (and any older version of it).
    pub fn stage_delete(&self, writer: &IndexWriter, id: &str) {
        writer.delete_term(Term::from_field_text(self.fields.id, id));
    }

    /// Stages `article`, replacing any older version.
    pub fn stage_upsert(&self, writer: &IndexWriter, article: &Article) -> Result<(), IndexError> {
        let f = self.fields;
        self.stage_delete(writer, &article.id);
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &article.id);
        doc.add_text(f.title, &article.title);
        doc.add_text(f.body, &article.body);
        for tag in &article.sectors {
            doc.add_text(f.sector, &tag.sector);
        }
        for entity in &article.entities {
            match EntityKind::try_from(entity.kind) {
                Ok(EntityKind::Country) => doc.add_text(f.country, entity.key.to_ascii_uppercase()),
                Ok(_) => doc.add_text(f.entity, entity.key.to_lowercase()),
                Err(_) => {}
            }
        }
        for pair in &article.country_pairs {
            doc.add_text(f.pair, pair_key(&pair.a, &pair.b));
        }
        if !article.outlet.is_empty() {
            doc.add_text(f.outlet, article.outlet.to_lowercase());
        }
        for author in &article.authors {
            doc.add_text(f.author, author.to_lowercase());
        }
        if !article.language.is_empty() {
            doc.add_text(f.language, article.language.to_lowercase());
        }
        if let Some(published) = article.published_at {
            doc.add_i64(f.published, published.seconds);
        }
        doc.add_u64(f.order_key, order_key(article));
        doc.add_u64(f.seq, article.sequence);
        writer.add_document(doc)?;
        Ok(())
    }

    /// Commits staged changes with `sequence` as payload, then makes them
    /// visible to searches.
    pub fn commit(&self, writer: &mut IndexWriter, sequence: u64) -> Result<(), IndexError> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&sequence.to_string());
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn any_of(&self, field: Field, values: &[String]) -> Option<Box<dyn Query>> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = values
            .iter()
            .map(|v| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, v),
                    IndexRecordOption::Basic,
                ));
                (Occur::Should, q)
            })
            .collect();
        match clauses.len() {
            0 => None,
            _ => Some(Box::new(BooleanQuery::new(clauses))),
        }
    }

    /// The filter as a query (matching everything when empty).
    fn filter_query(&self, filter: &Filter, extra: Vec<Box<dyn Query>>) -> Box<dyn Query> {
        let f = self.fields;
        let mut must: Vec<Box<dyn Query>> = extra;
        let sets = [
            (f.sector, &filter.sectors),
            (f.country, &filter.countries),
            (f.entity, &filter.entities),
            (f.outlet, &filter.outlets),
            (f.author, &filter.authors),
            (f.language, &filter.languages),
        ];
        for (field, values) in sets {
            if let Some(q) = self.any_of(field, values) {
                must.push(q);
            }
        }
        if let Some(pair) = &filter.country_pair {
            must.push(Box::new(TermQuery::new(
                Term::from_field_text(f.pair, pair),
                IndexRecordOption::Basic,
            )));
        }
        if filter.published_after.is_some() || filter.published_before.is_some() {
            let lower = filter.published_after.map_or(Bound::Unbounded, |s| {
                Bound::Included(Term::from_field_i64(f.published, s))
            });
            let upper = filter.published_before.map_or(Bound::Unbounded, |s| {
                Bound::Excluded(Term::from_field_i64(f.published, s))
            });
            must.push(Box::new(RangeQuery::new(lower, upper)));
        }
        if must.is_empty() {
            return Box::new(AllQuery);
        }
        Box::new(BooleanQuery::new(
            must.into_iter().map(|q| (Occur::Must, q)).collect(),
        ))
    }

    fn id_of(&self, searcher: &tantivy::Searcher, address: DocAddress) -> Result<String, IndexError> {
        let doc: TantivyDocument = searcher.doc(address)?;
        Ok(doc
            .get_first(self.fields.id)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string())
    }

    /// One page of ids in `order`, strictly after the sort key `after`.
    pub fn list(
        &self,
        filter: &Filter,
        order: ListOrder,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, IndexError> {
        let f = self.fields;
        let (field, name, direction) = match order {
            ListOrder::PublishedDesc => (f.order_key, "order_key", Order::Desc),
            ListOrder::PublishedAsc => (f.order_key, "order_key", Order::Asc),
            ListOrder::IngestedDesc => (f.seq, "seq", Order::Desc),
            ListOrder::IngestedAsc => (f.seq, "seq", Order::Asc),
        };
        let mut extra: Vec<Box<dyn Query>> = Vec::new();
        if let Some(after) = after {
            let (lower, upper) = match direction {
                Order::Desc => (
                    Bound::Unbounded,
                    Bound::Excluded(Term::from_field_u64(field, after)),
                ),
                Order::Asc => (
                    Bound::Excluded(Term::from_field_u64(field, after)),
                    Bound::Unbounded,
                ),
            };
            extra.push(Box::new(RangeQuery::new(lower, upper)));
        }
        let query = self.filter_query(filter, extra);
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &query,
            &TopDocs::with_limit(limit.max(1)).order_by_fast_field::<u64>(name, direction),
        )?;
        top.into_iter()
            .map(|(key, address)| Ok((key.unwrap_or(0), self.id_of(&searcher, address)?)))
            .collect()
    }

    /// Ranked full-text search: total hits, one page of (score, id), and a
    /// snippet generator for the query. Snippets are cut by the caller from
    /// the records it loads anyway, so bodies are neither stored twice nor
    /// decoded twice.
    pub fn search(
        &self,
        text: &str,
        filter: &Filter,
        offset: usize,
        limit: usize,
    ) -> Result<SearchPage, IndexError> {
        let f = self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.body]);
        parser.set_conjunction_by_default();
        parser.set_field_boost(f.title, 2.5);
        let text_query = parser.parse_query(text).map_err(IndexError::Query)?;
        let searcher = self.reader.searcher();
        let mut generator = SnippetGenerator::create(&searcher, &*text_query, f.body)?;
        generator.set_max_num_chars(240);
        let mut stems = Vec::new();
        text_query.query_terms(&mut |term, _| {
            if term.field() == f.body {
                if let Some(text) = term.value().as_str() {
                    stems.push(text.to_string());
                }
            }
        });
        let snippets = Excerpts::new(generator, &stems);
        let query = self.filter_query(filter, vec![text_query]);
        let (top, total) = searcher.search(
            &query,
            &(
                TopDocs::with_limit(limit.max(1))
                    .and_offset(offset)
                    .order_by_score(),
                Count,
            ),
        )?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            hits.push((score, self.id_of(&searcher, address)?));
        }
        Ok(SearchPage {
            total: total as u64,
            hits,
            snippets,
        })
    }

    fn aggregate(&self, query: &dyn Query, aggs: serde_json::Value) -> Result<serde_json::Value, IndexError> {
        let aggs: Aggregations = serde_json::from_value(aggs).map_err(IndexError::Aggregation)?;
        let collector = AggregationCollector::from_aggs(aggs, Default::default());
        let searcher = self.reader.searcher();
        let result: AggregationResults = searcher.search(query, &collector)?;
        serde_json::to_value(result).map_err(IndexError::Aggregation)
    }

    /// Total matches and the top `limit` values of each facet.
    pub fn count(
        &self,
        filter: &Filter,
        facets: &[String],
        limit: usize,
    ) -> Result<(u64, Vec<FacetValues>), IndexError> {
        let query = self.filter_query(filter, Vec::new());
        let total = self.reader.searcher().search(&*query, &Count)? as u64;
        if facets.is_empty() {
            return Ok((total, Vec::new()));
        }
        let mut request = serde_json::Map::new();
        for facet in facets {
            request.insert(facet.clone(), json!({"terms": {"field": facet, "size": limit}}));
        }
        let result = self.aggregate(&*query, serde_json::Value::Object(request))?;
        let mut out = Vec::new();
        for facet in facets {
            let buckets = result[facet]["buckets"].as_array().cloned().unwrap_or_default();
            let counts = buckets
                .iter()
                .filter_map(|b| Some((b["key"].as_str()?.to_string(), b["doc_count"].as_u64()?)))
                .collect();
            out.push(FacetValues {
                facet: facet.clone(),
                counts,
            });
        }
        Ok((total, out))
    }

    /// Per sector, article counts per UTC day (day start seconds → count),
    /// for articles with a known publication date. Weeks and months are
    /// folded from days by the caller.
    pub fn sector_days(&self, filter: &Filter) -> Result<BTreeMap<String, BTreeMap<i64, u64>>, IndexError> {
        let query = self.filter_query(filter, Vec::new());
        let aggs = json!({
            "sectors": {
                "terms": {"field": "sector", "size": 1000},
                "aggs": {"days": {"histogram": {"field": "published", "interval": 86400, "min_doc_count": 1}}}
            }
        });
        let result = self.aggregate(&*query, aggs)?;
        let mut out = BTreeMap::new();
        for sector in result["sectors"]["buckets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let Some(name) = sector["key"].as_str() else {
                continue;
            };
            let mut days = BTreeMap::new();
            for day in sector["days"]["buckets"].as_array().cloned().unwrap_or_default() {
                let (Some(key), Some(count)) = (day["key"].as_f64(), day["doc_count"].as_u64()) else {
                    continue;
                };
                if count > 0 {
                    days.insert(key as i64, count);
                }
            }
            out.insert(name.to_string(), days);
        }
        Ok(out)
    }
}

/// One page of ranked search results.
pub struct SearchPage {
    /// All matching documents.
    pub total: u64,
    /// (BM25 score, article id), best first.
    pub hits: Vec<(f32, String)>,
    /// Cuts highlighted excerpts (`<b>` around matched terms) from bodies.
    pub snippets: Excerpts,
}

/// The top values of one facet with their counts.
#[derive(Debug, Clone, PartialEq)]
pub struct FacetValues {
    /// Facet name.
    pub facet: String,
    /// (value, count), most frequent first.
    pub counts: Vec<(String, u64)>,
}

/// Orders a listing can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// Newest published first.
    PublishedDesc,
    /// Oldest published first.
    PublishedAsc,
    /// Highest sequence first.
    IngestedDesc,
    /// Lowest sequence first (watch streams).
    IngestedAsc,
}

impl ListOrder {
    /// Stable name for page-token digests (never `Debug`, which may change).
    pub fn stable_name(self) -> &'static str {
        match self {
            ListOrder::PublishedDesc => "published_desc",
            ListOrder::PublishedAsc => "published_asc",
            ListOrder::IngestedDesc => "ingested_desc",
            ListOrder::IngestedAsc => "ingested_asc",
        }
    }
}
