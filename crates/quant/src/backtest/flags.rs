//! [`Flags`]: a yes/no per bar, 64 bars to a word.
//!
//! Why a bitset and not `Vec<bool>`: a strategy's signals are true on a few bars in a hundred,
//! and the engine only needs those bars. On 1,000,000 bars a `Vec<bool>` is 1 MB per signal
//! that the rule evaluation writes byte by byte and the engine scans byte by byte again; as
//! words they are 16 KB, `and`/`or`/`not` and the one-bar shift of a crossing are one
//! instruction per 64 bars, and the engine finds the set bars with a count of trailing zeros.
//!
//! Invariant: bits at or past `len` are zero (every constructor and operation keeps it), so
//! whole-word operations never invent a bar.

/// A yes/no per bar (bar i is bit `i % 64` of word `i / 64`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Flags {
    words: Vec<u64>,
    len: usize,
}

/// Words needed for `len` bars.
pub(crate) fn words_for(len: usize) -> usize {
    len.div_ceil(64)
}

impl Flags {
    /// `len` bars, none set.
    pub fn new(len: usize) -> Self {
        Flags {
            words: vec![0; words_for(len)],
            len,
        }
    }

    /// From words (bar i is bit `i % 64` of word `i / 64`); bits past `len` are cleared and
    /// missing words count as zero.
    pub fn from_words(mut words: Vec<u64>, len: usize) -> Self {
        words.resize(words_for(len), 0);
        if !len.is_multiple_of(64)
            && let Some(last) = words.last_mut()
        {
            *last &= (1u64 << (len % 64)) - 1;
        }
        Flags { words, len }
    }

    /// One flag per value of `bools`.
    pub fn from_bools(bools: &[bool]) -> Self {
        let mut words = Vec::with_capacity(words_for(bools.len()));
        for chunk in bools.chunks(64) {
            let mut w = 0u64;
            for (k, &b) in chunk.iter().enumerate() {
                w |= u64::from(b) << k;
            }
            words.push(w);
        }
        Flags {
            words,
            len: bools.len(),
        }
    }

    /// Bars covered (0 for a rule a strategy does not have).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether bar `i` is set (false past the end).
    #[inline]
    pub fn get(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| (w >> (i % 64)) & 1 == 1)
    }

    /// Sets bar `i` (ignored past the end).
    pub fn set(&mut self, i: usize, value: bool) {
        if i < self.len {
            let bit = 1u64 << (i % 64);
            if value {
                self.words[i / 64] |= bit;
            } else {
                self.words[i / 64] &= !bit;
            }
        }
    }

    /// The words (bits past [`Flags::len`] are zero).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Number of bars set.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The bars set, in order.
    pub fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(j, &w)| Ones {
            word: w,
            base: j * 64,
        })
    }

    /// One `bool` per bar.
    pub fn to_bools(&self) -> Vec<bool> {
        (0..self.len).map(|i| self.get(i)).collect()
    }

    /// The first `len` bars (all of them if `len` is longer).
    pub fn prefix(&self, len: usize) -> Flags {
        let len = len.min(self.len);
        Flags::from_words(self.words[..words_for(len)].to_vec(), len)
    }
}

impl From<Vec<bool>> for Flags {
    fn from(v: Vec<bool>) -> Self {
        Flags::from_bools(&v)
    }
}

impl FromIterator<bool> for Flags {
    fn from_iter<I: IntoIterator<Item = bool>>(iter: I) -> Self {
        let v: Vec<bool> = iter.into_iter().collect();
        Flags::from_bools(&v)
    }
}

/// The set bits of one word, lowest first, as bar indices.
struct Ones {
    word: u64,
    base: usize,
}

impl Iterator for Ones {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.word == 0 {
            return None;
        }
        let k = self.word.trailing_zeros() as usize;
        self.word &= self.word - 1;
        Some(self.base + k)
    }
}

/// Every bar in `from..n` set in any of `flags` (each empty or `n` long), in order.
pub(crate) fn union_ones(flags: &[&Flags], from: usize, n: usize) -> Vec<usize> {
    let present: Vec<&[u64]> = flags
        .iter()
        .filter(|f| !f.is_empty())
        .map(|f| f.words())
        .collect();
    let first = from / 64;
    let words = words_for(n).max(first) - first;
    // The union, word by word, and how many bars it holds (so the list is allocated once).
    let mut union = vec![0u64; words];
    for p in &present {
        for (u, &w) in union.iter_mut().zip(p.get(first..).unwrap_or(&[])) {
            *u |= w;
        }
    }
    if let Some(u) = union.first_mut() {
        // Bars before `from` in the first word.
        *u &= u64::MAX.checked_shl((from % 64) as u32).unwrap_or(0);
    }
    let count: u32 = union.iter().map(|w| w.count_ones()).sum();
    let mut out = Vec::with_capacity(count as usize);
    for (j, &word) in union.iter().enumerate() {
        out.extend(Ones {
            word,
            base: (first + j) * 64,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize) -> Vec<bool> {
        (0..n).map(|i| (i * 7 + i / 3) % 5 == 0).collect()
    }

    #[test]
    fn round_trips_and_reads_like_bools() {
        for n in [0, 1, 63, 64, 65, 127, 128, 129, 1000] {
            let b = pattern(n);
            let f = Flags::from_bools(&b);
            assert_eq!(f.len(), n);
            assert_eq!(f.to_bools(), b);
            assert_eq!(f.count(), b.iter().filter(|&&x| x).count());
            let ones: Vec<usize> = f.ones().collect();
            let want: Vec<usize> = (0..n).filter(|&i| b[i]).collect();
            assert_eq!(ones, want);
            assert!(!f.get(n) && !f.get(n + 64));
            for k in [0, 1, 64, n / 2, n] {
                assert_eq!(f.prefix(k).to_bools(), b[..k.min(n)].to_vec());
            }
        }
    }

    #[test]
    fn from_words_clears_bits_past_the_end() {
        let f = Flags::from_words(vec![u64::MAX, u64::MAX], 70);
        assert_eq!(f.count(), 70);
        assert_eq!(f.words()[1], (1 << 6) - 1);
        let g = Flags::from_words(vec![1], 130);
        assert_eq!(g.words().len(), 3);
        assert_eq!(g.ones().collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn set_changes_one_bar() {
        let mut f = Flags::new(100);
        f.set(3, true);
        f.set(99, true);
        f.set(100, true);
        assert_eq!(f.ones().collect::<Vec<_>>(), vec![3, 99]);
        f.set(3, false);
        assert_eq!(f.ones().collect::<Vec<_>>(), vec![99]);
    }

    #[test]
    fn union_is_every_set_bar_from_a_start() {
        let n = 300;
        let a = Flags::from_bools(&pattern(n));
        let b: Flags = (0..n).map(|i| i % 11 == 0).collect();
        let none = Flags::default();
        for from in [0, 1, 63, 64, 65, 200, 299, 300] {
            let got = union_ones(&[&a, &none, &b], from, n);
            let want: Vec<usize> = (from..n).filter(|&i| a.get(i) || b.get(i)).collect();
            assert_eq!(got, want, "from {from}");
        }
        assert!(union_ones(&[&none], 0, n).is_empty());
    }
}
