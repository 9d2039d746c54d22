"""Pure-NumPy references (float64), independent of libgmm and VLFeat.

Written from the formulas in the behavioural spec, in the direct (not
expanded) form, to check libgmm against something that shares no code or
numerical shortcuts with it.
"""

from __future__ import annotations

import numpy as np

LOG_2PI = np.log(2 * np.pi)
MIN_PRIOR = 1e-6
MIN_POSTERIOR = 1e-2


def log_joint(x: np.ndarray, means: np.ndarray, covs: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """l[i, k] = log pi_k + log N(x_i; mu_k, diag(s2_k)); -inf where pi_k < 1e-6."""
    x = np.asarray(x, np.float64)
    means = np.asarray(means, np.float64)
    covs = np.asarray(covs, np.float64)
    priors = np.asarray(priors, np.float64)
    d = x.shape[1]
    diff = x[:, None, :] - means[None, :, :]
    maha = np.sum(diff * diff / covs[None, :, :], axis=2)
    with np.errstate(divide="ignore"):
        logw = np.where(priors < MIN_PRIOR, -np.inf, np.log(priors))
    return logw[None, :] - 0.5 * d * LOG_2PI - 0.5 * np.sum(np.log(covs), axis=1)[None, :] - 0.5 * maha


def posteriors(x, means, covs, priors) -> tuple[np.ndarray, float]:
    """(posteriors N x K, summed log-likelihood)."""
    lj = log_joint(x, means, covs, priors)
    m = lj.max(axis=1, keepdims=True)
    e = np.exp(lj - m)
    s = e.sum(axis=1, keepdims=True)
    return e / s, float(np.sum(np.log(s[:, 0]) + m[:, 0]))


def m_step(x, q, bounds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VLFeat's M-step: posteriors below 1e-2/K ignored, variances bounded below."""
    x = np.asarray(x, np.float64)
    n, d = x.shape
    k = q.shape[1]
    w = np.where(q < MIN_POSTERIOR / k, 0.0, q)
    mass = w.sum(axis=0)
    means = np.zeros((k, d))
    covs = np.zeros((k, d))
    ok = mass >= MIN_PRIOR / k
    means[ok] = (w.T @ x)[ok] / mass[ok, None]
    for j in np.flatnonzero(ok):
        diff = x - means[j]
        covs[j] = (w[:, j : j + 1] * diff * diff).sum(axis=0) / mass[j]
    covs = np.maximum(covs, np.broadcast_to(bounds, (k, d)))
    priors = mass / max(mass.sum(), 1e-12)
    return means, covs, priors


def em(x, means, covs, priors, iterations: int, bounds=1e-4) -> dict:
    """EM for a fixed number of M-steps, stopping early like VLFeat on a relative
    change of the log-likelihood below 1e-5. No mode restarts: use data where
    no component empties. Returns the final parameters, posteriors and LL."""
    covs = np.maximum(np.asarray(covs, np.float64), bounds)
    means = np.asarray(means, np.float64)
    priors = np.asarray(priors, np.float64)
    prev = -np.inf
    for t in range(iterations + 1):
        q, ll = posteriors(x, means, covs, priors)
        if t >= iterations or (t > 0 and abs((ll - prev) / ll) < 1e-5):
            break
        prev = ll
        means, covs, priors = m_step(x, q, bounds)
    return {"means": means, "covariances": covs, "priors": priors, "posteriors": q, "loglikelihood": ll}


def kmeanspp_mt(x: np.ndarray, k: int, draws) -> np.ndarray:
    """k-means++ seeding with VLFeat's draw order, given a generator of MT19937
    uint32 draws: one uindex(N), then K real1; cumulative sums in x's dtype."""
    n = x.shape[0]
    dt = x.dtype.type
    min_dist = np.full(n, np.inf, dtype=x.dtype)
    idx = next(draws) % n
    centers = []
    for c in range(k):
        t = dt(next(draws) * (1.0 / 4294967295.0))
        centers.append(x[idx].copy())
        if c == k - 1:
            break
        diff = (x - x[idx]).astype(x.dtype)
        dist = np.sum(diff * diff, axis=1, dtype=x.dtype)
        min_dist = np.minimum(min_dist, dist)
        energy = dt(0)
        for v in min_dist:
            energy = dt(energy + v)
        acc = dt(0)
        idx = n - 1
        for j in range(n - 1):
            acc = dt(acc + min_dist[j])
            if acc >= t * energy:
                idx = j
                break
    return np.array(centers)


class MT19937:
    """Reference MT19937 (init_genrand + genrand_int32), for checking draws."""

    def __init__(self, seed: int = 5489) -> None:
        self.mt = [0] * 624
        self.mt[0] = seed & 0xFFFFFFFF
        for i in range(1, 624):
            prev = self.mt[i - 1]
            self.mt[i] = (1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF
        self.i = 624

    def __iter__(self):
        return self

    def __next__(self) -> int:
        if self.i >= 624:
            mt = self.mt
            for k in range(624):
                y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7FFFFFFF)
                mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self.i = 0
        y = self.mt[self.i]
        self.i += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y & 0xFFFFFFFF
