//! Articles in languages the sector tagger does not cover, through the real gRPC server and
//! sled store: stored with their language, marked "sectors not computed" on the record (so a
//! reader can tell that from "no sector"), and counted by `GetIngestStats`.

use std::sync::Arc;

use sectorwire_ingest::store::{SledStore, Store};
use sectorwire_ingest::IngestConfig;
use sectorwire_proto::article::SectorAnalysis;
use sectorwire_proto::ingest::{
    ingest_service_client::IngestServiceClient, GetIngestStatsRequest, IngestArticleRequest,
};
use tokio_util::sync::CancellationToken;

const GERMAN: &str = "Handel und Energie\n\nDie Regierung hat am Montag neue Verträge über den Export \
    von Erdgas und Strom unterzeichnet. Die Minister beider Länder sprachen über Zölle, \
    Handelsabkommen und die Energieversorgung der kommenden Jahre. Nach Angaben des Ministeriums \
    sollen die Lieferungen im Herbst beginnen und die Preise für Haushalte stabil bleiben.";

const ENGLISH: &str = "Trade and energy\n\nThe government signed new contracts on Monday for the export \
    of natural gas and electricity. Ministers of both countries discussed tariffs, trade agreements \
    and the energy supply for the coming years.";

fn request(text: &str) -> IngestArticleRequest {
    IngestArticleRequest {
        content: text.as_bytes().to_vec(),
        return_article: true,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncovered_language_is_stored_marked_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(sectorwire_ingest::serve_store(
        IngestConfig::new(addr, dir.path().to_path_buf()),
        store,
        listener,
        shutdown.clone(),
    ));
    let mut client = loop {
        if let Ok(c) = IngestServiceClient::connect(format!("http://{addr}")).await {
            break c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };

    let german = client
        .ingest_article(request(GERMAN))
        .await
        .expect("german")
        .into_inner();
    let record = german.article.expect("article returned");
    assert_eq!(record.language, "de");
    assert!(record.sectors.is_empty(), "{:?}", record.sectors);
    assert_eq!(record.sector_analysis, SectorAnalysis::LanguageNotCovered as i32);

    let english = client
        .ingest_article(request(ENGLISH))
        .await
        .expect("english")
        .into_inner();
    let record = english.article.expect("article returned");
    assert_eq!(record.sector_analysis, SectorAnalysis::Computed as i32);
    assert!(!record.sectors.is_empty());

    // An unchanged re-ingest writes nothing and is not counted again.
    client.ingest_article(request(GERMAN)).await.expect("again");
    let stats = client
        .get_ingest_stats(GetIngestStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(stats.articles, 2);
    assert_eq!(stats.writes_sectors_not_computed, 1);

    drop(client);
    shutdown.cancel();
    server.await.expect("join").expect("serve");
}
