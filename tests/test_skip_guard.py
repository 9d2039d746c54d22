"""tests/skip_guard.py: an unlisted skip fails the pytest run; listed and declared ones do not."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

from skip_guard import DEFAULT_LIST, known_skips, matches

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

SAMPLE = textwrap.dedent(
    """
    import pytest

    def test_runs():
        assert True

    def test_listed():
        pytest.skip("listed")

    @pytest.mark.xfail(reason="an expected failure is not a skip")
    def test_xfail():
        assert False
    """
)


def run_pytest(tmp_path: Path, listed: list[str], extra_file: str | None = None):
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    if extra_file:
        (tmp_path / "test_extra.py").write_text(extra_file)
    skips = tmp_path / "skips.txt"
    skips.write_text("# comment\n" + "".join(p + "  # why\n" for p in listed))
    env = dict(os.environ, PYTHONPATH=str(HERE), PYVL_KNOWN_SKIPS=str(skips))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "skip_guard", "-p", "no:cacheprovider", "-q",
         "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_listed_skip_passes(tmp_path):
    code, out = run_pytest(tmp_path, ["test_sample.py::test_listed"])
    assert code == 0, out


def test_unlisted_skip_fails_and_is_named(tmp_path):
    code, out = run_pytest(tmp_path, [])
    assert code == 1, out
    assert "test_sample.py::test_listed: Skipped: listed" in out
    assert "not listed" in out


def test_module_skipped_at_collection_fails(tmp_path):
    """A whole file skipped because an import is missing (importorskip at module level)."""
    extra = 'import pytest\npytest.importorskip("no_such_module_pyvl")\n\ndef test_x():\n    pass\n'
    code, out = run_pytest(tmp_path, ["test_sample.py::test_listed"], extra)
    assert code == 1, out
    assert "test_extra.py" in out and "no_such_module_pyvl" in out


def test_several_lists_separated_by_pathsep(tmp_path):
    """PYVL_KNOWN_SKIPS may name several lists (the sanitizer run adds its own): a skip
    listed in the second one passes, and one in neither still fails."""
    extra = 'import pytest\n\ndef test_other():\n    pytest.skip("other")\n'
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "test_extra.py").write_text(extra)
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("test_sample.py::test_listed\n")
    for listed_second, want in (("test_extra.py::test_other\n", 0), ("# nothing\n", 1)):
        second.write_text(listed_second)
        env = dict(os.environ, PYTHONPATH=str(HERE),
                   PYVL_KNOWN_SKIPS=os.pathsep.join([str(first), str(second)]))
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "skip_guard", "-p", "no:cacheprovider", "-q",
             "--rootdir", str(tmp_path), str(tmp_path)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == want, proc.stdout + proc.stderr


def test_patterns_match(tmp_path):
    code, out = run_pytest(tmp_path, ["test_sample.py::test_*"])
    assert code == 0, out


def test_brackets_of_parametrized_ids_are_literal(tmp_path):
    extra = ('import pytest\n\n@pytest.mark.parametrize("v", ["a-1", "b"])\n'
             'def test_p(v):\n    pytest.skip(v)\n')
    code, out = run_pytest(tmp_path, ["test_sample.py::test_listed", "test_extra.py::test_p[a-*]"],
                           extra)
    assert code == 1, out
    assert "test_extra.py::test_p[b]" in out and "test_p[a-1]" not in out
    assert matches("x.py::t[A()-c(n=1)]", "x.py::t[A()-c(*)]")
    assert not matches("x.py::t[A()-c(n=1)]", "x.py::t[B()-c(*)]")


DECLARING_CONFTEST = textwrap.dedent(
    """
    import pytest
    from skip_guard import declare_skip

    def pytest_collection_modifyitems(config, items):
        for item in items:
            if item.name.startswith("test_declared"):
                item.add_marker(pytest.mark.skip(reason="excluded (x): on purpose"))
                declare_skip(config, item.nodeid, "excluded (x): on purpose")
    """
)


def test_declared_skips_pass_and_nothing_else(tmp_path):
    """A suite's own exclusions (declare_skip, as tests/sklearn_upstream/conftest.py does)
    are accepted for their node ids and reasons only; another skip beside them fails."""
    (tmp_path / "conftest.py").write_text(DECLARING_CONFTEST)
    extra = ('import pytest\n\ndef test_declared_a():\n    pass\n\n'
             '@pytest.mark.parametrize("v", [1, 2])\ndef test_declared_b(v):\n    pass\n\n'
             'def test_other():\n    pytest.skip("excluded (x): on purpose")\n')
    code, out = run_pytest(tmp_path, ["test_sample.py::test_listed"], extra)
    assert code == 1, out
    assert "1 skip(s) not listed" in out and "test_extra.py::test_other" in out
    assert "test_extra.py::test_declared" not in out.split("unlisted skips")[-1]
    code, out = run_pytest(tmp_path, ["test_sample.py::test_listed", "test_extra.py::test_other"],
                           extra)
    assert code == 0, out


def test_a_declared_node_skipped_for_another_reason_fails(tmp_path):
    conftest = DECLARING_CONFTEST.replace(
        'item.add_marker(pytest.mark.skip(reason="excluded (x): on purpose"))',
        'item.add_marker(pytest.mark.skip(reason="something else"))')
    (tmp_path / "conftest.py").write_text(conftest)
    extra = "def test_declared_a():\n    pass\n"
    code, out = run_pytest(tmp_path, ["test_sample.py::test_listed"], extra)
    assert code == 1, out
    assert "test_extra.py::test_declared_a: Skipped: something else" in out


def test_the_repository_list_is_readable():
    patterns = known_skips(DEFAULT_LIST)
    assert patterns and all("::" in p for p in patterns)


def readme_test_command() -> str:
    """The README line that .ci/run extracts and runs (its own pattern)."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"grep -m1 -E '([^']+)' README.md", ci)
    assert match, ".ci/run no longer takes its test command from the README"
    pattern = match.group(1)
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    found = [line for line in lines if re.search(pattern, line)]
    assert found, f"no README line matches .ci/run's pattern {pattern!r}"
    return found[0]


def test_ci_runs_the_readme_command_and_fails_with_it():
    """.ci/run runs the README's command under ``set -e`` and ``pipefail``, so a failing
    pytest (an unlisted skip included) fails CI; neither disables the guard."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in ci
    assert 'bash -euo pipefail -c "$readme_test"' in ci
    assert "PYVL_KNOWN_SKIPS" not in ci
    pytest_args = shlex.split(readme_test_command().split("&&")[-1])
    assert pytest_args[0] == "pytest"
    for arg in pytest_args[1:]:  # nothing that drops tests/conftest.py or the plugin
        assert not arg.startswith(("-p", "--noconftest", "--confcutdir", "-c", "--rootdir")), arg


def test_the_readme_command_fails_on_an_unlisted_skip():
    """The README's pytest command, from the repository root with its configuration and
    tests/conftest.py, on a file with one unlisted skip: exit status 1, the skip named."""
    pytest_args = shlex.split(readme_test_command().split("&&")[-1])
    script = Path(sys.executable).with_name("pytest")
    # the installed entry point, as the README runs it (python -m would put the
    # repository root first on sys.path); sys.executable -m pytest where there is none
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pytest"]
    env = {k: v for k, v in os.environ.items() if k != "PYVL_KNOWN_SKIPS"}
    proc = subprocess.run(
        [*command, *pytest_args[1:], "-p", "no:cacheprovider", "tests/data/skip_guard_target.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "1 passed" not in out and "1 skipped" in out
    assert "1 skip(s) not listed in known_skips.txt" in out
    assert "skip_guard_target.py::test_unlisted_skip" in out
