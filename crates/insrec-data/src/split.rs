//! Train/validation/test splits.
//!
//! Keyed splits place each clip by `u = key_unit(key, seed)`, a number in [0, 1) that depends only
//! on the key bytes and the seed: `u = (splitmix64(fnv1a64(key) ^ splitmix64(seed)) >> 11) / 2^53`.
//! Adding, removing or reordering other clips never moves a clip between sides.

use crate::error::{Error, Result};

/// Default share of the official train partition held out for validation.
pub const DEFAULT_VAL_FRACTION: f64 = 0.1;

/// How a dataset is divided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SplitRule {
    /// Official OpenMIC `split01` test side; its train side split by hash into train and
    /// validation (`u < val_fraction` → validation). The hashed string is the sample key, or with
    /// `by_artist` the clip's `artist_id` from the metadata CSV, so that no artist is on both sides
    /// (as `split01` itself guarantees for train and test).
    Official {
        val_fraction: f64,
        seed: u64,
        by_artist: bool,
    },
    /// The seed's row-order 81/9/10 split (see [`Splits::row_order`]).
    RowOrder,
}

/// Row indices of the three sides, each ascending.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Splits {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
}

impl Splits {
    /// The seed's split by row order (PyOmniTS `OpenMIC.py`): train `[0, ⌊0.81·n⌋)`, validation
    /// `[⌊0.81·n⌋, ⌊0.9·n⌋)`, test the rest, with the same float expressions (`0.9 * 0.9`, `0.9`)
    /// and truncation. The seed hard-codes n = 20 000; here n is the dataset's row count.
    pub fn row_order(len: usize) -> Self {
        let n = len as f64;
        let val_start = (n * (0.9 * 0.9)) as usize;
        let test_start = (n * 0.9) as usize;
        Self {
            train: (0..val_start).collect(),
            val: (val_start..test_start).collect(),
            test: (test_start..len).collect(),
        }
    }

    /// A keyed split for datasets without official partitions: `u < test_fraction` → test,
    /// `u < test_fraction + val_fraction` → validation, else train. When a side with a non-zero
    /// fraction comes out empty, the train rows with the smallest `u` (one key, or all rows of one
    /// repeated key) move there, unless that would empty train.
    pub fn by_key<'k>(
        keys: impl IntoIterator<Item = &'k str>,
        val_fraction: f64,
        test_fraction: f64,
        seed: u64,
        dataset: &str,
    ) -> Result<Self> {
        check_fraction(val_fraction, "validation", dataset)?;
        check_fraction(test_fraction, "test", dataset)?;
        check_fraction(val_fraction + test_fraction, "validation + test", dataset)?;
        let units: Vec<(usize, f64)> = keys
            .into_iter()
            .enumerate()
            .map(|(row, key)| (row, key_unit(key, seed)))
            .collect();
        let mut splits = Self::default();
        for &(row, u) in &units {
            let side = if u < test_fraction {
                &mut splits.test
            } else if u < test_fraction + val_fraction {
                &mut splits.val
            } else {
                &mut splits.train
            };
            side.push(row);
        }
        for (fraction, side) in [
            (test_fraction, &mut splits.test),
            (val_fraction, &mut splits.val),
        ] {
            if fraction > 0.0 && side.is_empty() {
                move_smallest(&mut splits.train, side, &units);
            }
        }
        Ok(splits)
    }
}

/// Splits `(row, key)` candidates into kept and held-out rows (`u < fraction` → held out), each
/// ascending; if none is held out, the key with the smallest `u` is (unless it is the only key).
/// Rows sharing a key (e.g. an artist) always land on the same side.
pub(crate) fn hold_out(
    candidates: &[(usize, &str)],
    fraction: f64,
    seed: u64,
    dataset: &str,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let keys = candidates.iter().map(|&(_, key)| key);
    let splits = Splits::by_key(keys, fraction, 0.0, seed, dataset)?;
    let rows = |side: Vec<usize>| {
        let mut rows: Vec<usize> = side.into_iter().map(|i| candidates[i].0).collect();
        rows.sort_unstable();
        rows
    };
    Ok((rows(splits.train), rows(splits.val)))
}

/// The position of a key in [0, 1) under a seed (see the module docs).
pub fn key_unit(key: &str, seed: u64) -> f64 {
    let mixed = splitmix64(fnv1a64(key.as_bytes()) ^ splitmix64(seed));
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

fn check_fraction(value: f64, what: &'static str, dataset: &str) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        return Ok(());
    }
    Err(Error::InvalidFraction {
        dataset: dataset.to_owned(),
        what,
        value,
    })
}

/// Moves the train rows (indices into `units`) with the smallest `u` to `side`, unless none would stay.
fn move_smallest(train: &mut Vec<usize>, side: &mut Vec<usize>, units: &[(usize, f64)]) {
    let Some(min) = train.iter().map(|&i| units[i].1).min_by(f64::total_cmp) else {
        return;
    };
    let (moved, kept): (Vec<usize>, Vec<usize>) = train.iter().partition(|&&i| units[i].1 == min);
    if !kept.is_empty() {
        *train = kept;
        side.extend(moved);
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{:06}_{}", i * 7, i * 960))
            .collect()
    }

    #[test]
    fn row_order_matches_the_seed_boundaries() {
        let s = Splits::row_order(20_000);
        assert_eq!(
            (s.train.len(), s.val.len(), s.test.len()),
            (16_200, 1_800, 2_000)
        );
        assert_eq!(
            (s.val[0], s.test[0], s.test[1_999]),
            (16_200, 18_000, 19_999)
        );
        let s = Splits::row_order(40);
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (32, 4, 4));
    }

    #[test]
    fn key_unit_follows_the_documented_formula() {
        // Reference values from an independent Python implementation of the module-doc formula.
        assert_eq!(fnv1a64(b"000046_3840"), 0x99c1_368b_024b_68ff);
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(key_unit("000046_3840", 2024), 0.801_306_593_975_241_6);
        assert_ne!(
            key_unit("000046_3840", 2024),
            key_unit("000046_3840", 2025),
            "the seed must matter"
        );
    }

    #[test]
    fn keyed_split_is_stable_and_near_the_fraction() -> Result<()> {
        let keys = keys(10_000);
        let s = Splits::by_key(keys.iter().map(String::as_str), 0.1, 0.2, 7, "t")?;
        assert_eq!(s.train.len() + s.val.len() + s.test.len(), 10_000);
        assert!((900..1_100).contains(&s.val.len()), "val {}", s.val.len());
        assert!(
            (1_850..2_150).contains(&s.test.len()),
            "test {}",
            s.test.len()
        );
        // Membership depends on the key only: a reversed, shorter list keeps every key's side.
        let val_keys: Vec<&str> = s
            .val
            .iter()
            .map(|&r| keys[r].as_str())
            .filter(|k| k < &"005000")
            .collect();
        let fewer: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|k| k < &"005000")
            .rev()
            .collect();
        let t = Splits::by_key(fewer.iter().copied(), 0.1, 0.2, 7, "t")?;
        let mut again: Vec<&str> = t.val.iter().map(|&r| fewer[r]).collect();
        again.sort_unstable();
        assert_eq!(again, val_keys);
        Ok(())
    }

    #[test]
    fn tiny_sets_still_get_a_validation_row() -> Result<()> {
        let keys = keys(3);
        let (train, val) = hold_out(
            &[(10, &keys[0]), (11, &keys[1]), (12, &keys[2])],
            1e-9,
            1,
            "t",
        )?;
        assert_eq!((train.len(), val.len()), (2, 1));
        assert!(train.iter().chain(&val).all(|r| (10..13).contains(r)));
        assert!(matches!(
            hold_out(&[], 1.0, 1, "t"),
            Err(Error::InvalidFraction { .. })
        ));
        Ok(())
    }
}
