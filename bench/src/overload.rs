//! Pieces of the overload harness (`overload` binary) that are not
//! scenarios: how a call's outcome is classified, an open-loop generator
//! that tallies outcomes, a closed-loop capacity probe, and the bound
//! checks that decide the exit status.
//!
//! Latency is timed from each request's *scheduled* start, so a stalled
//! server is charged for every request it delays (no coordinated omission).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// What became of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered successfully.
    Ok,
    /// Shed with RESOURCE_EXHAUSTED; `retry_hint` says whether it carried a
    /// `google.rpc.RetryInfo` delay.
    Shed {
        /// A `RetryInfo` detail was present.
        retry_hint: bool,
    },
    /// Any other status: under overload none is expected.
    Other(Code),
}

impl Outcome {
    /// Classifies a call's result.
    pub fn of<T>(result: &Result<T, Status>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ok,
            Err(status) if status.code() == Code::ResourceExhausted => Outcome::Shed {
                retry_hint: status.get_details_retry_info().is_some(),
            },
            Err(status) => Outcome::Other(status.code()),
        }
    }
}

/// Outcomes and latencies of a run.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latency of successful calls, µs from scheduled start.
    pub ok: Histogram<u64>,
    /// Latency of shed calls, µs (shedding must be quick to be useful).
    pub shed: Histogram<u64>,
    /// Shed calls that carried a retry hint.
    pub shed_with_hint: u64,
    /// Other statuses by code name.
    pub other: BTreeMap<String, u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
}

impl Tally {
    /// An empty tally (latencies up to 10 minutes, 3 significant digits).
    pub fn new() -> Tally {
        let histogram = || Histogram::new_with_bounds(1, 600_000_000, 3).expect("static bounds are valid");
        Tally {
            ok: histogram(),
            shed: histogram(),
            shed_with_hint: 0,
            other: BTreeMap::new(),
        }
    }

    /// Records one call.
    pub fn record(&mut self, outcome: Outcome, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, 600_000_000);
        match outcome {
            Outcome::Ok => self.ok.saturating_record(micros),
            Outcome::Shed { retry_hint } => {
                self.shed.saturating_record(micros);
                self.shed_with_hint += u64::from(retry_hint);
            }
            Outcome::Other(code) => *self.other.entry(format!("{code:?}")).or_default() += 1,
        }
    }

    /// Calls recorded.
    pub fn total(&self) -> u64 {
        self.ok.len() + self.shed.len() + self.other.values().sum::<u64>()
    }

    /// Calls with a status other than OK or RESOURCE_EXHAUSTED.
    pub fn unexpected(&self) -> u64 {
        self.other.values().sum()
    }
}

/// Milliseconds of a histogram quantile.
pub fn ms(h: &Histogram<u64>, quantile: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    h.value_at_quantile(quantile) as f64 / 1000.0
}

/// Sends `make(i)` at `rate` per second for `duration`, whatever the
/// answers, and tallies the outcomes, paced by [`crate::open_loop::pace`]
/// (the same generator `query_bench` and `peers` use).
pub async fn open_loop<F, Fut>(rate: f64, duration: Duration, make: F) -> anyhow::Result<Tally>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let tally = Arc::new(Mutex::new(Tally::new()));
    let total = (rate * duration.as_secs_f64()).ceil().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let shared = tally.clone();
    crate::open_loop::pace(total, interval, make, move |outcome, latency| {
        if let Ok(mut t) = shared.lock() {
            t.record(outcome, latency);
        }
    })
    .await?;
    let tally = tally
        .lock()
        .map_err(|_| anyhow::anyhow!("tally poisoned"))?
        .clone();
    Ok(tally)
}

/// Successful calls per second with `workers` callers each sending its next
/// call as soon as the last is answered, for `duration`: the service's
/// capacity for this call, as far as `workers` can load it.
pub async fn capacity<F, Fut>(workers: usize, duration: Duration, make: F) -> anyhow::Result<(f64, Tally)>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let make = Arc::new(make);
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let (make, counter) = (make.clone(), counter.clone());
        set.spawn(async move {
            let mut tally = Tally::new();
            while start.elapsed() < duration {
                let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let sent = Instant::now();
                let outcome = make(i).await;
                tally.record(outcome, sent.elapsed());
            }
            tally
        });
    }
    let mut all = Tally::new();
    while let Some(t) = set.join_next().await {
        let t = t?;
        all.ok.add(&t.ok)?;
        all.shed.add(&t.shed)?;
        all.shed_with_hint += t.shed_with_hint;
        for (code, n) in t.other {
            *all.other.entry(code).or_default() += n;
        }
    }
    let rate = all.ok.len() as f64 / start.elapsed().as_secs_f64();
    Ok((rate, all))
}

/// The bound checks of a run, printed as a table; any broken one makes the
/// harness exit non-zero.
#[derive(Debug, Default)]
pub struct Verdict {
    checks: Vec<(String, String, bool)>,
}

impl Verdict {
    /// Records one check: what was measured against what bound, and whether it held.
    pub fn check(&mut self, what: impl Into<String>, detail: impl Into<String>, held: bool) {
        let (what, detail) = (what.into(), detail.into());
        println!("  [{}] {what}: {detail}", if held { "ok" } else { "BROKEN" });
        self.checks.push((what, detail, held));
    }

    /// The checks that did not hold.
    pub fn broken(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|(_, _, held)| !held)
            .map(|(what, _, _)| what.as_str())
            .collect()
    }

    /// Checks recorded.
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    /// Whether no check was recorded.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_tell_shedding_with_a_hint_from_other_errors() {
        let hinted = sectorwire_proto::status::overloaded("busy", Duration::from_millis(200));
        assert_eq!(
            Outcome::of::<()>(&Err(hinted)),
            Outcome::Shed { retry_hint: true }
        );
        assert_eq!(
            Outcome::of::<()>(&Err(Status::resource_exhausted("busy"))),
            Outcome::Shed { retry_hint: false }
        );
        assert_eq!(
            Outcome::of::<()>(&Err(Status::internal("x"))),
            Outcome::Other(Code::Internal)
        );
        assert_eq!(Outcome::of(&Ok::<_, Status>(())), Outcome::Ok);
    }

    #[test]
    fn tally_counts_every_kind() {
        let mut t = Tally::new();
        t.record(Outcome::Ok, Duration::from_millis(3));
        t.record(Outcome::Shed { retry_hint: true }, Duration::ZERO);
        t.record(Outcome::Shed { retry_hint: false }, Duration::ZERO);
        t.record(Outcome::Other(Code::Internal), Duration::ZERO);
        assert_eq!((t.ok.len(), t.shed.len(), t.shed_with_hint), (1, 2, 1));
        assert_eq!(t.unexpected(), 1);
        assert_eq!(t.total(), 4);
        assert_eq!(t.other.get("Internal"), Some(&1));
    }

    #[test]
    fn a_verdict_lists_what_broke() {
        let mut v = Verdict::default();
        v.check("rss", "10 MB <= 20 MB", true);
        v.check("p99", "9 s > 1 s", false);
        assert_eq!(v.broken(), vec!["p99"]);
        assert_eq!(v.len(), 2);
    }
}
