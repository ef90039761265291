//! Floating-point helpers that reproduce Python's and NumPy's arithmetic, so sums, means and
//! floor divisions round exactly as backtesting.py's do. Nothing here may reorder an operation
//! "for speed": the order is the point.

/// NumPy's pairwise summation (`np.add.reduce` on contiguous float64): blocks of 8 partial sums
/// below 128 elements, halves above.
pub(crate) fn np_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut blocks = a.chunks_exact(8);
        let mut r = [0.0; 8];
        if let Some(first) = blocks.next() {
            r.copy_from_slice(first);
        }
        for c in &mut blocks {
            for (rk, &x) in r.iter_mut().zip(c) {
                *rk += x;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in blocks.remainder() {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        np_sum(&a[..n2]) + np_sum(&a[n2..])
    }
}

/// pandas' `Series.mean()` (sum / count).
pub(crate) fn mean(a: &[f64]) -> f64 {
    np_sum(a) / a.len() as f64
}

/// pandas' `Series.var(ddof)`: mean first, then the sum of squared deviations.
pub(crate) fn var(a: &[f64], ddof: usize) -> f64 {
    let n = a.len();
    if n <= ddof {
        return f64::NAN;
    }
    let avg = mean(a);
    let sq: Vec<f64> = a.iter().map(|x| (avg - x) * (avg - x)).collect();
    np_sum(&sq) / (n - ddof) as f64
}

/// Python's float floor division `a // b` (CPython `float_floor_div`), which differs from
/// `(a / b).floor()` when the quotient rounds up to a whole number.
pub(crate) fn py_floor_div(a: f64, b: f64) -> f64 {
    // Python's answer is the floor of the exact quotient. The rounded quotient is within half
    // an ulp of it, so when that is more than a few ulps from a whole number both have the same
    // floor, and CPython's `fmod` (the slow part) is not needed.
    if a > 0.0 && a < b {
        // The exact quotient is in (0, 1): its floor is 0, no division needed (a sizing that
        // cannot buy one unit, the common case once an account is small).
        return 0.0;
    }
    let q = a / b;
    if q.is_finite() && q.abs() < 4.0e15 {
        // `q.floor()` without a libm call (baseline x86-64 has no rounding instruction):
        // truncation is exact below 2^63, one less for a negative non-whole number. (For -0.0
        // this gives +0.0, but then `q - f` is 0 and the slow path below decides.)
        let t = q as i64 as f64;
        let f = if t > q { t - 1.0 } else { t };
        let margin = q.abs() * (4.0 * f64::EPSILON);
        if q - f > margin && (f + 1.0) - q > margin {
            return f;
        }
    }
    let mut m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m += b;
            div -= 1.0;
        }
    } else {
        m = 0.0_f64.copysign(b);
    }
    let _ = m;
    if div != 0.0 {
        let mut floordiv = div.floor();
        if div - floordiv > 0.5 {
            floordiv += 1.0;
        }
        floordiv
    } else {
        0.0_f64.copysign(a / b)
    }
}

/// |s| below which [`atanh2_short`] is within an ulp: |a/b − 1| < ~1.6 %, where the first
/// omitted term, s⁹/9, is below 2⁻⁵⁶/9 of s.
const SHORT_LIMIT: f64 = 1.0 / 128.0;
/// |s| below which [`atanh2_long`] is within an ulp: |a/b − 1| < ~6.5 %, where the first
/// omitted term, s¹¹/11, is below 2⁻⁵⁰/11 of s.
const LONG_LIMIT: f64 = 1.0 / 32.0;

/// `2·atanh(s) = 2·(s + s³/3 + s⁵/5 + s⁷/7)`, for |s| < [`SHORT_LIMIT`].
#[inline(always)]
fn atanh2_short(s: f64) -> f64 {
    let s2 = s * s;
    let p = 1.0 / 7.0;
    let p = p * s2 + 1.0 / 5.0;
    let p = p * s2 + 1.0 / 3.0;
    2.0 * (s + s * s2 * p)
}

/// `2·atanh(s)` to the s⁹/9 term, for |s| < [`LONG_LIMIT`].
#[inline(always)]
fn atanh2_long(s: f64) -> f64 {
    let s2 = s * s;
    let p = 1.0 / 9.0;
    let p = p * s2 + 1.0 / 7.0;
    let p = p * s2 + 1.0 / 5.0;
    let p = p * s2 + 1.0 / 3.0;
    2.0 * (s + s * s2 * p)
}

/// `ln(a / b)`. Equity and price ratios between neighbouring bars sit near 1, where
/// `ln(a/b) = 2·atanh(s)` with `s = (a − b) / (a + b)` (one division; `a − b` is exact there)
/// converges in a few terms to within an ulp of the exact logarithm, several times faster than
/// libm; elsewhere libm's `ln(a / b)`.
#[inline]
pub(crate) fn ln_ratio(a: f64, b: f64) -> f64 {
    let s = (a - b) / (a + b);
    if s.abs() < SHORT_LIMIT {
        atanh2_short(s)
    } else if s.abs() < LONG_LIMIT {
        atanh2_long(s)
    } else {
        (a / b).ln()
    }
}

/// [`ln_ratio`] of four pairs (`x`, `y` at least four long), the same bits, without a branch per
/// value where it can: all four in the short series' range, or all in the long one's (each
/// lane then takes the series `ln_ratio` would, by a select, not a branch); otherwise one by
/// one.
#[inline(always)]
fn ln_ratio4(x: &[f64], y: &[f64]) -> [f64; 4] {
    let s: [f64; 4] = std::array::from_fn(|k| (x[k] - y[k]) / (x[k] + y[k]));
    if s.iter().fold(true, |ok, v| ok & (v.abs() < SHORT_LIMIT)) {
        std::array::from_fn(|k| atanh2_short(s[k]))
    } else if s.iter().fold(true, |ok, v| ok & (v.abs() < LONG_LIMIT)) {
        std::array::from_fn(|k| {
            let (short, long) = (atanh2_short(s[k]), atanh2_long(s[k]));
            if s[k].abs() < SHORT_LIMIT {
                short
            } else {
                long
            }
        })
    } else {
        std::array::from_fn(|k| ln_ratio(x[k], y[k]))
    }
}

/// `out[i] = ln_ratio(a[i], b[i])`, four lanes at a time without a branch per value (so the
/// compiler vectorises it); a group with a ratio outside the short series' range is done one
/// by one. Same bits as [`ln_ratio`]. Returns the sum of the values and the sum of their
/// squares (four partial sums each, in the same pass).
pub(crate) fn ln_ratios(a: &[f64], b: &[f64], out: &mut Vec<f64>) -> (f64, f64) {
    let n = a.len().min(b.len());
    out.clear();
    // All of it at once: the blocks reserve only their own part, and a push past that would
    // copy the whole column to a new allocation.
    out.reserve(n);
    let (mut s1, mut s2) = ([0.0; 4], [0.0; 4]);
    let (a4, a_rest) = a[..n].as_chunks::<4>();
    let (b4, b_rest) = b[..n].as_chunks::<4>();
    // Long columns go out with streaming stores (`indicators::stream_store`): no zero-fill
    // first and no read of the lines written.
    crate::indicators::stream_store::extend_blocks(
        out,
        a4.iter().zip(b4).map(|(x, y)| {
            let l = ln_ratio4(x, y);
            for k in 0..4 {
                s1[k] += l[k];
                s2[k] += l[k] * l[k];
            }
            l
        }),
    );
    let mut sum = (s1[0] + s1[1]) + (s1[2] + s1[3]);
    let mut sum_sq = (s2[0] + s2[1]) + (s2[2] + s2[3]);
    for (&x, &y) in a_rest.iter().zip(b_rest) {
        let l = ln_ratio(x, y);
        out.push(l);
        sum += l;
        sum_sq += l * l;
    }
    (sum, sum_sq)
}

/// `(Σ ln_ratio(a[i], b[i]) · w[i], Σ ln_ratio(a[i], b[i]))`, four lanes (and four partial
/// sums) at a time; the terms have [`ln_ratio`]'s bits, only the order of the additions
/// differs. (The reference [`ln_return_dot`] is tested against.)
#[cfg(test)]
pub(crate) fn ln_ratio_dot(a: &[f64], b: &[f64], w: &[f64]) -> (f64, f64) {
    let n = a.len().min(b.len()).min(w.len());
    let (a, b, w) = (&a[..n], &b[..n], &w[..n]);
    let (mut acc, mut sum) = ([0.0; 4], [0.0; 4]);
    let (mut ac, mut bc, mut wc) = (a.chunks_exact(4), b.chunks_exact(4), w.chunks_exact(4));
    for ((x, y), z) in (&mut ac).zip(&mut bc).zip(&mut wc) {
        dot4(x, y, z, &mut acc, &mut sum);
    }
    let mut dot = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    let mut total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    for ((&x, &y), &z) in ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .zip(wc.remainder())
    {
        let l = ln_ratio(x, y);
        dot += l * z;
        total += l;
    }
    (dot, total)
}

/// One group of four of [`ln_ratio_dot`]: each lane's term into its partial sums.
#[inline(always)]
fn dot4(x: &[f64], y: &[f64], z: &[f64], acc: &mut [f64; 4], sum: &mut [f64; 4]) {
    let l = ln_ratio4(x, y);
    for k in 0..4 {
        acc[k] += l[k] * z[k];
        sum[k] += l[k];
    }
}

/// Ratios per block that [`ln_return_dot`] checks for no movement (a multiple of four, so each
/// value keeps its lane of the partial sums).
const FLAT_BLOCK: usize = 16;

/// [`ln_ratio_dot`] of a series' successive ratios, `(e[1..], e[..n-1], w)`, the same bits (up
/// to the sign of a zero sum), skipping blocks where the series does not move.
///
/// Equity that does not move (no position) has `ln(e[i+1] / e[i])` exactly zero, so such a
/// term adds nothing (`0 · w` is a zero too when `w` is finite, which `w_finite` vouches for
/// all of `w`). A block of [`FLAT_BLOCK`] ratios whose values all have the bits of a finite,
/// non-zero first value is therefore skipped: one integer pass instead of a division and a
/// series per value. Long series spend most bars flat under many strategies.
pub(crate) fn ln_return_dot(e: &[f64], w: &[f64], w_finite: bool) -> (f64, f64) {
    if e.is_empty() {
        return (0.0, 0.0);
    }
    let n = (e.len() - 1).min(w.len());
    let (mut acc, mut sum) = ([0.0; 4], [0.0; 4]);
    let mut i = 0;
    while i + FLAT_BLOCK <= n {
        let v = e[i];
        let moved = e[i + 1..=i + FLAT_BLOCK]
            .iter()
            .fold(0u64, |m, x| m | (x.to_bits() ^ v.to_bits()));
        if !(w_finite && moved == 0 && v != 0.0 && v.is_finite()) {
            let (x, y, z) = (
                &e[i + 1..=i + FLAT_BLOCK],
                &e[i..i + FLAT_BLOCK],
                &w[i..i + FLAT_BLOCK],
            );
            for ((x, y), z) in x
                .chunks_exact(4)
                .zip(y.chunks_exact(4))
                .zip(z.chunks_exact(4))
            {
                dot4(x, y, z, &mut acc, &mut sum);
            }
        }
        i += FLAT_BLOCK;
    }
    let (x, y, z) = (&e[i + 1..=n], &e[i..n], &w[i..n]);
    let (mut xc, mut yc, mut zc) = (x.chunks_exact(4), y.chunks_exact(4), z.chunks_exact(4));
    for ((x, y), z) in (&mut xc).zip(&mut yc).zip(&mut zc) {
        dot4(x, y, z, &mut acc, &mut sum);
    }
    let mut dot = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    let mut total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    for ((&x, &y), &z) in xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .zip(zc.remainder())
    {
        let l = ln_ratio(x, y);
        dot += l * z;
        total += l;
    }
    (dot, total)
}

/// Geometric mean of returns as backtesting.py computes it: NaN counts as 0, any return at or
/// below -100 % makes it 0.
pub(crate) fn geometric_mean(returns: &[f64]) -> f64 {
    if returns.is_empty() {
        return f64::NAN;
    }
    let growth: Vec<f64> = returns
        .iter()
        .map(|&r| if r.is_nan() { 0.0 } else { r } + 1.0)
        .collect();
    if growth.iter().any(|&g| g <= 0.0) {
        return 0.0;
    }
    // ln(g / 1), four at a time (the same bits as one by one).
    let mut logs = Vec::with_capacity(growth.len());
    let mut chunks = growth.chunks_exact(4);
    for c in &mut chunks {
        logs.extend_from_slice(&ln_ratio4(c, &[1.0; 4]));
    }
    logs.extend(chunks.remainder().iter().map(|&g| ln_ratio(g, 1.0)));
    (np_sum(&logs) / returns.len() as f64).exp() - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPython's `float_floor_div`, step by step, without the fast path.
    fn slow_floor_div(a: f64, b: f64) -> f64 {
        let mut m = a % b;
        let mut div = (a - m) / b;
        if m != 0.0 && (b < 0.0) != (m < 0.0) {
            m += b;
            div -= 1.0;
        }
        let _ = m;
        if div != 0.0 {
            let mut f = div.floor();
            if div - f > 0.5 {
                f += 1.0;
            }
            f
        } else {
            0.0_f64.copysign(a / b)
        }
    }

    #[test]
    fn floor_div_matches_python() {
        assert_eq!(py_floor_div(7.0, 2.0), 3.0);
        assert_eq!(py_floor_div(-7.0, 2.0), -4.0);
        assert_eq!(py_floor_div(10000.0, 169.35804), 59.0);
        // 1 // 0.1 is 9.0 in Python although 1 / 0.1 == 10.0.
        assert_eq!(py_floor_div(1.0, 0.1), 9.0);
        assert_eq!(py_floor_div(-0.3, 1.0), -1.0);
        assert_eq!(py_floor_div(0.3, 1.0), 0.0);
        assert_eq!(py_floor_div(0.0, 3.0), 0.0);
        assert!(py_floor_div(-0.0, 3.0).is_sign_negative());
        assert_eq!(py_floor_div(10000.0, 100.0), 100.0);
        assert_eq!(py_floor_div(2.0, 3.0), 0.0);
        assert_eq!(py_floor_div(1e-300, f64::INFINITY), 0.0);
        // Seeded pairs of every sign and scale agree with CPython's algorithm.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            let scale = [1e-3, 0.5, 1.0, 7.0, 1e3, 1e9][(state % 6) as usize];
            (unit - 0.3) * scale
        };
        for _ in 0..100_000 {
            let (a, b) = (next(), next());
            if b != 0.0 {
                let (got, want) = (py_floor_div(a, b), slow_floor_div(a, b));
                assert!(
                    got == want && got.is_sign_negative() == want.is_sign_negative()
                        || got.is_nan() && want.is_nan(),
                    "{a} // {b}: {got} vs {want}"
                );
            }
        }
        // Quotients a hair either side of a whole number: the slow path decides.
        let b = 0.1;
        for k in 1..2000 {
            let whole = k as f64;
            for a in [whole * b, (whole * b).next_up(), (whole * b).next_down()] {
                assert_eq!(py_floor_div(a, b), slow_floor_div(a, b), "{a} // {b}");
            }
        }
    }

    #[test]
    fn ln_ratio_agrees_with_ln() {
        // b a power of two, so a / b is exact and libm's ln of it is the reference.
        for k in 0..20_000 {
            let r = 0.9 + k as f64 * 1e-5;
            let (got, want) = (ln_ratio(r * 4.0, 4.0), r.ln());
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want.abs().max(1e-300),
                "{r}: {got} vs {want}"
            );
        }
        assert_eq!(ln_ratio(5.0, 5.0), 0.0);
        // Far from 1, and at the edges: libm's answer.
        for (a, b) in [(3.0, 1.0), (1.0, 3.0), (0.0, 2.0), (1.07, 1.0), (1.0, 1.07)] {
            let (got, want) = (ln_ratio(a, b), (a / b).ln());
            assert!(
                got == want || (got - want).abs() <= 4.0 * f64::EPSILON * want.abs(),
                "{a}/{b}: {got} vs {want}"
            );
        }
        assert!(ln_ratio(0.0, 0.0).is_nan());
    }

    #[test]
    fn ln_ratio_slices_agree_with_one_by_one() {
        // A walk with a jump every few values, so some groups of four take libm's path.
        let a: Vec<f64> = (0..1003)
            .map(|i| 100.0 + (i as f64 * 0.37).sin() * if i % 97 == 0 { 30.0 } else { 1.0 })
            .collect();
        let (x, y) = (&a[1..], &a[..a.len() - 1]);
        let mut out = Vec::new();
        let (s1, s2) = ln_ratios(x, y, &mut out);
        assert_eq!(out.len(), x.len());
        for (i, v) in out.iter().enumerate() {
            assert_eq!(v.to_bits(), ln_ratio(x[i], y[i]).to_bits(), "at {i}");
        }
        let w: Vec<f64> = (0..x.len()).map(|i| (i as f64 * 0.11).cos()).collect();
        let want: f64 = out.iter().zip(&w).map(|(l, w)| l * w).sum();
        let want_sum: f64 = out.iter().sum();
        let (got, got_sum) = ln_ratio_dot(x, y, &w);
        assert!(
            (got - want).abs() <= 1e-14 * want.abs().max(1.0),
            "{got} vs {want}"
        );
        assert!((got_sum - want_sum).abs() <= 1e-14 * want_sum.abs().max(1.0));
        assert!((s1 - want_sum).abs() <= 1e-14 * want_sum.abs().max(1.0));
        let want_sq: f64 = out.iter().map(|l| l * l).sum();
        assert!((s2 - want_sq).abs() <= 1e-14 * want_sq);
    }

    /// Skipping blocks where equity does not move changes no bits (but a zero's sign): flat
    /// stretches of every length and alignment, a flat stretch at zero (0/0 must stay NaN), a
    /// non-finite weight, and series shorter than a block.
    #[test]
    fn return_dot_skips_only_what_adds_nothing() {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0);
        let check = |e: &[f64], w: &[f64]| {
            let want = ln_ratio_dot(&e[1..], &e[..e.len() - 1], w);
            let finite = w.iter().all(|z| z.is_finite());
            let got = ln_return_dot(e, w, finite);
            assert!(
                same(got.0, want.0) || (got.0.is_nan() && want.0.is_nan()),
                "{got:?} {want:?}"
            );
            assert!(
                same(got.1, want.1) || (got.1.is_nan() && want.1.is_nan()),
                "{got:?} {want:?}"
            );
        };
        let mut e = Vec::new();
        let mut v = 100.0;
        for k in 0..700usize {
            // Moves on some bars, then flat stretches of 1..=40 bars.
            if (k / 7) % 3 != 0 || k % 41 == 0 {
                v *= 1.0 + ((k as f64) * 0.7).sin() * 0.03;
            }
            e.push(v);
        }
        let w: Vec<f64> = (0..e.len() - 1)
            .map(|i| (i as f64 * 0.13).cos() * 0.01)
            .collect();
        for start in 0..20 {
            check(&e[start..], &w[start..]);
            check(&e[..start + 2], &w[..start + 1]);
        }
        let mut zeros = e.clone();
        zeros[100..140].iter_mut().for_each(|x| *x = 0.0);
        check(&zeros, &w);
        assert!(ln_return_dot(&zeros, &w, true).0.is_nan());
        let mut bad = w.clone();
        bad[300] = f64::INFINITY;
        check(&e, &bad);
        assert_eq!(ln_return_dot(&[5.0], &[], true), (0.0, 0.0));
    }

    /// A column long enough for streaming stores: every value still `ln_ratio`'s bits.
    #[test]
    fn long_ln_ratios_agree_with_one_by_one() {
        let n = crate::indicators::stream_store::STREAM_MIN + 7;
        let a: Vec<f64> = (0..n).map(|i| 50.0 + (i as f64 * 0.01).sin()).collect();
        let mut out = vec![1.0; 3];
        ln_ratios(&a[1..], &a[..n - 1], &mut out);
        assert_eq!(out.len(), n - 1);
        for (i, v) in out.iter().enumerate() {
            assert_eq!(v.to_bits(), ln_ratio(a[i + 1], a[i]).to_bits(), "at {i}");
        }
    }

    #[test]
    fn pairwise_sum_is_exact_on_integers() {
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(np_sum(&v), 500500.0);
    }
}
