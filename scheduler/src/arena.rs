//! A generational slab: O(1) insert, lookup and remove, with stale-handle detection.
//!
//! Both the timer wheel (its entries) and the event loop (its threads) name their items by a
//! `(key, generation)` pair. The `slab` crate frees a slot entirely on removal, so it cannot
//! remember how many times a key was reused; here every slot keeps its generation across
//! vacancy, and bumps it on removal. A handle whose generation does not match the slot's is
//! stale (its item fired or was cancelled) and every operation on it is a harmless no-op.
//!
//! Vacant slots form a LIFO free list, so a steady-state workload (remove one, insert one)
//! touches the same memory over and over and never reallocates. Generations are `u32` and wrap
//! after 2^32 reuses of one slot; a handle kept across four billion reuses of its own slot could
//! then alias a new item, which we accept.

/// Marks "no key" in free lists and intrusive links.
pub(crate) const NIL: u32 = u32::MAX;

enum Slot<T> {
    Occupied { gen: u32, value: T },
    Vacant { gen: u32, next_free: u32 },
}

/// The generational slab. Keys are `u32`: four billion live items is plenty for timers and
/// threads and halves the size of intrusive links.
pub(crate) struct Arena<T> {
    slots: Vec<Slot<T>>,
    free_head: u32,
    len: usize,
}

impl<T> Arena<T> {
    pub(crate) fn new() -> Self {
        Arena {
            slots: Vec::new(),
            free_head: NIL,
            len: 0,
        }
    }

    pub(crate) fn with_capacity(n: usize) -> Self {
        Arena {
            slots: Vec::with_capacity(n),
            free_head: NIL,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Inserts `value`, returning its `(key, generation)`.
    pub(crate) fn insert(&mut self, value: T) -> (u32, u32) {
        self.len += 1;
        if self.free_head != NIL {
            let key = self.free_head;
            let slot = &mut self.slots[key as usize];
            let (gen, next_free) = match *slot {
                Slot::Vacant { gen, next_free } => (gen, next_free),
                Slot::Occupied { .. } => unreachable!("free list points at an occupied slot"),
            };
            self.free_head = next_free;
            *slot = Slot::Occupied { gen, value };
            (key, gen)
        } else {
            let key = u32::try_from(self.slots.len()).expect("arena full");
            assert!(key != NIL, "arena full");
            self.slots.push(Slot::Occupied { gen: 0, value });
            (key, 0)
        }
    }

    /// The item under `key` if its generation is `gen`.
    pub(crate) fn get(&self, key: u32, gen: u32) -> Option<&T> {
        match self.slots.get(key as usize) {
            Some(Slot::Occupied { gen: g, value }) if *g == gen => Some(value),
            _ => None,
        }
    }

    /// Mutable access to the item under `key` if its generation is `gen`.
    pub(crate) fn get_mut(&mut self, key: u32, gen: u32) -> Option<&mut T> {
        match self.slots.get_mut(key as usize) {
            Some(Slot::Occupied { gen: g, value }) if *g == gen => Some(value),
            _ => None,
        }
    }

    /// Access by key alone, for intrusive links that only store keys (the caller knows the slot
    /// is occupied because the key is linked).
    pub(crate) fn at(&self, key: u32) -> &T {
        match &self.slots[key as usize] {
            Slot::Occupied { value, .. } => value,
            Slot::Vacant { .. } => unreachable!("linked key {key} is vacant"),
        }
    }

    /// Mutable access by key alone; see [`Arena::at`].
    pub(crate) fn at_mut(&mut self, key: u32) -> &mut T {
        match &mut self.slots[key as usize] {
            Slot::Occupied { value, .. } => value,
            Slot::Vacant { .. } => unreachable!("linked key {key} is vacant"),
        }
    }

    /// The current generation of an occupied `key`.
    pub(crate) fn gen_of(&self, key: u32) -> u32 {
        match &self.slots[key as usize] {
            Slot::Occupied { gen, .. } => *gen,
            Slot::Vacant { .. } => unreachable!("key {key} is vacant"),
        }
    }

    /// Removes and returns the item under `key` if its generation is `gen`; bumps the slot's
    /// generation so the handle becomes stale.
    pub(crate) fn remove(&mut self, key: u32, gen: u32) -> Option<T> {
        match self.slots.get(key as usize) {
            Some(Slot::Occupied { gen: g, .. }) if *g == gen => {}
            _ => return None,
        }
        let next_gen = gen.wrapping_add(1);
        let old = std::mem::replace(
            &mut self.slots[key as usize],
            Slot::Vacant {
                gen: next_gen,
                next_free: self.free_head,
            },
        );
        self.free_head = key;
        self.len -= 1;
        match old {
            Slot::Occupied { value, .. } => Some(value),
            Slot::Vacant { .. } => unreachable!(),
        }
    }

    /// Iterates over occupied `(key, gen, &item)` in key order (deterministic).
    #[allow(dead_code)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u32, &T)> {
        self.slots.iter().enumerate().filter_map(|(k, s)| match s {
            Slot::Occupied { gen, value } => Some((k as u32, *gen, value)),
            Slot::Vacant { .. } => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_detect_stale_handles() {
        let mut a = Arena::new();
        let (k1, g1) = a.insert("a");
        assert_eq!(a.remove(k1, g1), Some("a"));
        assert_eq!(a.remove(k1, g1), None);
        let (k2, g2) = a.insert("b");
        assert_eq!(k2, k1, "freed slot is reused");
        assert_ne!(g2, g1);
        assert_eq!(a.get(k1, g1), None);
        assert_eq!(a.get(k2, g2), Some(&"b"));
        assert_eq!(a.len(), 1);
        let _ = Arena::<u8>::with_capacity(4);
    }
}
