"""pyvl.encoders: the registry, entry points, a conformance suite, pyramids, fitting.

* Registry: get / available / register / UnknownEncoderError.
* Entry points: the real distribution in tests/plugin_pkg (``pip install
  ./tests/plugin_pkg``) registers ``mean-pool`` in the ``pyvl.encoders``
  group; it is found, and imported only when asked for.
* Conformance: every available encoder (built-ins, the plugin, and a few
  option variants) passes the same checks: its config round-trips through
  JSON, its repr is a constructor call, encode_batch equals a loop of encode,
  output_dim is the length of an encoding, the learned state round-trips,
  empty images encode to zeros.
* Pyramids: [(1, 1)] equals no pyramid; the cells partition the descriptors
  (checked against subsets chosen with explicit comparisons), boundaries
  included; batches equal loops.
* Built-ins against the low-level functions they wrap; a seeded fit repeats.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest
from helpers import images, mixture_data

import pyvl
import pyvl.encoders as E
from pyvl.bovw import VL_BOVW_FLAG_SOFT, bovw_encode_batch, bovw_encode_gmm_batch
from pyvl.encoders import _base as _registry
from pyvl.fisher import VL_FISHER_FLAG_FAST, VL_FISHER_FLAG_IMPROVED, vl_fisher_encode
from pyvl.vlad import VL_VLAD_FLAG_SQUARE_ROOT, vl_vlad_encode, vlad_encode_batch

PLUGIN_DIST = "pyvl-test-plugin"
PLUGIN_HINT = "install the test plugin distribution first: pip install ./tests/plugin_pkg"

D = 5

# Small models for the tests; encoders not listed (plugins) use their defaults.
SMALL = {
    "fisher": dict(n_components=3, max_num_iterations=20),
    "vlad": dict(n_clusters=4, max_num_iterations=20),
    "bovw": dict(n_clusters=6, max_num_iterations=20),
}
# Option variants that take other code paths.
VARIANTS = [
    ("fisher", dict(improved=False, fast=True, init="kmeans", dtype="float64")),
    ("fisher", dict(improved=False, square_root=True)),
    ("vlad", dict(square_root=True, normalize_components=True, normalize_mass=True)),
    ("vlad", dict(unnormalized=True, algorithm="elkan", dtype="float64")),
    ("bovw", dict(mode="soft", sigma=1.5, frequencies=True)),
    ("bovw", dict(codebook="gmm", mode="soft", normalized=True)),
    ("bovw", dict(codebook="gmm", square_root=True, dtype="float64")),
]
PYRAMID = [(1, 1), (2, 2), (3, 1)]


def require_plugin() -> None:
    try:
        metadata.distribution(PLUGIN_DIST)
    except metadata.PackageNotFoundError:
        pytest.fail(f"the {PLUGIN_DIST!r} distribution is not installed; {PLUGIN_HINT}")


def training_data(seed: int = 0) -> np.ndarray:
    return mixture_data(1500, D, 4, np.float64, seed=seed)


# an empty and a one-descriptor image among them
IMAGE_SIZES = (120, 0, 1, 179, 100)


def positions_for(sets, size=(64.0, 48.0), seed=2):
    """(x, y) positions: random, plus points exactly on cell boundaries and edges."""
    rng = np.random.default_rng(seed)
    out = []
    specials = np.array([[0, 0], [32, 24], [64, 48], [64.0 / 3, 10], [2 * 64.0 / 3, 48], [16, 0]])
    for s in sets:
        p = rng.uniform(0, 1, size=(len(s), 2)) * size
        m = min(len(s), len(specials))
        p[:m] = specials[:m]
        out.append(p)
    return out


@pytest.fixture(scope="module")
def fitted():
    """name -> a fitted encoder (with the SMALL options), built once."""
    x = training_data()
    out = {}
    for name in E.available():
        out[name] = E.get(name, random_state=7, **SMALL.get(name, {})).fit(x)
    for i, (name, opts) in enumerate(VARIANTS):
        out[f"{name}-variant{i}"] = E.get(name, random_state=7, **SMALL[name], **opts).fit(x)
    return out


@pytest.fixture
def clean_registry():
    saved = dict(_registry._REGISTRY)
    yield
    _registry._REGISTRY.clear()
    _registry._REGISTRY.update(saved)


# ---- registry ---------------------------------------------------------------------


def test_builtins_are_registered():
    names = E.available()
    assert {"fisher", "vlad", "bovw"} <= set(names)
    assert names == sorted(names)
    assert isinstance(E.get("fisher"), E.FisherEncoder)
    assert isinstance(E.get("vlad", n_clusters=8), E.VladEncoder)
    assert E.get("bovw", n_clusters=8, mode="soft", sigma=2.0).sigma == 2.0
    assert E.get_class("vlad") is E.VladEncoder


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(E.UnknownEncoderError) as info:
        E.get("no-such-encoder")
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "no-such-encoder" in message
    for name in ("bovw", "fisher", "vlad"):
        assert name in message
    with pytest.raises(E.UnknownEncoderError):
        E.from_config({"name": "no-such-encoder"})


def test_register(clean_registry):
    class Doubler(E.VladEncoder):
        name = "doubler"

        def _encode_sets(self, data, offsets):
            return 2 * super()._encode_sets(data, offsets)

    E.register("doubler", Doubler)
    assert "doubler" in E.available()
    enc = E.get("doubler", n_clusters=2)
    assert type(enc) is Doubler and enc.get_config()["name"] == "doubler"
    assert type(E.from_config(enc.get_config())) is Doubler
    with pytest.raises(TypeError, match="Encoder"):
        E.register("thing", dict)
    with pytest.raises(ValueError, match="doubler"):
        E.register("other-name", Doubler)
    with pytest.raises(ValueError):
        E.register("", Doubler)


def test_options_are_validated():
    with pytest.raises(ValueError, match="n_components"):
        E.get("fisher", n_components=0)
    with pytest.raises(TypeError, match="improved"):
        E.get("fisher", improved="yes")
    with pytest.raises(ValueError, match="init"):
        E.get("fisher", init="random")
    with pytest.raises(ValueError, match="mode"):
        E.get("bovw", mode="fuzzy")
    with pytest.raises(ValueError, match="sigma"):
        E.get("bovw", mode="soft")
    with pytest.raises(ValueError, match="sigma"):
        E.get("bovw", sigma=1.0)
    with pytest.raises(ValueError, match="dtype"):
        E.get("vlad", dtype="float16")
    with pytest.raises(TypeError, match="pyramid"):
        E.get("vlad", pyramid=[(1, 1), "2x2"])
    with pytest.raises(ValueError, match="pyramid"):
        E.get("vlad", pyramid=[(0, 1)])
    with pytest.raises(ValueError, match="random_state"):
        E.get("vlad", random_state=-1)
    with pytest.raises(TypeError):
        E.get("vlad", n_clusters=4, no_such_option=1)


# ---- entry points -------------------------------------------------------------------


def test_plugin_distribution_is_found_through_its_entry_point():
    require_plugin()
    eps = [ep for ep in metadata.distribution(PLUGIN_DIST).entry_points if ep.group == E.GROUP]
    assert [ep.name for ep in eps] == ["mean-pool"]
    assert "mean-pool" in E.available()
    enc = E.get("mean-pool")
    import pyvl_test_plugin

    assert type(enc) is pyvl_test_plugin.MeanPoolEncoder
    assert isinstance(enc, E.Encoder)
    assert E.get_class("mean-pool") is pyvl_test_plugin.MeanPoolEncoder
    x = training_data()
    enc.fit(x)
    np.testing.assert_allclose(enc.encode(x[:10]), x[:10].mean(0) - x.mean(0), rtol=1e-5, atol=1e-6)


def test_entry_points_are_loaded_lazily(tmp_path):
    """available() lists the plugin without importing it; get() imports it."""
    require_plugin()
    code = (
        "import sys, pyvl.encoders as E\n"
        "assert 'pyvl_test_plugin' not in sys.modules\n"
        "assert 'mean-pool' in E.available()\n"
        "assert 'pyvl_test_plugin' not in sys.modules\n"
        "E.get('mean-pool')\n"
        "assert 'pyvl_test_plugin' in sys.modules\n"
        "print('ok')\n"
    )
    env = os.environ.copy()
    # the pyvl this test runs on (a source tree or the installed one)
    here = os.path.dirname(os.path.dirname(os.path.abspath(pyvl.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# ---- conformance: every encoder ------------------------------------------------------


# the built-ins, the plugin (whose tests fail if it is not installed), anything
# else installed, and the option variants
CONFORMANCE = sorted(set(E.available()) | {"bovw", "fisher", "vlad", "mean-pool"}) + [
    f"{name}-variant{i}" for i, (name, _) in enumerate(VARIANTS)
]


@pytest.fixture(params=CONFORMANCE)
def encoder(request, fitted):
    if request.param == "mean-pool":
        require_plugin()
    return fitted[request.param]


def test_config_round_trips_through_json(encoder):
    config = encoder.get_config()
    assert config["name"] == encoder.name
    text = json.dumps(config)
    again = json.loads(text)
    assert again == config
    rebuilt = E.from_config(again)
    assert type(rebuilt) is type(encoder)
    assert rebuilt.get_config() == config
    assert type(encoder).from_config(again).get_config() == config
    assert not rebuilt.is_fitted


def test_repr_is_a_constructor_call(encoder):
    cls = type(encoder)
    text = repr(encoder)
    assert text.startswith(cls.__name__ + "(") and text.endswith(")")
    rebuilt = eval(text, {cls.__name__: cls})  # noqa: S307 - our own repr
    assert rebuilt.get_config() == encoder.get_config()


def test_encode_batch_equals_loop(encoder):
    sets = images(IMAGE_SIZES, D)
    batch = encoder.encode_batch(sets)
    assert batch.shape == (len(sets), encoder.output_dim)
    assert batch.dtype == np.dtype(encoder.dtype)
    for j, s in enumerate(sets):
        single = encoder.encode(s)
        assert single.shape == (encoder.output_dim,)
        np.testing.assert_array_equal(batch[j], single)


def test_output_dim_and_empty_images(encoder):
    x = images(IMAGE_SIZES, D)[0]
    assert encoder.output_dim == len(encoder.encode(x))
    assert np.all(encoder.encode(np.zeros((0, D))) == 0)
    assert encoder.encode_batch([]).shape == (0, encoder.output_dim)


def test_state_round_trip(encoder):
    state = encoder.get_state()
    assert state and all(isinstance(v, np.ndarray) for v in state.values())
    other = E.from_config(encoder.get_config())
    with pytest.raises(pyvl.StateError):
        other.encode(images(IMAGE_SIZES, D)[0])
    other.set_state(state)
    x = images(IMAGE_SIZES, D)[0]
    np.testing.assert_array_equal(other.encode(x), encoder.encode(x))
    # get_state returns copies
    for value in encoder.get_state().values():
        value[...] = 0
    np.testing.assert_array_equal(other.encode(x), encoder.encode(x))
    with pytest.raises((ValueError, TypeError)):
        other.set_state({"bogus": np.zeros(3)})


def test_pyramid_of_one_cell_equals_plain(encoder):
    config = encoder.get_config()
    config["pyramid"] = [[1, 1]]
    pyr = E.from_config(config)
    pyr.set_state(encoder.get_state())
    sets = images(IMAGE_SIZES, D)
    pos = positions_for(sets)
    assert pyr.output_dim == encoder.output_dim
    np.testing.assert_array_equal(pyr.encode_batch(sets, pos, (64, 48)), encoder.encode_batch(sets))
    np.testing.assert_array_equal(pyr.encode(sets[0], pos[0], (64, 48)), encoder.encode(sets[0]))


def in_cell(p, size, cols, rows, c, r):
    """Explicit half-open cell test; the last column/row also takes the far edge."""
    w, h = size
    x0, x1 = c * w / cols, (c + 1) * w / cols
    y0, y1 = r * h / rows, (r + 1) * h / rows
    inx = (p[:, 0] >= x0) & ((p[:, 0] < x1) | ((c == cols - 1) & (p[:, 0] <= w)))
    iny = (p[:, 1] >= y0) & ((p[:, 1] < y1) | ((r == rows - 1) & (p[:, 1] <= h)))
    return inx & iny


def test_pyramid_cells_partition_the_descriptors(encoder):
    config = encoder.get_config()
    config["pyramid"] = [list(level) for level in PYRAMID]
    pyr = E.from_config(config)
    pyr.set_state(encoder.get_state())
    size = (64.0, 48.0)
    sets = images(IMAGE_SIZES, D)
    pos = positions_for(sets, size)
    n_cells = sum(c * r for c, r in PYRAMID)
    assert pyr.output_dim == n_cells * encoder.output_dim
    batch = pyr.encode_batch(sets, pos, size)
    for j, (s, p) in enumerate(zip(sets, pos)):
        blocks = []
        for cols, rows in PYRAMID:
            members = [in_cell(p, size, cols, rows, c, r) for r in range(rows) for c in range(cols)]
            # every descriptor is in exactly one cell of the level
            assert np.all(np.sum(members, axis=0) == 1)
            blocks += [encoder.encode(s[m]) for m in members]
        expected = np.concatenate(blocks)
        np.testing.assert_array_equal(batch[j], expected)
        np.testing.assert_array_equal(pyr.encode(s, p, size), expected)


def test_pyramid_needs_positions_inside_the_image(fitted):
    enc = E.from_config({**fitted["vlad"].get_config(), "pyramid": [[2, 2]]})
    enc.set_state(fitted["vlad"].get_state())
    x = images(IMAGE_SIZES, D)[0]
    p = positions_for([x])[0]
    with pytest.raises(ValueError, match="positions"):
        enc.encode(x)
    with pytest.raises(ValueError, match="outside"):
        enc.encode(x, p * 2, (64, 48))
    with pytest.raises(ValueError, match="outside"):
        enc.encode(x, np.where(p == p.max(), np.nan, p), (64, 48))
    with pytest.raises(ValueError, match="expected"):
        enc.encode(x, p[:-1], (64, 48))
    with pytest.raises(ValueError, match="width"):
        enc.encode(x, p, (0, 48))
    # per-image sizes
    sets = images(IMAGE_SIZES, D)
    pos = positions_for(sets, (64, 48))
    sizes = np.array([[64, 48], [10, 10], [80, 50], [64, 48], [100, 100]])
    batch = enc.encode_batch(sets, pos, sizes)
    for j in range(len(sets)):
        np.testing.assert_array_equal(batch[j], enc.encode(sets[j], pos[j], sizes[j]))


def test_pyramid_hard_counts_per_level():
    """A hard bag of words counts every descriptor once per level."""
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(4, 2))
    enc = E.BovwEncoder.from_centers(centers, pyramid=PYRAMID)
    x = rng.normal(size=(97, 2))
    p = rng.integers(0, 31, size=(97, 2)).astype(float)  # integer positions hit every boundary
    h = enc.encode(x, p, (30, 30)).reshape(-1, 4)
    assert h[0].sum() == 97
    assert h[1:5].sum() == 97 and h[5:8].sum() == 97


# ---- built-ins against the functions they wrap ------------------------------------


def test_fisher_from_gmm_is_vl_fisher_encode():
    rng = np.random.default_rng(0)
    means, covs = rng.normal(size=(4, D)), rng.uniform(0.5, 2, size=(4, D))
    priors = np.full(4, 0.25)
    x = images(IMAGE_SIZES, D)[0]
    enc = E.FisherEncoder.from_gmm(means, covs, priors)
    assert enc.dtype == "float64" and enc.n_components == 4
    np.testing.assert_array_equal(
        enc.encode(x), vl_fisher_encode(means, covs, priors, x, VL_FISHER_FLAG_IMPROVED)
    )
    fast = E.FisherEncoder.from_gmm(means, covs, priors, improved=False, fast=True)
    np.testing.assert_array_equal(
        fast.encode(x), vl_fisher_encode(means, covs, priors, x, VL_FISHER_FLAG_FAST)
    )
    enc32 = E.FisherEncoder.from_gmm(*(a.astype(np.float32) for a in (means, covs, priors)))
    assert enc32.dtype == "float32" and enc32.encode(x).dtype == np.float32
    with pytest.raises(ValueError, match="components"):
        E.FisherEncoder.from_gmm(means, covs, priors, n_components=5)
    with pytest.raises(ValueError, match="covariances"):
        E.FisherEncoder.from_gmm(means, -covs, priors)
    with pytest.raises(TypeError, match="from_gmm"):
        E.FisherEncoder.from_centers(means)


def test_vlad_from_centers_is_hard_vlad():
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(5, D)) * 2
    sets = images(IMAGE_SIZES, D)
    enc = E.VladEncoder.from_centers(centers, square_root=True)
    np.testing.assert_array_equal(
        enc.encode_batch(sets), vlad_encode_batch(centers, sets, None, VL_VLAD_FLAG_SQUARE_ROOT)
    )
    x = sets[0]
    nearest = np.argmin(((x[:, None] - centers[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(
        enc.encode(x),
        vl_vlad_encode(centers, x, np.eye(5)[nearest], VL_VLAD_FLAG_SQUARE_ROOT),
        rtol=1e-12,
    )
    with pytest.raises(TypeError, match="from_centers"):
        E.VladEncoder.from_gmm(centers, np.ones_like(centers), np.full(5, 0.2))


def test_bovw_from_models():
    rng = np.random.default_rng(2)
    centers = rng.normal(size=(6, D))
    sets = images(IMAGE_SIZES, D)
    soft = E.BovwEncoder.from_centers(centers, mode="soft", sigma=0.7)
    np.testing.assert_array_equal(
        soft.encode_batch(sets), bovw_encode_batch(centers, sets, 0.7, VL_BOVW_FLAG_SOFT)
    )
    covs, priors = np.ones_like(centers), np.full(6, 1 / 6)
    gmm = E.BovwEncoder.from_gmm(centers, covs, priors, mode="soft")
    assert gmm.codebook == "gmm"
    np.testing.assert_array_equal(
        gmm.encode_batch(sets),
        bovw_encode_gmm_batch(centers, covs, priors, sets, VL_BOVW_FLAG_SOFT),
    )
    with pytest.raises(ValueError, match="centers"):
        E.BovwEncoder.from_centers(centers, codebook="gmm")


# ---- fitting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, options",
    [
        ("fisher", {}),
        ("fisher", {"init": "kmeans"}),
        ("vlad", {}),
        ("vlad", {"algorithm": "ann"}),
        ("bovw", {}),
        ("bovw", {"codebook": "gmm"}),
    ],
)
def test_fit_with_random_state_is_repeatable(name, options):
    x = training_data(5)
    a = E.get(name, random_state=123, **SMALL[name], **options).fit(x)
    b = E.get(name, random_state=123, **SMALL[name], **options).fit(x)
    sa, sb = a.get_state(), b.get_state()
    assert sa.keys() == sb.keys()
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key])
    # another seed starts elsewhere
    c = E.get(name, random_state=321, **SMALL[name], **options).fit(x)
    assert any(not np.array_equal(sa[k], v) for k, v in c.get_state().items())


def test_fit_accepts_a_list_of_images_and_returns_self():
    x = training_data(6)
    parts = [x[:500], x[500:501], x[501:]]
    a = E.get("vlad", random_state=1, **SMALL["vlad"])
    assert a.fit(parts) is a
    b = E.get("vlad", random_state=1, **SMALL["vlad"]).fit(x)
    np.testing.assert_array_equal(a.get_state()["centers"], b.get_state()["centers"])
    with pytest.raises(ValueError):
        E.get("vlad", **SMALL["vlad"]).fit([x, x[:, :3]])
    with pytest.raises(ValueError, match="descriptors"):
        E.get("vlad", n_clusters=10).fit(x[:5])
    with pytest.raises(ValueError):
        E.get("vlad").fit(x[0])
