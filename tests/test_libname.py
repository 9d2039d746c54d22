"""The shared library's file name per platform (pyvl._core.libname) and the
loader's check of it.

The names of the other operating systems are pure functions of the platform
string, tested here without that system; the name of this platform is
checked against the one CMake wrote into the installed ``_libinfo.py`` and
the ABI version the loaded library reports. (.ci/mingw.sh checks the Windows
name against a real mingw-w64 build of the package layout.)
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from pyvl._core import lib as core_lib
from pyvl._core.libname import is_windows, library_file_names, wrong_platform_message


@pytest.mark.parametrize(
    ("platform", "abi", "names"),
    [
        ("linux", 1, ("libgmm.so.1",)),
        ("linux", 7, ("libgmm.so.7",)),
        ("freebsd14", 1, ("libgmm.so.1",)),
        ("darwin", 1, ("libgmm.1.dylib",)),
        ("darwin", 0, ("libgmm.0.dylib",)),
        ("win32", 1, ("libgmm-1.dll", "gmm-1.dll")),
        ("win32", 12, ("libgmm-12.dll", "gmm-12.dll")),
        ("cygwin", 1, ()),
        ("emscripten", 1, ()),
    ],
)
def test_library_file_names(platform: str, abi: int, names: tuple[str, ...]) -> None:
    assert library_file_names(platform, abi) == names


def test_is_windows() -> None:
    assert is_windows("win32")
    assert not any(is_windows(p) for p in ("linux", "darwin", "cygwin", "freebsd14"))


@pytest.mark.parametrize("abi", [-1, 1.0, "1", True, None])
def test_library_file_names_rejects_bad_abi(abi: object) -> None:
    with pytest.raises(ValueError, match="abi must be a non-negative integer"):
        library_file_names("linux", abi)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("file", "platform"),
    [
        ("libgmm.so.1", "linux"),
        ("libgmm.1.dylib", "darwin"),
        ("libgmm-1.dll", "win32"),
        ("gmm-1.dll", "win32"),
        ("libgmm.so.1", "cygwin"),  # not known here: not checked
    ],
)
def test_right_platform_passes(file: str, platform: str) -> None:
    assert wrong_platform_message(file, platform, 1) is None


@pytest.mark.parametrize(
    ("file", "platform", "expected"),
    [
        ("libgmm.so.1", "darwin", "'libgmm.1.dylib'"),
        ("libgmm.so.1", "win32", "'libgmm-1.dll' or 'gmm-1.dll'"),
        ("libgmm.1.dylib", "linux", "'libgmm.so.1'"),
        ("libgmm-1.dll", "linux", "'libgmm.so.1'"),
        ("libgmm.so.2", "linux", "'libgmm.so.1'"),  # another ABI's file
    ],
)
def test_wrong_platform_message(file: str, platform: str, expected: str) -> None:
    message = wrong_platform_message(file, platform, 1)
    assert message is not None
    assert repr(file) in message and f"on {platform} " in message and expected in message


def _installed_libinfo() -> tuple[str, dict[str, Any]]:
    if os.environ.get("PYVL_LIBRARY"):
        pytest.skip("PYVL_LIBRARY overrides the installed library")
    try:
        return core_lib._libinfo()
    except ImportError:  # pragma: no cover - a development setup without an install
        pytest.skip("no installed _libinfo.py")


def test_this_platform_name_matches_the_build() -> None:
    """CMake's name for this platform (in _libinfo.py), libname's, and the
    ABI version the loaded library reports agree."""
    directory, info = _installed_libinfo()
    abi = core_lib.lib.vl_get_abi_version()
    assert info["ABI_VERSION"] == abi
    names = library_file_names(sys.platform, abi)
    assert names, f"{sys.platform} has no known library name"
    assert info["LIBRARY_FILE"] == names[0]
    assert os.path.isfile(os.path.join(directory, names[0]))
    assert core_lib.library_path() == os.path.join(directory, names[0])


@pytest.mark.parametrize("other", [p for p in ("darwin", "win32", "linux") if p != sys.platform])
def test_loader_refuses_another_platforms_library(
    monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    """library_path() on a platform whose name differs from the installed one
    raises ImportError naming both (the package was built elsewhere)."""
    _, info = _installed_libinfo()
    assert info["LIBRARY_FILE"] not in library_file_names(other, int(info["ABI_VERSION"]))
    monkeypatch.setattr(sys, "platform", other)
    with pytest.raises(ImportError, match="built for another platform") as excinfo:
        core_lib.library_path()
    assert repr(info["LIBRARY_FILE"]) in str(excinfo.value)
    assert library_file_names(other, int(info["ABI_VERSION"]))[0] in str(excinfo.value)
