"""Times TA-Lib's C code (through its Python wrapper) on the same 1,000,000 bars as
benches/indicators.rs, excluding interpreter start-up and data loading, and prints JSON:
{"ema": seconds, ...} — the best of several runs, as criterion's numbers are near-best too."""

import json
import sys
import time

import numpy as np
import talib

path = sys.argv[1]
data = np.fromfile(path, dtype="<f8").reshape(5, -1)
o, h, l, c, v = (np.ascontiguousarray(x) for x in data)

cases = {
    "ema": lambda: talib.EMA(c, 30),
    "rsi": lambda: talib.RSI(c, 14),
    "macd": lambda: talib.MACD(c, 12, 26, 9),
    "bbands": lambda: talib.BBANDS(c, 5, 2.0, 2.0, 0),
    "atr": lambda: talib.ATR(h, l, c, 14),
}

out = {}
for name, fn in cases.items():
    fn()  # warm caches
    best = float("inf")
    for _ in range(15):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    out[name] = best
print(json.dumps(out))
