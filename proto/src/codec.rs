//! The protobuf codec every sectorwire service and client uses (wired in by
//! `build.rs` through `codec_path`). It is tonic-prost's codec with two
//! changes for bad input:
//!
//! - an undecodable message is INVALID_ARGUMENT (the caller sent it), not
//!   tonic's INTERNAL, with a short fixed message instead of prost's text;
//! - in a client stream, a message type may [`Recover`] from a bad item: the
//!   decoder consumes the item's bytes and yields a stand-in, so one
//!   malformed item of an `IngestArticles` stream fails alone and the stream
//!   goes on. (tonic's stream keeps its framing only when the decoder yields
//!   an item; after an error it would misread the following bytes.)

use std::marker::PhantomData;

use prost::bytes::Buf;
use prost::Message;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic::Status;

/// What a message type yields in place of an undecodable message.
pub trait Recover: Sized {
    /// A stand-in for an undecodable message, or `None` to fail the call.
    fn recover() -> Option<Self> {
        None
    }
}

/// `content_type` of the stand-in for an undecodable `IngestArticleRequest`:
/// out of the enum's range, so it can never be mistaken for a real article,
/// and the ingest handler reports the item as malformed.
pub const MALFORMED_CONTENT_TYPE: i32 = i32::MIN;

impl Recover for crate::ingest::IngestArticleRequest {
    fn recover() -> Option<Self> {
        Some(crate::ingest::IngestArticleRequest {
            content_type: MALFORMED_CONTENT_TYPE,
            ..Default::default()
        })
    }
}

/// True for the stand-in of an undecodable `IngestArticleRequest`.
pub fn is_malformed(request: &crate::ingest::IngestArticleRequest) -> bool {
    request.content_type == MALFORMED_CONTENT_TYPE
}

// Every other message keeps the default (fail the call); build.rs lists them.
include!(concat!(env!("OUT_DIR"), "/recover_impls.rs"));

/// The codec (see the module docs).
#[derive(Debug, Clone)]
pub struct ProtoCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for ProtoCodec<T, U> {
    fn default() -> Self {
        ProtoCodec(PhantomData)
    }
}

impl<T, U> Codec for ProtoCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Recover + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = tonic_prost::ProstEncoder<T>;
    type Decoder = ProtoDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProtoDecoder(PhantomData)
    }
}

/// Decodes `U`, mapping failures as the module docs say.
#[derive(Debug)]
pub struct ProtoDecoder<U>(PhantomData<U>);

impl<U: Message + Default + Recover> Decoder for ProtoDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        match U::decode(&mut *buf) {
            Ok(message) => Ok(Some(message)),
            Err(error) => {
                tracing::debug!(%error, "undecodable message");
                // Skip what is left of this message so the next one starts
                // where its frame does.
                let rest = buf.remaining();
                buf.advance(rest);
                U::recover()
                    .map(Some)
                    .ok_or_else(|| Status::invalid_argument("request is not a valid protobuf message"))
            }
        }
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}
