//! A deterministic count of the parser's work, in units that grow with what
//! its loops touch: input bytes decoded, scanned for tags and split, DOM
//! nodes visited, and for every start tag what html5ever does with it that
//! is not linear in the input: a scan of the open elements (its depth) and
//! a comparison of each attribute's name with those before it (n²/2).
//!
//! The count replaces wall-clock budgets in tests (a quadratic path shows as
//! units growing faster than the input, on any machine, at any load) and is
//! what the per-article budget ([`budget`]) is spent from. It lives in a
//! thread-local because parsing one article runs on one thread from start
//! to end, and threading a counter through every helper would touch them all.

use std::cell::Cell;

thread_local! {
    static SPENT: Cell<u64> = const { Cell::new(0) };
    /// The `SPENT` value past which the article being parsed is refused.
    static LIMIT: Cell<u64> = const { Cell::new(u64::MAX) };
}

/// Adds `units` of work on this thread.
pub(crate) fn charge(units: usize) {
    SPENT.with(|s| s.set(s.get().saturating_add(units as u64)));
}

/// Work spent on this thread so far.
pub(crate) fn spent() -> u64 {
    SPENT.with(Cell::get)
}

/// Whether the article being parsed has spent its budget: its remaining
/// stages are skipped and it is refused with `ParseError::TooComplex`.
pub(crate) fn exhausted() -> bool {
    spent() > LIMIT.with(Cell::get)
}

/// The budget of one article for as long as it lives (the previous one,
/// if any, is restored after).
pub(crate) struct Budget {
    previous: u64,
    /// The units granted.
    pub(crate) units: u64,
}

impl Budget {
    /// Grants an input of `len` bytes [`budget`]`(len)` units from now.
    pub(crate) fn start(len: usize) -> Budget {
        let units = budget(len);
        let previous = LIMIT.with(|l| l.replace(spent().saturating_add(units)));
        Budget { previous, units }
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        LIMIT.with(|l| l.set(self.previous));
    }
}

/// Runs `f` and returns its result with the units of parser work it spent.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = spent();
    let value = f();
    (value, spent().saturating_sub(before))
}

/// Units of work one input of `len` bytes may spend before it is refused:
/// linear in its size, with room for a fixed cost per document. Real pages
/// spend a few units per byte; markup built to make the tree builder rescan
/// a deep stack for every tag spends tens (bounded by `nesting::MAX_DEPTH`),
/// and is refused past this rather than parsed. The check runs between the
/// tag scan and html5ever, so such a page costs one linear scan.
pub fn budget(len: usize) -> u64 {
    (len as u64)
        .saturating_mul(UNITS_PER_BYTE)
        .saturating_add(FIXED_UNITS)
}

/// See [`budget`].
pub const UNITS_PER_BYTE: u64 = 64;
/// See [`budget`].
pub const FIXED_UNITS: u64 = 1 << 20;
