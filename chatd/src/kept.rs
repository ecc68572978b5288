//! A bounded, thread-safe map for values that never change once known for their id:
//! rendered messages and message paths, both facts about stored messages, which are
//! immutable and whose ids are never reused. Nothing is ever invalidated, so the only
//! question is what to drop when full.
//!
//! Memory is bounded by two generations: new entries go into the current one, and
//! when it holds half the budget it becomes the previous one, whose entries move back
//! when read again. So what is read keeps its place, and what is not is dropped within
//! two turns, with no bookkeeping per read.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What a kept value costs against the budget, in bytes (about).
pub trait Weight {
    fn weight(&self) -> usize;
}

#[derive(Debug)]
struct Generations<V> {
    current: HashMap<i64, V>,
    current_bytes: usize,
    previous: HashMap<i64, V>,
}

impl<V> Default for Generations<V> {
    fn default() -> Self {
        Generations {
            current: HashMap::new(),
            current_bytes: 0,
            previous: HashMap::new(),
        }
    }
}

#[derive(Debug)]
pub struct Kept<V> {
    generations: Mutex<Generations<V>>,
    /// Bytes kept at most, over both generations; 0 keeps nothing.
    budget: usize,
}

impl<V: Clone + Weight> Kept<V> {
    pub fn with_budget(budget: usize) -> Kept<V> {
        Kept {
            generations: Mutex::new(Generations::default()),
            budget,
        }
    }

    /// Whether anything can be kept at all.
    pub fn keeps_anything(&self) -> bool {
        self.budget > 0
    }

    /// What is kept for `id`.
    pub fn get(&self, id: i64) -> Option<V> {
        if self.budget == 0 {
            return None;
        }
        self.lock().get(id, self.budget)
    }

    /// What is kept for each id, in order, under one lock.
    pub fn get_each(&self, ids: &[i64]) -> Vec<Option<V>> {
        if self.budget == 0 {
            return vec![None; ids.len()];
        }
        let mut generations = self.lock();
        ids.iter()
            .map(|id| generations.get(*id, self.budget))
            .collect()
    }

    /// Keeps `value` for `id`; a value over half the budget is not kept.
    pub fn keep(&self, id: i64, value: V) {
        if self.budget > 0 {
            self.lock().keep(id, value, self.budget);
        }
    }

    /// Keeps every pair, under one lock.
    pub fn keep_all(&self, pairs: impl IntoIterator<Item = (i64, V)>) {
        if self.budget == 0 {
            return;
        }
        let mut generations = self.lock();
        for (id, value) in pairs {
            generations.keep(id, value, self.budget);
        }
    }

    /// Bytes kept now, by the values' own weights.
    pub fn bytes(&self) -> usize {
        let generations = self.lock();
        generations
            .current
            .values()
            .chain(generations.previous.values())
            .map(Weight::weight)
            .sum()
    }

    fn lock(&self) -> MutexGuard<'_, Generations<V>> {
        // A panic elsewhere cannot leave the maps inconsistent: each change is one
        // insert or one swap.
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<V: Clone + Weight> Generations<V> {
    fn get(&mut self, id: i64, budget: usize) -> Option<V> {
        if let Some(kept) = self.current.get(&id) {
            return Some(kept.clone());
        }
        let kept = self.previous.remove(&id)?;
        self.keep(id, kept.clone(), budget);
        Some(kept)
    }

    fn keep(&mut self, id: i64, value: V, budget: usize) {
        let size = value.weight();
        if size > budget / 2 {
            return;
        }
        if self.current_bytes + size > budget / 2 {
            self.previous = std::mem::take(&mut self.current);
            self.current_bytes = 0;
        }
        self.current_bytes += size;
        if let Some(replaced) = self.current.insert(id, value) {
            self.current_bytes -= replaced.weight();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weight for String {
        fn weight(&self) -> usize {
            self.len()
        }
    }

    #[test]
    fn memory_stays_within_the_budget_and_what_is_read_stays() {
        let kept: Kept<String> = Kept::with_budget(10_000);
        let text = "x".repeat(500);
        kept.keep(0, "first".into());
        for id in 1..1_000 {
            kept.keep(id, text.clone());
            // Read on every turn, the first entry survives every generation change.
            assert_eq!(kept.get(0).as_deref(), Some("first"), "after {id}");
        }
        assert!(kept.bytes() <= 10_000, "{} bytes kept", kept.bytes());
        assert!(kept.get(999).is_some(), "the newest is kept");
        assert!(
            kept.get(1).is_none(),
            "an entry never read again is dropped"
        );
        assert_eq!(kept.get_each(&[0, 1, 999]).iter().flatten().count(), 2);
    }

    #[test]
    fn a_zero_budget_keeps_nothing_and_an_oversized_value_is_not_kept() {
        let nothing: Kept<String> = Kept::with_budget(0);
        nothing.keep(1, "a".into());
        assert!(nothing.get(1).is_none());
        assert!(!nothing.keeps_anything());
        let small: Kept<String> = Kept::with_budget(100);
        small.keep(1, "y".repeat(51));
        assert!(small.get(1).is_none());
        small.keep_all([(2, "z".repeat(50)), (3, "w".into())]);
        assert_eq!(small.get(2).map(|v| v.len()), Some(50));
        assert_eq!(small.get(3).as_deref(), Some("w"));
    }
}
