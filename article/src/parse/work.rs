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
}

/// Adds `units` of work on this thread.
pub(crate) fn charge(units: usize) {
    SPENT.with(|s| s.set(s.get().saturating_add(units as u64)));
}

/// Work spent on this thread so far.
pub(crate) fn spent() -> u64 {
    SPENT.with(Cell::get)
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
/// deep stacks spends hundreds.
pub fn budget(len: usize) -> u64 {
    (len as u64)
        .saturating_mul(UNITS_PER_BYTE)
        .saturating_add(FIXED_UNITS)
}

/// See [`budget`].
pub const UNITS_PER_BYTE: u64 = 64;
/// See [`budget`].
pub const FIXED_UNITS: u64 = 1 << 20;
