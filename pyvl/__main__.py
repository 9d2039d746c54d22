"""``python -m pyvl <command>``: the demo and command-line tools."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"demo": "pyvl.demo"}
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print("usage: python -m pyvl {%s} [options]" % ",".join(commands))
        print("  demo   learn a GMM vocabulary of image patches (data shipped with scikit-learn)")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    import importlib

    return importlib.import_module(commands[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
