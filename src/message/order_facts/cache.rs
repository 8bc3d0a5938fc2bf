//! The node-wide cache of [`OrderFacts`] by blob: two generations, so that facts in use stay
//! and the rest age out without per-entry bookkeeping. Lookups go to the young generation,
//! then the old one (a hit there is moved to the young one); when the young generation
//! passes half the budget, it becomes the old one and the old one is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::OrderFacts;
use crate::store::BlobId;

/// Memory the cache may hold: about 160,000 messages of typical headers, enough for a large
/// mailbox sorted and threaded again and again, bounded however many there are.
const BUDGET_BYTES: usize = 64 << 20;

/// Bytes an entry costs besides its facts' heap: the map slot, the `Arc` and the facts.
const ENTRY_BYTES: usize =
    std::mem::size_of::<(BlobId, Arc<OrderFacts>)>() + std::mem::size_of::<OrderFacts>() + 16;

#[derive(Default)]
struct Generations {
    young: HashMap<BlobId, Arc<OrderFacts>>,
    young_bytes: usize,
    old: HashMap<BlobId, Arc<OrderFacts>>,
}

pub struct FactsCache {
    budget: usize,
    generations: Mutex<Generations>,
}

impl FactsCache {
    fn new(budget: usize) -> Self {
        FactsCache {
            budget,
            generations: Mutex::new(Generations::default()),
        }
    }

    /// The node's cache. One per process: blob ids are unique across accounts, and the
    /// facts of a blob are the same whichever mailbox or session asks.
    pub fn global() -> &'static FactsCache {
        static CACHE: OnceLock<FactsCache> = OnceLock::new();
        CACHE.get_or_init(|| FactsCache::new(BUDGET_BYTES))
    }

    /// The facts of each of `blobs`, in order: cached ones as they are, the others computed
    /// by `load` (outside the lock, so other searches go on meanwhile) and then cached.
    ///
    /// # Errors
    /// The first error of `load`; what was loaded before it is cached.
    pub fn facts(
        &self,
        blobs: &[BlobId],
        load: impl Fn(BlobId) -> std::io::Result<OrderFacts>,
    ) -> std::io::Result<Vec<Arc<OrderFacts>>> {
        let mut found: Vec<Option<Arc<OrderFacts>>> = {
            let mut g = self.lock();
            blobs.iter().map(|b| g.get(b)).collect()
        };
        let mut loaded = Vec::new();
        let mut error = None;
        for (slot, &blob) in found.iter_mut().zip(blobs) {
            if slot.is_some() {
                continue;
            }
            match load(blob) {
                Ok(facts) => {
                    let facts = Arc::new(facts);
                    loaded.push((blob, facts.clone()));
                    *slot = Some(facts);
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if !loaded.is_empty() {
            let mut g = self.lock();
            for (blob, facts) in loaded {
                g.insert(blob, facts, self.budget);
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(found.into_iter().flatten().collect()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // The maps stay consistent whatever panicked while holding the lock.
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Generations {
    fn get(&mut self, blob: &BlobId) -> Option<Arc<OrderFacts>> {
        if let Some(f) = self.young.get(blob) {
            return Some(f.clone());
        }
        let f = self.old.remove(blob)?;
        self.young_bytes += cost(&f);
        self.young.insert(*blob, f.clone());
        Some(f)
    }

    fn insert(&mut self, blob: BlobId, facts: Arc<OrderFacts>, budget: usize) {
        if self.young_bytes >= budget / 2 {
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
        self.young_bytes += cost(&facts);
        self.young.insert(blob, facts);
    }
}

fn cost(facts: &OrderFacts) -> usize {
    ENTRY_BYTES + facts.heap_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(n: u128) -> OrderFacts {
        OrderFacts {
            sent: Some(n as i64),
            subject: format!("subject {n}"),
            reply_or_forward: false,
            message_id: None,
            references: Vec::new(),
        }
    }

    #[test]
    fn cached_facts_are_not_loaded_again() {
        let cache = FactsCache::new(1 << 20);
        let loads = std::sync::atomic::AtomicUsize::new(0);
        let load = |b: BlobId| {
            loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(facts(b.0))
        };
        let blobs: Vec<BlobId> = (0..100).map(BlobId).collect();
        let first = cache.facts(&blobs, load).unwrap();
        let again = cache.facts(&blobs, load).unwrap();
        assert_eq!(first, again);
        assert_eq!(loads.into_inner(), 100);
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_keeps_what_is_used() {
        let budget = 200 * cost(&facts(0));
        let cache = FactsCache::new(budget);
        let hot: Vec<BlobId> = (0..10).map(BlobId).collect();
        for round in 0..50u128 {
            cache.facts(&hot, |b| Ok(facts(b.0))).unwrap();
            let cold: Vec<BlobId> = (0..20).map(|i| BlobId(1000 + round * 20 + i)).collect();
            cache.facts(&cold, |b| Ok(facts(b.0))).unwrap();
        }
        let g = cache.lock();
        let held: usize = g
            .young
            .values()
            .chain(g.old.values())
            .map(|f| cost(f))
            .sum();
        assert!(held <= budget + cost(&facts(0)), "{held} > {budget}");
        drop(g);
        let missed = std::cell::Cell::new(0);
        cache
            .facts(&hot, |b| {
                missed.set(missed.get() + 1);
                Ok(facts(b.0))
            })
            .unwrap();
        assert_eq!(missed.get(), 0, "facts in use were dropped");
    }

    #[test]
    fn a_load_error_is_returned_and_what_loaded_before_it_is_kept() {
        let cache = FactsCache::new(1 << 20);
        let blobs: Vec<BlobId> = (0..4).map(BlobId).collect();
        let err = cache.facts(&blobs, |b| match b.0 {
            2 => Err(std::io::Error::other("gone")),
            n => Ok(facts(n)),
        });
        assert!(err.is_err());
        let again = cache
            .facts(&blobs[..2], |_| Err(std::io::Error::other("not again")))
            .unwrap();
        assert_eq!(again.len(), 2);
    }
}
