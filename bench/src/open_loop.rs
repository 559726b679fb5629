//! Open-loop load: requests leave at a fixed rate whatever the server does,
//! and each is timed from its *scheduled* start, so a stall is charged to
//! every request it delays (no coordinated omission).
//!
//! A dedicated pacing thread dispatches, every millisecond, the requests
//! scheduled up to the end of the next one, as one task: starting each
//! request with its own wake-up cost the generator most of a core at 5,000
//! req/s on 2 cores and its scheduling noise dominated the tail. A request
//! that leaves early is timed from when it left.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Dispatch granularity of the generator.
const TICK: Duration = Duration::from_millis(1);

/// Sends `make(i)` at `rate` per second for `seconds`; returns the latency
/// histogram (µs, from scheduled start) and the count of requests that
/// reported failure. Must run inside a tokio runtime.
pub async fn open_loop<F, Fut>(rate: u64, seconds: f64, make: F) -> anyhow::Result<(Histogram<u64>, u64)>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    anyhow::ensure!(rate > 0, "open-loop rate must be positive");
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?));
    let errors = Arc::new(AtomicU64::new(0));
    let total = ((rate as f64) * seconds).round().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let (h, e) = (histogram.clone(), errors.clone());
    pace(total, interval, make, move |ok, latency| {
        if !ok {
            e.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut h) = h.lock() {
            let _ = h.record((latency.as_micros() as u64).max(1));
        }
    })
    .await?;
    let h = histogram
        .lock()
        .map_err(|_| anyhow::anyhow!("histogram poisoned"))?
        .clone();
    Ok((h, errors.load(Ordering::Relaxed)))
}

/// The pacer every open-loop generator shares: sends `make(i)` for `i` in
/// `0..total`, the i-th scheduled at `i * interval` from now, and hands each
/// answer with its latency (from the scheduled start, or from when it left
/// if it left early) to `record`. Returns once every request has answered.
pub async fn pace<F, Fut, R>(total: u64, interval: Duration, make: F, record: R) -> anyhow::Result<()>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send,
    R: Fn(Fut::Output, Duration) + Send + Sync + 'static,
{
    let runtime = tokio::runtime::Handle::current();
    let record = Arc::new(record);
    let pacer = std::thread::spawn(move || {
        let start = Instant::now();
        let mut tasks = Vec::new();
        let mut next = 0u64;
        let mut tick_end = start;
        while next < total {
            tick_end += TICK;
            if let Some(wait) = tick_end.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            // Every request scheduled up to the end of the coming tick leaves now,
            // in one task: one cross-thread wake-up per tick, not per request.
            let mut due = Vec::new();
            while next < total {
                let scheduled = start + interval.mul_f64(next as f64);
                if scheduled > tick_end + TICK {
                    break;
                }
                due.push((scheduled, make(next)));
                next += 1;
            }
            if due.is_empty() {
                continue;
            }
            let record = record.clone();
            tasks.push(runtime.spawn(async move {
                let mut set = tokio::task::JoinSet::new();
                for (scheduled, request) in due {
                    let record = record.clone();
                    set.spawn(async move {
                        let from = scheduled.min(Instant::now());
                        let answer = request.await;
                        record(answer, from.elapsed());
                    });
                }
                while set.join_next().await.is_some() {}
            }));
        }
        tasks
    });
    let tasks = tokio::task::spawn_blocking(move || pacer.join())
        .await?
        .map_err(|_| anyhow::anyhow!("pacing thread panicked"))?;
    for t in tasks {
        t.await?;
    }
    Ok(())
}
