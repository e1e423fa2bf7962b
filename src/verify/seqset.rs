//! The "seen" set of one stream, sized by what was seen rather than by the
//! largest sequence (see *Bounds* in the [module documentation](super)).

use std::collections::HashMap;

const PAGE_BITS: u64 = 4096;
const PAGE_WORDS: usize = (PAGE_BITS / 64) as usize;
/// An empty slot: no page, no stream.
pub(super) const NO_SLOT: u32 = u32::MAX;

/// A set of sequence numbers: a bitmap allocated in pages of [`PAGE_BITS`]
/// on first touch, so memory follows the sequences seen, not the largest one.
#[derive(Debug, Default)]
pub(super) struct SeqSet {
    pages: Vec<[u64; PAGE_WORDS]>,
    slots: HashMap<u64, u32>,
    /// The page last touched and its slot: streams are read mostly in order,
    /// so almost every lookup hits it.
    last_page: u64,
    last_slot: u32,
}

impl SeqSet {
    pub(super) fn new() -> SeqSet {
        SeqSet {
            last_slot: NO_SLOT,
            ..SeqSet::default()
        }
    }

    /// Sets `seq`; returns whether it was already set.
    #[inline]
    pub(super) fn set(&mut self, seq: u64) -> bool {
        let page = seq / PAGE_BITS;
        let slot = if self.last_slot != NO_SLOT && self.last_page == page {
            self.last_slot
        } else {
            self.slot_for(page)
        };
        let bit = seq % PAGE_BITS;
        let word = &mut self.pages[slot as usize][(bit / 64) as usize];
        let mask = 1u64 << (bit % 64);
        let was = *word & mask != 0;
        *word |= mask;
        was
    }

    #[cold]
    fn slot_for(&mut self, page: u64) -> u32 {
        let next = self.pages.len() as u32;
        let slot = *self.slots.entry(page).or_insert(next);
        if slot == next {
            self.pages.push([0; PAGE_WORDS]);
        }
        self.last_page = page;
        self.last_slot = slot;
        slot
    }

    /// Pages allocated.
    #[cfg(test)]
    pub(super) fn pages(&self) -> usize {
        self.pages.len()
    }

    /// The 64 bits starting at sequence `64 * w`.
    pub(super) fn word(&self, w: u64) -> u64 {
        let page = w / PAGE_WORDS as u64;
        self.slots.get(&page).map_or(0, |&s| {
            self.pages[s as usize][(w % PAGE_WORDS as u64) as usize]
        })
    }
}
