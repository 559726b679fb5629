//! The change feed as a follower reads it: each event's article stays in the
//! bytes it arrived in ([`RawChangeEvent::article`]), so a replica can store
//! the record as received and decode it once, for its index, instead of
//! decoding it in the transport and encoding it again to store it. The
//! messages are wire-compatible with `SubscribeResponse` and `ChangeEvent`
//! (same tags and types; an embedded message and a `bytes` field share the
//! length-delimited encoding), so the server side is unchanged.

use prost::bytes::Bytes;
use tonic::codegen::{http, Body, StdError};
use tonic::GrpcMethod;

use crate::article::{Article, ChangeEvent};
use crate::ingest::{Heartbeat, SubscribeRequest};

/// `ChangeEvent` with the article left encoded.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RawChangeEvent {
    /// `ChangeEvent.sequence`.
    #[prost(uint64, tag = "1")]
    pub sequence: u64,
    /// `ChangeEvent.kind`.
    #[prost(enumeration = "crate::article::ChangeKind", tag = "2")]
    pub kind: i32,
    /// `ChangeEvent.article_id`.
    #[prost(string, tag = "3")]
    pub article_id: String,
    /// `ChangeEvent.recorded_at`.
    #[prost(message, optional, tag = "4")]
    pub recorded_at: Option<prost_types::Timestamp>,
    /// `ChangeEvent.article`, encoded as the ingest service sent it.
    #[prost(bytes = "bytes", optional, tag = "5")]
    pub article: Option<Bytes>,
    /// `ChangeEvent.superseded`.
    #[prost(bool, tag = "6")]
    pub superseded: bool,
}

impl RawChangeEvent {
    /// The event without its article (what a follower records of the event
    /// it applied last).
    pub fn header(&self) -> ChangeEvent {
        ChangeEvent {
            sequence: self.sequence,
            kind: self.kind,
            article_id: self.article_id.clone(),
            recorded_at: self.recorded_at,
            article: None,
            superseded: self.superseded,
        }
    }

    /// The article, decoded.
    pub fn decode_article(&self) -> Result<Option<Article>, prost::DecodeError> {
        self.article
            .as_deref()
            .map(<Article as prost::Message>::decode)
            .transpose()
    }
}

impl From<&ChangeEvent> for RawChangeEvent {
    fn from(event: &ChangeEvent) -> Self {
        RawChangeEvent {
            sequence: event.sequence,
            kind: event.kind,
            article_id: event.article_id.clone(),
            recorded_at: event.recorded_at,
            article: event
                .article
                .as_ref()
                .map(|a| Bytes::from(prost::Message::encode_to_vec(a))),
            superseded: event.superseded,
        }
    }
}

/// `SubscribeResponse` with the event's article left encoded.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RawSubscribeResponse {
    /// `SubscribeResponse.log_id`.
    #[prost(string, tag = "3")]
    pub log_id: String,
    /// `SubscribeResponse.head_sequence`.
    #[prost(uint64, tag = "4")]
    pub head_sequence: u64,
    /// `SubscribeResponse.message`.
    #[prost(oneof = "RawMessage", tags = "1, 2")]
    pub message: Option<RawMessage>,
}

/// `SubscribeResponse.message`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum RawMessage {
    /// The next event in log order.
    #[prost(message, tag = "1")]
    Event(RawChangeEvent),
    /// Nothing new.
    #[prost(message, tag = "2")]
    Heartbeat(Heartbeat),
}

impl crate::codec::Recover for RawSubscribeResponse {}

/// `ChangeFeedService.Subscribe`, answered as [`RawSubscribeResponse`]s.
pub async fn subscribe<T>(
    service: T,
    max_decoding_message_size: usize,
    request: SubscribeRequest,
) -> Result<tonic::Response<tonic::Streaming<RawSubscribeResponse>>, tonic::Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let mut grpc = tonic::client::Grpc::new(service).max_decoding_message_size(max_decoding_message_size);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unknown(format!("Service was not ready: {}", e.into())))?;
    let mut request = tonic::Request::new(request);
    request.extensions_mut().insert(GrpcMethod::new(
        "sectorwire.ingest.v1.ChangeFeedService",
        "Subscribe",
    ));
    let path = http::uri::PathAndQuery::from_static("/sectorwire.ingest.v1.ChangeFeedService/Subscribe");
    grpc.server_streaming(request, path, crate::codec::ProtoCodec::default())
        .await
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::{RawChangeEvent, RawMessage, RawSubscribeResponse};
    use crate::article::{Article, ChangeEvent, ChangeKind};
    use crate::ingest::{subscribe_response, Heartbeat, SubscribeResponse};

    fn event() -> ChangeEvent {
        ChangeEvent {
            sequence: 7,
            kind: ChangeKind::Upsert as i32,
            article_id: "a-1".into(),
            recorded_at: Some(crate::timestamp(1_700_000_000)),
            article: Some(Article {
                id: "a-1".into(),
                title: "Port reopens".into(),
                body: "The port reopened on Monday.".into(),
                language: "en".into(),
                ..Default::default()
            }),
            superseded: false,
        }
    }

    #[test]
    fn reads_what_the_ingest_service_sends_and_keeps_the_article_bytes() {
        let event = event();
        let sent = SubscribeResponse {
            log_id: "log".into(),
            head_sequence: 9,
            message: Some(subscribe_response::Message::Event(event.clone())),
        }
        .encode_to_vec();
        let raw = RawSubscribeResponse::decode(sent.as_slice()).expect("decodes");
        assert_eq!((raw.log_id.as_str(), raw.head_sequence), ("log", 9));
        let Some(RawMessage::Event(raw_event)) = raw.message else {
            panic!("no event: {raw:?}");
        };
        let article = event.article.clone().expect("article");
        assert_eq!(
            raw_event.article.as_deref(),
            Some(article.encode_to_vec().as_slice())
        );
        assert_eq!(
            raw_event.decode_article().expect("article decodes"),
            Some(article)
        );
        assert_eq!(
            raw_event.header(),
            ChangeEvent {
                article: None,
                ..event.clone()
            }
        );
        assert_eq!(RawChangeEvent::from(&event), raw_event);

        let heartbeat = SubscribeResponse {
            log_id: "log".into(),
            head_sequence: 9,
            message: Some(subscribe_response::Message::Heartbeat(Heartbeat::default())),
        }
        .encode_to_vec();
        let raw = RawSubscribeResponse::decode(heartbeat.as_slice()).expect("decodes");
        assert!(matches!(raw.message, Some(RawMessage::Heartbeat(_))));
    }

    #[test]
    fn a_superseded_event_has_no_article() {
        let event = ChangeEvent {
            article: None,
            superseded: true,
            ..event()
        };
        let raw = RawChangeEvent::decode(event.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(raw.article, None);
        assert_eq!(raw.decode_article().expect("nothing to decode"), None);
        assert_eq!(raw.header(), event);
    }
}
