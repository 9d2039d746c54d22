"""scikit-learn's own test files, run against pyvl's estimators.

The installed scikit-learn ships its test modules. This harness loads two of
them, ``sklearn/mixture/tests/test_gaussian_mixture.py`` and
``sklearn/cluster/tests/test_k_means.py``, with ``pyvl.GaussianMixture`` and
``pyvl.KMeans`` in place of scikit-learn's classes, and lets pytest collect and
run their test functions unchanged. ``docs/sklearn-parity.md`` gives the counts
and the work list.

How the classes are substituted, and why this way
-------------------------------------------------
Each stub module (``test_sklearn_gaussian_mixture.py``, ``test_sklearn_k_means.py``)
calls :func:`load_upstream`, which

1. locates the installed test file with ``importlib.util.find_spec`` (nothing is
   copied into this repository);
2. parses it and rewrites one import statement: in
   ``from sklearn.cluster import KMeans, MiniBatchKMeans, k_means, ...`` the
   name ``KMeans`` is removed and bound instead by ``from pyvl import KMeans``
   (likewise ``GaussianMixture`` from ``sklearn.mixture``). Nothing else of the
   file is touched; the rewritten statements keep their line numbers, so
   tracebacks point at the real lines of scikit-learn's file;
3. applies pytest's assertion rewriting (as pytest does for any test module),
   so a failing ``assert`` shows its operands;
4. executes the result in the stub module's namespace, where pytest collects
   the ``test_*`` functions and the module's fixtures.

The substitution is done at the name level, before the module body runs,
because the module body itself uses the classes: parametrize lists such as
``@pytest.mark.parametrize("Estimator", [KMeans, MiniBatchKMeans])`` or
``[(KMeans, 10), (MiniBatchKMeans, 3)]`` are built while the module is
imported. Replacing the module's global after an ordinary import would leave
scikit-learn's class inside every such list; patching ``sklearn.cluster.KMeans``
itself would also change what scikit-learn's own helpers (``k_means``,
``clone`` of scikit-learn objects) use. Only the file under test sees pyvl's
class: ``test_gaussian_mixture.py`` keeps scikit-learn's ``KMeans``, which it
uses to build reference data.

What is expected of each test
-----------------------------
``expectations.toml`` (beside this file) lists, with a reason each, the tests
that are excluded (skipped) and the tests that fail today (strict xfail); every
other collected test must pass. Categories:

* ``sparse``: sparse input (pyvl's estimators take dense arrays);
* ``minibatch``: ``MiniBatchKMeans``, which pyvl does not offer;
* ``private``: the test calls a private scikit-learn function or method (named
  in the reason): on the estimator, as the thing under test, or as a helper;
* ``other-api``: the test exercises a scikit-learn function that is not one of
  the substituted classes (``k_means``, ``kmeans_plusplus``), so it would test
  scikit-learn, not pyvl;
* ``wording``: pyvl raises or warns with the right type but other words. The
  test runs, and its ``pytest.raises(...)`` / ``pytest.warns(...)`` calls
  still check the type: during such a test the module's global ``pytest`` is a
  proxy (:class:`TypeOnlyPytest`) whose ``raises`` and ``warns`` drop only the
  ``match=`` argument; everything else is pytest itself;
* ``gap``: a parity gap (named in ``[gaps]``): the test is marked
  ``xfail(strict=True)`` with the reason ``parity gap: <what pyvl lacks>``, so
  the suite stays green today and the fix that makes it pass must remove the
  entry (an unexpected pass fails the suite).

An entry's ``id`` is a test id (``name`` or ``name[params]``) in which ``*``
matches any text; the first entry of the file that matches a test applies.

The environment variable ``PYVL_SKLEARN_UPSTREAM`` changes this for measuring
(``tools/sklearn_parity.py`` uses it): ``raw`` runs the ``gap`` tests without
their xfail mark, ``all`` also runs the excluded tests, ``typeonly`` is
``all`` with the type-only ``pytest`` proxy in every test (to tell a
wording-only difference from a real one).

The data file records the scikit-learn version and the SHA-256 of each test
file it was measured on; ``test_harness.py`` fails when the installed files
differ, since the ids and expectations then need measuring again.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
EXPECTATIONS = HERE / "expectations.toml"

#: key -> (module of scikit-learn's test file, {name in that file: pyvl attribute})
UPSTREAM: dict[str, tuple[str, dict[str, str]]] = {
    "gaussian_mixture": (
        "sklearn.mixture.tests.test_gaussian_mixture",
        {"GaussianMixture": "GaussianMixture"},
    ),
    "k_means": ("sklearn.cluster.tests.test_k_means", {"KMeans": "KMeans"}),
}

#: stub file name (stem) -> key of UPSTREAM
STUBS = {"test_sklearn_gaussian_mixture": "gaussian_mixture", "test_sklearn_k_means": "k_means"}

CATEGORIES = ("sparse", "minibatch", "private", "other-api", "wording", "gap")
EXCLUDED = ("sparse", "minibatch", "private", "other-api")

MODES = ("", "raw", "all", "typeonly")


def mode() -> str:
    """The measuring mode from ``PYVL_SKLEARN_UPSTREAM`` ('' normally)."""
    value = os.environ.get("PYVL_SKLEARN_UPSTREAM", "")
    if value not in MODES:
        raise ValueError(f"PYVL_SKLEARN_UPSTREAM must be one of {MODES[1:]} or unset, got {value!r}")
    return value


def global_seed() -> int:
    """Seed of numpy's global RandomState before each upstream test
    (``PYVL_SKLEARN_UPSTREAM_SEED``, default 0; see conftest.py)."""
    value = os.environ.get("PYVL_SKLEARN_UPSTREAM_SEED", "0")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"PYVL_SKLEARN_UPSTREAM_SEED must be an integer, got {value!r}") from None


# ---- locating and loading scikit-learn's test files ------------------------------


def upstream_path(key: str) -> Path:
    """Path of the installed scikit-learn test file ``key`` (see UPSTREAM)."""
    module = UPSTREAM[key][0]
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"scikit-learn's test module {module} is not installed")
    return Path(spec.origin)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Substitute(ast.NodeTransformer):
    """Rebinds the names of ``substitute`` imported from scikit-learn to pyvl's
    attributes, in place of the ``from sklearn... import`` that binds them."""

    def __init__(self, substitute: dict[str, str]) -> None:
        self.substitute = substitute
        self.done: list[str] = []
        self.escaped: list[str] = []

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        if node.level or not node.module or node.module.split(".")[0] != "sklearn":
            return node
        mine = [a for a in node.names if (a.asname or a.name) in self.substitute]
        if not mine:
            return node
        rest = [a for a in node.names if a not in mine]
        pyvl_import = ast.ImportFrom(
            module="pyvl",
            names=[ast.alias(name=self.substitute[a.asname or a.name], asname=a.asname or a.name)
                   for a in mine],
            level=0,
        )
        self.done += [a.asname or a.name for a in mine]
        out = ([ast.ImportFrom(module=node.module, names=rest, level=0)] if rest else []) + [pyvl_import]
        for new in out:
            ast.copy_location(new, node)
        return out

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        # `sklearn.mixture.GaussianMixture` would escape the substitution: refuse it
        if node.attr in self.substitute:
            self.escaped.append(f"line {node.lineno}: .{node.attr}")
        return self.generic_visit(node)


def transformed_code(key: str) -> Any:
    """The code object of scikit-learn's test file ``key`` with pyvl's classes
    substituted and pytest's assertion rewriting applied."""
    path = upstream_path(key)
    source = path.read_bytes()
    tree = ast.parse(source, filename=str(path))
    sub = _Substitute(UPSTREAM[key][1])
    tree = sub.visit(tree)
    missing = set(UPSTREAM[key][1]) - set(sub.done)
    if missing or len(sub.done) != len(set(sub.done)) or sub.escaped:
        raise RuntimeError(
            f"{path}: expected exactly one 'from sklearn... import' of each of "
            f"{sorted(UPSTREAM[key][1])} and no other use of scikit-learn's class; "
            f"not imported: {sorted(missing)}, imported: {sub.done}, attributes: {sub.escaped}"
        )
    ast.fix_missing_locations(tree)
    try:  # pytest's own assertion rewriting, as for a collected test module
        from _pytest.assertion.rewrite import rewrite_asserts

        rewrite_asserts(tree, source, str(path))
    except ImportError:  # pragma: no cover - plain asserts still fail, with less detail
        pass
    return compile(tree, str(path), "exec", dont_inherit=True)


def load_upstream(namespace: dict[str, Any], key: str) -> None:
    """Execute scikit-learn's test file ``key`` (with pyvl's classes) in
    ``namespace``, the globals of the stub module that pytest collects."""
    import pyvl

    # scikit-learn's test_gaussian_mixture.py passes generators to parametrize,
    # which pytest 9 deprecates while collecting: its code, not pyvl's.
    warnings.filterwarnings("ignore", message="Passing a non-Collection iterable to parametrize",
                            category=pytest.PytestDeprecationWarning)
    code = transformed_code(key)
    exec(code, namespace)  # noqa: S102 - the installed scikit-learn's test file
    for name, attr in UPSTREAM[key][1].items():
        if namespace[name] is not getattr(pyvl, attr):
            raise RuntimeError(f"{name} in {key} is not pyvl.{attr} after loading")
    namespace["__sklearn_upstream__"] = key


# ---- the expectations -----------------------------------------------------------


@dataclass
class Entry:
    """One line of expectations.toml."""

    file: str
    id: str
    category: str
    reason: str
    gaps: list[str] = field(default_factory=list)
    index: int = 0

    def __post_init__(self) -> None:
        self._regex = re.compile(
            "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", self.id))
            + r"\Z"
        )

    def matches(self, test_id: str) -> bool:
        return self._regex.match(test_id) is not None

    def describe(self, gaps: dict[str, str]) -> str:
        """The skip or xfail reason shown by pytest."""
        if self.category == "gap":
            what = "; ".join(gaps[g] for g in self.gaps)
            return f"parity gap: {what}" + (f" ({self.reason})" if self.reason else "")
        return f"excluded ({self.category}): {self.reason}"


@dataclass
class Expectations:
    sklearn_version: str
    files: dict[str, dict[str, str]]
    gaps: dict[str, str]
    entries: list[Entry]

    def entry_for(self, key: str, test_id: str) -> Entry | None:
        for e in self.entries:
            if e.file == key and e.matches(test_id):
                return e
        return None


def toml_module() -> Any:
    """tomllib (Python >= 3.11) or tomli, or None if neither is installed."""
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ImportError:
            pass
    return None


NO_TOML = "tests/sklearn_upstream reads expectations.toml: on Python < 3.11 it needs tomli"


def load_expectations(path: Path = EXPECTATIONS) -> Expectations:
    """Read and check expectations.toml (ImportError without a TOML reader)."""
    toml = toml_module()
    if toml is None:
        raise ImportError(NO_TOML)
    with open(path, "rb") as f:
        data = toml.load(f)
    meta = data["upstream"]
    gaps = dict(data.get("gaps", {}))
    entries = []
    for i, raw in enumerate(data.get("test", [])):
        where = f"{path.name}: entry {i} ({raw.get('id')!r})"
        unknown = set(raw) - {"file", "id", "category", "reason", "gap"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        if raw.get("file") not in UPSTREAM:
            raise ValueError(f"{where}: file must be one of {sorted(UPSTREAM)}")
        if raw.get("category") not in CATEGORIES:
            raise ValueError(f"{where}: category must be one of {CATEGORIES}")
        g = raw.get("gap", [])
        g = [g] if isinstance(g, str) else list(g)
        if raw["category"] == "gap":
            if not g or any(x not in gaps for x in g):
                raise ValueError(f"{where}: a gap entry names gaps listed in [gaps], got {g}")
        elif g:
            raise ValueError(f"{where}: only a 'gap' entry names gaps")
        elif not raw.get("reason"):
            raise ValueError(f"{where}: an exclusion needs a reason")
        entries.append(Entry(raw["file"], raw["id"], raw["category"], raw.get("reason", ""), g, i))
    files = {k: dict(v) for k, v in meta.items() if isinstance(v, dict)}
    return Expectations(meta["scikit-learn"], files, gaps, entries)


# ---- the type-only pytest proxy ------------------------------------------------


class TypeOnlyPytest:
    """Stands for the ``pytest`` module inside a ``wording`` test: ``raises``
    and ``warns`` check the exception / warning type as pytest does but not
    the ``match=`` pattern; every other attribute is pytest's."""

    def __init__(self) -> None:
        self.dropped: list[str] = []  # the patterns not checked, for reports

    def __getattr__(self, name: str) -> Any:
        return getattr(pytest, name)

    def raises(self, expected_exception: Any, *args: Any, match: Any = None, **kwargs: Any) -> Any:
        if match is not None:
            self.dropped.append(str(match))
        return pytest.raises(expected_exception, *args, **kwargs)

    def warns(self, expected_warning: Any = Warning, *args: Any, match: Any = None, **kwargs: Any) -> Any:
        if match is not None:
            self.dropped.append(str(match))
        return pytest.warns(expected_warning, *args, **kwargs)


def sklearn_version() -> str:
    import sklearn

    return str(sklearn.__version__)

