"""The command line on bad input: one line ``<prog>: error: ...`` and status 2,
never a traceback; and it never replaces what stands at the output path
unless it is a regular file (through a symlink, its target)."""

from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pytest

import pyvl
from pyvl.__main__ import main as pyvl_main


@pytest.fixture
def files(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(400, 5)) * 3).astype(np.float32)
    np.save(tmp_path / "d.npy", x)
    np.save(tmp_path / "img.npy", x[:30])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _error(capsys, argv):
    status = pyvl_main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err
    assert lines and ": error: " in lines[-1], err
    return lines[-1]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "d.npy", "-k", "2", "-o", ""], "the output path is empty"),
        (["fit", "d.npy", "-k", "2", "-o", "m.npz", "--seed", "-1"], "expected an integer >= 0"),
        (["fit", "d.npy", "-k", "2", "-o", "m.npz", "--seed", str(2**32)], "seed in"),
        (["fit", "d.npy", "-k", "2", "-o", "m.npz", "--threads", "5000"], "at most 1024 threads"),
        (["fit", "d.npy", "-k", "2", "-o", "m.npz", "--max-iter", "9" * 30], "size_t"),
        (["encode", "m.npz", "img.npy", "-o", "e.npy", "--threads", "5000"], "at most 1024"),
        (["fit", "@self.txt", "-k", "2", "-o", "m.npz"], "includes itself"),
        (["fit", "@loop_a.txt", "-k", "2", "-o", "m.npz"], "includes itself"),
        (["fit", "@missing.txt", "-k", "2", "-o", "m.npz"], "no such argument file"),
        (["fit", "huge_header.npy", "-k", "2", "-o", "m.npz"], "huge_header.npy"),
        (["demo", "-k", "100000", "--no-progress"], "n_components"),
        (["demo", "--pyramid", "1000x1000"], "at most 8x8"),
        (["demo", "--threads", "5000"], "at most 1024"),
    ],
)
def test_bad_input_is_one_line_and_status_2(files, capsys, argv, message):
    (files / "self.txt").write_text("@self.txt\n")
    (files / "loop_a.txt").write_text("@loop_b.txt\n")
    (files / "loop_b.txt").write_text("d.npy\n@loop_a.txt\n")
    with open(files / "huge_header.npy", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + (60000).to_bytes(2, "little") + b"{" + b" " * 59999)
    if argv[0] == "encode":
        assert pyvl_main(["fit", "d.npy", "-k", "2", "-o", "m.npz", "-q"]) == 0
    line = _error(capsys, argv)
    assert message in line


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and /sys")
@pytest.mark.parametrize("out", ["/proc/pyvl-model.npz", "/sys/pyvl-model.npz", "/proc/self/x.npz"])
def test_unwritable_output_directories(files, capsys, out):
    line = _error(capsys, ["fit", "d.npy", "-k", "2", "-o", out, "-q"])
    assert "pyvl-model.npz" in line or "x.npz" in line


def test_output_through_a_symlink_writes_its_target(files):
    target = files / "real.npz"
    target.write_bytes(b"old")
    os.symlink(target, files / "link.npz")
    assert pyvl_main(["fit", "d.npy", "-k", "2", "-o", "link.npz", "-q"]) == 0
    assert os.path.islink(files / "link.npz")
    assert isinstance(pyvl.io.load(target), pyvl.GaussianMixture)
    assert pyvl_main(["encode", "real.npz", "img.npy", "-o", "enc_link.npy", "-q"]) == 0
    os.symlink(files / "enc.npy", files / "enc_link2.npy")  # a dangling link: its target is made
    assert pyvl_main(["encode", "real.npz", "img.npy", "-o", "enc_link2.npy", "-q"]) == 0
    np.testing.assert_array_equal(np.load(files / "enc.npy"), np.load(files / "enc_link.npy"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="device files")
def test_output_that_is_not_a_regular_file_is_left_alone(files, capsys):
    os.mkfifo(files / "fifo.npz")
    line = _error(capsys, ["fit", "d.npy", "-k", "2", "-o", "fifo.npz", "-q"])
    assert "not a regular file" in line
    assert stat.S_ISFIFO(os.stat(files / "fifo.npz").st_mode)
    os.symlink("/dev/null", files / "null.npz")
    line = _error(capsys, ["fit", "d.npy", "-k", "2", "-o", "null.npz", "-q"])
    assert "not a regular file" in line
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    line = _error(capsys, ["encode", "null.npz", "img.npy", "-o", "e.npy", "-q"])
    assert "not a regular file" in line  # nor read as a model


def test_a_fifo_as_model_is_refused_at_once(files, capsys):
    os.mkfifo(files / "model.npz")
    line = _error(capsys, ["encode", "model.npz", "img.npy", "-o", "e.npy", "-q"])
    assert "not a regular file" in line
