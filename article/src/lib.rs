//! The article pipeline: one raw document in, one clean, analysed record out.
//! Pure — no gRPC, no storage, no async runtime, no clock — so it is tested
//! on plain strings and shared by the ingest service, the tools in `bench/`
//! and anything else that wants sectorwire's reading of an article.
//!
//! Data flows through the modules in this order:
//!
//! - [`parse`]: raw text or HTML → [`parse::ParsedArticle`] (title, authors,
//!   outlet, publication date, clean body paragraphs), page furniture removed;
//! - [`analyze`]: title + body → sector tags with their evidence sentences,
//!   countries, people, organisations and country pairs;
//! - [`record`]: both of those → the stored `Article` message, with the
//!   content digest that makes re-ingesting identical input a no-op (the id
//!   rules themselves live in `sectorwire_domain::id`).
#![deny(missing_docs)]

pub mod analyze;
pub mod parse;
pub mod record;
