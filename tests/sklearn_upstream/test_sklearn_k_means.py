"""scikit-learn's sklearn/cluster/tests/test_k_means.py (the installed copy),
run with pyvl.KMeans in place of scikit-learn's (see upstream_harness.py)."""

from .upstream_harness import load_upstream

load_upstream(globals(), "k_means")
