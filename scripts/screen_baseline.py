#!/usr/bin/env python3
"""Plain numpy/pandas baselines for the screening benchmark (crates/screen/benches/catalogue.rs).

Times, over N points of a synthetic 10-minute concentration series with constant stretches:
  - S1 constant-value detection, vectorised: run lengths of identical consecutive values and
    the runs at least `min_run` long (numpy);
  - a rolling standard deviation over 60 values (pandas), the core of ADTK-style detectors.
Prints the best of 5 runs and points per second, one line per baseline, so the figures can be
set beside the Rust benchmark's items/s (the same N: the `catalogue` bench's point count).

  pip install numpy pandas       # if missing
  python3 scripts/screen_baseline.py [N]     # default 4,700,000 points (about the `catalogue` bench's)
"""

import sys
import time

import numpy as np
import pandas as pd


def series(n: int, seed: int = 7) -> np.ndarray:
    """Daily cycle, AR(1) noise, rounded to one decimal, with a few frozen stretches."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = np.empty(n)
    e = 0.0
    shocks = rng.normal(0.0, 0.1 * np.sqrt(1 - 0.8**2), n)
    # AR(1) by a linear filter would need scipy; a cumulative form keeps it numpy-only.
    for i in range(0, n, 1_000_000):
        chunk = shocks[i : i + 1_000_000]
        out = np.empty_like(chunk)
        for j, s in enumerate(chunk):
            e = 0.8 * e + s
            out[j] = e
        noise[i : i + 1_000_000] = out
    x = 20.0 * (1.0 + 0.3 * np.sin(2 * np.pi * t / 144.0)) * np.exp(noise)
    x = np.round(x, 1)
    for start in rng.integers(0, max(n - 200, 1), size=max(n // 100_000, 1)):
        x[start : start + 120] = x[start]
    return x


def constant_runs(x: np.ndarray, min_run: int = 36) -> np.ndarray:
    """Start and length of runs of identical values at least `min_run` long."""
    change = np.flatnonzero(np.diff(x) != 0) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [x.size])))
    keep = lengths >= min_run
    return np.stack((starts[keep], lengths[keep]))


def rolling_std(x: np.ndarray, window: int = 60) -> np.ndarray:
    return pd.Series(x).rolling(window).std().to_numpy()


def best_of(f, x, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f(x)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4_700_000
    x = series(n)
    print(f"points {n}  numpy {np.__version__}  pandas {pd.__version__}")
    for name, f in [("s1_constant_runs_numpy", constant_runs), ("rolling_std_60_pandas", rolling_std)]:
        s = best_of(f, x)
        print(f"{name:<24} {s * 1e3:9.2f} ms  {n / s / 1e6:8.1f} M points/s")


if __name__ == "__main__":
    main()
