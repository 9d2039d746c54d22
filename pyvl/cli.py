"""``pyvl fit`` and ``pyvl encode``: GMM vocabularies and encodings from the shell.

::

    pyvl fit descriptors.npy -k 64 -o model.npz            # learn a GMM, save it
    pyvl encode model.npz img1.npy img2.npy -o enc.npy      # one Fisher vector per file
    pyvl encode model.npz @files.txt -o enc.npy --encoder vlad

``fit`` reads one or more (N, D) ``.npy`` files of local descriptors (rows
are descriptors; several files are concatenated), learns a diagonal GMM with
:class:`pyvl.GaussianMixture` (or, with ``--model kmeans``, k-means centers
with :class:`pyvl.KMeans`) and writes a model file. ``encode`` reads a model
file and per-image (N_j, D) ``.npy`` files and writes one ``.npy`` array with
one row per input file, in the order given (an image without descriptors
encodes to zeros). ``@FILE`` arguments are replaced by the lines of FILE (one
path per line), for long lists.

Model files are written with :func:`pyvl.io.save` (the portable pyvl model
format: a ``.npz`` without pickles). ``encode`` reads those (a
``GaussianMixture``, a ``KMeans``, or a fitted encoder of
:mod:`pyvl.encoders` / :mod:`pyvl.transformers`, used with its own options),
and also plain ``.npz`` files holding the arrays ``means``, ``covariances``
and ``weights`` (or ``priors``) of a diagonal GMM, or ``centers``: a model
trained elsewhere (``np.savez("model.npz", means=..., covariances=...,
weights=...)``). Such files are opened with ``allow_pickle=False``.

Errors in the input (a missing or unreadable file, an array of the wrong
shape or dtype, NaN or Inf values, a bad model file) print
``<prog>: error: <message>`` on stderr and exit with status 2, like usage
errors. Progress bars (tqdm, if installed) are on stderr; ``-q`` turns them
and the summary off.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import encoders as E
from . import io
from ._core.arrays import c_array, check_gmm, require_diagonal
from ._core.runtime import num_threads

__all__ = ["CliError", "Model", "encode_main", "fit_main", "load_model", "save_model"]

_ENCODERS = ("fisher", "vlad", "bovw")
# encoder-specific flags: destination name -> the encoders that take it
_ENCODER_FLAGS: dict[str, tuple[str, ...]] = {
    "improved": ("fisher",),
    "fast": ("fisher",),
    "square_root": ("fisher", "vlad", "bovw"),
    "normalized": ("fisher", "bovw"),
    "normalize_components": ("vlad",),
    "normalize_mass": ("vlad",),
    "unnormalized": ("vlad",),
    "soft": ("bovw",),
    "frequencies": ("bovw",),
}


class CliError(Exception):
    """A user error: printed as ``<prog>: error: <message>``, exit status 2."""


# ---- model files ----------------------------------------------------------------------


@dataclass
class Model:
    """What a model file holds, as the CLI uses it.

    Exactly one of: a diagonal GMM (``means``, ``covariances`` (K, D),
    ``weights`` (K,)), k-means ``centers`` (K, D), or a ready ``encoder``
    (a fitted :class:`pyvl.encoders.Encoder`, used with its own options).
    """

    kind: str  # "gmm", "kmeans" or "encoder"
    means: np.ndarray | None = None
    covariances: np.ndarray | None = None
    weights: np.ndarray | None = None
    centers: np.ndarray | None = None
    encoder: Any = None

    @property
    def dimension(self) -> int:
        """Descriptor dimension D."""
        if self.encoder is not None:
            return int(self.encoder.dimension)
        arr = self.means if self.means is not None else self.centers
        assert arr is not None
        return int(arr.shape[1])

    def describe(self) -> str:
        if self.kind == "gmm":
            assert self.means is not None
            k, d = self.means.shape
            return f"a {k}-component GMM on {d}-D descriptors ({self.means.dtype})"
        if self.kind == "kmeans":
            assert self.centers is not None
            k, d = self.centers.shape
            return f"{k} k-means centers on {d}-D descriptors ({self.centers.dtype})"
        return f"a fitted {self.encoder!r}"


def save_model(model: Any, path: str) -> None:
    """Write a fitted :class:`pyvl.GaussianMixture` or :class:`pyvl.KMeans` (the
    portable pyvl model format, :func:`pyvl.io.save`)."""
    io.save(model, path)


def _model_from_object(obj: Any, path: str) -> Model:
    if hasattr(obj, "encoder_"):  # a pyvl.transformers transformer
        obj = obj.encoder_
    if hasattr(obj, "get_state") and hasattr(obj, "encode_batch"):  # an encoder
        if not obj.is_fitted:
            raise CliError(f"{path}: the {type(obj).__name__} in the file is not fitted")
        return Model("encoder", encoder=obj)
    if hasattr(obj, "cluster_centers_"):
        return Model("kmeans", centers=c_array(obj.cluster_centers_))
    if hasattr(obj, "means_") and hasattr(obj, "covariances_"):
        try:  # a tied (D, D) covariance of K = D components has the diagonal shape
            require_diagonal(getattr(obj, "covariance_type", "diag"), path)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        return Model("gmm", means=obj.means_, covariances=obj.covariances_, weights=obj.weights_)
    raise CliError(
        f"{path}: the file holds a {type(obj).__name__}, not a fitted GMM, k-means model "
        "or encoder"
    )


def _plain_model(arrays: dict[str, np.ndarray], path: str) -> Model:
    """A model from a plain ``.npz`` (means/covariances/weights or priors, or centers)."""
    keys = set(arrays)
    if "centers" in keys and not keys & {"means", "covariances"}:
        c = arrays["centers"]
        if c.dtype.kind not in "iuf" or c.ndim != 2 or 0 in c.shape:
            raise CliError(f"{path}: 'centers' must be a non-empty (K, D) array of numbers, "
                           f"got {c.dtype} of shape {c.shape}")
        if not np.all(np.isfinite(c)):
            raise CliError(f"{path}: 'centers' contains NaN or Inf")
        dtype = c.dtype if c.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        return Model("kmeans", centers=c_array(c, dtype=dtype))
    wkey = "weights" if "weights" in keys else "priors"
    missing = [k for k in ("means", "covariances", wkey) if k not in keys]
    if missing:
        raise CliError(
            f"{path}: not a model file: expected pyvl's model format, or a .npz with the "
            f"arrays means, covariances and weights (or priors), or centers; it has "
            f"{sorted(keys)[:20]}"
        )
    if any(arrays[k].dtype.kind not in "iuf" for k in ("means", "covariances", wkey)):
        raise CliError(f"{path}: means, covariances and {wkey} must be arrays of numbers")
    try:
        m, c, w, _ = check_gmm(arrays["means"], arrays["covariances"], arrays[wkey], what=path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return Model("gmm", m, c, w)


def load_model(path: str) -> Model:
    """Read a model file (see the module documentation); :class:`CliError` if bad."""
    try:
        arrays = io.archive.read_members(path)
    except FileNotFoundError:
        raise CliError(f"{path}: no such model file") from None
    except (OSError, ValueError) as exc:
        if os.path.isfile(path):  # a regular file: safe to look at
            with open(path, "rb") as f:
                if f.read(6) == b"\x93NUMPY":
                    raise CliError(f"{path}: a .npy array, not a model file (.npz)") from None
        raise CliError(f"{path}: not a readable model file ({exc})") from None
    if "__format__" not in arrays:
        return _plain_model(arrays, path)
    try:
        obj = io.load(path)
    except ImportError as exc:  # e.g. a GaussianMixture needs scikit-learn
        raise CliError(f"{path}: reading this model needs {exc.name or exc}: "
                       "pip install 'pyvl[sklearn]'") from None
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: {exc}") from None
    return _model_from_object(obj, path)


# ---- descriptor files ---------------------------------------------------------------------


def _open_descriptors(path: str, dimension: int | None = None) -> np.ndarray:
    """An (N, D) .npy file, memory-mapped and checked (not read); CliError if bad."""
    if not os.path.exists(path):
        raise CliError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CliError(f"{path}: is a directory, not a .npy file")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CliError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):  # an .npz archive
        if hasattr(arr, "close"):
            arr.close()
        raise CliError(f"{path}: a .npz archive; expected one (N, D) .npy array")
    if arr.dtype.kind not in "iuf":
        raise CliError(f"{path}: expected an array of numbers, got dtype {arr.dtype}")
    want = "(N, D)" if dimension is None else f"(N, {dimension})"
    if arr.ndim != 2 or (dimension is not None and arr.shape[1] != dimension):
        raise CliError(f"{path}: expected an {want} array of descriptors, got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise CliError(f"{path}: descriptors of dimension 0")
    return arr


def _read_descriptors(path: str, arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Read a checked memory map into memory as ``dtype``; CliError on NaN/Inf."""
    data = c_array(arr, dtype=dtype)
    if not np.all(np.isfinite(data)):
        raise CliError(f"{path}: contains NaN or Inf")
    return data


def _check_output(path: str, inputs: Sequence[str]) -> None:
    if not path:
        raise CliError("the output path is empty")
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(directory):
        raise CliError(f"{path}: the output directory {directory} does not exist")
    if os.path.isdir(path):
        raise CliError(f"{path}: the output is a directory")
    if not os.access(directory, os.W_OK):
        raise CliError(f"{path}: cannot write in {directory}")
    for p in inputs:
        if os.path.exists(p) and os.path.exists(path) and os.path.samefile(p, path):
            raise CliError(f"{path}: the output would overwrite an input file")


def _progress(total: int, desc: str, enabled: bool, unit: str) -> Any:
    if enabled:
        try:
            from tqdm.auto import tqdm

            return tqdm(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr)
        except ImportError:
            pass
    return None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _seed(text: str) -> int:
    value = _nonneg_int(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"expected a seed in [0, 2**32), got {value}")
    return value


def _threads(text: str) -> int:
    value = _nonneg_int(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_THREADS} threads, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


#: Most lines of all @FILE argument files together, and their nesting depth at most.
MAX_ARG_LINES = 10_000_000
MAX_ARG_DEPTH = 8
#: Most libgmm threads the command line asks for.
MAX_THREADS = 1024


def expand_arg_files(argv: Sequence[str], depth: int = 0, seen: tuple[str, ...] = ()) -> list[str]:
    """``@FILE`` arguments replaced by FILE's lines (one argument a line, blank lines
    skipped), recursively; a file that includes itself, nesting deeper than
    :data:`MAX_ARG_DEPTH` or more than :data:`MAX_ARG_LINES` lines is a
    :class:`CliError`."""
    out: list[str] = []
    for arg in argv:
        if not arg.startswith("@") or len(arg) == 1:
            out.append(arg)
            continue
        path = arg[1:]
        real = os.path.realpath(path)
        if real in seen:
            raise CliError(f"{arg}: the argument file includes itself")
        if depth >= MAX_ARG_DEPTH:
            raise CliError(f"{arg}: argument files nested more than {MAX_ARG_DEPTH} deep")
        if not os.path.isfile(real):
            raise CliError(f"{arg}: no such argument file (or not a regular file)")
        try:
            with open(real, encoding="utf-8") as f:
                lines = [line.rstrip("\r\n") for line in f]
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"{arg}: cannot read the argument file ({exc})") from None
        out += expand_arg_files([ln for ln in lines if ln.strip()], depth + 1, (*seen, real))
        if len(out) > MAX_ARG_LINES:
            raise CliError(f"more than {MAX_ARG_LINES} arguments from argument files")
    return out


def _run(parser: argparse.ArgumentParser, body: Any, argv: Sequence[str] | None) -> int:
    try:
        expanded = expand_arg_files(sys.argv[1:] if argv is None else list(argv))
    except CliError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(expanded)
    args.prog = parser.prog
    try:
        return int(body(args))
    except (CliError, io.ModelFileError) as exc:  # a model file that cannot be written too
        message = " ".join(str(exc).split())  # one line
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 2
    except OSError as exc:  # writing the output (a full disk, /proc, permissions)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{parser.prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


# ---- pyvl fit ----------------------------------------------------------------------------


def fit_parser(prog: str = "pyvl fit") -> argparse.ArgumentParser:
    """The options of ``pyvl fit``."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Learn a diagonal GMM (or k-means centers) from local descriptors and "
        "save it to a model file.",
        epilog="DESCRIPTORS are .npy files of (N, D) arrays (rows are descriptors, "
        "e.g. SIFT); several files are concatenated. @FILE reads paths from FILE, one a "
        "line. The model file is pyvl's portable .npz format (pyvl.io.load reads it "
        "back as a pyvl.GaussianMixture / pyvl.KMeans). Example:\n"
        "  %(prog)s train.npy -k 64 -o model.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = p.add_argument
    add("descriptors", nargs="+", metavar="DESCRIPTORS.npy", help="(N, D) descriptor arrays")
    add("-k", "--n-components", type=_positive_int, default=64, metavar="K",
        help="mixture components (or k-means centers); default 64")
    add("-o", "--output", required=True, metavar="MODEL.npz", help="model file to write")
    add("--model", choices=("gmm", "kmeans"), default="gmm",
        help="gmm: pyvl.GaussianMixture (for Fisher vectors, VLAD and bags of words); "
        "kmeans: pyvl.KMeans centers (VLAD and hard bags of words); default gmm")
    add("--max-iter", type=_nonneg_int, default=None,
        help="iterations at most (default 100 for EM, 300 for k-means)")
    add("--tol", type=_nonneg_float, default=None,
        help="convergence tolerance (default 1e-3: change of the log-likelihood per "
        "descriptor for EM; 1e-4 for k-means)")
    add("--n-init", type=_positive_int, default=1,
        help="initialisations tried, the best kept (default 1)")
    add("--init", choices=("kmeans", "k-means++", "random", "random_from_data"),
        default="kmeans", help="EM initialisation (default kmeans)")
    add("--covariance-lower-bound", type=_nonneg_float, default=1e-4, metavar="B",
        help="lower bound of the variances (VLFeat's default 1e-4)")
    add("--max-descriptors", type=_positive_int, default=None, metavar="N",
        help="learn from N descriptors drawn at random (default: all)")
    add("--dtype", choices=("auto", "float32", "float64"), default="auto",
        help="precision of the model (auto: float32 if every input is float32, else "
        "float64)")
    add("--seed", type=_seed, default=0, help="random seed (default 0); the same seed and "
        "data give the same model")
    add("--threads", type=_threads, default=None,
        help="libgmm threads (default: all cores); results do not depend on it")
    add("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    return p


def _fit(args: argparse.Namespace) -> int:
    out = args.output
    _check_output(out, args.descriptors)
    maps = []
    dimension: int | None = None
    for path in args.descriptors:
        arr = _open_descriptors(path, dimension)
        dimension = int(arr.shape[1])
        maps.append((path, arr))
    total = sum(a.shape[0] for _, a in maps)
    if args.dtype == "auto":
        dtype = np.dtype(np.float32 if all(a.dtype == np.float32 for _, a in maps) else np.float64)
    else:
        dtype = np.dtype(args.dtype)
    k = args.n_components
    if total < k:
        raise CliError(f"{total} descriptors cannot make {k} components: pass more data or a "
                       "smaller -k")
    if total < 2 and args.model == "gmm":
        raise CliError("a GMM needs at least 2 descriptors")
    rng = np.random.default_rng(args.seed)
    keep = None
    if args.max_descriptors is not None and total > args.max_descriptors:
        if args.max_descriptors < k:
            raise CliError(f"--max-descriptors {args.max_descriptors} is below -k {k}")
        keep = np.sort(rng.choice(total, size=args.max_descriptors, replace=False))
    parts = []
    start = 0
    for path, arr in maps:
        n = arr.shape[0]
        rows = arr if keep is None else arr[keep[(keep >= start) & (keep < start + n)] - start]
        parts.append(_read_descriptors(path, rows, dtype))
        start += n
    X = parts[0] if len(parts) == 1 else np.concatenate(parts)
    del parts

    try:  # the estimators need scikit-learn, an optional dependency
        from . import estimators
    except ImportError as exc:
        raise CliError(f"pyvl fit needs scikit-learn ({exc}): pip install 'pyvl[sklearn]'") \
            from None
    verbose = 0 if args.quiet else 1
    seed = int(args.seed) & 0x7FFFFFFF
    if args.model == "gmm":
        model: Any = estimators.GaussianMixture(
            k, max_iter=100 if args.max_iter is None else args.max_iter,
            tol=1e-3 if args.tol is None else args.tol, n_init=args.n_init,
            init_params=args.init, covariance_lower_bound=args.covariance_lower_bound,
            random_state=seed, verbose=verbose, n_threads=args.threads,
        )
    else:
        model = estimators.KMeans(
            k, max_iter=300 if args.max_iter is None else args.max_iter,
            tol=1e-4 if args.tol is None else args.tol, n_init=args.n_init,
            random_state=seed, verbose=verbose, n_threads=args.threads,
        )
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    seconds = time.perf_counter() - t0
    model.set_params(verbose=0)  # a saved model refits quietly
    save_model(model, out)
    if not args.quiet:
        for w in caught:
            if issubclass(w.category, UserWarning):  # ConvergenceWarning among them
                print(f"{args.prog}: warning: {w.message}", file=sys.stderr)
        what = f"{X.shape[0]:,} descriptors of dimension {X.shape[1]} ({dtype})"
        if args.model == "gmm":
            print(f"GMM with {k} components on {what}: {model.n_iter_} EM iterations"
                  f"{'' if model.converged_ else ' (not converged)'}, log-likelihood "
                  f"{model.lower_bound_:.4f} per descriptor, {seconds:.2f} s -> {out}")
        else:
            print(f"k-means with {k} centers on {what}: {model.n_iter_} iterations, inertia "
                  f"{model.inertia_:.6g}, {seconds:.2f} s -> {out}")
    return 0


def fit_main(argv: Sequence[str] | None = None, prog: str = "pyvl fit") -> int:
    """``pyvl fit``; returns the exit status."""
    return _run(fit_parser(prog), _fit, argv)


# ---- pyvl encode -------------------------------------------------------------------------


def encode_parser(prog: str = "pyvl encode") -> argparse.ArgumentParser:
    """The options of ``pyvl encode``."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Encode the local descriptors of images with a saved model: one row "
        "per input file.",
        epilog="Every DESCRIPTORS.npy holds the (N_j, D) descriptors of one image (N_j may "
        "be 0: zeros). @FILE reads paths from FILE, one a line. The output is one .npy "
        "array of shape (number of files, encoding length), rows in the order of the "
        "files. MODEL.npz comes from `pyvl fit` (or pyvl.io.save: a GaussianMixture, "
        "KMeans, or fitted encoder, used with its own options), or is a plain .npz of "
        "means, covariances and weights (or centers).\n\n"
        "encoders (options that apply):\n"
        "  fisher  Fisher vectors, 2*K*D values (GMM): --improved (default) / "
        "--no-improved, --square-root, --normalized, --fast\n"
        "  vlad    VLAD on the GMM means or k-means centers, K*D values (L2-normalised "
        "unless --unnormalized): --square-root, --normalize-components, --normalize-mass\n"
        "  bovw    bag of words, K values: hard votes, or --soft (GMM posteriors); "
        "--frequencies, --square-root, --normalized\n\n"
        "Example:\n  %(prog)s model.npz img*.npy -o fisher.npy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = p.add_argument
    add("model", metavar="MODEL.npz", help="model file")
    add("descriptors", nargs="+", metavar="DESCRIPTORS.npy",
        help="one (N_j, D) descriptor array per image")
    add("-o", "--output", required=True, metavar="ENCODINGS.npy", help="output .npy file")
    add("--encoder", choices=_ENCODERS, default=None,
        help="fisher (default for a GMM), vlad (default for k-means centers) or bovw")
    flags = p.add_argument_group("encoding options (see above for which encoder takes which)")
    fadd = flags.add_argument
    fadd("--improved", action=argparse.BooleanOptionalAction, default=None,
         help="fisher: signed square root and L2 normalisation (default: on)")
    fadd("--square-root", action="store_true", default=None, help="signed square root")
    fadd("--normalized", action="store_true", default=None, help="L2 normalisation")
    fadd("--fast", action="store_true", default=None,
         help="fisher: hard-assign each descriptor to its most likely component")
    fadd("--normalize-components", action="store_true", default=None,
         help="vlad: L2-normalise each center's block")
    fadd("--normalize-mass", action="store_true", default=None,
         help="vlad: divide each block by its number of descriptors")
    fadd("--unnormalized", action="store_true", default=None,
         help="vlad: no global L2 normalisation")
    fadd("--soft", action="store_true", default=None,
         help="bovw: vote with the GMM posteriors instead of one hard vote")
    fadd("--frequencies", action="store_true", default=None,
         help="bovw: divide the votes by the number of descriptors")
    add("--dtype", choices=("float32", "float64"), default=None,
        help="precision of the computation and output (default: the model's)")
    add("--batch-size", type=_positive_int, default=256, metavar="N",
        help="images per C batch call (default 256); bounds the memory used")
    add("--threads", type=_threads, default=None,
        help="libgmm threads (default: all cores); results do not depend on it")
    add("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    return p


def _make_encoder(model: Model, args: argparse.Namespace) -> Any:
    given = {k: getattr(args, k) for k in _ENCODER_FLAGS if getattr(args, k) is not None}
    if model.kind == "encoder":
        enc = model.encoder
        if args.encoder is not None and args.encoder != enc.name:
            raise CliError(f"the model file holds a {enc.name!r} encoder, not {args.encoder!r}")
        if given:
            opts = ", ".join("--" + k.replace("_", "-") for k in given)
            raise CliError(f"the model file holds a configured encoder ({enc!r}); "
                           f"{opts} cannot change it")
        if args.dtype is not None and args.dtype != enc.dtype:
            raise CliError(f"the encoder in the model file computes in {enc.dtype}")
        if enc.pyramid is not None:
            raise CliError("the encoder in the model file has a spatial pyramid, which needs "
                           "descriptor positions: pyvl encode takes descriptors only")
        return enc
    name = args.encoder or ("fisher" if model.kind == "gmm" else "vlad")
    for key in given:
        if name not in _ENCODER_FLAGS[key]:
            takers = " or ".join(_ENCODER_FLAGS[key])
            raise CliError(f"--{key.replace('_', '-')} applies to --encoder {takers}, "
                           f"not {name}")
    common: dict[str, Any] = {} if args.dtype is None else {"dtype": args.dtype}
    flag = {k: bool(v) for k, v in given.items()}
    try:
        if name == "fisher":
            if model.kind != "gmm":
                raise CliError("Fisher vectors need a GMM; this model has k-means centers "
                               "only (use --encoder vlad or bovw)")
            return E.FisherEncoder.from_gmm(model.means, model.covariances, model.weights,
                                            **flag, **common)
        centers = model.centers if model.kind == "kmeans" else model.means
        if name == "vlad":
            return E.VladEncoder.from_centers(centers, **flag, **common)
        soft = flag.pop("soft", False)
        if model.kind == "gmm":
            return E.BovwEncoder.from_gmm(model.means, model.covariances, model.weights,
                                          mode="soft" if soft else "hard", **flag, **common)
        if soft:
            raise CliError("--soft votes with GMM posteriors: this model has k-means "
                           "centers only")
        return E.BovwEncoder.from_centers(centers, **flag, **common)
    except (TypeError, ValueError) as exc:  # the model's arrays failed the encoder's checks
        raise CliError(f"{args.model}: {exc}") from None


def _encode(args: argparse.Namespace) -> int:
    out = args.output
    _check_output(out, [args.model, *args.descriptors])
    model = load_model(args.model)
    encoder = _make_encoder(model, args)
    d = model.dimension
    maps = [_open_descriptors(p, d) for p in args.descriptors]  # every file checked first
    n_files = len(maps)
    dtype = encoder.np_dtype
    dim = int(encoder.output_dim)

    bar = None if args.quiet else _progress(n_files, "encoding", True, "file")
    t0 = time.perf_counter()
    n_desc = 0

    def write(f: Any) -> None:
        nonlocal n_desc
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                  "shape": (n_files, dim)}
        np.lib.format.write_array_header_1_0(f, header)  # then the rows, C order
        for start in range(0, n_files, args.batch_size):
            stop = min(start + args.batch_size, n_files)
            sets = [_read_descriptors(args.descriptors[i], maps[i], dtype)
                    for i in range(start, stop)]
            n_desc += sum(s.shape[0] for s in sets)
            try:
                rows = encoder.encode_batch(sets)
            except ValueError as exc:
                raise CliError(str(exc)) from None
            f.write(c_array(rows, dtype=dtype).tobytes())
            if bar is not None:
                bar.update(stop - start)

    try:
        with num_threads(args.threads or None, "--threads"):
            io.atomic_write(out, write)
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        files = f"{n_files} file{'' if n_files == 1 else 's'}"
        print(f"{files} ({n_desc:,} descriptors) encoded with {encoder!r}: "
              f"({n_files}, {dim}) {dtype}, {time.perf_counter() - t0:.2f} s -> {out}")
    return 0


def encode_main(argv: Sequence[str] | None = None, prog: str = "pyvl encode") -> int:
    """``pyvl encode``; returns the exit status."""
    return _run(encode_parser(prog), _encode, argv)
