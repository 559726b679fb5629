//! A [`Store`] wrapper that fails on command, so tests can show what a client
//! sees when a write or flush fails, against the real sled store underneath.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use sectorwire_proto::article::{Article, ChangeEvent};

use super::{BackupInfo, Store, StoreCounts, StoreError, WriteOp, WriteOutcome};

/// Which operations fail next. Counters are decremented as faults fire.
#[derive(Debug, Default)]
pub struct FaultPlan {
    /// Fail this many upcoming `apply` calls (nothing is written).
    pub fail_apply: AtomicU32,
    /// Fail this many upcoming `flush` calls (writes applied but not
    /// acknowledged as durable).
    pub fail_flush: AtomicU32,
    /// Fail this many upcoming `reopen` calls (the store stays as it is, and
    /// the service keeps refusing writes).
    pub fail_reopen: AtomicU32,
}

impl FaultPlan {
    fn take(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Wraps a store and injects the faults of a shared [`FaultPlan`].
pub struct FaultyStore<S> {
    inner: S,
    plan: Arc<FaultPlan>,
}

impl<S: Store> FaultyStore<S> {
    /// Wraps `inner`; change `plan` at any time to schedule faults.
    pub fn new(inner: S, plan: Arc<FaultPlan>) -> Self {
        FaultyStore { inner, plan }
    }
}

impl<S: Store> Store for FaultyStore<S> {
    fn apply(&self, ops: &[WriteOp], now_seconds: i64) -> Result<Vec<WriteOutcome>, StoreError> {
        if FaultPlan::take(&self.plan.fail_apply) {
            return Err(StoreError::Injected("apply"));
        }
        self.inner.apply(ops, now_seconds)
    }
    fn flush(&self) -> Result<(), StoreError> {
        if FaultPlan::take(&self.plan.fail_flush) {
            return Err(StoreError::Injected("flush"));
        }
        self.inner.flush()
    }
    fn reopen(&self) -> Result<(), StoreError> {
        if FaultPlan::take(&self.plan.fail_reopen) {
            return Err(StoreError::Injected("reopen"));
        }
        self.inner.reopen()
    }
    fn get(&self, id: &str) -> Result<Option<Article>, StoreError> {
        self.inner.get(id)
    }
    fn log_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeEvent>, StoreError> {
        self.inner.log_after(after, limit)
    }
    fn head(&self) -> u64 {
        self.inner.head()
    }
    fn log_id(&self) -> String {
        self.inner.log_id()
    }
    fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.inner.counts()
    }
    fn backup(&self, to: &std::path::Path) -> Result<BackupInfo, StoreError> {
        self.inner.backup(to)
    }
}
