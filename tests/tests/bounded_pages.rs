//! List and search pages are bounded in bytes: a page ends early, with a
//! token, before the record that would pass the budget, and paging on
//! returns every article once.

use std::collections::BTreeSet;
use std::time::Duration;

use prost::Message;
use sectorwire_proto::ingest::{ArticleMetadata, IngestArticleRequest};
use sectorwire_proto::query::{Consistency, ListArticlesRequest, SearchArticlesRequest};
use sectorwire_tests::*;

const BUDGET: usize = 80 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_end_early_at_the_byte_budget_and_miss_nothing() {
    const TOTAL: usize = 12;
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(&dir.path().join("ingest")).await;
    let query = start_query_with(&dir.path().join("query"), ingest.addr, |c| c.page_bytes = BUDGET).await;
    let mut writer = ingest_client(ingest.addr).await;
    let mut head = 0;
    for n in 0..TOTAL {
        let content = format!(
            "{}\n{}",
            generated_article(n),
            "The pipeline carries natural gas to the coast. ".repeat(700)
        );
        head = writer
            .ingest_article(IngestArticleRequest {
                content: content.into_bytes(),
                metadata: Some(ArticleMetadata {
                    source_id: format!("pb-{n}"),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("ingest")
            .into_inner()
            .sequence;
    }
    let mut reader = query_client(query.addr).await;
    let consistency = Some(Consistency { min_sequence: head });

    let mut seen = BTreeSet::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = tokio::time::timeout(
            Duration::from_secs(30),
            reader.list_articles(ListArticlesRequest {
                page_size: 20,
                page_token: token.clone(),
                consistency,
                ..Default::default()
            }),
        )
        .await
        .expect("list")
        .expect("list")
        .into_inner();
        pages += 1;
        let bytes: usize = page.articles.iter().map(Message::encoded_len).sum();
        assert!(!page.articles.is_empty());
        assert!(
            page.articles.len() == 1 || bytes <= BUDGET,
            "{} articles, {bytes} bytes",
            page.articles.len()
        );
        for a in &page.articles {
            assert!(seen.insert(a.id.clone()), "{} twice", a.id);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), TOTAL);
    assert!(
        pages >= 4,
        "{pages} pages: the byte budget did not end pages early"
    );

    let mut hits = BTreeSet::new();
    let mut token = String::new();
    loop {
        let page = reader
            .search_articles(SearchArticlesRequest {
                query: "pipeline".into(),
                page_size: 20,
                page_token: token.clone(),
                consistency,
                ..Default::default()
            })
            .await
            .expect("search")
            .into_inner();
        let bytes: usize = page.hits.iter().map(Message::encoded_len).sum();
        assert!(
            page.hits.len() == 1 || bytes <= BUDGET,
            "{} hits, {bytes} bytes",
            page.hits.len()
        );
        for h in &page.hits {
            let id = h.article.as_ref().expect("article").id.clone();
            assert!(hits.insert(id), "hit twice");
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(hits.len(), TOTAL);
    query.stop().await;
    ingest.stop().await;
}
