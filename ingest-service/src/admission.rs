//! Global admission for writes: one budget of request bytes in flight across
//! every connection and stream. A request that does not fit is shed at once
//! with RESOURCE_EXHAUSTED and a retry hint, before it is parsed or queued,
//! so under overload memory stays near the budget and the requests already
//! admitted keep their latency, instead of every request waiting in queues
//! whose length grows with the number of connections.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::IngestError;

/// Least weight of one article: parsing and analysis allocate well beyond
/// the input for small articles too, and with this floor the default budget
/// also caps how many articles wait for a core (64 MiB / 64 KiB = 1024,
/// well under a second of work), so latency stays bounded for small
/// articles as well as memory for large ones.
pub const MIN_WEIGHT: usize = 64 * 1024;

/// How long a shed writer is told to wait before retrying.
pub const RETRY_AFTER: Duration = Duration::from_millis(200);

/// The shared byte budget.
#[derive(Clone, Debug)]
pub struct Admission {
    bytes: Arc<Semaphore>,
    budget: u32,
}

impl Admission {
    /// A budget of `budget` bytes (at most 4 GiB; at least 1).
    pub fn new(budget: usize) -> Self {
        let budget = u32::try_from(budget).unwrap_or(u32::MAX).max(1);
        Admission {
            bytes: Arc::new(Semaphore::new(budget as usize)),
            budget,
        }
    }

    /// Reserves `weight` bytes until the permit is dropped, or sheds. A
    /// request heavier than the whole budget waits for the budget to be
    /// empty rather than never running.
    pub fn admit(&self, weight: usize) -> Result<OwnedSemaphorePermit, IngestError> {
        let weight = u32::try_from(weight.max(MIN_WEIGHT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget);
        self.bytes.clone().try_acquire_many_owned(weight).map_err(|_| {
            sectorwire_runtime::metrics::shed("ingest_bytes");
            IngestError::Overloaded {
                message: format!(
                    "ingest is at its budget of {} bytes in flight; retry later",
                    self.budget
                ),
                retry_after: RETRY_AFTER,
            }
        })
    }

    /// Bytes in flight now.
    pub fn in_flight(&self) -> usize {
        self.budget as usize - self.bytes.available_permits()
    }
}

/// When a call must be answered by, from its `grpc-timeout` header (gRPC's
/// wire form of the client's deadline).
pub fn deadline<T>(request: &tonic::Request<T>) -> Option<Instant> {
    let raw = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    Some(Instant::now() + parse_timeout(raw)?)
}

/// Parses a `grpc-timeout` value (`<digits><unit>`, unit one of H M S m u n).
pub fn parse_timeout(raw: &str) -> Option<Duration> {
    let (value, unit) = raw.split_at(raw.len().checked_sub(1)?);
    if value.is_empty() || value.len() > 8 {
        return None;
    }
    let value: u64 = value.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value.checked_mul(3600)?),
        "M" => Duration::from_secs(value.checked_mul(60)?),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

/// Work dropped before it was stored because its deadline passed (counted as shed).
pub fn expired() -> IngestError {
    sectorwire_runtime::metrics::shed("deadline_passed");
    IngestError::Expired
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheds_past_the_budget_and_admits_again_once_released() {
        let admission = Admission::new(10 * MIN_WEIGHT);
        let a = admission.admit(6 * MIN_WEIGHT).expect("fits");
        let err = admission.admit(6 * MIN_WEIGHT).expect_err("over budget");
        assert_eq!(tonic::Status::from(err).code(), tonic::Code::ResourceExhausted);
        assert_eq!(admission.in_flight(), 6 * MIN_WEIGHT);
        drop(a);
        let big = admission
            .admit(50 * MIN_WEIGHT)
            .expect("heavier than the budget runs alone");
        assert!(admission.admit(1).is_err());
        drop(big);
        assert_eq!(admission.in_flight(), 0);
    }

    #[test]
    fn small_articles_weigh_at_least_the_floor() {
        let admission = Admission::new(4 * MIN_WEIGHT);
        let held: Vec<_> = (0..4).map(|_| admission.admit(10).expect("fits")).collect();
        assert!(admission.admit(10).is_err(), "the fifth small article is shed");
        drop(held);
    }

    #[test]
    fn parses_grpc_timeouts() {
        assert_eq!(parse_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("m"), None);
        assert_eq!(parse_timeout("123456789m"), None);
        assert_eq!(parse_timeout("5x"), None);
    }
}
