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
    /// Sequences set in each page (by slot), so a range count skips whole
    /// pages in one step.
    counts: Vec<u32>,
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
        if !was {
            self.counts[slot as usize] += 1;
        }
        was
    }

    #[cold]
    fn slot_for(&mut self, page: u64) -> u32 {
        let next = self.pages.len() as u32;
        let slot = *self.slots.entry(page).or_insert(next);
        if slot == next {
            self.pages.push([0; PAGE_WORDS]);
            self.counts.push(0);
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

    /// Sequences set in `lo..=hi`. Costs two partial pages plus one step per
    /// page between them, or per page allocated when that is fewer, so a
    /// wide range over a sparse set stays cheap.
    pub(super) fn count_range(&self, lo: u64, hi: u64) -> u64 {
        if lo > hi {
            return 0;
        }
        let (first, last) = (lo / PAGE_BITS, hi / PAGE_BITS);
        if first == last {
            return self.count_in_page(first, lo % PAGE_BITS, hi % PAGE_BITS);
        }
        let mut n = self.count_in_page(first, lo % PAGE_BITS, PAGE_BITS - 1)
            + self.count_in_page(last, 0, hi % PAGE_BITS);
        let between = last - first - 1;
        if between <= self.slots.len() as u64 {
            for page in first + 1..last {
                if let Some(&s) = self.slots.get(&page) {
                    n += u64::from(self.counts[s as usize]);
                }
            }
        } else {
            for (&page, &s) in &self.slots {
                if page > first && page < last {
                    n += u64::from(self.counts[s as usize]);
                }
            }
        }
        n
    }

    /// Sequences set in bits `lo..=hi` of one page.
    fn count_in_page(&self, page: u64, lo: u64, hi: u64) -> u64 {
        let Some(&s) = self.slots.get(&page) else {
            return 0;
        };
        let words = &self.pages[s as usize];
        if lo == 0 && hi == PAGE_BITS - 1 {
            return u64::from(self.counts[s as usize]);
        }
        let mut n = 0u64;
        for w in lo / 64..=hi / 64 {
            let mut bits = words[w as usize];
            if w == lo / 64 {
                bits &= u64::MAX << (lo % 64);
            }
            if w == hi / 64 && hi % 64 != 63 {
                bits &= (1u64 << (hi % 64 + 1)) - 1;
            }
            n += u64::from(bits.count_ones());
        }
        n
    }

    /// Sets every sequence `other` holds; returns how many were already
    /// set here (the sequences both sets hold).
    pub(super) fn union(&mut self, other: &SeqSet) -> u64 {
        let mut both = 0u64;
        for (&page, &s) in &other.slots {
            let slot = self.slot_for(page) as usize;
            let mut added = 0u32;
            for (mine, theirs) in self.pages[slot].iter_mut().zip(&other.pages[s as usize]) {
                both += u64::from((*mine & theirs).count_ones());
                added += (theirs & !*mine).count_ones();
                *mine |= theirs;
            }
            self.counts[slot] += added;
        }
        both
    }

    /// The sequences both sets hold, in order.
    pub(super) fn common(&self, other: &SeqSet) -> Vec<u64> {
        let mut out = Vec::new();
        let mut pages: Vec<(&u64, &u32)> = other.slots.iter().collect();
        pages.sort_unstable();
        for (&page, &s) in pages {
            let Some(&mine) = self.slots.get(&page) else {
                continue;
            };
            for (w, (a, b)) in self.pages[mine as usize]
                .iter()
                .zip(&other.pages[s as usize])
                .enumerate()
            {
                let mut bits = a & b;
                while bits != 0 {
                    out.push(page * PAGE_BITS + w as u64 * 64 + u64::from(bits.trailing_zeros()));
                    bits &= bits - 1;
                }
            }
        }
        out
    }

    /// The 64 bits starting at sequence `64 * w`.
    pub(super) fn word(&self, w: u64) -> u64 {
        let page = w / PAGE_WORDS as u64;
        self.slots.get(&page).map_or(0, |&s| {
            self.pages[s as usize][(w % PAGE_WORDS as u64) as usize]
        })
    }
}
