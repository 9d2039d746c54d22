"""The user's notebook, ported (examples/gmm_notebook.py), runs and prints
what it printed on VLFeat: same shapes and kinds of values."""

from __future__ import annotations

import pathlib
import re
import runpy

import numpy as np
import pytest
from reference import posteriors as ref_posteriors

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "examples" / "gmm_notebook.py"


@pytest.fixture(scope="module")
def run(capsys_module=None):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ns = runpy.run_path(str(NOTEBOOK), run_name="__notebook__")
    return ns, out.getvalue()


def test_prints_what_the_notebook_printed(run):
    ns, text = run
    lines = text.splitlines()
    assert lines[0] == "<class 'numpy.ndarray'> (3000,)"
    for name, value in [
        ("num_data", 1000),
        ("dimension", 3),
        ("num_clusters", 10),
        ("verbosity", 0),
        ("max_number_of_iterations", 100),
    ]:
        assert re.search(rf"^{name} +=  {value}$", text, re.M), name
    assert "<class 'numpy.ndarray'> (30,)" in lines
    assert "<class 'numpy.ndarray'> (10,)" in lines
    assert "<class 'numpy.ndarray'> (10000,)" in lines
    ll_line = lines[lines.index("<class 'numpy.ndarray'> (10,)") + 3]
    assert float(ll_line) == ns["loglikelihood"]


def test_values(run):
    ns, _ = run
    x = ns["array_data"].reshape(-1, 3)
    means, covs, priors = ns["means"], ns["covariances"], ns["priors"]
    post, ll = ns["posteriors"], ns["loglikelihood"]
    for a, size in [(means, 30), (covs, 30), (priors, 10), (post, 10000)]:
        assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape == (size,)
        assert np.all(np.isfinite(a))
    # means inside the data's unit cube, variances of uniform-ish clusters
    assert np.all((means >= 0) & (means <= 1))
    assert np.all((covs >= 1e-4) & (covs <= 1 / 12 * 1.5))
    assert priors.sum() == pytest.approx(1, abs=1e-5) and np.all(priors > 0)
    q = post.reshape(1000, 10)
    assert np.allclose(q.sum(axis=1), 1, atol=1e-5) and np.all(q >= 0)
    # the stored posteriors and log-likelihood are those of the final parameters
    q_ref, ll_ref = ref_posteriors(x, means.reshape(10, 3), covs.reshape(10, 3), priors)
    assert ll == pytest.approx(ll_ref, rel=1e-4)
    assert np.max(np.abs(q - q_ref)) < 1e-3
    # uniform data in [0,1]^3 has log-density 0; a 10-component fit does a bit better
    assert -400 < ll < 400
