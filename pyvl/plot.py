"""Pictures of Gaussian mixtures: component ellipses and EM convergence.

matplotlib is optional (``pip install "pyvl[plot]"``); it is imported when a
function is called, not with this module.

::

    import pyvl
    from pyvl.plot import plot_convergence, plot_gmm_2d

    gmm = pyvl.GaussianMixture(5, random_state=0).fit(X)     # X: (N, 2)
    plot_gmm_2d(gmm, X=X)              # ellipses at 2 standard deviations over the data
    plot_convergence(gmm)              # average log-likelihood per EM iteration

Both also take plain arrays, e.g. what VLFeat's API returns
(``plot_gmm_2d(vl_gmm_get_means(g), vl_gmm_get_covariances(g),
vl_gmm_get_priors(g))``), and return the matplotlib ``Axes`` they drew on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_convergence", "plot_gmm_2d"]


def _pyplot() -> Any:
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "pyvl.plot needs matplotlib, which is not installed: "
            'pip install "pyvl[plot]" (or pip install matplotlib)'
        ) from exc
    return plt


def _axes(ax: Any) -> Any:
    return _pyplot().gca() if ax is None else ax


def _gmm_arrays(
    gmm_or_means: Any, covariances: Any, weights: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(means (K, 2), covariance matrices (K, 2, 2), weights (K,) or None)."""
    if hasattr(gmm_or_means, "means_"):  # a fitted estimator or encoder
        model = gmm_or_means
        if model.means_ is None:
            raise ValueError(f"{type(model).__name__} has no model yet: fit it first")
        means = np.asarray(model.means_, dtype=np.float64)
        if covariances is None:
            covariances = getattr(model, "covariances_", None)
        if weights is None:
            weights = getattr(model, "weights_", getattr(model, "priors_", None))
    else:
        means = np.asarray(gmm_or_means, dtype=np.float64)
    if means.ndim == 1:  # VLFeat's flat layout (K*2,)
        if means.size % 2:
            raise ValueError(f"flat means must have 2*K values, got {means.size}")
        means = means.reshape(-1, 2)
    if means.ndim != 2 or means.shape[1] != 2:
        raise ValueError(
            f"plot_gmm_2d draws 2-D mixtures: means must be (K, 2), got shape {means.shape} "
            "(project the data to 2-D first, e.g. with PCA)"
        )
    k = means.shape[0]
    if covariances is None:
        raise ValueError("plot_gmm_2d needs the covariances (pass covariances=...)")
    cov = np.asarray(covariances, dtype=np.float64)
    if cov.ndim == 1 and cov.size == 2 * k:  # VLFeat's flat diagonal layout
        cov = cov.reshape(k, 2)
    if cov.shape == (k, 2):  # diagonal: variances
        mats = np.zeros((k, 2, 2))
        mats[:, 0, 0], mats[:, 1, 1] = cov[:, 0], cov[:, 1]
    elif cov.shape == (k,):  # spherical
        mats = cov[:, None, None] * np.eye(2)[None]
    elif cov.shape == (k, 2, 2):  # full
        mats = cov
    elif cov.shape == (2, 2):  # tied
        mats = np.broadcast_to(cov, (k, 2, 2))
    else:
        raise ValueError(
            f"covariances must be (K, 2) variances, (K, 2, 2), (K,) or (2, 2) for K = {k}, "
            f"got shape {cov.shape}"
        )
    if not (np.all(np.isfinite(means)) and np.all(np.isfinite(mats))):
        raise ValueError("the mixture's parameters contain NaN or Inf")
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.shape != (k,):
            raise ValueError(f"weights must be (K,) = ({k},), got shape {w.shape}")
    return means, mats, w


def plot_gmm_2d(
    gmm_or_means: Any,
    covariances: Any = None,
    weights: Any = None,
    X: Any = None,
    ax: Axes | None = None,
    n_std: float | Sequence[float] = 2,
    *,
    labels: Any = None,
    point_size: float = 4,
    cmap: str = "tab10",
) -> Axes:
    """Draw a 2-D Gaussian mixture as ellipses, over the data if given.

    Parameters
    ----------
    gmm_or_means
        A fitted :class:`pyvl.GaussianMixture` (or scikit-learn
        ``GaussianMixture``, or a fitted Fisher encoder), whose means,
        covariances and weights are used; or the means, (K, 2) or VLFeat's
        flat (2K,).
    covariances
        With means: diagonal variances (K, 2) or flat (2K,), or full (K, 2, 2),
        spherical (K,) or tied (2, 2) covariances.
    weights
        Mixture weights (K,), optional: each component's weight is printed at
        its mean and sets the ellipse's line width.
    X
        Data (N, 2) drawn as points underneath, optional.
    ax
        Axes to draw on (default: the current axes).
    n_std
        Ellipse radius in standard deviations, or several (one ellipse each).
    labels
        Optional (N,) component index per point of X (e.g. ``gmm.predict(X)``):
        points are coloured like their component.
    point_size, cmap
        Marker size of the data points; colour map of the components.

    Returns
    -------
    The matplotlib Axes.
    """
    plt = _pyplot()
    from matplotlib.patches import Ellipse

    means, mats, w = _gmm_arrays(gmm_or_means, covariances, weights)
    ax = _axes(ax)
    k = means.shape[0]
    colors = plt.get_cmap(cmap)(np.arange(k) % plt.get_cmap(cmap).N)
    if X is not None:
        data = np.asarray(X, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != 2:
            raise ValueError(f"X must be (N, 2), got shape {data.shape}")
        if labels is not None:
            lab = np.asarray(labels).reshape(-1)
            if lab.shape != (data.shape[0],):
                raise ValueError(f"labels must be (N,) = ({data.shape[0]},), got {lab.shape}")
            ax.scatter(data[:, 0], data[:, 1], s=point_size, c=colors[lab.astype(int) % k],
                       alpha=0.5, linewidths=0)
        else:
            ax.scatter(data[:, 0], data[:, 1], s=point_size, color="0.55", alpha=0.5,
                       linewidths=0)
    radii = [float(r) for r in np.atleast_1d(np.asarray(n_std, dtype=np.float64))]
    if not radii or any(not (r > 0 and np.isfinite(r)) for r in radii):
        raise ValueError(f"n_std must be > 0, got {n_std!r}")
    wmax = float(w.max()) if w is not None and w.max() > 0 else 1.0
    for j in range(k):
        vals, vecs = np.linalg.eigh(mats[j])
        vals = np.clip(vals, 0, None)
        angle = float(np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1]))) % 180.0
        lw = 1.0 + 2.0 * (w[j] / wmax if w is not None else 0.5)
        for r in radii:
            ax.add_patch(
                Ellipse(
                    (float(means[j, 0]), float(means[j, 1])),
                    width=2 * r * float(np.sqrt(vals[1])),
                    height=2 * r * float(np.sqrt(vals[0])),
                    angle=angle,
                    fill=False,
                    edgecolor=colors[j],
                    linewidth=lw,
                )
            )
        ax.plot(means[j, 0], means[j, 1], "+", color=colors[j], markersize=8, mew=2)
        if w is not None:
            ax.annotate(f"{w[j]:.2f}", (means[j, 0], means[j, 1]), textcoords="offset points",
                        xytext=(5, 5), fontsize=9, color=colors[j],
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7,
                              "lw": 0})
    ax.autoscale_view()
    radius = ", ".join(f"{r:g}" for r in radii)
    ax.set_title(f"{k}-component mixture ({radius} std)")
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def plot_convergence(
    lower_bounds: Any, ax: Axes | None = None, *, label: str | None = None
) -> Axes:
    """Plot the log-likelihood per EM iteration.

    Parameters
    ----------
    lower_bounds
        A fitted :class:`pyvl.GaussianMixture` (its ``lower_bounds_``: the
        average log-likelihood per sample after each E-step), or the values
        themselves (any sequence of numbers).
    ax
        Axes to draw on (default: the current axes).
    label
        Legend label of the curve (optional).

    Returns
    -------
    The matplotlib Axes.
    """
    _pyplot()
    from matplotlib.ticker import MaxNLocator

    if hasattr(lower_bounds, "lower_bounds_"):
        values = np.asarray(lower_bounds.lower_bounds_, dtype=np.float64)
    elif hasattr(lower_bounds, "get_params") and not hasattr(lower_bounds, "__len__"):
        raise ValueError(
            f"{type(lower_bounds).__name__} has no lower_bounds_: pass a fitted "
            "pyvl.GaussianMixture or a sequence of log-likelihoods"
        )
    else:
        values = np.asarray(lower_bounds, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("no log-likelihood values to plot")
    ax = _axes(ax)
    it = np.arange(values.size)
    ax.plot(it, values, marker="o", markersize=3, label=label)
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("log-likelihood per sample")
    ax.set_title(f"EM convergence ({values.size - 1} iterations, final {values[-1]:.4g})")
    ax.grid(True, alpha=0.3)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if label is not None:
        ax.legend()
    return ax
