#!/usr/bin/env python3
"""Mutation testing of pyvl and libgmm: do the tests notice a realistic bug?

A *mutant* is a copy of the code with one small change (a flag swapped, a
threshold moved, a check removed). The test suite *kills* it when some test
fails; a mutant that *survives* is a bug the tests would let through. This
script runs two kinds of mutants, always on a temporary copy of the tree (the
working tree is never modified):

``curated``
    A hand-written list of realistic one-line bugs, in ``tools/mutations.toml``
    (Python: encoders, training, persistence; C: libgmm's GMM, k-means and
    encoder numerics). Each entry names a file, the exact text to replace
    (``pattern``, which must occur exactly once in that file) and its
    replacement -- never a line number, so entries survive code moving around
    inside a file, and after a file moves only its ``file`` needs updating. An
    entry whose pattern is missing or ambiguous is reported as **stale** (and
    makes the exit status non-zero), never skipped silently.

    The copy is built once (CMake + Ninja, in ``<copy>/build``); every mutant
    is then applied to the copy, rebuilt incrementally when it is C, run
    against the entry's ``ctest`` tests (C) and its pytest files (``tests``;
    pyvl loads the copy's library through ``PYVL_LIBRARY``), and reverted.
    The first failing test kills it (``pytest -x``; ctest stops early).

``broad``
    Automatic mutations of whole modules with mutmut 3 (``pip install
    mutmut``): every operator, constant, keyword argument... of the selected
    modules (``[broad.modules]`` in the same TOML file), each mutant run only
    against the tests that execute the mutated function (mutmut records which
    tests call which function in one instrumented run). ``--module`` and
    ``--function`` filter, ``--budget`` bounds the time (mutants not run by
    then are reported as "not run"), ``--quick`` takes a fixed sample per
    module.

Every run first checks that the unmutated copy passes the selected tests
(otherwise nothing can be concluded). The report gives, per part (encoders,
training, persistence, numerics): killed / survived / timeout / stale, the
score ``(killed + timeout) / (killed + survived + timeout)`` and the list of
survivors; ``--json FILE`` also writes it as JSON.

Examples::

    python tools/mutation.py check                      # are all patterns still found?
    python tools/mutation.py curated                    # every curated mutant
    python tools/mutation.py curated --quick            # the entries marked quick = true
    python tools/mutation.py curated --part numerics --only 'gmm-*'
    python tools/mutation.py curated --rev 4df4af1      # the tree of a commit
    python tools/mutation.py curated --confirm          # survivors re-run on the whole suite
    python tools/mutation.py broad --quick              # mutmut, a sample per module
    python tools/mutation.py broad --module pyvl/encoders/fisher.py --budget 900

Timeouts: a mutant whose tests run longer than ``--timeout-factor`` times
(default 4) the unmutated run plus 60 s is stopped and counted as
``timeout`` (a hang is a detected bug, but a slow one). Needs Python >= 3.11
(tomllib) or the ``tomli`` package, CMake, Ninja and a C compiler, and the
test dependencies (``pip install ".[test]" ./tests/plugin_pkg``).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ModuleNotFoundError:
        sys.exit("tools/mutation.py needs Python >= 3.11 or `pip install tomli`")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_LIST = REPO / "tools" / "mutations.toml"
PARTS = ("encoders", "training", "persistence", "numerics")
LIBRARY = Path("build") / "libgmm" / "libgmm.so.1"  # inside the copy


# ---------------------------------------------------------------------------------------
# The mutation list
# ---------------------------------------------------------------------------------------


@dataclass
class Mutation:
    """One curated mutant (an entry of ``[[mutation]]``)."""

    id: str
    part: str
    file: str
    pattern: str
    replace: str
    why: str
    tests: list[str] = field(default_factory=list)
    ctest: list[str] = field(default_factory=list)
    quick: bool = False

    @property
    def is_c(self) -> bool:
        return not self.file.endswith(".py")


def load_list(path: Path) -> tuple[list[Mutation], dict[str, Any]]:
    """The curated mutations and the ``[broad]`` table of a mutations file."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    out: list[Mutation] = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("mutation", [])):
        try:
            m = Mutation(**entry)
        except TypeError as exc:
            raise SystemExit(f"{path}: entry {i + 1} ({entry.get('id', '?')}): {exc}") from None
        if m.part not in PARTS:
            raise SystemExit(f"{path}: {m.id}: part must be one of {PARTS}, got {m.part!r}")
        if m.id in seen:
            raise SystemExit(f"{path}: duplicate id {m.id!r}")
        if m.pattern == m.replace:
            raise SystemExit(f"{path}: {m.id}: the replacement equals the pattern")
        if not m.tests and not m.ctest:
            raise SystemExit(f"{path}: {m.id}: no tests and no ctest to run")
        seen.add(m.id)
        out.append(m)
    return out, data.get("broad", {})


def locate(tree: Path, m: Mutation) -> str | None:
    """None if ``m.pattern`` occurs exactly once in its file, else why it is stale."""
    path = tree / m.file
    if not path.is_file():
        return f"file {m.file} not found"
    count = path.read_text(encoding="utf-8").count(m.pattern)
    if count == 0:
        return f"pattern not found in {m.file}"
    if count > 1:
        return f"pattern found {count} times in {m.file} (make it unique)"
    return None


# ---------------------------------------------------------------------------------------
# Running things
# ---------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(msg, flush=True)


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: float | None = None, output: Path | None = None) -> tuple[int | None, float]:
    """(exit status or None on timeout, seconds). The command runs in its own process
    group, killed as a whole on timeout; its output goes to ``output`` (or nowhere)."""
    t0 = time.monotonic()
    sink = open(output, "ab") if output else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    finally:
        if output:
            sink.close()  # type: ignore[union-attr]
    return code, time.monotonic() - t0


def make_copy(dest: Path, rev: str | None) -> None:
    """The working tree (tracked and untracked, not ignored files), or a git revision."""
    dest.mkdir(parents=True)
    if rev:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True,
                                 stdout=subprocess.PIPE).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return
    files = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, stdout=subprocess.PIPE).stdout.decode().split("\0")
    for name in filter(None, files):
        src = REPO / name
        if not src.is_file():  # deleted but still in the index
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


class Tree:
    """The temporary copy: its build, and how to run tests against it."""

    def __init__(self, root: Path, logdir: Path, python: str) -> None:
        self.root = root
        self.logdir = logdir
        self.python = python
        self.built = False

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYVL_LIBRARY"] = str(self.root / LIBRARY)
        env["PYTHONPATH"] = str(self.root) + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        # the question here is whether a test fails; skips are the skip guard's business
        # (and a run from the copy skips the installed-console-script test)
        env["PYVL_KNOWN_SKIPS"] = "off"
        return env

    def build(self, output: Path) -> bool:
        if not self.built:
            code, _ = run(["cmake", "-S", ".", "-B", "build", "-G", "Ninja",
                           "-DCMAKE_BUILD_TYPE=Release", "-DGMM_BUILD_TESTS=ON"],
                          self.root, output=output)
            if code != 0:
                return False
            self.built = True
        code, _ = run(["cmake", "--build", "build"], self.root, output=output)
        return code == 0

    def ctest(self, names: list[str] | None, timeout: float | None,
              output: Path) -> tuple[int | None, float]:
        """The named C tests, or (None) every unit test (not the install/ABI test)."""
        select = (["-L", "unit"] if names is None
                  else ["-R", "^(" + "|".join(re.escape(n) for n in names) + ")$"])
        return run(["ctest", "--test-dir", "build", *select, "--output-on-failure",
                    "--stop-on-failure", "--no-tests=error"], self.root, timeout=timeout,
                   output=output)

    def pytest(self, tests: list[str], timeout: float | None, output: Path,
               extra: list[str] = ()) -> tuple[int | None, float]:
        cmd = [self.python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
               "-p", "no:randomly", *extra, *tests]
        return run(cmd, self.root, env=self.env(), timeout=timeout, output=output)

    def existing(self, tests: list[str]) -> list[str]:
        """The test paths of an entry that exist in this tree (node ids allowed)."""
        return [t for t in tests if (self.root / t.split("::")[0]).exists()]


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


@dataclass
class Result:
    id: str
    part: str
    status: str  # killed | survived | timeout | stale | error | not run
    detail: str = ""
    file: str = ""
    seconds: float = 0.0


def summarize(results: list[Result], title: str) -> dict[str, Any]:
    """Print the per-part table and the survivors; return them as a dict."""
    statuses = ("killed", "survived", "timeout", "stale", "error", "not run")
    table: dict[str, dict[str, Any]] = {}
    for part in (*PARTS, "all"):
        rs = [r for r in results if part == "all" or r.part == part]
        if not rs:
            continue
        row: dict[str, Any] = {s: sum(r.status == s for r in rs) for s in statuses}
        judged = row["killed"] + row["survived"] + row["timeout"]
        row["score"] = (row["killed"] + row["timeout"]) / judged if judged else None
        table[part] = row
    log("")
    log(f"== {title} ==")
    log(f"{'part':<12} {'killed':>6} {'survived':>8} {'timeout':>7} {'stale':>5} "
        f"{'error':>5} {'not run':>7}  score")
    for part, row in table.items():
        score = "-" if row["score"] is None else f"{100 * row['score']:.1f}%"
        log(f"{part:<12} {row['killed']:>6} {row['survived']:>8} {row['timeout']:>7} "
            f"{row['stale']:>5} {row['error']:>5} {row['not run']:>7}  {score}")
    for status in ("survived", "stale", "error"):
        rs = [r for r in results if r.status == status]
        if rs:
            log(f"\n{status}:")
            for r in rs:
                log(f"  [{r.part}] {r.id} ({r.file}): {r.detail}")
    return {"title": title, "table": table, "results": [r.__dict__ for r in results]}


# ---------------------------------------------------------------------------------------
# Curated mutants
# ---------------------------------------------------------------------------------------


def select(mutations: list[Mutation], args: argparse.Namespace) -> list[Mutation]:
    out = []
    for m in mutations:
        if args.part and m.part not in args.part:
            continue
        if args.only and not any(fnmatch.fnmatch(m.id, p) for p in args.only):
            continue
        if getattr(args, "quick", False) and not m.quick:
            continue
        out.append(m)
    return out


def file_times(junit: Path) -> dict[str, float]:
    """Seconds per test file from a JUnit XML report."""
    times: dict[str, float] = {}
    if not junit.is_file():
        return times
    for case in ET.parse(junit).iter("testcase"):
        name = case.get("file") or (case.get("classname", "").split(".")[0].replace(".", "/") + ".py")
        times[name] = times.get(name, 0.0) + float(case.get("time", 0) or 0)
    return times


def workspace(prefix: str, args: argparse.Namespace) -> tuple[Path, Path, Tree]:
    """A fresh temporary directory, its log directory (or --logs) and the tree to mutate in it."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    logdir = Path(args.logs) if args.logs else work / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    return work, logdir, Tree(work / "tree", logdir, sys.executable)


def run_curated(args: argparse.Namespace) -> int:
    mutations, _ = load_list(Path(args.list))
    chosen = select(mutations, args)
    if not chosen:
        log("no mutation matches the selection")
        return 2
    work, logdir, tree = workspace("pyvl-mutation-", args)
    results: list[Result] = []
    try:
        make_copy(tree.root, args.rev)
        log(f"copy of {'revision ' + args.rev if args.rev else 'the working tree'} in {tree.root}")
        log(f"logs in {logdir}")

        live: list[Mutation] = []
        for m in chosen:
            why = locate(tree.root, m)
            if why:
                results.append(Result(m.id, m.part, "stale", why, m.file))
            else:
                live.append(m)

        log("building the unmutated copy ...")
        if not tree.build(logdir / "build-baseline.log"):
            log(f"the unmutated copy does not build: see {logdir / 'build-baseline.log'}")
            return 2

        # Baseline: the unmutated copy must pass every selected test.
        ctests = sorted({n for m in live for n in m.ctest})
        pytests = sorted({t for m in live for t in tree.existing(m.tests)})
        missing = sorted({t for m in live for t in m.tests} - set(pytests))
        for t in missing:
            log(f"note: {t} is not in this tree (not run)")
        ctest_time = 0.0
        if ctests:
            log(f"baseline: ctest {' '.join(ctests)} ...")
            code, ctest_time = tree.ctest(ctests, None, logdir / "baseline-ctest.log")
            if code != 0:
                log(f"the unmutated copy fails ctest: see {logdir / 'baseline-ctest.log'}")
                return 2
        times: dict[str, float] = {}
        if pytests:
            log(f"baseline: pytest on {len(pytests)} file(s) ...")
            junit = logdir / "baseline.xml"
            extra = [f"--junitxml={junit}", "-o", "junit_family=xunit1"]
            code, total = tree.pytest(pytests, None, logdir / "baseline-pytest.log", extra)
            if code != 0:  # once more: a flaky test is worth a warning, not a stop
                code, total = tree.pytest(pytests, None, logdir / "baseline-pytest-2.log", extra)
                if code != 0:
                    log(f"the unmutated copy fails pytest: see {logdir / 'baseline-pytest.log'}")
                    return 2
                log(f"warning: the baseline failed once, then passed ({logdir / 'baseline-pytest.log'}):"
                    " a flaky test can also 'kill' mutants")
            times = file_times(junit)
            log(f"baseline passed in {total:.0f} s (+ ctest {ctest_time:.0f} s)")

        # Python mutants first (they use the unmutated build), then C.
        ordered = sorted(live, key=lambda m: m.is_c)
        for i, m in enumerate(ordered, 1):
            r = run_one(tree, m, times, ctest_time, args, logdir)
            results.append(r)
            log(f"[{i}/{len(ordered)}] {r.status:<8} {m.id} ({r.seconds:.0f} s) {r.detail}")

        if args.confirm:
            survivors = [r for r in results if r.status == "survived"]
            if survivors:
                log(f"\nconfirming {len(survivors)} survivor(s) on the whole suite ...")
            by_id = {m.id: m for m in ordered}
            for r in survivors:
                m = by_id[r.id]
                c = run_one(tree, m, times, ctest_time, args, logdir, whole=True)
                c.detail = "whole suite: " + (c.detail or c.status)
                log(f"  {c.status:<8} {m.id} ({c.seconds:.0f} s)")
                results[results.index(r)] = c if c.status != "survived" else Result(
                    r.id, r.part, "survived", "survived the whole suite", r.file, c.seconds)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    why_by_id = {m.id: m.why for m in mutations}
    for r in results:
        if r.status == "survived":
            r.detail = why_by_id[r.id] + (f" [{r.detail}]" if r.detail else "")
    report = summarize(results, "curated mutants" + (f" at {args.rev}" if args.rev else ""))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 1 if any(r.status in ("stale", "error") for r in results) else 0


def run_one(tree: Tree, m: Mutation, times: dict[str, float], ctest_time: float,
            args: argparse.Namespace, logdir: Path, whole: bool = False) -> Result:
    """Apply ``m`` to the copy, rebuild if C, run its tests, revert."""
    path = tree.root / m.file
    original = path.read_bytes()
    text = original.decode("utf-8")
    out = logdir / f"{m.id}{'-whole' if whole else ''}.log"
    out.write_text(f"# {m.id}: {m.file}\n- {m.pattern}\n+ {m.replace}\n")
    t0 = time.monotonic()
    try:
        path.write_text(text.replace(m.pattern, m.replace, 1), encoding="utf-8")
        if m.is_c and not tree.build(out):
            return Result(m.id, m.part, "error", f"does not compile (see {out})", m.file,
                          time.monotonic() - t0)
        ctests = None if whole and m.is_c else m.ctest
        if ctests is None or ctests:
            code, _ = tree.ctest(ctests, args.timeout_factor * max(ctest_time, 10) + 60, out)
            if code is None:
                return Result(m.id, m.part, "timeout", "ctest", m.file, time.monotonic() - t0)
            if code != 0:
                return Result(m.id, m.part, "killed", "ctest", m.file, time.monotonic() - t0)
        tests = ["tests"] if whole else tree.existing(m.tests)
        if tests:
            base = sum(times.values()) if whole else sum(
                times.get(t.split("::")[0], 0.0) for t in tests)
            limit = args.timeout_factor * (base if not whole else max(base, 300)) + 60
            code, _ = tree.pytest(tests, limit, out)
            if code is None:
                return Result(m.id, m.part, "timeout", "pytest", m.file, time.monotonic() - t0)
            if code != 0:
                return Result(m.id, m.part, "killed", "pytest", m.file, time.monotonic() - t0)
        return Result(m.id, m.part, "survived", "", m.file, time.monotonic() - t0)
    finally:
        path.write_bytes(original)


def run_check(args: argparse.Namespace) -> int:
    """Are all patterns found (in the working tree or a revision)?"""
    mutations, broad = load_list(Path(args.list))
    if args.rev:
        work = Path(tempfile.mkdtemp(prefix="pyvl-mutation-"))
        try:
            make_copy(work / "tree", args.rev)
            stale = [(m, locate(work / "tree", m)) for m in mutations]
        finally:
            shutil.rmtree(work, ignore_errors=True)
    else:
        stale = [(m, locate(REPO, m)) for m in mutations]
    bad = [(m, why) for m, why in stale if why]
    for part in PARTS:
        n = sum(m.part == part for m in mutations)
        log(f"{part:<12} {n} mutation(s)")
    for m, why in bad:
        log(f"stale: {m.id}: {why}")
    for module in broad.get("modules", {}):
        if not (REPO / module).is_file():
            log(f"stale: [broad.modules] {module}: file not found")
            bad.append((None, module))
    log(f"{len(mutations)} curated mutation(s), {len(bad)} stale")
    return 1 if bad else 0


# ---------------------------------------------------------------------------------------
# Broad mutants (mutmut 3)
# ---------------------------------------------------------------------------------------

# mutmut's exit codes (mutmut/stats.py) folded into this script's statuses.
_MUTMUT_STATUS = {1: "killed", 3: "killed", 0: "survived", 36: "timeout", 24: "timeout",
                  -24: "timeout", 152: "timeout", 255: "timeout", -11: "killed", -9: "killed",
                  None: "not run", 33: "no tests", 5: "no tests", 2: "not run", 34: "skipped"}


def _mutmut_config(modules: list[str], tests: list[str], pytest_args: list[str]) -> str:
    def lines(values: list[str]) -> str:
        return "".join(f"\n    {v}" for v in values)

    return (
        "[mutmut]\n"
        "source_paths = pyvl\n"
        # the tests read libgmm's public headers (flag values) and the examples
        "also_copy =\n    libgmm/include\n    examples\n"
        f"only_mutate ={lines(modules)}\n"
        f"pytest_add_cli_args_test_selection ={lines(tests)}\n"
        f"pytest_add_cli_args ={lines(pytest_args)}\n"
        # mutmut forks one worker per mutant straight from its main process (its default,
        # process_isolation = fork), after that process ran the tests: libgmm's thread
        # pool is fork-safe (docs/architecture.md, "The thread runtime")
        "use_git_change_detection = false\n"
        "timeout_multiplier = 5\n"
    )


def _mutant_file(name: str) -> str:
    module = name.split(".x_")[0].split(".xǁ")[0]
    return module.replace(".", "/") + ".py"


def run_broad(args: argparse.Namespace) -> int:
    _, broad = load_list(Path(args.list))
    table: dict[str, dict[str, Any]] = broad.get("modules", {})
    modules = list(table)
    if args.module:
        unknown = [m for m in args.module if m not in table]
        if unknown:
            log(f"not in [broad.modules] of {args.list}: {', '.join(unknown)}")
            return 2
        modules = list(args.module)
    elif args.quick:
        modules = [m for m in modules if table[m].get("quick")]
    if args.part:
        modules = [m for m in modules if table[m]["part"] in args.part]
    if not modules:
        log("no module selected")
        return 2
    mutmut = shutil.which("mutmut", path=os.path.dirname(sys.executable)) or shutil.which("mutmut")
    if not mutmut:
        log("mutmut is not installed: pip install 'mutmut>=3.8'")
        return 2
    budget = args.budget if args.budget is not None else (600 if args.quick else 3600)
    tests = sorted({t for m in modules for t in table[m]["tests"]})

    work, logdir, tree = workspace("pyvl-mutmut-", args)
    results: list[Result] = []
    try:
        make_copy(tree.root, args.rev)
        log(f"copy in {tree.root}, logs in {logdir}")
        if not tree.build(logdir / "build.log"):
            log("the copy does not build")
            return 2
        # tests that import pyvl in a subprocess cannot run under mutmut (its instrumented
        # modules only import inside its own directory)
        deselect = [a for t in broad.get("deselect", []) for a in ("--deselect", t)]
        (tree.root / "setup.cfg").write_text(
            _mutmut_config(modules, tree.existing(tests), ["-p", "no:cacheprovider", *deselect]))
        # mutmut reads [tool.mutmut] of pyproject.toml before setup.cfg: there is none
        env = tree.env()
        env["PYTHONPATH"] = ""  # mutmut puts its mutants/ first itself
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        t0 = time.monotonic()
        # 1. generate the mutants and record which tests run which function (no mutant
        #    matches the name "-", so mutmut stops right after that)
        log("mutmut: generating mutants and collecting per-function test lists ...")
        code, secs = run([mutmut, "run", "--max-children", str(args.jobs), "no.such.mutant"],
                         tree.root, env=env, timeout=budget, output=logdir / "mutmut-stats.log")
        names = _mutant_names(tree.root)
        log(f"  {len(names)} mutants in {len(modules)} module(s) ({secs:.0f} s)")
        if not names:
            log(f"mutmut produced no mutants: see {logdir / 'mutmut-stats.log'}")
            return 2
        if "failed to collect stats" in (logdir / "mutmut-stats.log").read_text(errors="replace"):
            log("mutmut's instrumented run of the unmutated tests failed: run them with --keep "
                "and `MUTANT_UNDER_TEST=stats python -m pytest ...` in <copy>/mutants to see "
                "which (a test that imports pyvl in a subprocess belongs in [broad] deselect)")
            return 2
        if args.function:
            names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in args.function)]
        if args.quick or args.max_mutants:
            per = args.max_mutants or 12
            rng = random.Random(0)
            picked: list[str] = []
            for module in modules:
                mine = sorted(n for n in names if _mutant_file(n) == module)
                picked += sorted(rng.sample(mine, min(per, len(mine))))
            names = picked
        if not names:
            log("no mutant matches the selection")
            return 2
        left = budget - (time.monotonic() - t0)
        log(f"mutmut: running {len(names)} mutants (budget {max(left, 0):.0f} s) ...")
        if left > 0:
            _run_mutmut_bounded([mutmut, "run", "--max-children", str(args.jobs), *names],
                                tree.root, env, left, logdir / "mutmut-run.log")
        codes = _mutant_codes(tree.root)
        for name in names:
            module = _mutant_file(name)
            status = _MUTMUT_STATUS.get(codes.get(name), "error")
            if status in ("no tests", "skipped"):
                status, detail = "survived", "no test runs this function"
            else:
                detail = ""
            r = Result(name, table[module]["part"], status, detail, module)
            if status == "survived":
                r.detail = (detail + "; " if detail else "") + _mutant_diff(tree.root, mutmut, env, name)
            results.append(r)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report = summarize(results, "mutmut (broad) mutants")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _run_mutmut_bounded(cmd: list[str], cwd: Path, env: dict[str, str], budget: float,
                        output: Path) -> None:
    """mutmut run, interrupted (SIGINT: it records what it finished) at the budget."""
    with open(output, "ab") as sink:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            log("  budget reached: stopping mutmut")
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _meta_files(root: Path) -> list[Path]:
    return sorted((root / "mutants").rglob("*.py.meta"))


def _mutant_names(root: Path) -> list[str]:
    return sorted(n for p in _meta_files(root) for n in json.loads(p.read_text())["exit_code_by_key"])


def _mutant_codes(root: Path) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for p in _meta_files(root):
        codes.update(json.loads(p.read_text())["exit_code_by_key"])
    return codes


def _mutant_diff(root: Path, mutmut: str, env: dict[str, str], name: str) -> str:
    """The changed lines of a mutant, on one line."""
    proc = subprocess.run([mutmut, "show", name], cwd=root, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, timeout=120)
    lines = [ln for ln in proc.stdout.splitlines()
             if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    return " | ".join(ln.strip() for ln in lines)[:300]


# ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Mutation testing of pyvl and libgmm (see the module docstring).")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--list", default=str(DEFAULT_LIST), help="mutations file (TOML)")
        p.add_argument("--rev", help="mutate this git revision instead of the working tree")
        p.add_argument("--part", action="append", choices=PARTS, help="only this part (repeatable)")
        p.add_argument("--json", help="also write the report to this JSON file")
        p.add_argument("--logs", help="directory for the logs (default: inside the copy)")
        p.add_argument("--keep", action="store_true", help="keep the temporary copy")

    p = sub.add_parser("curated", help="run the curated one-line mutations")
    common(p)
    p.add_argument("--only", action="append", help="only ids matching this glob (repeatable)")
    p.add_argument("--quick", action="store_true", help="only the entries marked quick = true")
    p.add_argument("--confirm", action="store_true",
                   help="re-run every survivor against the whole pytest suite and all of ctest")
    p.add_argument("--timeout-factor", type=float, default=4.0)
    p.set_defaults(func=run_curated)

    p = sub.add_parser("broad", help="automatic mutations of modules with mutmut 3")
    common(p)
    p.add_argument("--module", action="append", help="only this module (repeatable)")
    p.add_argument("--function", action="append",
                   help="only mutants whose name matches this glob, e.g. '*check_bound*'")
    p.add_argument("--quick", action="store_true",
                   help="the modules marked quick, 12 mutants each, 600 s budget")
    p.add_argument("--max-mutants", type=int, help="at most this many mutants per module")
    p.add_argument("--budget", type=float, help="seconds for the whole run (default 3600)")
    p.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    p.set_defaults(func=run_broad)

    p = sub.add_parser("check", help="report stale entries (pattern not found) without running")
    p.add_argument("--list", default=str(DEFAULT_LIST))
    p.add_argument("--rev")
    p.set_defaults(func=run_check)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
