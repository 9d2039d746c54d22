"""Progress bars (verbose=1, tqdm): what they label and show.

The bar counts EM / k-means iterations with no total (training stops when it
converges; the limit is in the label), and shows the value per point that
the fitted model reports (the mean log-likelihood, ``lower_bound_``), not the
sum over points. The encoders and transformers take ``verbose`` too."""

from __future__ import annotations

import numpy as np
import pytest

import pyvl
import pyvl.encoders as E


def _data():
    rng = np.random.default_rng(0)
    c = rng.normal(size=(4, 5)) * 4
    return (c[rng.integers(0, 4, 4000)] + rng.normal(size=(4000, 5))).astype(np.float32)


class RecordingBar:
    """A stand-in for tqdm that records what pyvl asks it to show."""

    bars: list[RecordingBar] = []

    def __init__(self, total=None, desc="", **kwargs):
        self.total, self.desc, self.postfix, self.n = total, desc, [], 0
        RecordingBar.bars.append(self)

    def update(self, n=1):
        self.n += n

    def set_postfix(self, values, refresh=True):
        self.postfix.append(dict(values))

    def close(self):
        pass


@pytest.fixture
def bars(monkeypatch):
    import tqdm.auto

    RecordingBar.bars = []
    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)
    return RecordingBar.bars


def test_gmm_bar_label_and_per_point_value(bars):
    x = _data()
    with pytest.warns(pyvl.estimators.ConvergenceWarning):
        g = pyvl.GaussianMixture(4, random_state=0, verbose=1, tol=0.0, max_iter=30).fit(x)
    (bar,) = bars
    assert bar.desc == "GaussianMixture EM (at most 30 iterations)"
    assert bar.total is None  # the bar cannot know when EM stops
    assert bar.n == g.n_iter_ == 30
    shown = [float(p["loglik/point"]) for p in bar.postfix]
    assert len(shown) == len(g.lower_bounds_)
    np.testing.assert_allclose(shown, g.lower_bounds_, rtol=1e-5)  # per point, not the sum


def test_several_inits_are_named(bars):
    pyvl.GaussianMixture(4, random_state=0, verbose=1, n_init=2, max_iter=5).fit(_data())
    assert [b.desc for b in bars] == [
        "GaussianMixture EM, init 1/2 (at most 5 iterations)",
        "GaussianMixture EM, init 2/2 (at most 5 iterations)",
    ]


@pytest.mark.parametrize("name, opts", [("fisher", {"n_components": 3}), ("vlad", {"n_clusters": 3}),
                                        ("bovw", {"n_clusters": 3})])
def test_encoders_take_verbose(bars, name, opts):
    enc = E.get(name, random_state=0, verbose=1, **opts).fit(_data())
    assert enc.verbose == 1 and enc.get_config()["verbose"] == 1
    assert len(bars) == 1 and "codebook" in bars[0].desc and bars[0].n > 0
    quiet = E.get(name, random_state=0, **opts).fit(_data())
    np.testing.assert_array_equal(enc.encode(_data()[:50]), quiet.encode(_data()[:50]))


@pytest.mark.parametrize("cls, opts", [(pyvl.FisherVectorEncoder, {"n_components": 3}),
                                       (pyvl.VladEncoder, {"n_clusters": 3}),
                                       (pyvl.BovwEncoder, {"n_clusters": 3})])
def test_transformers_take_verbose(bars, cls, opts):
    x = _data()
    t = cls(random_state=0, verbose=1, **opts).fit([x[:2000], x[2000:]])
    # the codebook is trained by an estimator: its bar
    trainer = "GaussianMixture" if cls.__name__ == "FisherVectorEncoder" else "KMeans"
    assert len(bars) == 1 and bars[0].desc.startswith(trainer)
    quiet = cls(random_state=0, **opts).fit([x[:2000], x[2000:]])
    np.testing.assert_array_equal(t.transform([x[:40]]), quiet.transform([x[:40]]))
