"""``pyvl <command>`` / ``python -m pyvl <command>``: the demo and the command-line tools.

Commands (each has ``--help``):

* ``demo``: classify handwritten digits with Fisher vectors (data shipped
  with scikit-learn);
* ``fit``: learn a GMM from (N, D) descriptors in .npy files, save it;
* ``encode``: encode per-image descriptor .npy files with a saved GMM
  (Fisher vectors, VLAD or bags of words), one row per file.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from . import __version__

# command: (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("pyvl.demo", "main",
             "classify handwritten digits with Fisher vectors (data shipped with scikit-learn)"),
    "fit": ("pyvl.cli", "fit_main", "learn a GMM from (N, D) descriptors in .npy files"),
    "encode": ("pyvl.cli", "encode_main",
               "encode per-image descriptor .npy files with a saved GMM, one row per file"),
}


def _prog() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "pyvl" if name in ("pyvl", "pyvl.exe") else "python -m pyvl"


def _usage(prog: str) -> str:
    lines = [f"usage: {prog} {{{','.join(COMMANDS)}}} [options]", "", "commands:"]
    lines += [f"  {name:<8}{help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", (f"`{prog} COMMAND --help` shows a command's options; "
                   f"`{prog} --version` prints the version.")]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a command; returns the exit status (2 for a usage error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    prog = _prog()
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage(prog), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] == "--version":
        print(f"pyvl {__version__}")
        return 0
    if args[0] not in COMMANDS:
        print(_usage(prog), file=sys.stderr)
        print(f"{prog}: error: unknown command {args[0]!r}", file=sys.stderr)
        return 2
    module, function, _ = COMMANDS[args[0]]
    run = getattr(importlib.import_module(module), function)
    try:
        return int(run(args[1:], prog=f"{prog} {args[0]}"))
    except SystemExit as exc:  # argparse's exits (--help: 0, a usage error: 2)
        code = exc.code
        if code is None or isinstance(code, int):
            return int(code or 0)
        print(code, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
