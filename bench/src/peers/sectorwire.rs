//! sectorwire as measured against its peers: the ingest service and a query
//! replica in child processes (`processes::ChildService`, real gRPC on
//! loopback), loaded through one `IngestArticles` stream per client, read
//! through `SearchArticles` and `GetArticle`.

use std::time::{Duration, Instant};

use sectorwire_proto::ingest::{
    ingest_articles_response, ingest_service_client::IngestServiceClient, ArticleMetadata,
    IngestArticleRequest,
};
use sectorwire_proto::query::{
    query_service_client::QueryServiceClient, ArticleView, Consistency, GetArticleRequest,
    ListArticlesRequest, SearchArticlesRequest,
};
use tonic::transport::Channel;

use super::corpus::Doc;
use crate::processes::{self, ChildService};

/// Both services over a temp dir; stopped (flushing) by [`Instance::stop`].
pub struct Instance {
    pub ingest: ChildService,
    pub query: ChildService,
    dir: tempfile::TempDir,
}

/// What a load measured.
pub struct Load {
    /// First request sent → last durable ack.
    pub durable: Duration,
    /// First request sent → the replica has applied the last sequence.
    pub searchable: Duration,
    /// The article id of each doc, in `docs` order.
    pub ids: Vec<String>,
}

impl Instance {
    pub fn start() -> anyhow::Result<Instance> {
        let dir = tempfile::Builder::new().prefix("sectorwire-peers-sw").tempdir()?;
        let ingest = ChildService::ingest(&dir.path().join("ingest"))?;
        let query = ChildService::query(&dir.path().join("query"), ingest.addr)?;
        Ok(Instance { ingest, query, dir })
    }

    /// Streams `docs` through `clients` concurrent `IngestArticles` streams
    /// (one connection each); every ack is durable. Then waits until the
    /// replica serves the last sequence (`consistency.min_sequence`).
    pub async fn load(&self, docs: &[Doc], clients: usize) -> anyhow::Result<Load> {
        let parts = super::partition_indexed(docs, clients);
        let mut streams = Vec::new();
        for part in parts {
            let channel = processes::channel(self.ingest.addr).await?;
            let requests: Vec<(usize, IngestArticleRequest)> =
                part.into_iter().map(|(i, d)| (i, request(d))).collect();
            streams.push((channel, requests));
        }
        let mut query = QueryServiceClient::new(processes::channel(self.query.addr).await?);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for (channel, requests) in streams {
            tasks.push(tokio::spawn(async move {
                let (index, requests): (Vec<usize>, Vec<IngestArticleRequest>) = requests.into_iter().unzip();
                let mut client = IngestServiceClient::new(channel).max_encoding_message_size(64 << 20);
                let mut results = client
                    .ingest_articles(tokio_stream::iter(requests))
                    .await?
                    .into_inner();
                let mut ids = Vec::with_capacity(index.len());
                let mut last = 0;
                while let Some(item) = results.message().await? {
                    match item.result {
                        Some(ingest_articles_response::Result::Ok(ok)) => {
                            last = ok.sequence.max(last);
                            let doc = index.get(item.index as usize).copied().unwrap_or(usize::MAX);
                            ids.push((doc, ok.id));
                        }
                        other => anyhow::bail!("item {} failed: {other:?}", item.index),
                    }
                }
                anyhow::ensure!(ids.len() == index.len(), "{} of {} acked", ids.len(), index.len());
                Ok::<_, anyhow::Error>((ids, last))
            }));
        }
        let mut ids = vec![String::new(); docs.len()];
        let mut last = 0;
        for t in tasks {
            let (acked, l) = t.await??;
            last = last.max(l);
            for (doc, id) in acked {
                if let Some(slot) = ids.get_mut(doc) {
                    *slot = id;
                }
            }
        }
        let durable = start.elapsed();
        let mut settle = tonic::Request::new(ListArticlesRequest {
            page_size: 1,
            view: ArticleView::Basic as i32,
            consistency: Some(Consistency { min_sequence: last }),
            ..Default::default()
        });
        settle.set_timeout(Duration::from_secs(600));
        query.list_articles(settle).await?;
        Ok(Load {
            durable,
            searchable: start.elapsed(),
            ids,
        })
    }

    /// Query-side clients, `size` connections.
    pub async fn pool(&self, size: usize) -> anyhow::Result<Pool> {
        let mut clients = Vec::new();
        for _ in 0..size.max(1) {
            clients.push(QueryServiceClient::new(
                processes::channel(self.query.addr).await?,
            ));
        }
        Ok(Pool(clients))
    }

    /// Stops both services (they flush) and returns the bytes their data
    /// directories occupy (ingest: records + change log; replica: records +
    /// tantivy index).
    pub fn stop(self) -> anyhow::Result<u64> {
        self.query.stop()?;
        self.ingest.stop()?;
        let bytes = |rel: &str| super::footprint::dir_bytes(&self.dir.path().join(rel));
        let (ingest, replica, index) = (bytes("ingest"), bytes("query"), bytes("query/index"));
        // Where the bytes are, for the disk row's reading.
        eprintln!(
            "sectorwire disk: ingest store {ingest} B, replica records {} B, replica index {index} B",
            replica.saturating_sub(index)
        );
        Ok(super::footprint::dir_bytes(self.dir.path()))
    }
}

fn request(d: &Doc) -> IngestArticleRequest {
    IngestArticleRequest {
        content: d.body.clone().into_bytes(),
        metadata: Some(ArticleMetadata {
            source_id: d.id.clone(),
            title: d.title.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Query clients over several connections (HTTP/2 multiplexes each).
#[derive(Clone)]
pub struct Pool(Vec<QueryServiceClient<Channel>>);

impl Pool {
    /// Ranked search, basic view (the snippet is always there): the hits' count.
    pub async fn search(&self, i: u64, query: String) -> anyhow::Result<usize> {
        let mut client = self.0[i as usize % self.0.len()].clone();
        let page = client
            .search_articles(SearchArticlesRequest {
                query,
                page_size: 10,
                view: ArticleView::Basic as i32,
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok(page.hits.len())
    }

    /// The full record by id.
    pub async fn get(&self, i: u64, id: String) -> anyhow::Result<bool> {
        let mut client = self.0[i as usize % self.0.len()].clone();
        let reply = client
            .get_article(GetArticleRequest {
                id,
                consistency: None,
            })
            .await?
            .into_inner();
        Ok(reply.article.is_some())
    }
}
