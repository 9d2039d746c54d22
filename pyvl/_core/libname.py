"""File names of libgmm's shared library per platform (pure functions, no loading).

The build installs exactly one file inside the package and names it in the
generated ``pyvl/_libinfo.py``; the names follow CMake's rules for the
platform (the top-level ``CMakeLists.txt``, ``libgmm/CMakeLists.txt``):

=========  ===========================  =======================================
platform   file                         why
=========  ===========================  =======================================
Linux      ``libgmm.so.<ABI>``          the SONAME
macOS      ``libgmm.<ABI>.dylib``       the install name (``@rpath/...``)
Windows    ``libgmm-<ABI>.dll``         no SONAME: the ABI is in the DLL's name
           (``gmm-<ABI>.dll``: MSVC)    (mingw-w64 adds the ``lib`` prefix)
=========  ===========================  =======================================

The BSDs use Linux's form; other platforms (Cygwin, ...) are not known here.
``pyvl._core.lib`` checks the file named by ``_libinfo.py`` against these
names, so that a package built for another operating system fails with a
message rather than a loader error.
"""

from __future__ import annotations

__all__ = ["is_windows", "library_file_names", "wrong_platform_message"]


_ELF = ("linux", "freebsd", "openbsd", "netbsd", "dragonfly")


def is_windows(platform: str) -> bool:
    """True for the ``sys.platform`` of native Windows Pythons (``"win32"``)."""
    return platform == "win32"


def library_file_names(platform: str, abi: int) -> tuple[str, ...]:
    """The file names libgmm of ABI version ``abi`` can have on ``platform``.

    Parameters
    ----------
    platform : str
        A ``sys.platform`` value: ``"linux"``, ``"darwin"``, ``"win32"``, ...
    abi : int
        libgmm's ABI version (``LIBGMM_ABI_VERSION``, >= 0).

    Returns
    -------
    names : tuple of str
        The names CMake gives the library there, the usual one first
        (Windows: mingw-w64's, then MSVC's); empty for a platform not known
        here (nothing to check against).
    """
    if isinstance(abi, bool) or not isinstance(abi, int) or abi < 0:
        raise ValueError(f"abi must be a non-negative integer, not {abi!r}")
    if is_windows(platform):
        return (f"libgmm-{abi}.dll", f"gmm-{abi}.dll")
    if platform == "darwin":
        return (f"libgmm.{abi}.dylib",)
    if platform.startswith(_ELF):
        return (f"libgmm.so.{abi}",)
    return ()


def wrong_platform_message(file: str, platform: str, abi: int) -> str | None:
    """Why ``file`` (the name in ``_libinfo.py``) cannot be libgmm of ABI ``abi``
    on ``platform``, or None if it can (or the platform is not known here).

    A package built for another operating system (a Linux wheel unpacked on
    macOS, say) names a file this platform's loader cannot use.
    """
    names = library_file_names(platform, abi)
    if not names or file in names:
        return None
    return (
        f"pyvl's shared library {file!r} was built for another platform: on {platform} "
        f"libgmm (ABI {abi}) is {' or '.join(repr(n) for n in names)}; install the pyvl "
        "package built for this platform, or build it here with `pip install .`"
    )
