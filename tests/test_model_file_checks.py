"""Each check of pyvl.io's loader, one damaged file each, diagnosed by name.

A damaged model file must raise ModelFileError saying what is wrong. Many kinds of damage
would end in *some* ModelFileError even without the check meant for them (a later check,
or zipfile failing on its own), so these tests build files that only the named check
catches -- members that declare sizes larger than the file, a duplicate that is an exact
copy, trailing bytes after a .npy payload, a member of an unsupported compression, a
structured dtype, priors summing to less than 1, a zero variance, another format version,
an extra member -- and match the message. ``save`` must refuse what ``load`` rejects.
"""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest

import pyvl
from pyvl.io import ModelFileError


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    X = np.random.default_rng(0).normal(size=(300, 3))
    g = pyvl.GaussianMixture(2, random_state=0, max_iter=5, tol=1e-1).fit(X)
    buf = io.BytesIO()
    g.save(buf)
    return buf.getvalue()


def members_of(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def archive(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip of stored members, in order (duplicates allowed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, payload in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            z.writestr(info, payload)
    return buf.getvalue()


def npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def with_member(raw: bytes, name: str, payload: bytes) -> bytes:
    m = members_of(raw)
    m[name] = payload
    return archive(list(m.items()))


def load(raw: bytes):
    return pyvl.io.load(io.BytesIO(raw))


def patch_size(raw: bytes, name: str, size: int) -> bytes:
    """Overwrite a member's sizes in its local and central headers (zip layout:
    compressed size at +18/+20, size at +22/+24, name at +30/+46)."""
    out = bytearray(raw)
    key = name.encode()
    offsets = {"local": (b"PK\x03\x04", 18, 22, 30), "central": (b"PK\x01\x02", 20, 24, 46)}
    for sig, at_csize, at_size, at_name in offsets.values():
        pos = out.find(sig)
        while pos >= 0:
            nlen = struct.unpack_from("<H", out, pos + (26 if sig == b"PK\x03\x04" else 28))[0]
            if bytes(out[pos + at_name : pos + at_name + nlen]) == key:
                struct.pack_into("<I", out, pos + at_csize, size)
                struct.pack_into("<I", out, pos + at_size, size)
            pos = out.find(sig, pos + 4)
    return bytes(out)


def test_the_unchanged_file_loads(model_bytes):
    g = load(model_bytes)
    assert isinstance(g, pyvl.GaussianMixture)
    # and the rebuilt archive too (what the other tests start from)
    assert isinstance(load(archive(list(members_of(model_bytes).items()))), pyvl.GaussianMixture)


def test_members_declaring_sizes_larger_than_the_file(model_bytes):
    raw = archive(list(members_of(model_bytes).items()))
    bad = patch_size(raw, "means_.npy", len(raw) * 50)
    with zipfile.ZipFile(io.BytesIO(bad)) as z:  # the premise: zipfile believes it
        assert z.getinfo("means_.npy").file_size == len(raw) * 50
    with pytest.raises(ModelFileError, match="larger than the file"):
        load(bad)


def test_exact_duplicate_member(model_bytes):
    entries = list(members_of(model_bytes).items())
    dup = dict(entries)["means_.npy"]
    with pytest.warns(UserWarning, match="Duplicate"):
        bad = archive(entries + [("means_.npy", dup)])
    with pytest.raises(ModelFileError, match="duplicate member"):
        load(bad)


def test_trailing_bytes_after_the_array(model_bytes):
    m = members_of(model_bytes)
    bad = with_member(model_bytes, "means_.npy", m["means_.npy"] + b"\0" * 16)
    size = len(m["means_.npy"])
    with pytest.raises(ModelFileError,
                       match=f"the archive declares {size + 16} bytes, its .npy header {size}"):
        load(bad)


def test_member_of_an_unsupported_compression(model_bytes):
    """Stored and deflated members load (np.savez, np.savez_compressed); any other method
    is refused by name, although zipfile itself would read it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, payload in members_of(model_bytes).items():
            z.writestr(name, payload, compress_type=zipfile.ZIP_BZIP2 if name == "means_.npy"
                       else zipfile.ZIP_STORED)
    bad = buf.getvalue()
    assert members_of(bad) == members_of(model_bytes)  # the premise: zipfile reads it
    with pytest.raises(ModelFileError, match="'means_.npy': unsupported compression"):
        load(bad)


def test_structured_dtype_member(model_bytes):
    rec = np.zeros(2, dtype=[("a", "<f8"), ("b", "<f8")])
    bad = with_member(model_bytes, "means_.npy", npy(rec))
    with pytest.raises(ModelFileError, match="only numbers, booleans and strings"):
        load(bad)


@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_priors_not_summing_to_one(model_bytes, scale):
    w = np.load(io.BytesIO(members_of(model_bytes)["weights_.npy"]))
    bad = with_member(model_bytes, "weights_.npy", npy(w * scale))
    with pytest.raises(ModelFileError, match="sum to"):
        load(bad)


def test_zero_variance(model_bytes):
    c = np.load(io.BytesIO(members_of(model_bytes)["covariances_.npy"]))
    c[0, 0] = 0
    bad = with_member(model_bytes, "covariances_.npy", npy(c))
    with pytest.raises(ModelFileError, match="covariances must be > 0"):
        load(bad)


@pytest.mark.parametrize("version", [0, pyvl.io.VERSION + 1])
def test_other_format_versions(model_bytes, version):
    bad = with_member(model_bytes, "__version__.npy", npy(np.asarray(version, dtype=np.int64)))
    with pytest.raises(ModelFileError, match=f"version {version}"):
        load(bad)


def test_extra_member(model_bytes):
    bad = with_member(model_bytes, "notes_.npy", npy(np.zeros(3)))
    with pytest.raises(ModelFileError, match="unexpected members"):
        load(bad)


def test_save_refuses_what_load_rejects(tmp_path):
    X = np.random.default_rng(1).normal(size=(200, 2))
    g = pyvl.GaussianMixture(2, random_state=0, max_iter=3, tol=1e-1).fit(X)
    g.weights_ = g.weights_ * 0.5
    with pytest.raises(ModelFileError, match="cannot be saved"):
        g.save(tmp_path / "g.npz")
    assert not (tmp_path / "g.npz").exists()


def test_a_stream_longer_than_a_model_file_can_be(model_bytes, monkeypatch):
    """A file object is read up to MAX_TOTAL_BYTES + 1 bytes; more is refused, saying so.
    The limit (2 GiB) is lowered to the file's size to test it at its boundary."""
    from pyvl.io import archive as A

    monkeypatch.setattr(A, "MAX_TOTAL_BYTES", len(model_bytes) - 1)
    with pytest.raises(ModelFileError,
                       match=f"^more than {len(model_bytes) - 1} bytes: not a pyvl model file$"):
        load(model_bytes)
    monkeypatch.setattr(A, "MAX_TOTAL_BYTES", len(model_bytes))
    assert isinstance(load(model_bytes), pyvl.GaussianMixture)  # exactly the limit loads


def test_a_kmeans_of_zero_inertia_round_trips():
    """inertia_ = 0 (every point on its center) is a valid model: the bound is inclusive;
    a negative inertia is refused."""
    X = np.repeat(np.eye(3), 5, axis=0)
    km = pyvl.KMeans(3, random_state=0, n_init=1).fit(X)
    assert km.inertia_ == 0.0
    buf = io.BytesIO()
    km.save(buf)
    back = load(buf.getvalue())
    assert back.inertia_ == 0.0
    np.testing.assert_array_equal(back.cluster_centers_, km.cluster_centers_)
    bad = with_member(buf.getvalue(), "inertia_.npy", npy(np.asarray(-1.0)))
    with pytest.raises(ModelFileError, match="member 'inertia_' is -1.0, below 0.0"):
        load(bad)
