"""Model files from anywhere: pyvl.io never blocks, never reads without bound,
never replaces what is not a regular file, and checks parameters as fit does.

Each case is one a user or an attacker could hand to ``pyvl.io.load`` /
``save`` (or the command line, which uses them): the truth is the error type
and message, and the state of the file system after the call.
"""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import threading
import warnings
import zipfile

import numpy as np
import pytest

import pyvl
import pyvl.io
from pyvl.io import ModelFileError
from pyvl.io.archive import MAX_INFLATION, MIN_INFLATED_BYTES

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX special files")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    x = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = pyvl.GaussianMixture(3, random_state=0).fit(x)
    path = tmp_path_factory.mktemp("m") / "g.npz"
    g.save(path)
    return g, str(path)


def _members(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)


# ---- reading ------------------------------------------------------------------------------


@linux
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    result = {}

    def load():
        try:
            pyvl.io.load(fifo)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            result["exc"] = exc

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "pyvl.io.load blocked on a FIFO"
    assert isinstance(result["exc"], ModelFileError)
    assert "not a regular file" in str(result["exc"])


@linux
@pytest.mark.parametrize("device", ["/dev/urandom", "/dev/zero", "/dev/null"])
def test_links_to_devices_are_refused_before_reading(tmp_path, device):
    link = tmp_path / "model.npz"
    os.symlink(device, link)
    with pytest.raises(ModelFileError, match="not a regular file"):
        pyvl.io.load(link)
    with pytest.raises(ModelFileError, match="not a regular file"):
        pyvl.io.describe(link)


def test_a_directory_is_named_as_such(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory"):
        pyvl.io.load(tmp_path)


def test_a_deflate_bomb_is_refused_before_inflating(tmp_path, model_file):
    _, path = model_file
    members = _members(path)
    big = np.zeros(MIN_INFLATED_BYTES // 8 + 1024, dtype=np.float64)
    buf = io.BytesIO()
    np.save(buf, big)
    members["param.huge.npy"] = buf.getvalue()
    bomb = tmp_path / "bomb.npz"
    _zip(bomb, members, zipfile.ZIP_DEFLATED)
    size = os.path.getsize(bomb)
    assert size * MAX_INFLATION < MIN_INFLATED_BYTES  # highly compressible: a bomb
    with pytest.raises(ModelFileError, match="more than .* times the file"):
        pyvl.io.load(bomb)


def test_a_member_whose_header_claims_a_huge_shape_is_refused(tmp_path, model_file):
    _, path = model_file
    members = _members(path)
    header = {"descr": "<f8", "fortran_order": False, "shape": (1 << 40,)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    members["lower_bounds_.npy"] = buf.getvalue()  # a header, no data
    bad = tmp_path / "huge.npz"
    _zip(bad, members)
    with pytest.raises(ModelFileError, match="declares"):
        pyvl.io.load(bad)


def test_inflated_sizes_of_stored_members_are_refused(tmp_path, model_file):
    """Stored members may not together be larger than the file (their sizes are
    rewritten in the zip's central directory)."""
    _, path = model_file
    raw = bytearray(open(path, "rb").read())
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
    # the central directory entry of the first member: uncompressed size at +24
    sig = b"PK\x01\x02"
    cd = raw.find(sig)
    assert cd > 0 and infos[0].compress_type == zipfile.ZIP_STORED
    raw[cd + 24 : cd + 28] = (len(raw) * 4).to_bytes(4, "little")
    bad = tmp_path / "inflated.npz"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="larger than the file"):
        pyvl.io.load(bad)


def test_many_members_give_a_short_message(tmp_path):
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(70_000):
            z.writestr(f"m{i}.npy", b"")
    with pytest.raises(ModelFileError) as info:
        pyvl.io.load(path)
    assert len(str(info.value)) < 300


def test_unexpected_members_are_listed_briefly(tmp_path, model_file):
    _, path = model_file
    members = _members(path)
    buf = io.BytesIO()
    np.save(buf, np.zeros(1))
    for i in range(500):
        members[f"extra{i}.npy"] = buf.getvalue()
    bad = tmp_path / "extra.npz"
    _zip(bad, members)
    with pytest.raises(ModelFileError, match="unexpected members") as info:
        pyvl.io.load(bad)
    assert len(str(info.value)) < 1000


def test_deeply_nested_params_are_a_model_file_error(tmp_path, model_file):
    _, path = model_file
    members = _members(path)
    buf = io.BytesIO()
    np.save(buf, np.asarray("[" * 100_000 + "]" * 100_000))
    members["__params__.npy"] = buf.getvalue()
    bad = tmp_path / "nested.npz"
    _zip(bad, members)
    for call in (pyvl.io.load, pyvl.io.describe):
        with pytest.raises(ModelFileError, match="JSON|nested"):
            call(bad)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"max_iter": -1}, "max_iter must be an integer >= 0"),
        ({"tol": float("nan")}, "tol must be a float >= 0"),
        ({"n_threads": 10**9}, "n_threads must be an integer in"),
        ({"chunk_size": 0}, "chunk_size must be an integer >= 1"),
        ({"init_sample_size": -5}, "init_sample_size must be an integer >= 1"),
        ({"max_iter": 2**64 + 5}, "does not fit in size_t"),
    ],
)
def test_estimator_parameters_in_a_file_are_checked_as_fit_checks_them(tmp_path, model_file,
                                                                        params, message):
    _, path = model_file
    members = _members(path)
    saved = json.loads(np.load(io.BytesIO(members["__params__.npy"])).item())
    saved.update(params)
    buf = io.BytesIO()
    np.save(buf, np.asarray(json.dumps(saved, allow_nan=True)))
    members["__params__.npy"] = buf.getvalue()
    bad = tmp_path / "params.npz"
    _zip(bad, members)
    with pytest.raises(ModelFileError, match=message):
        pyvl.io.load(bad)
    with pytest.raises(ValueError, match=message.split(" must")[0]):  # fit checks the same
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pyvl.GaussianMixture(3, **params).fit(np.random.default_rng(0).normal(size=(50, 4)))


# ---- writing ------------------------------------------------------------------------------


def test_saving_through_a_symlink_writes_its_target(tmp_path, model_file):
    g, _ = model_file
    target = tmp_path / "real.npz"
    target.write_bytes(b"old")
    link = tmp_path / "link.npz"
    os.symlink(target, link)
    g.save(link)
    assert os.path.islink(link)  # the link stays a link
    back = pyvl.io.load(target)  # its target holds the model
    np.testing.assert_array_equal(back.means_, g.means_)


def test_saving_keeps_the_mode_of_an_existing_file(tmp_path, model_file):
    g, _ = model_file
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    g.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


@linux
def test_saving_never_replaces_a_special_file(tmp_path, model_file):
    g, _ = model_file
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="not a regular file"):
        g.save(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    link = tmp_path / "null.npz"
    os.symlink("/dev/null", link)
    with pytest.raises(ModelFileError, match="not a regular file"):
        g.save(link)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # nothing left behind
