"""scikit-learn's sklearn/mixture/tests/test_gaussian_mixture.py (the installed copy),
run with pyvl.GaussianMixture in place of scikit-learn's (see upstream_harness.py)."""

from .upstream_harness import load_upstream

load_upstream(globals(), "gaussian_mixture")
