#!/usr/bin/env python3
"""The hard concrete figure (paper Fig. 2, as `l0repro figure hard-concrete` draws it) in matplotlib,
timed, for `l0repro bench figures`.

Each repeat computes the figure from scratch (densities, and E[z] by Monte Carlo with 10,000 noise samples
shared by 49 values of log alpha, as l0repro does, vectorised with numpy) and renders it to bytes in memory, at the
same size (468 x 220 pt) and PNG density (2 pixels per point) as l0repro. Imports are not timed.
Prints one JSON line: {"format": [seconds, ...], ...}.

Usage: matplotlib_hard_concrete.py [--repeats N] [--formats png,svg,pdf] [--save DIR]
"""
import argparse
import io
import json
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

GAMMA, ZETA = -0.1, 1.1
BLUE, VERMILLION, GREEN = "#0072B2", "#D55E00", "#009E73"


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def binary_concrete_density(s, log_alpha, beta):
    t = beta * (np.log(s) - np.log1p(-s)) - log_alpha
    q = sigmoid(t)
    return beta * q * (1 - q) / (s * (1 - s))


def stretched_density(x, log_alpha, beta):
    s = (x - GAMMA) / (ZETA - GAMMA)
    return binary_concrete_density(s, log_alpha, beta) / (ZETA - GAMMA)


def stretched_cdf(x, log_alpha, beta):
    return sigmoid(beta * np.log((x - GAMMA) / (ZETA - x)) - log_alpha)


def draw(fmt, samples=10_000, rng_seed=2018):
    beta = 0.5
    fig, (a, b) = plt.subplots(1, 2, figsize=(468 / 72, 220 / 72), dpi=144)
    xs = np.arange(1, 1000) / 1000
    sx = GAMMA + (ZETA - GAMMA) * np.arange(1, 1200) / 1200
    rx = np.clip(np.arange(0, 1001) / 1000, 1e-9, 1 - 1e-9)
    p0 = stretched_cdf(0.0, 0.0, beta)
    p1 = 1 - stretched_cdf(1.0, 0.0, beta)
    a.fill_between(rx, 0, stretched_density(rx, 0.0, beta), color=GREEN, alpha=0.3, label="z on (0, 1)")
    a.plot(xs, binary_concrete_density(xs, 0.0, beta), color=BLUE, label="s (binary concrete)")
    a.plot(sx, stretched_density(sx, 0.0, beta), color=VERMILLION, ls="--", label="s̄ (stretched)")
    a.vlines([0, 1], 0, [p0, p1], color=GREEN, lw=2)
    a.plot([0, 1], [p0, p1], "o", color=GREEN, label="P(z = 0), P(z = 1)")
    a.set_xlim(-0.15, 1.15)
    a.set_ylim(0, 2.2)
    a.set_xlabel("value")
    a.set_ylabel("density / probability")
    a.set_title("(a) log α = 0, β = 0.5", fontweight="bold")
    a.legend(loc="best", fontsize=7.5)

    # The same estimator as l0repro: one set of `samples` noise draws shared by every log alpha.
    rng = np.random.default_rng(rng_seed)
    log_alphas = -6 + 0.25 * np.arange(49)
    u = 1e-6 + (1 - 2e-6) * rng.random(samples)
    s = sigmoid((np.log(u) - np.log1p(-u) + log_alphas[:, None]) / (2 / 3))
    z = np.clip(s * (ZETA - GAMMA) + GAMMA, 0, 1)
    mean = z.mean(axis=1)
    band = 2 * z.std(axis=1) / np.sqrt(samples)
    fine = -6 + 0.025 * np.arange(481)
    b.fill_between(log_alphas, mean - band, mean + band, color=BLUE, alpha=0.25)
    b.plot(log_alphas, mean, color=BLUE, label=f"E[z], Monte Carlo ({samples:,} samples)")
    b.plot(fine, np.clip(sigmoid(fine) * (ZETA - GAMMA) + GAMMA, 0, 1), color=VERMILLION, ls="--", label="noise-free gate ẑ")
    b.axvline(-np.log(11), color="k", alpha=0.5, ls=":", lw=0.8)
    b.set_ylim(-0.03, 1.03)
    b.set_xlabel("log α")
    b.set_ylabel("gate value")
    b.set_title("(b) β = 2/3", fontweight="bold")
    b.legend(loc="best", fontsize=7.5)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=144)
    plt.close(fig)
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--formats", default="png,svg,pdf")
    parser.add_argument("--save", help="also write the last rendering of each format here")
    args = parser.parse_args()
    draw("png")  # warm up font caches, as l0repro's first render does
    result = {}
    for fmt in args.formats.split(","):
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            data = draw(fmt)
            seconds.append(time.perf_counter() - start)
        result[fmt] = seconds
        if args.save:
            with open(os.path.join(args.save, f"hard-concrete-matplotlib.{fmt}"), "wb") as f:
                f.write(data)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
