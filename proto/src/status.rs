//! INVALID_ARGUMENT statuses with `google.rpc.BadRequest` details, shared by
//! both services so every client sees bad input reported the same way: one
//! field violation per offending request field.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A request field the caller got wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Field path, e.g. `metadata.url` or `filter.sectors[0]`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl Violation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Violation {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// INVALID_ARGUMENT carrying every violation as a BadRequest detail.
pub fn invalid_argument(message: impl Into<String>, violations: &[Violation]) -> Status {
    let mut details = ErrorDetails::new();
    for v in violations {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    Status::with_error_details(Code::InvalidArgument, message.into(), details)
}

/// The bare article id named by `raw` (an id or `articles/{id}`), or
/// INVALID_ARGUMENT naming `field`: both services take ids the same way.
pub fn article_id(raw: &str, field: &str) -> Result<String, Status> {
    sectorwire_domain::id::parse_article_id(raw)
        .map(str::to_string)
        .map_err(|e| {
            invalid_argument(
                format!("invalid article id {raw:?}"),
                &[Violation::new(field, e.to_string())],
            )
        })
}
