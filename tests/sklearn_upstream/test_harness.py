"""Checks of the harness that runs scikit-learn's test files against pyvl
(upstream_harness.py): the substitution reaches what the test modules build at
import time, the expectations match the installed files and the collected
tests, the type-only ``pytest`` proxy still checks types, and the work list in
docs/sklearn-parity.md is up to date."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

import pyvl

from . import upstream_harness as harness

if harness.toml_module() is None:
    pytest.skip(harness.NO_TOML, allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "sklearn_parity.py"


def _marks(fn, name: str):
    return [m for m in getattr(fn, "pytestmark", []) if m.name == name]


def _param_values(fn, argnames: str) -> list:
    for m in _marks(fn, "parametrize"):
        if m.args[0] == argnames:
            return list(m.args[1])
    raise AssertionError(f"{fn.__name__} has no parametrize({argnames!r}, ...)")


def test_kmeans_substituted_in_import_time_parametrize_lists():
    """pyvl.KMeans is in the lists built while test_k_means.py is imported;
    MiniBatchKMeans and the functions stay scikit-learn's."""
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.cluster import MiniBatchKMeans, k_means

    ns: dict = {"__name__": "sklearn_upstream_check"}
    harness.load_upstream(ns, "k_means")
    assert ns["KMeans"] is pyvl.KMeans
    assert ns["MiniBatchKMeans"] is MiniBatchKMeans and ns["k_means"] is k_means
    assert _param_values(ns["test_all_init"], "Estimator") == [pyvl.KMeans, MiniBatchKMeans]
    assert _param_values(ns["test_n_init_auto"], "Klass, default_n_init") == [
        (pyvl.KMeans, 10), (MiniBatchKMeans, 3)]
    values = _param_values(ns["test_kmeans_predict"], "Estimator, algorithm")
    assert all(SkKMeans not in v for v in values)
    assert ns["__sklearn_upstream__"] == "k_means"


def test_gaussian_mixture_substituted_and_reference_kmeans_kept():
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    ns: dict = {"__name__": "sklearn_upstream_check"}
    harness.load_upstream(ns, "gaussian_mixture")
    assert ns["GaussianMixture"] is pyvl.GaussianMixture
    assert ns["GaussianMixture"] is not SkGaussianMixture
    assert ns["KMeans"] is SkKMeans  # reference data only, not under test here
    # the test functions run in that namespace: their global is pyvl's class
    assert ns["test_check_means"].__globals__["GaussianMixture"] is pyvl.GaussianMixture


def test_substitution_keeps_line_numbers_and_asserts_are_rewritten():
    """Tracebacks point at scikit-learn's file, and a failing assert shows its values."""
    ns: dict = {"__name__": "sklearn_upstream_check"}
    harness.load_upstream(ns, "k_means")
    fn = ns["test_kmeans_elkan_iter_attribute"]
    path = harness.upstream_path("k_means")
    assert fn.__code__.co_filename == str(path)
    line = path.read_text().splitlines()[fn.__code__.co_firstlineno - 1]
    assert line.startswith("def test_kmeans_elkan_iter_attribute")
    assert "@pytest_ar" in ns  # pytest's assertion-rewriting helper module


def test_missing_import_is_an_error(monkeypatch):
    """If scikit-learn's file stops importing the class by name, loading fails
    loudly instead of silently testing scikit-learn's class."""
    monkeypatch.setitem(harness.UPSTREAM, "k_means", ("sklearn.cluster.tests.test_k_means",
                                                      {"NoSuchClass": "KMeans"}))
    with pytest.raises(RuntimeError, match="NoSuchClass"):
        harness.transformed_code("k_means")


def test_expectations_were_measured_on_the_installed_files():
    exp = harness.load_expectations()
    for key in harness.UPSTREAM:
        path = harness.upstream_path(key)
        assert harness.file_sha256(path) == exp.files[key]["sha256"], (
            f"{path} is not the file expectations.toml was measured on (scikit-learn "
            f"{exp.sklearn_version}; installed {harness.sklearn_version()}): re-measure with "
            "python tools/sklearn_parity.py measure, update expectations.toml and the docs")


def test_entry_pattern_matching():
    e = harness.Entry("k_means", "test_x[*sparse_matrix*]", "sparse", "r")
    assert e.matches("test_x[42-sparse_matrix]")
    assert not e.matches("test_x[42-dense]") and not e.matches("test_y[sparse_matrix]")
    exact = harness.Entry("k_means", "test_x", "private", "r")
    assert exact.matches("test_x") and not exact.matches("test_x[1]")
    brackets = harness.Entry("k_means", "test_x[a-b]", "private", "r")  # no character classes
    assert brackets.matches("test_x[a-b]") and not brackets.matches("test_xa")


@pytest.fixture(scope="module")
def parity_tool():
    """tools/sklearn_parity.py as a module."""
    sys.path.insert(0, str(TOOL.parent))
    try:
        import sklearn_parity
    finally:
        sys.path.remove(str(TOOL.parent))
    return sklearn_parity


@pytest.fixture(scope="module")
def collected_ids(parity_tool) -> list[str]:
    """Every upstream test id, collected in a separate pytest process."""
    return parity_tool.collect_ids()  # type: ignore[no-any-return]


def test_every_entry_applies_to_a_collected_test(collected_ids):
    """No stale entry: each one is the first match of at least one collected test."""
    exp = harness.load_expectations()
    assert len(collected_ids) > 500
    used = set()
    for nodeid in collected_ids:
        path, _, name = nodeid.partition("::")
        entry = exp.entry_for(harness.STUBS[Path(path).stem], name)
        if entry is not None:
            used.add(entry.index)
    stale = [f"{e.file}: {e.id!r}" for e in exp.entries if e.index not in used]
    assert not stale, f"entries of expectations.toml that apply to no test: {stale}"


def test_work_list_in_docs_is_up_to_date(parity_tool, collected_ids):
    text, rendered = parity_tool.updated_doc(collected_ids)
    assert text == rendered, (
        "docs/sklearn-parity.md is out of date with expectations.toml: "
        "run python tools/sklearn_parity.py doc")


# ---- the type-only pytest proxy of 'wording' tests --------------------------------------


def test_type_only_raises_ignores_words_but_checks_type():
    proxy = harness.TypeOnlyPytest()
    with proxy.raises(ValueError, match="words scikit-learn uses"):
        raise ValueError("other words")
    assert proxy.dropped == ["words scikit-learn uses"]
    with pytest.raises(TypeError):  # a different type is not caught
        with proxy.raises(ValueError, match="x"):
            raise TypeError("x")
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        with proxy.raises(ValueError, match="x"):
            pass


def test_type_only_warns_ignores_words_but_checks_category():
    proxy = harness.TypeOnlyPytest()
    with proxy.warns(RuntimeWarning, match="words scikit-learn uses"):
        warnings.warn("other words", RuntimeWarning, stacklevel=1)
    with pytest.raises(pytest.fail.Exception, match="DID NOT WARN"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            with proxy.warns(RuntimeWarning, match="x"):
                warnings.warn("x", UserWarning, stacklevel=1)
    assert proxy.approx is pytest.approx  # everything else is pytest's
