"""pytest plugin: a skipped test that is not listed in ``tests/known_skips.txt`` fails the run.

A test dependency that goes missing (an import that fails, a tool not on PATH) tends to
show up as skips, and a suite that silently skips a file still looks green. Every skip
must therefore be listed, with the reason it is acceptable, in ``tests/known_skips.txt``
(one pytest node id per line, ``*`` and ``?`` as wildcards, ``#`` starts a comment). At the end
of the session any other skip (of a test or of a whole module at collection) is printed
and the exit status becomes 1. Listed skips that do not happen are fine.

A suite that skips tests on purpose from a list of its own declares each such skip with
:func:`declare_skip` when it adds the mark (node id and reason): that skip is then
accepted, for that node id and that exact reason only. The scikit-learn upstream harness
does so for the exclusions of ``tests/sklearn_upstream/expectations.toml`` (about 500 of
scikit-learn's tests, for sparse input, MiniBatchKMeans, private helpers, other APIs), so
its list is the one for its own directory; any other skip there (a test that skips
itself, a missing TOML reader) must be listed here like everywhere else.

``tests/conftest.py`` loads this plugin, so the README's test command (the one CI runs)
enforces it. ``PYVL_KNOWN_SKIPS=/path`` reads another list (several, separated by
``os.pathsep``: the sanitizer run adds ``.ci/known_skips_sanitize.txt``); ``PYVL_KNOWN_SKIPS=off``
disables the check (e.g. on a machine without some optional tool).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

DEFAULT_LIST = Path(__file__).with_name("known_skips.txt")
_SKIPPED: list[tuple[str, str]] = []
_DECLARED = pytest.StashKey[dict[str, str]]()


def declare_skip(config: pytest.Config, nodeid: str, reason: str) -> None:
    """Accept the skip of ``nodeid`` with exactly ``reason`` (the reason of the skip mark
    the caller adds; see the module doc)."""
    config.stash.setdefault(_DECLARED, {})[nodeid] = reason


def _declared(config: pytest.Config, nodeid: str, reason: str) -> bool:
    expected = config.stash.get(_DECLARED, {}).get(nodeid)
    return expected is not None and reason in (expected, f"Skipped: {expected}")


def matches(nodeid: str, pattern: str) -> bool:
    """``*`` and ``?`` are wildcards; everything else, brackets of parametrized ids
    included, is literal."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, nodeid) is not None


def known_skips(path: Path) -> list[str]:
    """The patterns of a known-skips file."""
    patterns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            patterns.append(line)
    return patterns


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _record(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _SKIPPED.append((report.nodeid, _reason(report)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _record(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _record(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    setting = os.environ.get("PYVL_KNOWN_SKIPS", "")
    if setting.lower() == "off" or not _SKIPPED:
        return
    paths = [Path(p) for p in setting.split(os.pathsep) if p] if setting else [DEFAULT_LIST]
    listed = [pattern for path in paths for pattern in known_skips(path)]
    unexpected = [(n, r) for n, r in _SKIPPED
                  if not _declared(session.config, n, r) and not any(matches(n, p) for p in listed)]
    if not unexpected:
        return
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(unexpected)} skip(s) not listed in {setting or DEFAULT_LIST.name} "
             "(a missing test dependency must fail, not skip):"]
    lines += [f"  {nodeid}: {reason}" for nodeid, reason in unexpected]
    if tr is not None:
        tr.ensure_newline()
        tr.write_sep("=", "unlisted skips", red=True)
        for line in lines:
            tr.write_line(line, red=True)
    else:  # pragma: no cover - without the terminal reporter (-p no:terminal)
        print("\n".join(lines))
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
