"""scikit-learn's own test files run against pyvl's estimators (see upstream_harness.py)."""
