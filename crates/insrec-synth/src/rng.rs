//! The per-clip random stream: ChaCha8 seeded with the corpus seed, one stream per clip index, so
//! a clip does not depend on the order or the number of workers that render the corpus.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A deterministic random source with the few draws the composer needs.
#[derive(Debug, Clone)]
pub struct ClipRng(ChaCha8Rng);

impl ClipRng {
    /// The stream of clip `index` in a corpus with seed `seed`.
    pub fn for_clip(seed: u64, index: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        Self(rng)
    }

    /// An independent child stream (so that one stage's draws do not shift the next stage's).
    pub fn fork(&mut self) -> Self {
        Self(ChaCha8Rng::seed_from_u64(self.0.next_u64()))
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `lo..=hi`.
    pub fn int(&mut self, lo: i32, hi: i32) -> i32 {
        debug_assert!(lo <= hi);
        let span = (hi - lo + 1) as f64;
        lo + ((self.unit() * span) as i32).min(hi - lo)
    }

    /// Uniform index in `0..n` (`n > 0`).
    pub fn index(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// One element, uniformly; `None` for an empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.index(items.len())])
    }

    /// An index drawn with the given non-negative weights; `None` when they sum to zero.
    pub fn weighted(&mut self, weights: &[f64]) -> Option<usize> {
        let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
        if total <= 0.0 {
            return None;
        }
        let mut target = self.unit() * total;
        let mut last = None;
        for (i, &w) in weights.iter().enumerate() {
            if w <= 0.0 {
                continue;
            }
            last = Some(i);
            if target < w {
                return Some(i);
            }
            target -= w;
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_seed_and_index_only() {
        let a: Vec<u64> = (0..4)
            .map(|_| ClipRng::for_clip(7, 3).0.next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut x = ClipRng::for_clip(7, 3);
        let mut y = ClipRng::for_clip(7, 4);
        let mut z = ClipRng::for_clip(8, 3);
        let (x, y, z) = (x.unit(), y.unit(), z.unit());
        assert!(x != y && x != z);
    }

    #[test]
    fn draws_stay_in_range_and_follow_weights() {
        let mut rng = ClipRng::for_clip(1, 1);
        let mut counts = [0usize; 3];
        for _ in 0..3000 {
            let v = rng.int(-2, 2);
            assert!((-2..=2).contains(&v));
            let u = rng.range(3.0, 4.0);
            assert!((3.0..4.0).contains(&u));
            counts[rng.weighted(&[1.0, 0.0, 3.0]).expect("positive weights")] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = counts[2] as f64 / counts[0] as f64;
        assert!((2.4..3.6).contains(&ratio), "ratio {ratio}");
        assert_eq!(rng.weighted(&[0.0, 0.0]), None);
        assert_eq!(rng.pick::<u8>(&[]), None);
    }
}
