//! The standard normal distribution to full double precision.
//!
//! Option values are differences of normal probabilities weighted by large numbers (spot,
//! strike), and implied volatility inverts them; a textbook 1e-7 approximation would show up
//! as visible pricing error and break put-call parity. W. J. Cody's rational Chebyshev
//! approximations (ACM TOMS Algorithm 715, the same scheme R's `pnorm` uses) give about
//! 1e-16 relative accuracy in both tails, so far out-of-the-money values stay meaningful.
#![allow(
    clippy::excessive_precision,
    reason = "coefficients and reference values keep their published digits so they can be \
              checked against the sources digit for digit"
)]

/// 1/√(2π).
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_677_939_946_059_934;
/// √32: where the middle approximation hands over to the asymptotic tail one.
const SQRT_32: f64 = 5.656_854_249_492_380_195_206_754_896_84;
/// Beyond this |x| the smaller tail underflows to zero in double precision.
const TAIL_LIMIT: f64 = 37.5193;

const A: [f64; 5] = [
    2.235_252_035_460_683_928_7,
    161.028_231_068_555_878_81,
    1_067.689_485_460_370_958_2,
    18_154.981_253_343_561_249,
    0.065_682_337_918_207_449_113,
];
const B: [f64; 4] = [
    47.202_581_904_688_241_87,
    976.098_551_737_776_693_22,
    10_260.932_208_618_978_205,
    45_507.789_335_026_729_956,
];
const C: [f64; 9] = [
    0.398_941_512_088_134_667_64,
    8.883_149_794_388_375_941_2,
    93.506_656_132_177_855_979,
    597.270_276_394_800_262_26,
    2_494.537_585_290_372_671_1,
    6_848.190_450_536_282_332_6,
    11_602.651_437_647_350_124,
    9_842.714_838_383_978_021_8,
    1.076_557_677_372_019_231_7e-8,
];
const D: [f64; 8] = [
    22.266_688_044_328_115_691,
    235.387_901_782_624_998_61,
    1_519.377_599_407_554_805,
    6_485.558_298_266_760_755,
    18_615.571_640_885_098_091,
    34_900.952_721_145_977_266,
    38_912.003_286_093_271_411,
    19_685.429_676_859_990_727,
];
const P: [f64; 6] = [
    0.215_898_534_057_956_99,
    0.127_401_161_160_247_363_9,
    0.022_235_277_870_649_807,
    0.001_421_619_193_227_893_466,
    2.911_287_495_116_879_2e-5,
    0.023_073_441_764_940_173_03,
];
const Q: [f64; 5] = [
    1.284_260_096_144_911_21,
    0.468_238_212_480_865_118,
    0.065_988_137_868_928_551_5,
    0.003_782_396_332_027_582_44,
    7.297_515_550_839_662_05e-5,
];

/// Φ(x) = P(Z ≤ x) for a standard normal Z, accurate to about 1e-16 relative, including the
/// lower tail (Φ(-8) ≈ 6.2e-16 keeps its digits rather than rounding to zero).
pub fn norm_cdf(x: f64) -> f64 {
    tails(x).0
}

/// φ(x), the standard normal density. Computed with the same split-exponent trick as the CDF
/// tails so that greeks far from the money keep their relative accuracy.
pub fn norm_pdf(x: f64) -> f64 {
    FRAC_1_SQRT_2PI * exp_half_square(x)
}

/// (Φ(x), 1 − Φ(x)), each computed directly so the smaller one is never the result of a
/// cancelling subtraction.
fn tails(x: f64) -> (f64, f64) {
    if x.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    let y = x.abs();
    if y <= 0.674_489_75 {
        // Central region, |x| ≤ Φ⁻¹(3/4): Φ(x) − ½ is odd, so a rational function of x² times x.
        let (mut num, mut den) = (0.0, 0.0);
        if y > f64::EPSILON * 0.5 {
            let xsq = x * x;
            num = A[4] * xsq;
            den = xsq;
            for i in 0..3 {
                num = (num + A[i]) * xsq;
                den = (den + B[i]) * xsq;
            }
        }
        let t = x * (num + A[3]) / (den + B[3]);
        return (0.5 + t, 0.5 - t);
    }
    let small = if y <= SQRT_32 {
        // Middle region: the smaller tail is e^{-y²/2} times a rational function of y.
        let mut num = C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + C[i]) * y;
            den = (den + D[i]) * y;
        }
        exp_half_square(y) * (num + C[7]) / (den + D[7])
    } else if y < TAIL_LIMIT {
        // Far tail: asymptotic expansion in 1/y², corrected by a rational function.
        let xsq = 1.0 / (y * y);
        let mut num = P[5] * xsq;
        let mut den = xsq;
        for i in 0..4 {
            num = (num + P[i]) * xsq;
            den = (den + Q[i]) * xsq;
        }
        let r = xsq * (num + P[4]) / (den + Q[4]);
        exp_half_square(y) * (FRAC_1_SQRT_2PI - r) / y
    } else {
        0.0
    };
    if x > 0.0 {
        (1.0 - small, small)
    } else {
        (small, 1.0 - small)
    }
}

/// e^{-x²/2} without the relative error that rounding x² would cause for large |x|: x is split
/// into a part with few enough bits that its square is exact, and a small remainder.
fn exp_half_square(x: f64) -> f64 {
    let y = x.abs();
    let head = (y * 16.0).trunc() / 16.0;
    let rest = (y - head) * (y + head);
    (-head * head * 0.5).exp() * (-rest * 0.5).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn cdf_matches_high_precision_values() {
        // References computed with mpmath at 40 digits.
        let cases = [
            (0.0, 0.5),
            (1.96, 0.975_002_104_851_779_565_9),
            (-1.0, 0.158_655_253_931_457_051_4),
            (0.5, 0.691_462_461_274_013_103_6),
            (0.67, 0.748_571_104_904_689_885_7),
            (-0.7, 0.241_963_652_223_073_014_8),
            (-3.0, 0.001_349_898_031_630_094_526_7),
            (5.6, 0.999_999_989_282_409_741_7),
            (-5.7, 5.990_371_401_063_534_429_8e-9),
            (6.0, 0.999_999_999_013_412_355),
            (-8.0, 6.220_960_574_271_784_123_5e-16),
            (-20.0, 2.753_624_118_606_233_695_1e-89),
            (-37.0, 5.725_571_222_524_576_822_7e-300),
            (1e-10, 0.500_000_000_039_894_228_04),
        ];
        for (x, want) in cases {
            let got = norm_cdf(x);
            assert!(rel(got, want) < 1e-14, "Φ({x}) = {got:e}, want {want:e}");
        }
        assert_eq!(norm_cdf(0.0), 0.5);
        assert!(rel(norm_cdf(1.96), 0.975_002_104_851_779_5) < 1e-15);
        assert!(rel(norm_cdf(-8.0), 6.220_960_574_271_78e-16) < 1e-10);
    }

    #[test]
    fn cdf_is_symmetric_and_monotone() {
        let mut prev = 0.0;
        for i in -4000..=4000 {
            let x = f64::from(i) / 100.0;
            let (lo, hi) = (norm_cdf(x), norm_cdf(-x));
            assert!((lo + hi - 1.0).abs() < 2e-16, "Φ({x}) + Φ(-{x}) != 1");
            assert!(lo >= prev, "Φ not monotone at {x}");
            prev = lo;
        }
        assert_eq!(norm_cdf(-40.0), 0.0);
        assert_eq!(norm_cdf(40.0), 1.0);
        assert_eq!(norm_cdf(f64::NEG_INFINITY), 0.0);
        assert_eq!(norm_cdf(f64::INFINITY), 1.0);
        assert!(norm_cdf(f64::NAN).is_nan());
    }

    #[test]
    fn pdf_matches_closed_form() {
        for x in [0.0, 0.3, -1.0, 2.5, -7.9, 12.0] {
            let want = (-x * x / 2.0_f64).exp() / (2.0 * std::f64::consts::PI).sqrt();
            assert!(rel(norm_pdf(x), want) < 1e-13, "φ({x})");
        }
    }
}
