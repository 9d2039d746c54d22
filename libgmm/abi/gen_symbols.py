#!/usr/bin/env python3
"""Print the functions declared VL_EXPORT in libgmm's public headers (vl/ and vl/libgmm/), sorted.

This is what abi/symbols.txt must contain; tests/test_abi.py checks that the
file, the headers and the built library's dynamic symbol table all agree.
Run `python3 libgmm/abi/gen_symbols.py > libgmm/abi/symbols.txt` after adding
a public function (symbols are only ever added: see abi/README.md).
"""
import pathlib
import re
import sys


def exported_functions(include_dir: pathlib.Path) -> list[str]:
    names = set()
    for header in sorted(include_dir.rglob("*.h")):
        text = header.read_text()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"//[^\n]*", " ", text)
        text = re.sub(r"^\s*#.*(?:\\\n.*)*$", " ", text, flags=re.M)
        for decl in text.split(";"):
            if "VL_EXPORT" not in decl:
                continue
            m = re.search(r"\b(vl_\w+)\s*\(", decl)
            if m:
                names.add(m.group(1))
    return sorted(names)


if __name__ == "__main__":
    here = pathlib.Path(__file__).resolve().parent
    sys.stdout.write("".join(n + "\n" for n in exported_functions(here.parent / "include" / "vl")))
