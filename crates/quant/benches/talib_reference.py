"""Times TA-Lib's C code (through its Python wrapper) on the same 1,000,000 bars as
benches/indicators.rs, excluding interpreter start-up and data loading, and prints JSON:
{"ema": seconds, ..., "best": {"ema": seconds, ...}}.

Each top-level number is measured the way criterion measures ours (`sample_size(20)`, 3 s
warm-up, 5 s of linear sampling: sample i runs i*k calls) and is the median of the 20 per-call
sample means — the statistic `cargo xtask bench` reads from criterion for our side, so the ratio
compares like with like. "best" is the fastest single call seen, for information: on a loaded
machine a single 2 ms call often fits between two preemptions while a multi-call sample does not,
so best-of-N against a median would favour whichever side is timed by best-of-N."""

import json
import statistics
import sys
import time

import numpy as np
import talib

path = sys.argv[1]
data = np.fromfile(path, dtype="<f8").reshape(5, -1)
o, h, l, c, v = (np.ascontiguousarray(x) for x in data)

# The same parameters as COMPARED in benches/indicators.rs.
cases = {
    "ema": lambda: talib.EMA(c, 30),
    "rsi": lambda: talib.RSI(c, 14),
    "macd": lambda: talib.MACD(c, 12, 26, 9),
    "bbands": lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0),
    "atr": lambda: talib.ATR(h, l, c, 14),
}

SAMPLES = 20
WARM_UP = 3.0
MEASURE = 5.0


def measure(fn):
    """(median of per-call sample means, fastest single call), criterion's linear sampling."""
    clock = time.perf_counter
    best = float("inf")
    start = clock()
    calls = 0
    while clock() - start < WARM_UP:
        t = clock()
        fn()
        best = min(best, clock() - t)
        calls += 1
    per_call = (clock() - start) / calls
    # sum over i of i*k calls = k * SAMPLES * (SAMPLES + 1) / 2, sized to last MEASURE seconds.
    k = max(1, round(MEASURE / (per_call * SAMPLES * (SAMPLES + 1) / 2)))
    means = []
    for i in range(1, SAMPLES + 1):
        n = i * k
        t = clock()
        for _ in range(n):
            fn()
        means.append((clock() - t) / n)
    return statistics.median(means), best


out = {"best": {}}
for name, fn in cases.items():
    out[name], out["best"][name] = measure(fn)
print(json.dumps(out))
