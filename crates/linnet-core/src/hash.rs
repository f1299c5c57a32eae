//! The hash maps of the core: hashbrown with a keyed foldhash, the key drawn from the stack's
//! seeded PRNG.
//!
//! Linux: the role of `jhash` with per-boot random seeds (include/linux/jhash.h,
//! `net_get_random_once`) in the kernel's hash tables: keyed so that remote peers cannot
//! aim for collisions, yet here deterministic for a given stack seed, so a run replays.
//! RFCs: none.

/// A hash map keyed by the stack's seed.
pub type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;

/// An empty map whose hasher is keyed by `seed`.
pub fn map_with_seed<K, V>(seed: u64) -> HashMap<K, V> {
    HashMap::with_hasher(foldhash::fast::FixedState::with_seed(seed))
}
