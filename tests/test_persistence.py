"""Persistence: pyvl.io's portable .npz model files, and pickling.

* Round trips (save/load, pickle) of every estimator, encoder (plugin included)
  and transformer, fitted or not, give the same class, parameters, learned
  arrays and bit-identical predictions/encodings.
* Damaged files: truncated at many lengths, every byte flipped, members
  replaced (a pickled object array that would run code if unpickled), wrong
  format/version/class, missing/extra members, wrong shapes/dtypes, NaN,
  covariances <= 0, priors not summing to 1, ... all raise
  pyvl.io.ModelFileError (a ValueError), never anything else.
* The C handles of pyvl.gmm and pyvl.kmeans pickle and copy through their
  getters/setters into new C objects that train and encode like the originals.
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from helpers import VLFEAT, images, mixture_data
from sklearn.base import clone

import pyvl
import pyvl.encoders as E
import pyvl.gmm as G
import pyvl.kmeans as K
from pyvl.fisher import vl_fisher_encode
from pyvl.io import ModelFileError

# _gmm64 sets feature_names_in_ by hand (pandas is not needed), then predicts on arrays
pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")

D = 5


def data(dtype=np.float64, n=600, seed=0):
    return mixture_data(n, D, 3, dtype, seed=seed)


# an empty and a one-descriptor image among them
IMAGE_SIZES = (100, 0, 1, 119, 80)


def positions(sets, size=(40.0, 30.0)):
    rng = np.random.default_rng(3)
    return [rng.uniform(0, 1, size=(len(s), 2)) * size for s in sets]


# ---- the objects, how to use them, how to compare them ---------------------------------------


#: VLFeat's GMM (diagonal, VLFeat's EM), the model these files were designed around

def _gmm32():
    return pyvl.GaussianMixture(3, random_state=0, **VLFEAT).fit(data(np.float32))


def _gmm64():
    x = data()
    g = pyvl.GaussianMixture(
        3, random_state=np.random.RandomState(4), means_init=x[:3],
        covariance_lower_bound=np.full(D, 1e-3), dtype=np.float64, init_params="k-means++",
        **VLFEAT,
    ).fit(x)
    g.feature_names_in_ = np.asarray([f"f{j}" for j in range(D)], dtype=object)
    return g


def _kmeans():
    return pyvl.KMeans(4, random_state=0).fit(data(np.float32))


def _kmeans_init():
    x = data()
    return pyvl.KMeans(3, init=x[:3], algorithm="elkan", dtype="float64").fit(x)


def _enc(name, **options):
    def make():
        return E.get(name, random_state=0, max_num_iterations=20, **options).fit(images(IMAGE_SIZES, D, k=3))
    return make


def _plugin():
    return E.get("mean-pool").fit(images(IMAGE_SIZES, D, k=3))


def _transformer(cls, **options):
    def make():
        return cls(random_state=0, max_iter=20, **options).fit(images(IMAGE_SIZES, D, k=3))
    return make


FACTORIES = {
    "GaussianMixture-f32": _gmm32,
    "GaussianMixture-f64-array-params": _gmm64,
    "KMeans": _kmeans,
    "KMeans-array-init": _kmeans_init,
    "fisher": _enc("fisher", n_components=3),
    "fisher-f64-fast": _enc("fisher", n_components=2, dtype="float64", fast=True),
    "vlad-pyramid": _enc("vlad", n_clusters=4, pyramid=[(1, 1), (2, 2)]),
    "bovw": _enc("bovw", n_clusters=5),
    "bovw-gmm": _enc("bovw", n_clusters=3, codebook="gmm", mode="soft", dtype="float64"),
    "mean-pool-plugin": _plugin,
    "FisherVectorEncoder": _transformer(pyvl.FisherVectorEncoder, n_components=3),
    "VladEncoder": _transformer(pyvl.VladEncoder, n_clusters=4),
    "BovwEncoder": _transformer(pyvl.BovwEncoder, n_clusters=4, codebook="gmm"),
}


@pytest.fixture(params=sorted(FACTORIES), scope="module")
def fitted(request):
    return FACTORIES[request.param]()


def outputs(obj):
    """What the object computes, for bitwise comparisons (with no side effects)."""
    if isinstance(obj, pyvl.GaussianMixture):
        x = data(obj.means_.dtype, seed=9)
        return [obj.predict(x), obj.predict_proba(x), obj.score_samples(x)]
    if isinstance(obj, pyvl.KMeans):
        x = data(obj.cluster_centers_.dtype, seed=9)
        return [obj.predict(x), obj.transform(x), np.asarray(obj.score(x))]
    if isinstance(obj, E.Encoder):
        sets = images(IMAGE_SIZES, D, k=3, seed=5)
        if obj.pyramid is not None:
            return [obj.encode_batch(sets, positions(sets), (40.0, 30.0))]
        return [obj.encode_batch(sets)]
    return [obj.transform(images(IMAGE_SIZES, D, k=3, seed=5))]


def assert_same_outputs(a, b):
    for x, y in zip(outputs(a), outputs(b)):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


def params_of(obj):
    return obj.get_config() if isinstance(obj, E.Encoder) else obj.get_params(deep=False)


def assert_same_value(a, b, what):
    if isinstance(a, np.random.RandomState):
        assert isinstance(b, np.random.RandomState), what
        sa, sb = a.get_state(), b.get_state()
        assert sa[0] == sb[0] and np.array_equal(sa[1], sb[1]) and sa[2:] == sb[2:], what
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, what
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        assert type(a) is type(b) and a == b, what


def assert_same_object(a, b):
    assert type(a) is type(b)
    pa, pb = params_of(a), params_of(b)
    assert pa.keys() == pb.keys()
    for key in pa:
        assert_same_value(pa[key], pb[key], key)
    if isinstance(a, E.Encoder):
        sa, sb = a.get_state(), b.get_state()
        assert sa.keys() == sb.keys()
        for key in sa:
            assert_same_value(sa[key], sb[key], key)
    else:
        learned = {k for k in vars(a) if k.endswith("_") and not k.startswith("_")}
        assert learned == {k for k in vars(b) if k.endswith("_") and not k.startswith("_")}
        for key in learned - {"encoder_"}:
            assert_same_value(getattr(a, key), getattr(b, key), key)
        if "encoder_" in learned:
            assert_same_object(a.encoder_, b.encoder_)
    assert_same_outputs(a, b)


# ---- round trips ------------------------------------------------------------------------------


def test_save_load_round_trip(fitted, tmp_path):
    path = tmp_path / "model.npz"
    fitted.save(path)
    assert_same_object(fitted, pyvl.io.load(path))
    assert_same_object(fitted, type(fitted).load(path))
    # a file object works as well
    buf = io.BytesIO()
    pyvl.io.save(fitted, buf)
    buf.seek(0)
    assert_same_object(fitted, pyvl.io.load(buf))


def test_pickle_round_trip(fitted):
    for restored in (pickle.loads(pickle.dumps(fitted)), copy.deepcopy(fitted)):
        assert_same_object(fitted, restored)


def test_unfitted_round_trip(fitted, tmp_path):
    if isinstance(fitted, E.Encoder):
        fresh = E.from_config(fitted.get_config())
    else:
        fresh = clone(fitted)
    path = tmp_path / "unfitted.npz"
    fresh.save(path)
    back = pyvl.io.load(path)
    assert type(back) is type(fresh)
    for key, value in params_of(fresh).items():
        assert_same_value(value, params_of(back)[key], key)
    if isinstance(back, E.Encoder):
        assert not back.is_fitted
    else:
        assert not any(k.endswith("_") for k in vars(back))
    assert pyvl.io.describe(path)["fitted"] is False


def test_loaded_estimators_keep_working(tmp_path):
    """A loaded estimator can be refitted, warm-started and sampled like the original."""
    g = _gmm32()
    g.save(tmp_path / "g.npz")
    h = pyvl.GaussianMixture.load(tmp_path / "g.npz")
    x = data(np.float32, seed=2)
    g.set_params(warm_start=True, max_iter=5)
    h.set_params(warm_start=True, max_iter=5)
    g.fit(x)
    h.fit(x)
    assert g.means_.tobytes() == h.means_.tobytes()
    np.testing.assert_array_equal(g.sample(4)[0], h.sample(4)[0])


def test_file_layout(tmp_path):
    g = _gmm64()
    path = tmp_path / "layout.npz"
    g.save(path)
    with np.load(path, allow_pickle=False) as z:  # readable by plain numpy, no pickles
        files = set(z.files)
        assert str(z["__format__"]) == "pyvl-model" and int(z["__version__"]) == 1
        assert str(z["__class__"]) == "pyvl.GaussianMixture"
        params = json.loads(str(z["__params__"]))
    assert params["n_components"] == 3 and params["covariance_type"] == "diag"
    assert params["means_init"] == {"__ndarray__": "param.means_init"}
    assert params["dtype"] == {"__dtype__": "float64", "as_type": True}
    assert {"weights_", "means_", "covariances_", "param.means_init", "param.random_state",
            "param.covariance_lower_bound", "feature_names_in_"} <= files
    info = pyvl.io.describe(path)
    assert info["class"] == "pyvl.GaussianMixture" and info["fitted"] is True
    assert info["arrays"]["means_"] == ((3, D), "float64")
    assert info["pyvl_version"] == pyvl.__version__


def test_save_paths(tmp_path):
    enc = FACTORIES["fisher"]()
    target = tmp_path / "model.bin"
    enc.save(str(target))
    assert sorted(os.listdir(tmp_path)) == ["model.bin"]  # no ".npz" added, no temporary left
    enc.save(target)  # overwrites
    assert isinstance(E.Encoder.load(target), E.FisherEncoder)
    assert isinstance(E.FisherEncoder.load(target), E.FisherEncoder)
    with pytest.raises(OSError):
        pyvl.io.load(tmp_path / "missing.npz")


def test_a_failed_save_leaves_the_previous_file(tmp_path, monkeypatch):
    enc = FACTORIES["fisher"]()
    target = tmp_path / "model.npz"
    enc.save(target)
    before = target.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        FACTORIES["bovw"]().save(target)
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]


def test_dtype_and_random_state_parameters_keep_their_form(tmp_path):
    for dtype in (np.float32, np.dtype(np.float32), "float32", None):
        g = pyvl.GaussianMixture(2, dtype=dtype, random_state=np.random.RandomState(1))
        g.save(tmp_path / "p.npz")
        back = pyvl.io.load(tmp_path / "p.npz").get_params()
        assert type(back["dtype"]) is type(dtype) and back["dtype"] == dtype
        assert_same_value(g.random_state, back["random_state"], "random_state")


# ---- what save refuses --------------------------------------------------------------------


def test_save_refuses_what_it_cannot_write_portably(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match="cannot save"):
        pyvl.io.save(object(), path)
    with pytest.raises(TypeError, match="portable"):
        pyvl.GaussianMixture(verbose=object()).save(path)

    class Unregistered(E.FisherEncoder):
        pass

    with pytest.raises(TypeError, match="registered"):
        Unregistered(2).save(path)
    # a model that load() would reject is not written
    m = np.zeros((2, D))
    bad = E.FisherEncoder.from_gmm(m, np.ones((2, D)), np.array([0.7, 0.7]))
    with pytest.raises(ModelFileError, match="sum"):
        bad.save(path)
    assert not path.exists()


# ---- damaged files ------------------------------------------------------------------------------


def read(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def write(path, members):
    with open(path, "wb") as f:
        np.savez(f, **members)
    return path


def tampered(src, dst, **changes):
    """Copy of a model file with members changed (None: removed)."""
    members = read(src)
    for key, value in changes.items():
        if value is None:
            del members[key]
        else:
            members[key] = value
    return write(dst, members)


def replace_member(src, dst, name, payload: bytes):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, payload if info.filename == name else zin.read(info))
    return dst


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Saved files of a GaussianMixture, a KMeans, a Fisher encoder and a transformer."""
    root = tmp_path_factory.mktemp("saved")
    out = {}
    for name in ("GaussianMixture-f32", "KMeans", "fisher", "FisherVectorEncoder"):
        obj = FACTORIES[name]()
        obj.save(root / f"{name}.npz")
        out[name] = (obj, root / f"{name}.npz")
    return out


def load_or_error(path):
    """load(path) or the ModelFileError it raises; anything else fails the test."""
    try:
        return pyvl.io.load(path)
    except ModelFileError as exc:
        return exc


@pytest.mark.parametrize("name", ["GaussianMixture-f32", "KMeans", "fisher", "FisherVectorEncoder"])
def test_truncated_files(saved, name, tmp_path):
    _, path = saved[name]
    raw = path.read_bytes()
    cuts = sorted({0, 1, 4, 21, 22, 30, 100, len(raw) // 3, len(raw) // 2, len(raw) - 200,
                   len(raw) - 23, len(raw) - 22, len(raw) - 21, len(raw) - 1}
                  | set(range(0, len(raw), max(1, len(raw) // 97))))
    for n in cuts:
        cut = tmp_path / "cut.npz"
        cut.write_bytes(raw[:n])
        with pytest.raises(ModelFileError):
            pyvl.io.load(cut)


def test_every_flipped_byte_is_detected_or_harmless(saved):
    """Flip each byte of a saved file in turn: loading raises ModelFileError, or (a
    flipped byte the model does not depend on: a zip timestamp, a header's padding)
    gives exactly the original model. Never another exception, never a different model."""
    obj, path = saved["GaussianMixture-f32"]
    raw = bytearray(path.read_bytes())
    learned = ("weights_", "means_", "covariances_", "lower_bounds_", "n_iter_", "lower_bound_")
    harmless: list[int] = []
    for i in range(len(raw)):
        raw[i] ^= 0xFF
        got = load_or_error(io.BytesIO(raw))
        raw[i] ^= 0xFF
        if isinstance(got, ModelFileError):
            continue
        assert type(got) is type(obj), i
        assert got.get_params() == obj.get_params(), f"byte {i}: other parameters loaded"
        for key in learned:
            assert np.asarray(getattr(got, key)).tobytes() == \
                np.asarray(getattr(obj, key)).tobytes(), f"byte {i}: a different {key} loaded"
        harmless.append(i)
    assert len(harmless) < len(raw) // 4  # most bytes matter
    for i in harmless[:3]:  # and a harmless flip really gives the same predictions
        raw[i] ^= 0xFF
        assert_same_object(obj, pyvl.io.load(io.BytesIO(raw)))
        raw[i] ^= 0xFF


def test_flipped_data_bytes_are_detected(saved, tmp_path):
    """Inside the learned arrays every flip is caught (the zip CRC-32)."""
    obj, path = saved["fisher"]
    raw = path.read_bytes()
    means = obj.means_.tobytes()
    start = raw.index(means)
    for i in range(start, start + len(means), 3):
        bad = bytearray(raw)
        bad[i] ^= 0x01
        (tmp_path / "b.npz").write_bytes(bad)
        with pytest.raises(ModelFileError, match=r"CRC|Bad"):
            pyvl.io.load(tmp_path / "b.npz")


EXPLODED: list[str] = []


def _explode():  # called only if someone unpickles the payload
    EXPLODED.append("code ran")
    return "boom"


class Payload:
    def __reduce__(self):
        return (_explode, ())


def test_pickled_member_is_never_unpickled(saved, tmp_path):
    _, path = saved["GaussianMixture-f32"]
    buf = io.BytesIO()
    np.save(buf, np.array([Payload(), 1.0], dtype=object), allow_pickle=True)
    for member in ("means_.npy", "__params__.npy", "__format__.npy"):
        bad = replace_member(path, tmp_path / "evil.npz", member, buf.getvalue())
        with pytest.raises(ModelFileError, match=r"no pickles|object"):
            pyvl.io.load(bad)
    # a whole pickle instead of a zip
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFileError):
        pyvl.io.load(tmp_path / "evil.pkl")
    assert EXPLODED == []


def test_member_replaced_by_another_valid_array_is_validated(saved, tmp_path):
    obj, path = saved["GaussianMixture-f32"]
    buf = io.BytesIO()
    np.save(buf, np.full_like(obj.covariances_, -1.0))
    bad = replace_member(path, tmp_path / "r.npz", "covariances_.npy", buf.getvalue())
    with pytest.raises(ModelFileError, match="covariances must be > 0"):
        pyvl.io.load(bad)


def test_huge_header_claims_do_not_allocate(saved, tmp_path):
    _, path = saved["GaussianMixture-f32"]
    header = {"descr": "<f4", "fortran_order": False, "shape": (2**40, 2**20)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    buf.write(b"\0" * 64)
    bad = replace_member(path, tmp_path / "huge.npz", "means_.npy", buf.getvalue())
    with pytest.raises(ModelFileError, match="declares"):
        pyvl.io.load(bad)


@pytest.mark.parametrize(
    "changes, match",
    [
        (dict(__version__=np.asarray(2)), "version 2"),
        (dict(__version__=np.asarray("1")), "__version__"),
        (dict(__format__=np.asarray("joblib")), "not a pyvl model file"),
        (dict(__format__=None), "no '__format__'"),
        (dict(__class__=np.asarray("os.system")), "unknown class"),
        (dict(__class__=np.asarray("pyvl.KMeans")), "n_clusters|parameters|member"),
        (dict(__params__=np.asarray("{not json")), "JSON"),
        (dict(__params__=np.asarray("[1, 2]")), "JSON object"),
        (dict(__params__=np.asarray('{"n_components": 3, "bogus": 1}')), "invalid parameters"),
        (dict(__params__=np.asarray('{"n_components": 4}')), "n_components"),
        (dict(__params__=np.asarray('{"n_components": 3, "dtype": "float64"}')), "dtype"),
        (dict(__params__=np.asarray('{"means_init": {"__ndarray__": "weights_"}}')), "reference"),
        (dict(__fitted__=np.asarray(1)), "boolean"),
        (dict(means_=None), "no 'means_'"),
        (dict(junk=np.zeros(3)), "unexpected members"),
        (dict(means_=np.zeros((3, D + 1), np.float32)), r"must have the shape of means"),
        (dict(weights_=np.full(4, 0.25, np.float32)), r"priors must have shape \(3,\)"),
        (dict(means_=np.zeros((3, D), np.int64)), "float32/float64"),
        (dict(means_=np.zeros((3, D), np.float16)), "float32/float64"),
        (dict(means_=np.zeros((3, D), np.float64)), "different dtypes"),
        (dict(means_=np.full((3, D), np.nan, np.float32)), "NaN"),
        (dict(covariances_=np.full((3, D), np.inf, np.float32)), "NaN or Inf"),
        (dict(covariances_=np.zeros((3, D), np.float32)), "> 0"),
        (dict(weights_=np.full(3, 0.5, np.float32)), "sum to"),
        (dict(weights_=np.asarray([1.5, -0.25, -0.25], np.float32)), ">= 0"),
        (dict(n_features_in_=np.asarray(D + 1)), "n_features_in_"),
        (dict(n_iter_=np.asarray(-1)), "n_iter_"),
        (dict(lower_bound_=np.asarray(np.nan)), "lower_bound_"),
        (dict(lower_bounds_=np.zeros((2, 2))), "lower_bounds_"),
        (dict(converged_=np.asarray("yes")), "converged_"),
        (dict(feature_names_in_=np.arange(D)), "feature_names_in_"),
    ],
)
def test_invalid_gaussian_mixture_files(saved, tmp_path, changes, match):
    _, path = saved["GaussianMixture-f32"]
    bad = tampered(path, tmp_path / "bad.npz", **changes)
    with pytest.raises(ModelFileError, match=match):
        pyvl.io.load(bad)


@pytest.mark.parametrize(
    "changes, match",
    [
        (dict(labels_=np.full(600, 4, np.int64)), "labels_"),
        (dict(labels_=np.zeros(600, np.float64)), "labels_"),
        (dict(inertia_=np.asarray(-1.0)), "inertia_"),
        (dict(cluster_centers_=np.zeros((0, D), np.float32),
              __params__=np.asarray('{"n_clusters": 0}')), r"K, D >= 1|n_clusters"),
    ],
)
def test_invalid_kmeans_files(saved, tmp_path, changes, match):
    _, path = saved["KMeans"]
    bad = tampered(path, tmp_path / "bad.npz", **changes)
    with pytest.raises(ModelFileError, match=match):
        pyvl.io.load(bad)


@pytest.mark.parametrize("name", ["fisher", "FisherVectorEncoder"])
@pytest.mark.parametrize(
    "changes, match",
    [
        (lambda m: {"state.means": m["state.means"].astype(np.float64)}, "expected float32"),
        (lambda m: {"state.priors": m["state.priors"] * 2}, "sum to"),
        (lambda m: {"state.covariances": -m["state.covariances"]}, "> 0"),
        (lambda m: {"state.means": None}, "learned arrays must be"),
        (lambda m: {"state.centers": m["state.means"]}, "learned arrays must be"),
        (lambda m: {"state.means": m["state.means"][:2], "state.covariances":
                    m["state.covariances"][:2], "state.priors": m["state.priors"][:2] * 1.5},
         "components|sum"),
    ],
)
def test_invalid_encoder_files(saved, tmp_path, name, changes, match):
    _, path = saved[name]
    bad = tampered(path, tmp_path / "bad.npz", **changes(read(path)))
    with pytest.raises(ModelFileError, match=match):
        pyvl.io.load(bad)


def test_encoder_class_must_match_its_registered_name(saved, tmp_path):
    _, path = saved["fisher"]
    config = json.loads(str(read(path)["__params__"]))
    for cls_name, name, match in [
        ("pyvl.encoders.VladEncoder", "fisher", "not the encoder registered"),
        ("pyvl.encoders.FisherEncoder", "no-such-encoder", "unknown encoder"),
        ("pyvl.encoders.FisherEncoder", None, "registry 'name'"),
    ]:
        cfg = dict(config, name=name)
        if name is None:
            del cfg["name"]
        bad = tampered(path, tmp_path / "bad.npz", __class__=np.asarray(cls_name),
                       __params__=np.asarray(json.dumps(cfg)))
        with pytest.raises(ModelFileError, match=match):
            pyvl.io.load(bad)
    bad = tampered(path, tmp_path / "bad.npz",
                   __params__=np.asarray(json.dumps(dict(config, n_components="3"))))
    with pytest.raises(ModelFileError, match="invalid parameters"):
        pyvl.io.load(bad)


def test_expected_class(saved):
    _, gmm_path = saved["GaussianMixture-f32"]
    _, fisher_path = saved["fisher"]
    _, fv_path = saved["FisherVectorEncoder"]
    with pytest.raises(ModelFileError, match=r"not a pyvl\.KMeans"):
        pyvl.KMeans.load(gmm_path)
    with pytest.raises(ModelFileError, match="not a"):
        E.VladEncoder.load(fisher_path)
    with pytest.raises(ModelFileError, match="not a"):
        E.Encoder.load(fv_path)  # a transformer is not an encoder
    with pytest.raises(ModelFileError, match="not a"):
        pyvl.VladEncoder.load(fv_path)
    assert isinstance(pyvl.io.load(gmm_path, pyvl.GaussianMixture), pyvl.GaussianMixture)


def test_archive_level_damage(saved, tmp_path):
    _, path = saved["GaussianMixture-f32"]
    members = read(path)
    cases = {}
    cases["empty"] = b""
    cases["text"] = b"hello, this is not a model\n" * 10
    cases["random"] = np.random.default_rng(0).bytes(4096)
    buf = io.BytesIO()
    np.save(buf, members["means_"])
    cases["npy"] = buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z, pytest.warns(UserWarning, match="Duplicate"):
        for key, value in members.items():
            b = io.BytesIO()
            np.save(b, value)
            z.writestr(key + ".npy", b.getvalue())
        z.writestr("means_.npy", b.getvalue())  # a second means_ (holding another array)
    cases["duplicate"] = buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for key in members:
            z.writestr(key + ".npy", b"")
    cases["empty-members"] = buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("sub/", b"")
    cases["directory"] = buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z, zipfile.ZipFile(path) as src:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
        z.writestr("notes.txt", b"hi")
    cases["foreign-member"] = buf.getvalue()
    for raw in cases.values():
        (tmp_path / "x").write_bytes(raw)
        with pytest.raises(ModelFileError):
            pyvl.io.load(tmp_path / "x")
        with pytest.raises(ModelFileError):
            pyvl.io.load(io.BytesIO(raw))
        with pytest.raises(ModelFileError):
            pyvl.io.describe(io.BytesIO(raw))


def test_portable_byte_order_and_memory_order(saved, tmp_path):
    """Big-endian and Fortran-ordered members (another machine's np.save) load as the same model."""
    obj, path = saved["GaussianMixture-f32"]
    m = read(path)
    other = tampered(path, tmp_path / "be.npz",
                     means_=m["means_"].astype(">f4"),
                     covariances_=np.asfortranarray(m["covariances_"]),
                     weights_=m["weights_"].astype(">f4"))
    assert_same_object(obj, pyvl.io.load(other))


# ---- pickling the C handles -----------------------------------------------------------------


def configured_gmm(dtype_code=G.VL_TYPE_DOUBLE):
    g = G.vl_gmm_new(dtype_code, D, 3)
    km = K.vl_kmeans_new(dtype_code, K.VlDistanceL2)
    K.vl_kmeans_set_algorithm(km, K.VlKMeansElkan)
    K.vl_kmeans_set_max_num_iterations(km, 7)
    G.vl_gmm_set_kmeans_init_object(g, km)
    G.vl_gmm_set_initialization(g, G.VlGMMKMeans)
    G.vl_gmm_set_max_num_iterations(g, 25)
    G.vl_gmm_set_num_repetitions(g, 2)
    G.vl_gmm_set_covariance_lower_bounds(g, np.linspace(1e-3, 1e-2, D))
    g.convergence_threshold = 1e-5
    g.store_posteriors = False
    return g, km


def handle_state_without(h, *keys):
    state = h.state()
    for k in keys:
        state.pop(k)
    return state


def assert_same_state(a, b):
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key
        elif isinstance(a[key], (G.VlGMM, K.VlKMeans)):
            assert_same_state(handle_state_without(a[key], "energy"),
                              handle_state_without(b[key], "energy"))
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize("dtype_code", [G.VL_TYPE_FLOAT, G.VL_TYPE_DOUBLE])
def test_gmm_handle_pickles_and_trains_identically(dtype_code):
    x = data()
    g, km = configured_gmm(dtype_code)
    G.vl_rand_seed(G.vl_get_rand(), 5)
    ll = G.vl_gmm_cluster(g, x)
    r = pickle.loads(pickle.dumps(g))
    assert isinstance(r, G.VlGMM) and r.address() != g.address()
    assert_same_state(handle_state_without(g, "loglikelihood"),
                      handle_state_without(r, "loglikelihood"))
    # no setter: the log-likelihood reads 0 until the next run; the value is kept aside
    assert G.vl_gmm_get_loglikelihood(r) == 0.0 and r.pickled_loglikelihood == ll
    assert pickle.loads(pickle.dumps(r)).pickled_loglikelihood == ll  # kept until a new run
    assert G.vl_gmm_get_posteriors(r) is None
    restored_km = G.vl_gmm_get_kmeans_init_object(r)
    assert isinstance(restored_km, K.VlKMeans) and restored_km is not km

    # the Fisher vector of the restored model is the same
    args = lambda h: (G.vl_gmm_get_means(h).reshape(3, D),  # noqa: E731
                      G.vl_gmm_get_covariances(h).reshape(3, D), G.vl_gmm_get_priors(h))
    y = data(seed=3)[:50]
    assert vl_fisher_encode(*args(g), y).tobytes() == vl_fisher_encode(*args(r), y).tobytes()

    # EM continues identically from the restored parameters
    assert G.vl_gmm_em(g, y) == G.vl_gmm_em(r, y)
    assert G.vl_gmm_get_means(g).tobytes() == G.vl_gmm_get_means(r).tobytes()
    # and training from scratch (k-means init with the restored k-means settings) too
    for h in (g, r):
        G.vl_rand_seed(G.vl_get_rand(), 9)
        G.vl_gmm_cluster(h, x)
    assert_same_state(g.state(), r.state())


def test_gmm_handle_pickled_with_its_kmeans_keeps_the_link():
    g, km = configured_gmm()
    g2, km2 = pickle.loads(pickle.dumps((g, km)))
    assert G.vl_gmm_get_kmeans_init_object(g2) is km2
    fresh = pickle.loads(pickle.dumps(G.vl_gmm_new(G.VL_TYPE_FLOAT, 2, 4)))
    assert G.vl_gmm_get_num_clusters(fresh) == 4
    assert G.vl_gmm_get_kmeans_init_object(fresh) is None
    np.testing.assert_array_equal(G.vl_gmm_get_covariances(fresh), 0)


def test_handle_copies_are_independent_c_objects():
    g, _ = configured_gmm()
    G.vl_gmm_set_means(g, np.arange(3 * D, dtype=float))
    for c in (copy.copy(g), copy.deepcopy(g)):
        assert c.address() != g.address()
        np.testing.assert_array_equal(G.vl_gmm_get_means(c), np.arange(3 * D))
    c = copy.copy(g)
    G.vl_gmm_delete(g)  # the copy does not share (or double-free) the C object
    assert G.vl_gmm_get_means(c).shape == (3 * D,)
    with pytest.raises(pyvl.StateError):
        pickle.dumps(g)
    k = K.vl_kmeans_new(K.VL_TYPE_FLOAT, K.VlDistanceL1)
    kc = copy.copy(k)
    K.vl_kmeans_delete(k)
    assert K.vl_kmeans_get_distance(kc) == K.VlDistanceL1
    with pytest.raises(pyvl.StateError):
        pickle.dumps(k)


@pytest.mark.parametrize("algorithm", [K.VlKMeansLloyd, K.VlKMeansElkan, K.VlKMeansANN])
def test_kmeans_handle_pickles_and_clusters_identically(algorithm):
    x = data(np.float32)
    km = K.vl_kmeans_new(K.VL_TYPE_FLOAT, K.VlDistanceL2)
    K.vl_kmeans_set_algorithm(km, algorithm)
    K.vl_kmeans_set_initialization(km, K.VlKMeansPlusPlus)
    K.vl_kmeans_set_num_repetitions(km, 2)
    K.vl_kmeans_set_max_num_iterations(km, 15)
    K.vl_kmeans_set_min_energy_variation(km, 1e-3)
    K.vl_kmeans_set_num_trees(km, 2)
    K.vl_kmeans_set_max_num_comparisons(km, 40)
    K.vl_rand_seed(K.vl_get_rand(), 2)
    energy = K.vl_kmeans_cluster(km, x, D, None, 4)
    r = pickle.loads(pickle.dumps(km))
    assert_same_state(handle_state_without(km, "energy"), handle_state_without(r, "energy"))
    assert K.vl_kmeans_get_energy(r) == 0.0 and r.pickled_energy == energy
    assert copy.copy(r).pickled_energy == energy
    y = data(np.float32, seed=4)
    for a, b in zip(K.vl_kmeans_quantize(km, y), K.vl_kmeans_quantize(r, y)):
        assert a.tobytes() == b.tobytes()
    results = []
    for h in (km, r):
        K.vl_rand_seed(K.vl_get_rand(), 7)
        results.append((K.vl_kmeans_cluster(h, x, D, None, 5), K.vl_kmeans_get_centers(h)))
    assert results[0][0] == results[1][0]
    assert results[0][1].tobytes() == results[1][1].tobytes()
    empty = pickle.loads(pickle.dumps(K.vl_kmeans_new(K.VL_TYPE_DOUBLE, K.VlDistanceL1)))
    assert K.vl_kmeans_get_centers(empty) is None
    assert K.vl_kmeans_get_distance(empty) == K.VlDistanceL1


def test_compressed_copy_of_a_model_file_loads(saved, tmp_path):
    """A model file re-saved with np.savez_compressed is the same model (its members
    are judged by their declared sizes, not against the compressed file's size)."""
    for name, (obj, path) in saved.items():
        members = read(path)
        compressed = tmp_path / f"{name}.npz"
        np.savez_compressed(compressed, **members)
        assert os.path.getsize(compressed) < os.path.getsize(path)
        back, orig = pyvl.io.load(compressed), pyvl.io.load(path)
        assert type(back) is type(obj) is type(orig)
        a, b = back._pyvl_arrays() or {}, orig._pyvl_arrays() or {}
        assert sorted(a) == sorted(b)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
        assert pyvl.io.describe(compressed)["params"] == pyvl.io.describe(path)["params"]
