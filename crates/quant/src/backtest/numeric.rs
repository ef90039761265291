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
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let mut i = 8;
        while i < n - (n % 8) {
            for (k, rk) in r.iter_mut().enumerate() {
                *rk += a[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
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

/// `ln(a / b)`. Equity and price ratios between neighbouring bars sit near 1, where the series
/// `2·atanh(u / (2 + u))` (u = a/b − 1) converges in a few terms to within an ulp or two of
/// libm's `ln`, several times faster; elsewhere libm's `ln`.
#[inline]
pub(crate) fn ln_ratio(a: f64, b: f64) -> f64 {
    let r = a / b;
    let u = r - 1.0;
    if u.abs() < 0.0625 {
        let s = u / (2.0 + u);
        let s2 = s * s;
        // |s| < 0.033: s^15 / 15 is below 1e-23 of s.
        let p = 1.0 / 13.0;
        let p = p * s2 + 1.0 / 11.0;
        let p = p * s2 + 1.0 / 9.0;
        let p = p * s2 + 1.0 / 7.0;
        let p = p * s2 + 1.0 / 5.0;
        let p = p * s2 + 1.0 / 3.0;
        2.0 * (s + s * s2 * p)
    } else {
        r.ln()
    }
}

/// Geometric mean of returns as backtesting.py computes it: NaN counts as 0, any return at or
/// below -100 % makes it 0.
pub(crate) fn geometric_mean(returns: &[f64]) -> f64 {
    if returns.is_empty() {
        return f64::NAN;
    }
    let mut logs = Vec::with_capacity(returns.len());
    for &r in returns {
        let g = if r.is_nan() { 0.0 } else { r } + 1.0;
        if g <= 0.0 {
            return 0.0;
        }
        logs.push(ln_ratio(g, 1.0));
    }
    (np_sum(&logs) / returns.len() as f64).exp() - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_div_matches_python() {
        assert_eq!(py_floor_div(7.0, 2.0), 3.0);
        assert_eq!(py_floor_div(-7.0, 2.0), -4.0);
        assert_eq!(py_floor_div(10000.0, 169.35804), 59.0);
        // 1 // 0.1 is 9.0 in Python although 1 / 0.1 == 10.0.
        assert_eq!(py_floor_div(1.0, 0.1), 9.0);
    }

    #[test]
    fn ln_ratio_agrees_with_ln() {
        for k in 0..20_000 {
            let r = 0.9 + k as f64 * 1e-5;
            let (got, want) = (ln_ratio(r * 3.0, 3.0), (r * 3.0 / 3.0).ln());
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want.abs().max(1e-300),
                "{r}: {got} vs {want}"
            );
        }
        assert_eq!(ln_ratio(5.0, 5.0), 0.0);
    }

    #[test]
    fn pairwise_sum_is_exact_on_integers() {
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(np_sum(&v), 500500.0);
    }
}
