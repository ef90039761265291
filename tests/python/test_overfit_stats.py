"""An independent implementation of the overfitting statistics, from the papers' formulas, in
plain Python (math and statistics.NormalDist, no shared code with the Rust one):

- Probabilistic Sharpe Ratio — Bailey & López de Prado, "The Sharpe Ratio Efficient Frontier"
  (Journal of Risk, 2012), eq. for PSR(SR*);
- Deflated Sharpe Ratio — Bailey & López de Prado, "The Deflated Sharpe Ratio: Correcting for
  Selection Bias, Backtest Overfitting and Non-Normality" (Journal of Portfolio Management,
  2014), SR0 from the expected maximum of N standard normals;
- Probability of Backtest Overfitting by CSCV — Bailey, Borwein, López de Prado & Zhu, "The
  Probability of Backtest Overfitting" (Journal of Computational Finance, 2015), section 2.

It writes `tests/fixtures/overfit/reference.json` (inputs and expected values) with `python
tests/python/test_overfit_stats.py --write`; the Rust tests (`crates/quant/tests/overfit.rs`)
must match it to 1e-9, and this test checks that the fixture is what this implementation says,
so neither side can drift alone.

Conventions shared with the Rust side: per-period Sharpe = mean / sample sd (n - 1); skewness
and kurtosis are population moments (kurtosis not excess); a tie in ranks takes the mean rank;
CSCV blocks are contiguous and the oldest rows that do not fill a block are left out."""

import functools
import itertools
import json
import math
import sys
from pathlib import Path
from statistics import NormalDist

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "overfit" / "reference.json"
N = NormalDist()
EULER_GAMMA = 0.5772156649015329


def lcg(seed):
    """A deterministic stream of uniforms in (0, 1) (Numerical Recipes' LCG)."""
    state = seed
    while True:
        state = (1664525 * state + 1013904223) % 2**32
        yield (state + 0.5) / 2**32


def returns(seed, n, drift, vol, fat=0.0):
    """Returns with a drift, Gaussian noise and (fat > 0) occasional jumps: skew and kurtosis."""
    u = lcg(seed)
    out = []
    for _ in range(n):
        z = N.inv_cdf(next(u))
        jump = -fat * 5 * vol if next(u) < 0.02 else 0.0
        out.append(drift + vol * z + jump)
    return out


def moments(r):
    n = len(r)
    mean = sum(r) / n
    d = [x - mean for x in r]
    m2 = sum(x * x for x in d)
    sd = math.sqrt(m2 / (n - 1))
    m2p, m3p, m4p = m2 / n, sum(x**3 for x in d) / n, sum(x**4 for x in d) / n
    return {"sharpe": mean / sd, "skewness": m3p / m2p**1.5, "kurtosis": m4p / m2p**2, "observations": n}


def psr(m, benchmark):
    sr = m["sharpe"]
    den = 1 - m["skewness"] * sr + (m["kurtosis"] - 1) / 4 * sr * sr
    return N.cdf((sr - benchmark) * math.sqrt(m["observations"] - 1) / math.sqrt(den))


def expected_max(variance, trials):
    return math.sqrt(variance) * ((1 - EULER_GAMMA) * N.inv_cdf(1 - 1 / trials)
                                  + EULER_GAMMA * N.inv_cdf(1 - 1 / (trials * math.e)))


def sample_var(xs):
    mean = sum(xs) / len(xs)
    return sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)


def sharpe(xs):
    n = len(xs)
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    return mean / math.sqrt(var)


def mean_rank(values, i):
    v = values[i]
    below = sum(1 for x in values if x < v)
    equal = sum(1 for x in values if x == v)
    return below + (equal + 1) / 2


def pbo(trials, blocks):
    rows = len(trials[0])
    size = rows // blocks
    skip = rows - size * blocks
    parts = [[t[skip + b * size: skip + (b + 1) * size] for b in range(blocks)] for t in trials]
    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        rest = [b for b in range(blocks) if b not in chosen]
        is_ = [sharpe([x for b in chosen for x in p[b]]) for p in parts]
        oos = [sharpe([x for b in rest for x in p[b]]) for p in parts]
        best = max(range(len(trials)), key=lambda t: (is_[t], -t))
        omega = mean_rank(oos, best) / (len(trials) + 1)
        logits.append(math.log(omega / (1 - omega)))
    return {"pbo": sum(1 for l in logits if l <= 0) / len(logits), "splits": len(logits),
            "logit_mean": sum(logits) / len(logits), "logit_min": min(logits), "logit_max": max(logits)}


@functools.lru_cache(maxsize=1)
def reference():
    cases = []
    # The chosen strategy and the Sharpe ratios of the trials it was picked among.
    for seed, trials in [(7, 10), (11, 100), (13, 2500)]:
        chosen = returns(seed, 1000, 0.0015, 0.01, fat=1.0)
        m = moments(chosen)
        u = lcg(seed * 101)
        trial_sharpes = [m["sharpe"]] + [0.02 * N.inv_cdf(next(u)) for _ in range(trials - 1)]
        variance = sample_var(trial_sharpes)
        bench = expected_max(variance, trials)
        cases.append({"kind": "dsr", "returns": chosen, "trial_sharpes": trial_sharpes, "expected": {
            **m, "psr_zero": psr(m, 0.0), "variance": variance, "benchmark": bench, "dsr": psr(m, bench)}})
    # CSCV: trials that are pure noise (PBO near one half or above) and trials with one real edge.
    for seed, edge, blocks in [(21, 0.0, 16), (23, 0.002, 8)]:
        trials = [returns(seed * 1000 + t, 402, edge if t == 3 else 0.0, 0.01) for t in range(12)]
        cases.append({"kind": "pbo", "trials": trials, "blocks": blocks, "expected": pbo(trials, blocks)})
    return {"source": "tests/python/test_overfit_stats.py (independent implementation of the papers)",
            "cases": cases}


def test_the_fixture_is_what_the_papers_formulas_give():
    stored = json.loads(FIXTURE.read_text())
    fresh = reference()
    assert len(stored["cases"]) == len(fresh["cases"])
    for s, f in zip(stored["cases"], fresh["cases"]):
        for key, value in f["expected"].items():
            got = s["expected"][key]
            assert math.isclose(got, value, rel_tol=1e-12, abs_tol=1e-12), (key, got, value)


def test_noise_overfits_and_an_edge_does_not():
    cases = [c for c in reference()["cases"] if c["kind"] == "pbo"]
    noise, edge = cases
    assert noise["expected"]["pbo"] > 0.3, noise["expected"]["pbo"]
    assert edge["expected"]["pbo"] < noise["expected"]["pbo"]


if __name__ == "__main__" and "--write" in sys.argv:
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(reference(), indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {FIXTURE}")
