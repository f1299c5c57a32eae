//! Timers of the sans-IO core: an ordered set of `(deadline, id)`.
//!
//! Linux: kernel/time/timer.c (`mod_timer`, `del_timer`) as used by net/; one `Timers<K>` per
//! subsystem plays the role of the timers embedded in its objects (`neigh->timer`, ...).
//! RFCs: none.
//!
//! Invariants: an id is in the set at most once; `next()` is the earliest deadline, which the
//! stack reports through `poll_timeout`.

use alloc::collections::BTreeSet;

/// Deadlines keyed by a subsystem's timer id.
#[derive(Debug, Clone)]
pub struct Timers<K: Ord + Copy> {
    set: BTreeSet<(crate::time::Instant, K)>,
}

impl<K: Ord + Copy> Default for Timers<K> {
    fn default() -> Self {
        Timers {
            set: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Copy> Timers<K> {
    /// Arms `id` at `at`, replacing its previous deadline `old` if it had one (`mod_timer`).
    pub fn arm(&mut self, old: Option<crate::time::Instant>, at: crate::time::Instant, id: K) {
        if let Some(o) = old {
            self.set.remove(&(o, id));
        }
        self.set.insert((at, id));
    }

    /// Disarms `id` whose deadline is `at` (`del_timer`).
    pub fn cancel(&mut self, at: crate::time::Instant, id: K) {
        self.set.remove(&(at, id));
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<crate::time::Instant> {
        self.set.first().map(|(t, _)| *t)
    }

    /// Removes and returns one timer due at or before `now`.
    pub fn pop_due(&mut self, now: crate::time::Instant) -> Option<(crate::time::Instant, K)> {
        match self.set.first() {
            Some(&(t, _)) if t <= now => self.set.pop_first(),
            _ => None,
        }
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}
