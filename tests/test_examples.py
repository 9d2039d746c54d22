"""The examples and tools run: the notebook (examples/gmm.ipynb, executed with
nbclient), ``python -m pyvl demo``, the ``pyvl fit`` / ``pyvl encode`` command
line, and the plots of ``pyvl.plot``."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import pyvl
import pyvl.encoders as E
from pyvl.__main__ import main as pyvl_main
from pyvl.cli import load_model

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "gmm.ipynb"


def _env(**extra: str) -> dict[str, str]:
    """The environment of a child process that imports the pyvl under test."""
    env = os.environ.copy()
    here = os.path.dirname(os.path.dirname(os.path.abspath(pyvl.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def _run(*args: str, cwd: pathlib.Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pyvl", *args],
        capture_output=True, text=True, env=_env(), cwd=cwd, timeout=timeout, check=False,
    )


# ---- the notebook -----------------------------------------------------------------------


def test_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") for c in code), "store the notebook without outputs"
    # the kernel inherits this environment: headless plots, the pyvl under test
    for key, value in _env(MPLBACKEND="Agg").items():
        monkeypatch.setenv(key, value)
    client = nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError if any cell fails
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = "".join(o.get("text", "") for c in code for o in c.outputs if o.output_type == "stream")
    # the user's cells print what they printed on VLFeat
    assert "<class 'numpy.ndarray'> (3000,)" in text
    for name, value in [("num_data", 1000), ("dimension", 3), ("num_clusters", 10),
                        ("verbosity", 0), ("max_number_of_iterations", 100)]:
        assert re.search(rf"^{name} +=  {value}$", text, re.MULTILINE), name
    assert text.count("<class 'numpy.ndarray'> (30,)") == 2
    assert "<class 'numpy.ndarray'> (10,)" in text
    assert "<class 'numpy.ndarray'> (10000,)" in text
    # the 2-D example fitted and drew
    assert "converged: True" in text
    assert re.search(r"^log-likelihood: -\d+\.\d+$", text, re.MULTILINE)


# ---- the demo -----------------------------------------------------------------------------


def _accuracies(stdout: str) -> tuple[float, float]:
    enc = re.search(r"^  \S.* of patches +(\d+\.\d+)%", stdout, re.MULTILINE)
    raw = re.search(r"^  raw pixels \(baseline\) +(\d+\.\d+)%", stdout, re.MULTILINE)
    assert enc and raw, stdout
    return float(enc[1]), float(raw[1])


def test_demo(tmp_path):
    pytest.importorskip("sklearn")
    proc = _run("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    accuracy, baseline = _accuracies(out)
    assert accuracy > 98.0, out
    assert accuracy > baseline + 1.5, out  # clearly better than raw pixels
    assert "Fisher vectors" in out and "pyvl.GaussianMixture" in out
    timing = re.search(r"^time \(s\) .*\| total (\d+\.\d+)$", out, re.MULTILINE)
    assert timing, out
    for stage in ("load", "descriptors", "PCA", "GMM", "encoding", "classifier", "baseline"):
        assert re.search(rf"\b{stage} \d+\.\d+", timing[0]), stage
    assert float(timing[1]) < 60
    # progress bars on stderr (tqdm is installed with the demo and test extras)
    if _has("tqdm"):
        assert "GaussianMixture" in proc.stderr and "encoding train" in proc.stderr


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_demo_options_in_process(capsys):
    pytest.importorskip("sklearn")
    from pyvl import demo

    threads = pyvl.vl_get_max_threads()
    assert pyvl_main(["demo", "--encoder", "vlad", "-k", "16", "--pyramid", "none",
                      "--no-progress", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    accuracy, _ = _accuracies(out)
    assert accuracy > 90 and "VLAD" in out and "k-means" in out
    assert pyvl.vl_get_max_threads() == threads  # --threads is undone
    args = demo.build_parser().parse_args(["--encoder", "bovw", "-k", "8", "--no-progress"])
    import io

    result = demo.run(args, out=io.StringIO())
    assert 0.8 < result.accuracy <= 1 and result.encoding_dim == 8 * 5
    assert list(result.timings)[:2] == ["load", "descriptors"]


def test_demo_help_and_usage_errors(capsys):
    assert pyvl_main(["demo", "--help"]) == 0
    assert "--components" in capsys.readouterr().out
    assert pyvl_main(["demo", "--pyramid", "2y2"]) == 2
    assert "COLSxROWS" in capsys.readouterr().err
    assert pyvl_main(["demo", "--test-size", "1.5"]) == 2


def test_dense_patches():
    from pyvl.demo import dense_patches, parse_pyramid, shift_images

    images = np.arange(2 * 8 * 8, dtype=np.float32).reshape(2, 8, 8)
    desc, pos, size = dense_patches(images, 4)
    assert desc.shape == (2, 49, 16) and pos.shape == (49, 2) and size == (10, 10)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    np.testing.assert_array_equal(desc[1, 8], padded[1, 1:5, 1:5].ravel())  # window (x=1, y=1)
    np.testing.assert_array_equal(pos[8], [3, 3])
    desc_g, _, _ = dense_patches(images, 3, gradients=True)
    assert desc_g.shape == (2, 64, 27)
    assert parse_pyramid("1x1,2x2") == [(1, 1), (2, 2)] and parse_pyramid("none") is None
    shifted = shift_images(images, 1, np.random.default_rng(0))
    assert shifted.shape == images.shape and shifted.sum() <= images.sum()


# ---- the command line ----------------------------------------------------------------------


@pytest.fixture
def descriptor_files(tmp_path):
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 6)) * 4
    train = (centers[rng.integers(0, 4, 2000)] + rng.normal(size=(2000, 6))).astype(np.float32)
    np.save(tmp_path / "train.npy", train)
    images = []
    for i, n in enumerate((50, 80, 0, 7)):
        x = (centers[rng.integers(0, 4, n)] + rng.normal(size=(n, 6))).astype(np.float32)
        np.save(tmp_path / f"img{i}.npy", x.reshape(n, 6))
        images.append(x.reshape(n, 6))
    return tmp_path, train, images


def test_cli_fit_encode_round_trip(descriptor_files):
    path, train, images = descriptor_files
    proc = _run("fit", "train.npy", "-k", "4", "-o", "model.npz", "--seed", "3", cwd=path)
    assert proc.returncode == 0, proc.stderr
    assert "GMM with 4 components" in proc.stdout and "model.npz" in proc.stdout
    files = [f"img{i}.npy" for i in range(4)]
    proc = _run("encode", "model.npz", *files, "-o", "enc.npy", cwd=path)
    assert proc.returncode == 0, proc.stderr
    assert "4 files" in proc.stdout

    # the model is pyvl.GaussianMixture's, seeded: the same as fitting in Python
    gmm = load_model(str(path / "model.npz"))
    assert gmm.kind == "gmm"
    ref = pyvl.GaussianMixture(4, random_state=3, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(train)
    np.testing.assert_array_equal(gmm.means, ref.means_)
    np.testing.assert_array_equal(gmm.covariances, ref.covariances_)
    np.testing.assert_array_equal(gmm.weights, ref.weights_)
    # one improved Fisher vector per file, in order; the empty image encodes to zeros
    enc = np.load(path / "enc.npy")
    assert enc.shape == (4, 2 * 4 * 6) and enc.dtype == np.float32
    want = E.FisherEncoder.from_gmm(gmm.means, gmm.covariances, gmm.weights).encode_batch(images)
    np.testing.assert_array_equal(enc, want)
    assert not enc[2].any()


def test_cli_encoders_and_options(descriptor_files, capsys, monkeypatch):
    path, _, images = descriptor_files
    monkeypatch.chdir(path)
    assert pyvl_main(["fit", "train.npy", "-k", "4", "-o", "model.npz", "-q"]) == 0
    assert pyvl_main(["fit", "train.npy", "-k", "4", "--model", "kmeans", "-o", "km.npz",
                      "-q"]) == 0
    assert capsys.readouterr().out == ""
    gmm, km = load_model("model.npz"), load_model("km.npz")
    assert (gmm.kind, km.kind) == ("gmm", "kmeans")
    m, c, w = gmm.means, gmm.covariances, gmm.weights
    files = [f"img{i}.npy" for i in range(4)]
    cases = [
        (["--encoder", "fisher", "--no-improved", "--fast"],
         E.FisherEncoder.from_gmm(m, c, w, improved=False, fast=True)),
        (["--encoder", "vlad", "--normalize-components"],
         E.VladEncoder.from_centers(m, normalize_components=True)),
        (["--encoder", "bovw", "--soft", "--frequencies"],
         E.BovwEncoder.from_gmm(m, c, w, mode="soft", frequencies=True)),
        (["--encoder", "bovw", "--dtype", "float64"],
         E.BovwEncoder.from_gmm(m, c, w, dtype="float64")),
    ]
    for options, encoder in cases:
        assert pyvl_main(["encode", "model.npz", *files, "-o", "e.npy", "-q", *options]) == 0
        got = np.load("e.npy")
        np.testing.assert_array_equal(got, encoder.encode_batch(images))
        assert got.dtype == encoder.np_dtype
    # k-means centers: VLAD by default
    assert pyvl_main(["encode", "km.npz", *files, "-o", "e.npy", "-q"]) == 0
    want = E.VladEncoder.from_centers(km.centers).encode_batch(images)
    np.testing.assert_array_equal(np.load("e.npy"), want)
    # @FILE lists, and a plain .npz GMM trained elsewhere
    pathlib.Path("list.txt").write_text("img0.npy\nimg1.npy\n")
    np.savez("plain.npz", means=m, covariances=c, priors=w)
    assert pyvl_main(["encode", "plain.npz", "@list.txt", "-o", "e.npy", "-q"]) == 0
    want = E.FisherEncoder.from_gmm(m, c, w).encode_batch(images[:2])
    np.testing.assert_array_equal(np.load("e.npy"), want)


def test_cli_model_files_are_pyvl_io_files(descriptor_files, monkeypatch):
    """`pyvl fit` writes pyvl.io's format; `pyvl encode` reads any model pyvl.io saves."""
    io = pytest.importorskip("pyvl.io")
    path, train, images = descriptor_files
    monkeypatch.chdir(path)
    assert pyvl_main(["fit", "train.npy", "-k", "4", "-o", "model.npz", "-q", "--seed", "5"]) == 0
    gmm = io.load("model.npz")
    assert isinstance(gmm, pyvl.GaussianMixture) and gmm.verbose == 0
    ref = pyvl.GaussianMixture(4, random_state=5, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(train)
    np.testing.assert_array_equal(gmm.means_, ref.means_)
    # a saved encoder is used with its own options
    m, c, w = gmm.means_, gmm.covariances_, gmm.weights_
    io.save(E.FisherEncoder.from_gmm(m, c, w, square_root=True, improved=False), "fv.npz")
    files = [f"img{i}.npy" for i in range(4)]
    assert pyvl_main(["encode", "fv.npz", *files, "-o", "e.npy", "-q", "--batch-size", "1"]) == 0
    want = E.FisherEncoder.from_gmm(m, c, w, square_root=True, improved=False).encode_batch(images)
    np.testing.assert_array_equal(np.load("e.npy"), want)
    assert pyvl_main(["encode", "fv.npz", *files, "-o", "e.npy", "--fast"]) == 2


def test_cli_encodes_with_a_plain_npz_model(descriptor_files, monkeypatch):
    """`pyvl encode` reads a plain .npz of means/covariances/weights (or centers)
    written by other tools, and encodes as with the same arrays in a pyvl model."""
    path, _, _ = descriptor_files
    monkeypatch.chdir(path)
    for model in ("gmm", "kmeans"):
        assert pyvl_main(["fit", "train.npy", "-k", "3", "--model", model, "-o", "m.npz", "-q"]) == 0
        fitted = pyvl.io.load("m.npz")
        if model == "gmm":
            np.savez("plain.npz", means=fitted.means_, covariances=fitted.covariances_,
                     weights=fitted.weights_)
        else:
            np.savez("plain.npz", centers=fitted.cluster_centers_)
        for src, out in (("m.npz", "a.npy"), ("plain.npz", "b.npy")):
            assert pyvl_main(["encode", src, "img0.npy", "img1.npy", "-o", out, "-q"]) == 0
        np.testing.assert_array_equal(np.load("a.npy"), np.load("b.npy"))
        assert np.load("a.npy").shape == ((2, 2 * 3 * 6) if model == "gmm" else (2, 3 * 6))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "missing.npy", "-k", "2", "-o", "m.npz"], "missing.npy: no such file"),
        (["fit", "flat.npy", "-k", "2", "-o", "m.npz"], "expected an (N, D) array"),
        (["fit", "text.npy", "-k", "2", "-o", "m.npz"], "expected an array of numbers"),
        (["fit", "train.npy", "img0.npy", "wide.npy", "-k", "2", "-o", "m.npz"],
         "expected an (N, 6) array"),
        (["fit", "nan.npy", "-k", "2", "-o", "m.npz"], "NaN or Inf"),
        (["fit", "img3.npy", "-k", "50", "-o", "m.npz"], "7 descriptors cannot make 50"),
        (["fit", "train.npy", "-k", "2", "-o", "nodir/m.npz"], "does not exist"),
        (["fit", "train.npy", "-k", "2", "-o", "train.npy"], "overwrite an input"),
        (["fit", "train.npy", "-k", "0", "-o", "m.npz"], "expected an integer >= 1"),
        (["fit", "train.npy", "-k", "2"], "required: -o/--output"),
        (["encode", "model.npz", "img0.npy", "missing.npy", "-o", "e.npy"], "missing.npy"),
        (["encode", "model.npz", "img0.npy", "wide.npy", "-o", "e.npy"],
         "wide.npy: expected an (N, 6) array of descriptors, got shape (5, 3)"),
        (["encode", "model.npz", "flat.npy", "-o", "e.npy"], "got shape (5,)"),
        (["encode", "model.npz", "nan.npy", "-o", "e.npy"], "nan.npy: contains NaN or Inf"),
        (["encode", "nomodel.npz", "img0.npy", "-o", "e.npy"], "no such model file"),
        (["encode", "train.npy", "img0.npy", "-o", "e.npy"], "not a model file"),
        (["encode", "junk.npz", "img0.npy", "-o", "e.npy"], "not a model file"),
        (["encode", "garbage.npz", "img0.npy", "-o", "e.npy"], "not a readable model file"),
        (["encode", "model.npz", "img0.npy", "-o", "e.npy", "--encoder", "vlad", "--fast"],
         "--fast applies to --encoder fisher"),
        (["encode", "km.npz", "img0.npy", "-o", "e.npy", "--encoder", "fisher"],
         "Fisher vectors need a GMM"),
        (["encode", "model.npz", "img0.npy", "--encoder", "sift", "-o", "e.npy"],
         "invalid choice"),
        (["encode", "model.npz", "img0.npy", "-o", "model.npz"], "overwrite an input"),
        (["frobnicate"], "unknown command"),
    ],
)
def test_cli_errors_exit_2(descriptor_files, capsys, monkeypatch, argv, message):
    path, train, _ = descriptor_files
    monkeypatch.chdir(path)
    np.save("flat.npy", np.zeros(5, dtype=np.float32))
    np.save("wide.npy", np.zeros((5, 3), dtype=np.float32))
    np.save("text.npy", np.array([["a", "b"]]))
    nan = train[:10].copy()
    nan[3, 2] = np.nan
    np.save("nan.npy", nan)
    np.savez("junk.npz", something=np.zeros(3))
    pathlib.Path("garbage.npz").write_bytes(b"PK\x03\x04 not really a zip")
    if argv[0] == "encode":
        assert pyvl_main(["fit", "train.npy", "-k", "2", "-o", "model.npz", "-q"]) == 0
        assert pyvl_main(["fit", "train.npy", "-k", "2", "--model", "kmeans", "-o", "km.npz",
                          "-q"]) == 0
    capsys.readouterr()
    assert pyvl_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err
    assert not os.path.exists("e.npy") and not os.path.exists("m.npz")


def test_cli_help_and_version(capsys):
    for argv in (["--help"], ["fit", "--help"], ["encode", "--help"], ["demo", "--help"]):
        assert pyvl_main(argv) == 0
        assert "usage:" in capsys.readouterr().out
    assert pyvl_main([]) == 2
    assert "fit" in capsys.readouterr().err
    assert pyvl_main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"pyvl {pyvl.__version__}"


def test_console_script(tmp_path):
    """The `pyvl` command of an installed pyvl (skipped in a source tree)."""
    script = pathlib.Path(sys.executable).with_name("pyvl")
    if not script.exists() or "site-packages" not in pyvl.__file__:
        pytest.skip("pyvl is not installed with its console script here")
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert proc.returncode == 0 and "encode" in proc.stdout
    proc = subprocess.run([str(script), "encode", "nothing.npz", "x.npy", "-o", "y.npy"],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "pyvl encode: error: nothing.npz" in proc.stderr


# ---- pyvl.plot -------------------------------------------------------------------------------


@pytest.fixture
def plt():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_gmm_2d(plt):
    from matplotlib.patches import Ellipse

    from pyvl.plot import plot_gmm_2d

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal((0, 0), (2, 0.5), (200, 2)),
                   rng.normal((5, 5), (0.5, 1), (200, 2))]).astype(np.float32)
    gmm = pyvl.GaussianMixture(2, random_state=0, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(X)
    ax = plot_gmm_2d(gmm, X=X, labels=gmm.predict(X), n_std=[1, 2])
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 4
    wide = max(ellipses, key=lambda e: e.width * e.height)  # the 2-std ellipse of (2, 0.5)
    j = int(np.argmax(gmm.covariances_.prod(axis=1)))
    sd = np.sqrt(gmm.covariances_[j])
    assert sorted([wide.width, wide.height]) == pytest.approx(sorted(4 * sd), rel=1e-5)
    np.testing.assert_allclose(wide.center, gmm.means_[j], rtol=1e-6)
    # VLFeat's flat arrays, and full covariances
    _, ax2 = plt.subplots()
    assert plot_gmm_2d(gmm.means_.ravel(), gmm.covariances_.ravel(), gmm.weights_, ax=ax2) is ax2
    full = np.array([[[2.0, 1.0], [1.0, 2.0]]])
    ax3 = plot_gmm_2d(np.zeros((1, 2)), full, n_std=1, ax=plt.subplots()[1])
    (e,) = ax3.patches
    assert e.angle % 180 == pytest.approx(45) and e.width == pytest.approx(2 * np.sqrt(3))
    assert e.height == pytest.approx(2.0)


def test_plot_gmm_2d_errors(plt):
    from pyvl.plot import plot_gmm_2d

    with pytest.raises(ValueError, match="2-D mixtures"):
        plot_gmm_2d(np.zeros((3, 4)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="covariances"):
        plot_gmm_2d(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="covariances must be"):
        plot_gmm_2d(np.zeros((3, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="X must be"):
        plot_gmm_2d(np.zeros((3, 2)), np.ones((3, 2)), X=np.zeros(5))
    with pytest.raises(ValueError, match="n_std"):
        plot_gmm_2d(np.zeros((3, 2)), np.ones((3, 2)), n_std=0)


def test_plot_convergence(plt):
    from pyvl.plot import plot_convergence

    X = np.random.default_rng(1).normal(size=(500, 2))
    gmm = pyvl.GaussianMixture(3, init_params="random", random_state=0, tol=1e-4,
                               max_iter=500, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(X)
    ax = plot_convergence(gmm)
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), gmm.lower_bounds_)
    assert ax.get_xlabel() == "EM iteration"
    ax = plot_convergence([-3.0, -2.5, -2.4], ax=plt.subplots()[1], label="run")
    assert list(ax.get_lines()[0].get_ydata()) == [-3.0, -2.5, -2.4]
    with pytest.raises(ValueError, match="no log-likelihood"):
        plot_convergence([])
    with pytest.raises(ValueError, match="lower_bounds_"):
        plot_convergence(pyvl.GaussianMixture(2, covariance_type="diag", em="vlfeat", reg_covar=0.0))


def test_plot_without_matplotlib(monkeypatch):
    import pyvl.plot

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install \"pyvl\[plot\]\""):
        pyvl.plot.plot_convergence([1.0, 2.0])
    with pytest.raises(ImportError, match="matplotlib"):
        pyvl.plot.plot_gmm_2d(np.zeros((1, 2)), np.ones((1, 2)))
