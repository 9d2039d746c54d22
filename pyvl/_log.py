"""Where libgmm's verbose messages go.

libgmm prints nothing unless an object's verbosity was raised; then each
message line is handed to a hook. pyvl installs one hook at import that
writes the line to ``sys.stdout`` (so it shows up in notebooks, where C's own
stdout does not).
"""

from __future__ import annotations

import sys
from typing import Any

from ._lib import LogFunc, lib


def _emit(user: Any, message: bytes) -> None:
    try:
        sys.stdout.write(message.decode("utf-8", "replace") + "\n")
    except Exception:  # never let a broken stdout propagate into C
        pass


_HOOK = LogFunc(_emit)  # must stay referenced for as long as the library may call it


def install() -> None:
    lib.vl_set_log_func(_HOOK, None)
