//! What the fuzz targets run: each input is validated as the server would,
//! and an accepted request is answered by a real replica (sled + tantivy
//! over a temp dir, a handful of articles) through the same `Reader` the
//! server uses. The oracle: no panic, and no INTERNAL — an input the
//! caller controls is either served or refused as the caller's fault.

use std::sync::{Arc, OnceLock};

use prost::Message;
use sectorwire_proto::article::{
    Article, ChangeEvent, ChangeKind, CountryPair, Entity, EntityKind, SectorTag,
};
use sectorwire_proto::query::{
    BatchGetArticlesRequest, CountArticlesRequest, GetCountryPairRequest, ListArticlesRequest,
    SearchArticlesRequest, SectorTimelineRequest,
};
use sectorwire_query::error::QueryError;
use sectorwire_query::model::ReadModel;
use sectorwire_query::page_token::PageToken;
use sectorwire_query::reader::{Reader, ReaderLimits};
use sectorwire_query::requests;

/// A replica with a few articles, shared by every input of a run.
pub struct Fixture {
    reader: Reader,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn article(i: u64, title: &str, body: &str, sector: &str, countries: [&str; 2]) -> Article {
    Article {
        id: format!("a{i}"),
        title: title.into(),
        body: body.into(),
        outlet: "Example Wire".into(),
        authors: vec!["Jo Writer".into()],
        language: "en".into(),
        published_at: Some(sectorwire_proto::timestamp(1_700_000_000 + i as i64 * 86_400)),
        sequence: i,
        sectors: vec![SectorTag {
            sector: sector.into(),
            score: 0.8,
            ..Default::default()
        }],
        entities: countries
            .iter()
            .map(|c| Entity {
                kind: EntityKind::Country as i32,
                key: (*c).into(),
                name: (*c).into(),
                mention_count: 1,
                ..Default::default()
            })
            .chain(std::iter::once(Entity {
                kind: EntityKind::Organisation as i32,
                key: "World Bank".into(),
                name: "World Bank".into(),
                mention_count: 1,
                ..Default::default()
            }))
            .collect(),
        country_pairs: vec![CountryPair {
            a: countries[0].into(),
            b: countries[1].into(),
            weight: 1.0,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The shared replica, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir for the fuzz replica");
        let model = ReadModel::open(dir.path()).expect("opening the fuzz replica");
        let articles = [
            article(
                1,
                "Gas pipeline deal",
                "Azerbaijan and Pakistan sign a natural gas pipeline deal.",
                "energy",
                ["AZ", "PK"],
            ),
            article(
                2,
                "Trade talks",
                "Kenya and Uganda discuss a free trade agreement and rail freight.",
                "trade",
                ["KE", "UG"],
            ),
            article(
                3,
                "Vaccination drive",
                "Clinics in Kenya and Pakistan extend vaccination hours.",
                "health",
                ["KE", "PK"],
            ),
        ];
        let events: Vec<ChangeEvent> = articles
            .into_iter()
            .map(|a| ChangeEvent {
                sequence: a.sequence,
                kind: ChangeKind::Upsert as i32,
                article_id: a.id.clone(),
                article: Some(a),
                ..Default::default()
            })
            .collect();
        model.apply(&events).expect("applying the fuzz articles");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        Fixture {
            reader: Reader::new(Arc::new(model), ReaderLimits::default()),
            runtime,
            _dir: dir,
        }
    })
}

/// Panics when an answer to a validated request is a failure of the
/// replica rather than a refusal of the request.
fn check<T>(what: &str, input: &dyn std::fmt::Debug, result: Result<T, QueryError>) {
    if let Err(error) = result {
        let status = tonic::Status::from(error);
        assert_ne!(
            status.code(),
            tonic::Code::Internal,
            "{what} of a validated request failed inside the replica: {input:?}"
        );
    }
}

/// Decodes `data[1..]` as the request `data[0]` names, validates it and, if
/// valid, answers it.
pub fn request(data: &[u8]) {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let reader = &f.reader;
    f.runtime.block_on(async {
        match kind % 6 {
            0 => {
                let Ok(r) = ListArticlesRequest::decode(bytes) else {
                    return;
                };
                if let Ok(plan) = requests::list(&r) {
                    check("list", &r, reader.list(plan).await);
                }
            }
            1 => {
                let Ok(r) = SearchArticlesRequest::decode(bytes) else {
                    return;
                };
                if let Ok(plan) = requests::search(&r) {
                    check("search", &r, reader.search(plan).await);
                }
            }
            2 => {
                let Ok(r) = CountArticlesRequest::decode(bytes) else {
                    return;
                };
                if let Ok(plan) = requests::count(&r) {
                    check("count", &r, reader.count(plan).await);
                }
            }
            3 => {
                let Ok(r) = SectorTimelineRequest::decode(bytes) else {
                    return;
                };
                if let Ok(plan) = requests::timeline(&r) {
                    check("timeline", &r, reader.timeline(plan).await);
                }
            }
            4 => {
                let Ok(r) = GetCountryPairRequest::decode(bytes) else {
                    return;
                };
                if let Ok(plan) = requests::country_pair(&r) {
                    check("country pair", &r, reader.country_pair(plan).await);
                }
            }
            _ => {
                let Ok(r) = BatchGetArticlesRequest::decode(bytes) else {
                    return;
                };
                if let Ok(ids) = requests::article_ids(&r.ids) {
                    check("batch get", &r, reader.batch_get(ids).await);
                }
            }
        }
    });
}

/// Validates and answers a search for `query` with page token `token`.
pub fn search(query: &str, token: &str) {
    let r = SearchArticlesRequest {
        query: query.to_string(),
        page_token: token.to_string(),
        ..Default::default()
    };
    let Ok(plan) = requests::search(&r) else {
        return;
    };
    let f = fixture();
    f.runtime.block_on(async {
        check("search", &r, f.reader.search(plan).await);
    });
}

/// Decodes `token`: refused, or a token that encodes back to one that
/// decodes the same.
pub fn page_token(token: &str) {
    for digest in [0, u64::MAX] {
        if let Ok(Some(decoded)) = PageToken::decode(token, digest) {
            assert_eq!(decoded.request_digest, digest);
            let again = decoded.encode();
            assert_eq!(
                PageToken::decode(&again, digest),
                Ok(Some(decoded)),
                "re-encoded token {again:?} of {token:?}"
            );
        }
    }
}
