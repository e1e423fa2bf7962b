//! The order cells run in: interleaved rounds, shuffled from the seed.
//!
//! Run one after another in grid order, cells that sit next to each other in
//! the grid also sit next to each other in time, so slow drift on a shared
//! machine (the brokers' JIT, page cache, log growth, other load) lands on
//! whole groups of cells and reads as a difference between settings. So
//! every round runs every cell once, in its own order, drawn from the run's
//! seed (randomized multiple interleaved trials, Abedi & Brecht, ICPE 2017).
//! Each round's order is a Fisher–Yates shuffle; rounds after the first are
//! redrawn until they differ from the round before (when the grid has more
//! than one cell), so no two consecutive rounds share an order.

use rand::seq::SliceRandom;
use rand::SeedableRng;

/// The order of cells (as indices into the grid) in each round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    rounds: Vec<Vec<usize>>,
}

impl Schedule {
    /// `rounds` shuffled orders of `cells` cells, a pure function of `seed`.
    pub fn new(cells: usize, rounds: u32, seed: u64) -> Schedule {
        let mut out: Vec<Vec<usize>> = Vec::with_capacity(rounds as usize);
        for r in 0..u64::from(rounds) {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x726f_756e_6400 ^ r);
            let mut order: Vec<usize> = (0..cells).collect();
            loop {
                order.shuffle(&mut rng);
                if cells < 2 || out.last() != Some(&order) {
                    break;
                }
            }
            out.push(order);
        }
        Schedule { rounds: out }
    }

    /// The cells of round `round` (from 0), in the order they run.
    pub fn round(&self, round: u32) -> &[usize] {
        &self.rounds[round as usize]
    }

    /// Number of rounds.
    pub fn rounds(&self) -> u32 {
        self.rounds.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_is_a_permutation_of_the_grid() {
        let s = Schedule::new(37, 4, 42);
        for r in 0..4 {
            let mut order = s.round(r).to_vec();
            order.sort_unstable();
            assert_eq!(order, (0..37).collect::<Vec<_>>());
        }
    }

    #[test]
    fn rounds_differ_and_the_seed_fixes_them() {
        let s = Schedule::new(20, 3, 7);
        assert_ne!(s.round(0), s.round(1));
        assert_ne!(s.round(1), s.round(2));
        assert_eq!(s, Schedule::new(20, 3, 7));
        assert_ne!(s, Schedule::new(20, 3, 8));
    }

    #[test]
    fn two_cells_still_alternate() {
        let s = Schedule::new(2, 3, 1);
        assert_ne!(s.round(0), s.round(1));
        assert_ne!(s.round(1), s.round(2));
    }

    #[test]
    fn a_single_cell_has_one_order() {
        let s = Schedule::new(1, 3, 1);
        assert_eq!(s.rounds(), 3);
        assert_eq!(s.round(2), &[0]);
    }
}
