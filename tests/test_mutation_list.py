"""tools/mutations.toml stays usable: every curated mutant is found in the tree.

An entry names its code by file and exact text (never a line number). When code moves or
changes, the entry must be updated in the same change, or `tools/mutation.py` would report
it as stale; this test says so first. It also checks that the tests and C tests an entry
names exist, and the stale detection itself.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_tool():
    spec = importlib.util.spec_from_file_location("pyvl_mutation_tool", ROOT / "tools" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


tool = _load_tool()
MUTATIONS, BROAD = tool.load_list(tool.DEFAULT_LIST)


def ctest_names() -> set[str]:
    """The ctest names libgmm/tests/CMakeLists.txt defines: gmm_add_test(name) and
    add_test(NAME name ...), with ${var} of a foreach(var items...) expanded."""
    text = (ROOT / "libgmm" / "tests" / "CMakeLists.txt").read_text()
    loops = {var: items.split() for var, items in re.findall(r"foreach\((\w+)\s+([^)]*)\)", text)}
    names = set(re.findall(r"^gmm_add_test\((\w+)", text, re.M))
    for name in re.findall(r"add_test\(NAME\s+([\w${}]+)", text):
        m = re.fullmatch(r"(\w*)\$\{(\w+)\}(\w*)", name)
        if m and m[2] in loops:  # (${name} inside gmm_add_test: its calls are read above)
            names |= {m[1] + item + m[3] for item in loops[m[2]]}
        elif "$" not in name:
            names.add(name)
    return names


def test_ctest_names_are_read_from_cmake():
    names = ctest_names()
    assert {"gmm_em", "kmeans", "encoders", "kernels_scalar", "kernels_avx2",
            "threads_nothread"} <= names
    assert not any("$" in n for n in names)


@pytest.mark.parametrize("m", MUTATIONS, ids=lambda m: m.id)
def test_curated_mutant_is_found_once(m):
    assert tool.locate(ROOT, m) is None, f"{m.id} is stale: update tools/mutations.toml"


@pytest.mark.parametrize("m", MUTATIONS, ids=lambda m: m.id)
def test_curated_mutant_names_existing_tests(m):
    for t in m.tests:
        assert (ROOT / t.split("::")[0]).is_file(), f"{m.id}: {t} does not exist"
    assert set(m.ctest) <= ctest_names(), f"{m.id}: unknown ctest name in {m.ctest}"
    if m.is_c:
        assert m.ctest, f"{m.id}: a C mutant must run C tests"


def test_every_part_has_mutants_and_the_first_survivors_are_listed():
    parts = {m.part for m in MUTATIONS}
    assert parts == set(tool.PARTS)
    ids = {m.id for m in MUTATIONS}
    assert {"enc-fisher-square-root-flag", "train-chunked-no-clamp", "io-inflated-sizes",
            "gmm-restart-threshold"} <= ids


def test_broad_modules_exist():
    for module, entry in BROAD["modules"].items():
        assert (ROOT / module).is_file(), module
        assert entry["part"] in tool.PARTS
        for t in entry["tests"]:
            assert (ROOT / t).is_file(), f"{module}: {t}"


def test_stale_entries_are_reported(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\ny = 1\n")
    m = tool.Mutation(id="t", part="training", file="a.py", pattern="x = 1", replace="x = 2",
                      why="", tests=["t.py"])
    assert tool.locate(tmp_path, m) is None
    m.pattern = "z = 1"
    assert "not found" in tool.locate(tmp_path, m)
    m.pattern = "= 1"
    assert "2 times" in tool.locate(tmp_path, m)
    m.file = "b.py"
    assert "b.py not found" in tool.locate(tmp_path, m)


def test_bad_lists_are_refused(tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text('[[mutation]]\nid = "a"\npart = "nope"\nfile = "x"\npattern = "p"\n'
                   'replace = "q"\nwhy = "w"\ntests = ["t"]\n')
    with pytest.raises(SystemExit, match="part must be one of"):
        tool.load_list(bad)
    bad.write_text('[[mutation]]\nid = "a"\npart = "training"\nfile = "x"\npattern = "p"\n'
                   'replace = "p"\nwhy = "w"\ntests = ["t"]\n')
    with pytest.raises(SystemExit, match="equals the pattern"):
        tool.load_list(bad)
