//! Sorting a list of numbers (`srt`/`rsrt` on a list whose elements are all numbers).
//!
//! Large lists are sorted by their bits with a least-significant-digit radix sort
//! rather than by comparisons: each number's word maps to an unsigned key whose order
//! is exactly `f64::total_cmp`'s (so -0 before 0, and NaNs by their sign and payload,
//! as a comparison sort would place them), and the words are moved by a digit of that
//! key per pass. That costs a few passes over memory instead of n log n comparisons.
//!
//! The passes cover only the bits in which the keys differ (integers of one range
//! share their low mantissa bits and most of their exponent), cut into digits of at
//! most [`MAX_DIGIT_BITS`] bits, and a digit every key has the same value in costs no
//! pass. The list's own storage is one of the two buffers the passes move words
//! between, so the sort needs one scratch buffer and writes the result where the
//! numbers were. Equal numbers are the same bits, so stability does not arise.
//!
//! Reading the list to check that every element is a number also finds the bits that
//! differ ([`Plan::of`]), so the check costs no pass of its own.

use crate::value::Value;

/// Below this many elements a comparison sort is as fast and needs no scratch space.
const RADIX_FROM: usize = 1024;

/// The widest digit: 2^11 counters of 4 bytes per digit stay in the L1/L2 caches while
/// a pass scatters, and 64 bits take at most 6 passes.
const MAX_DIGIT_BITS: u32 = 11;
const MAX_RADIX: usize = 1 << MAX_DIGIT_BITS;

/// How a list of numbers is sorted, decided by one read of it.
pub(super) enum Plan {
    /// Few elements (or more than the counters hold): a comparison sort.
    Compare,
    /// Every element has the same bits: nothing moves.
    Same,
    Radix(Digits),
}

impl Plan {
    /// The plan for `xs`, or None when an element is not a number.
    pub(super) fn of(xs: &[Value]) -> Option<Plan> {
        let Some(first) = xs.first() else {
            return Some(Plan::Same);
        };
        if xs.len() < RADIX_FROM || u32::try_from(xs.len()).is_err() {
            return xs.iter().all(Value::is_num).then_some(Plan::Compare);
        }
        let first = order_key(first.raw());
        let (mut numbers, mut differing) = (true, 0);
        for v in xs {
            numbers &= v.is_num();
            differing |= order_key(v.raw()) ^ first;
        }
        if !numbers {
            return None;
        }
        Some(match Digits::covering(differing) {
            Some(digits) => Plan::Radix(digits),
            None => Plan::Same,
        })
    }
}

/// Sort `xs`, every element a number, ascending (or descending) by `f64::total_cmp`,
/// as `plan` (made from this very list) says.
pub(super) fn sort_numbers(xs: &mut [Value], plan: Plan, descending: bool) {
    let number = |v: &Value| v.as_num().unwrap_or(f64::NAN);
    match plan {
        Plan::Same => {}
        Plan::Compare if descending => {
            xs.sort_unstable_by(|a, b| number(b).total_cmp(&number(a)));
        }
        Plan::Compare => xs.sort_unstable_by(|a, b| number(a).total_cmp(&number(b))),
        Plan::Radix(digits) => radix_sort(xs, &digits, descending),
    }
}

fn radix_sort(xs: &mut [Value], digits: &Digits, descending: bool) {
    // The words end in the list when the passes alternate list → scratch → list an
    // even number of times; for an odd number, the counting pass copies the words out
    // as it reads them, so the first pass starts from the scratch buffer instead.
    let odd = digits.count % 2 == 1;
    let (counts, mut scratch) = digits.count(xs, odd);
    let mut passes: Vec<(Digit, &[u32; MAX_RADIX])> = digits.iter().zip(&counts).collect();
    // A digit every key shares moves nothing; drop such passes two at a time, so the
    // words still end in the list (a kept one is a plain copy).
    let n = xs.len() as u32;
    let mut droppable = passes.iter().filter(|(_, c)| c.contains(&n)).count() / 2 * 2;
    passes.retain(|(_, c)| {
        let drop = droppable > 0 && c.contains(&n);
        droppable -= usize::from(drop);
        !drop
    });
    let mut in_list = !odd;
    let last = passes.len() - 1;
    for (pass, (digit, count)) in passes.iter().enumerate() {
        let mut next = starts(count);
        if in_list {
            for v in xs.iter() {
                let w = v.raw();
                let at = &mut next[digit.of(w)];
                scratch[*at as usize] = w;
                *at += 1;
            }
        } else if pass == last && descending {
            let end = xs.len() - 1;
            for &w in scratch.iter() {
                let at = &mut next[digit.of(w)];
                xs[end - *at as usize].overwrite_number(w);
                *at += 1;
            }
        } else {
            for &w in scratch.iter() {
                let at = &mut next[digit.of(w)];
                xs[*at as usize].overwrite_number(w);
                *at += 1;
            }
        }
        in_list = !in_list;
    }
}

/// Where each digit value's run starts in the pass's output (an exclusive prefix sum).
fn starts(count: &[u32; MAX_RADIX]) -> [u32; MAX_RADIX] {
    let mut next = [0; MAX_RADIX];
    let mut at = 0;
    for (slot, &c) in next.iter_mut().zip(count) {
        *slot = at;
        at += c;
    }
    next
}

/// A key whose unsigned order is `total_cmp`'s order of the numbers: negative numbers
/// have every bit flipped (larger magnitude, smaller key), the others only the sign.
#[inline]
fn order_key(word: u64) -> u64 {
    let negative = ((word as i64) >> 63) as u64;
    word ^ (negative | 1 << 63)
}

/// One digit of the keys: the bits under `mask` from bit `shift`.
#[derive(Clone, Copy)]
struct Digit {
    shift: u32,
    mask: u64,
}

impl Digit {
    /// This digit of the key of a number word.
    #[inline]
    fn of(self, word: u64) -> usize {
        // The second mask is a no-op that lets the compiler drop the counters' bounds
        // checks.
        ((order_key(word) >> self.shift) & self.mask) as usize & (MAX_RADIX - 1)
    }
}

/// The digits covering the bits in which the keys of a list differ.
pub(super) struct Digits {
    lowest: u32,
    bits: u32,
    count: u32,
}

impl Digits {
    /// The digits for keys differing in the bits of `differing`; None when it is 0.
    fn covering(differing: u64) -> Option<Digits> {
        if differing == 0 {
            return None;
        }
        let lowest = differing.trailing_zeros();
        let width = 64 - differing.leading_zeros() - lowest;
        let count = width.div_ceil(MAX_DIGIT_BITS);
        Some(Digits {
            lowest,
            bits: width.div_ceil(count),
            count,
        })
    }

    fn iter(&self) -> impl Iterator<Item = Digit> + '_ {
        (0..self.count).map(|i| Digit {
            shift: self.lowest + i * self.bits,
            mask: (1 << self.bits) - 1,
        })
    }

    /// Every digit's histogram, in one read of `xs`, and a scratch buffer as long as
    /// `xs`: a copy of its words when `copy` is set.
    fn count(&self, xs: &[Value], copy: bool) -> (Vec<[u32; MAX_RADIX]>, Vec<u64>) {
        // A fixed number of digits lets the compiler unroll the tally of each word.
        match self.count {
            1 => self.count_with::<1>(xs, copy),
            2 => self.count_with::<2>(xs, copy),
            3 => self.count_with::<3>(xs, copy),
            4 => self.count_with::<4>(xs, copy),
            5 => self.count_with::<5>(xs, copy),
            _ => self.count_with::<6>(xs, copy),
        }
    }

    fn count_with<const D: usize>(
        &self,
        xs: &[Value],
        copy: bool,
    ) -> (Vec<[u32; MAX_RADIX]>, Vec<u64>) {
        let mut digits = [Digit { shift: 0, mask: 0 }; D];
        for (slot, digit) in digits.iter_mut().zip(self.iter()) {
            *slot = digit;
        }
        let mut counts = vec![[0u32; MAX_RADIX]; D];
        let mut tally = |w: u64| {
            for (count, digit) in counts.iter_mut().zip(&digits) {
                count[digit.of(w)] += 1;
            }
        };
        let scratch = if copy {
            xs.iter()
                .map(|v| {
                    tally(v.raw());
                    v.raw()
                })
                .collect()
        } else {
            xs.iter().for_each(|v| tally(v.raw()));
            vec![0; xs.len()]
        };
        (counts, scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(xs: &[Value]) -> Vec<u64> {
        xs.iter()
            .map(|v| v.as_num().expect("a number").to_bits())
            .collect()
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Sort through the radix path and through `total_cmp`, and compare bit for bit.
    fn check(values: &[f64], what: &str) {
        for descending in [false, true] {
            let mut radix: Vec<Value> = values.iter().map(|&n| Value::num(n)).collect();
            let plan = Plan::of(&radix).expect("all numbers");
            sort_numbers(&mut radix, plan, descending);
            let mut expected: Vec<f64> = values
                .iter()
                .map(|&n| Value::num(n).as_num().unwrap())
                .collect();
            expected.sort_by(|a, b| a.total_cmp(b));
            if descending {
                expected.reverse();
            }
            let expected: Vec<u64> = expected.iter().map(|n| n.to_bits()).collect();
            assert_eq!(
                numbers(&radix),
                expected,
                "{what}, {} elements, descending {descending}",
                values.len()
            );
        }
    }

    /// The radix path must give exactly what the comparison sort gives, bit for bit,
    /// including -0, infinities, NaN, subnormals and duplicates, whatever bits differ
    /// (so with an odd and an even number of passes, and with skipped digits).
    #[test]
    fn radix_order_is_total_cmp_order() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let specials = [
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE / 4.0,
            -f64::MIN_POSITIVE / 4.0,
            f64::MAX,
            f64::MIN,
            1.0,
            -1.0,
        ];
        for len in [RADIX_FROM, 5000] {
            let mixed: Vec<f64> = (0..len)
                .map(|i| match rng.next() % 4 {
                    0 => specials[i % specials.len()],
                    1 => (rng.next() % 100) as f64 - 50.0,
                    2 => f64::from_bits(rng.next()),
                    _ => (rng.next() % 1_000_000) as f64 / 7.0,
                })
                .collect();
            check(&mixed, "mixed");
            let small: Vec<f64> = (0..len).map(|_| (rng.next() % 1000) as f64).collect();
            check(&small, "small integers");
            let negative: Vec<f64> = (0..len)
                .map(|_| -((rng.next() % 1_000_000) as f64))
                .collect();
            check(&negative, "negative integers");
            let two: Vec<f64> = (0..len).map(|_| (rng.next() % 2) as f64).collect();
            check(&two, "zeros and ones");
            let signed_zeros: Vec<f64> = (0..len)
                .map(|_| if rng.next() % 2 == 0 { 0.0 } else { -0.0 })
                .collect();
            check(&signed_zeros, "signed zeros");
            let fractions: Vec<f64> = (0..len).map(|_| (rng.next() >> 11) as f64 / 2e15).collect();
            check(&fractions, "fractions");
            // Keys differing in bit 0 and in the exponent only: digits in between are
            // the same in every key, so passes are dropped (two at a time).
            let one_up = f64::from_bits(1.0f64.to_bits() + 1);
            let sparse: Vec<f64> = (0..len)
                .map(|_| [1.0, one_up, 2.0, 4.0][rng.next() as usize % 4])
                .collect();
            check(&sparse, "far-apart differing bits");
            check(&vec![2.5; len], "all equal");
        }
    }

    #[test]
    fn keys_order_as_total_cmp() {
        let words = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.5,
            f64::INFINITY,
            f64::NAN,
        ];
        for a in words {
            for b in words {
                assert_eq!(
                    order_key(a.to_bits()).cmp(&order_key(b.to_bits())),
                    a.total_cmp(&b),
                    "{a} against {b}"
                );
            }
        }
    }
}
