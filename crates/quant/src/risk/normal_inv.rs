//! The inverse of the standard normal CDF, for parametric (Gaussian) VaR.
//!
//! Wichura's Algorithm AS 241 (PPND16, Applied Statistics 37(3), 1988): three rational
//! approximations (centre, intermediate tail, far tail) accurate to about 1 part in 10¹⁶ over the
//! whole open interval — the same algorithm R's `qnorm` uses. Acklam's popular approximation is
//! only good to ~1e-9 before refinement, which would show in a VaR quoted to many digits.
#![allow(
    clippy::excessive_precision,
    reason = "coefficients keep their published digits so they can be checked against AS 241"
)]

/// Centre region, |p − ½| ≤ 0.425: numerator and denominator in r = 0.180625 − q².
const A: [f64; 8] = [
    3.387_132_872_796_366_608_0,
    1.331_416_678_917_843_774_5e2,
    1.971_590_950_306_551_442_7e3,
    1.373_169_376_550_946_112_5e4,
    4.592_195_393_154_987_145_7e4,
    6.726_577_092_700_870_085_3e4,
    3.343_057_558_358_812_810_5e4,
    2.509_080_928_730_122_672_7e3,
];
const B: [f64; 8] = [
    1.0,
    4.231_333_070_160_091_125_2e1,
    6.871_870_074_920_579_083_0e2,
    5.394_196_021_424_751_107_7e3,
    2.121_379_430_158_659_586_7e4,
    3.930_789_580_009_271_061_0e4,
    2.872_908_573_572_194_267_4e4,
    5.226_495_278_852_854_561_0e3,
];
/// Intermediate tails, √(−ln min(p, 1−p)) ≤ 5, in r − 1.6.
const C: [f64; 8] = [
    1.423_437_110_749_683_577_34,
    4.630_337_846_156_545_295_90,
    5.769_497_221_460_691_405_50,
    3.647_848_324_763_204_605_04,
    1.270_458_252_452_368_382_58,
    2.417_807_251_774_506_117_70e-1,
    2.272_384_498_926_918_458_33e-2,
    7.745_450_142_783_414_076_40e-4,
];
const D: [f64; 8] = [
    1.0,
    2.053_191_626_637_758_821_87,
    1.676_384_830_183_803_849_40,
    6.897_673_349_851_000_045_50e-1,
    1.481_039_764_274_800_745_90e-1,
    1.519_866_656_361_645_719_66e-2,
    5.475_938_084_995_344_946_00e-4,
    1.050_750_071_644_416_843_24e-9,
];
/// Far tails, beyond p ≈ 1.4e-11, in r − 5.
const E: [f64; 8] = [
    6.657_904_643_501_103_777_20,
    5.463_784_911_164_114_369_90,
    1.784_826_539_917_291_335_80,
    2.965_605_718_285_048_912_30e-1,
    2.653_218_952_657_612_309_30e-2,
    1.242_660_947_388_078_438_60e-3,
    2.711_555_568_743_487_578_15e-5,
    2.010_334_399_292_288_132_65e-7,
];
const F: [f64; 8] = [
    1.0,
    5.998_322_065_558_879_376_90e-1,
    1.369_298_809_227_358_053_10e-1,
    1.487_536_129_085_061_485_25e-2,
    7.868_691_311_456_132_591_00e-4,
    1.846_318_317_510_054_681_80e-5,
    1.421_511_758_316_445_888_70e-7,
    2.044_263_103_389_939_785_64e-15,
];

/// Evaluates the degree-7 polynomial with coefficients `c` (constant first) at `x` (Horner).
fn poly(c: &[f64; 8], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// Φ⁻¹(p): the z with P(Z ≤ z) = p for a standard normal Z, to about 1e-16 relative.
///
/// `p = 0` gives −∞ and `p = 1` gives +∞; `p` outside [0, 1] or NaN gives NaN (callers validate
/// confidences before they get here).
pub fn norm_inv_cdf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    // The smaller tail, computed directly so the far tail keeps its relative accuracy.
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let z = if r <= 5.0 {
        let r = r - 1.6;
        poly(&C, r) / poly(&D, r)
    } else {
        let r = r - 5.0;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 { -z } else { z }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::norm_cdf;

    #[test]
    fn matches_published_quantiles() {
        // Values from mpmath at 50 digits.
        let cases = [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.95, 1.644_853_626_951_472_2),
            (0.99, 2.326_347_874_040_840_8),
            (0.01, -2.326_347_874_040_840_8),
            (0.841_344_746_068_542_9, 1.0),
            (1e-10, -6.361_340_902_404_056),
            (1e-20, -9.262_340_089_798_408),
            (1e-100, -21.273_453_560_965_324),
            (1e-300, -37.047_096_299_361_2),
        ];
        for (p, want) in cases {
            let got = norm_inv_cdf(p);
            let err = if want == 0.0 {
                got.abs()
            } else {
                ((got - want) / want).abs()
            };
            assert!(err < 1e-14, "Φ⁻¹({p}) = {got}, want {want}");
        }
    }

    #[test]
    fn inverts_norm_cdf_across_the_range() {
        for i in 1..2000 {
            let p = f64::from(i) / 2000.0;
            let z = norm_inv_cdf(p);
            assert!((norm_cdf(z) - p).abs() < 4e-16 * p.max(0.5), "p = {p}");
        }
        // In the tails Φ is steep in relative terms (d ln Φ / dz ≈ |z|), so a z correct to
        // 1e-16 relative moves Φ by about z² × 1e-16 relative (and Φ has its own error).
        for e in 3..=300 {
            let p = 10f64.powi(-e);
            let z = norm_inv_cdf(p);
            let tol = 1e-15 * (1.0 + z * z);
            assert!(((norm_cdf(z) - p) / p).abs() < tol, "p = 1e-{e}");
        }
    }

    #[test]
    fn edges() {
        assert_eq!(norm_inv_cdf(0.0), f64::NEG_INFINITY);
        assert_eq!(norm_inv_cdf(1.0), f64::INFINITY);
        assert!(norm_inv_cdf(-0.1).is_nan());
        assert!(norm_inv_cdf(1.1).is_nan());
        assert!(norm_inv_cdf(f64::NAN).is_nan());
    }
}
