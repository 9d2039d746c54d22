"""``pyvl demo``: classify handwritten digits with Fisher vectors of image patches.

An end-to-end image-classification run on data that ships with scikit-learn
(the 1797 8x8 handwritten digits of ``sklearn.datasets.load_digits``; nothing
is downloaded):

1. split the images into a training and a test set (stratified, seeded);
2. describe every image by dense, overlapping local descriptors: all 4x4
   patches of the zero-padded image (optionally with the patches of its x and
   y gradients), each with its position;
3. PCA (whitened), learned on the training descriptors;
4. a Gaussian mixture (``pyvl.GaussianMixture``, libgmm's EM) on the
   training descriptors: the visual vocabulary;
5. one Fisher vector per image (``pyvl.encoders``' batch path), improved
   (signed square root + L2), on a 1x1 + 2x2 spatial pyramid;
6. a linear classifier (``LinearSVC`` or ``LogisticRegression``) on the
   training encodings, evaluated on the test images;

and, for comparison, the same classifier on the raw pixels. It prints both
accuracies and the time of every stage; progress bars (tqdm) follow the long
stages. ``--encoder vlad`` or ``bovw`` swaps the encoding, ``--shift N``
moves every test digit by up to N pixels (a harder test for both).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import encoders as E
from ._core import runtime
from ._core.arrays import c_array

__all__ = ["DemoResult", "dense_patches", "main", "parse_pyramid", "run"]

_ENCODERS = ("fisher", "vlad", "bovw")


@dataclass
class DemoResult:
    """What :func:`run` measured."""

    accuracy: float
    """Test accuracy of the classifier on the encodings (0..1)."""
    baseline_accuracy: float
    """Test accuracy of the same classifier on the raw pixels (0..1)."""
    n_train: int
    n_test: int
    encoding_dim: int
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage, in order."""


# ---- descriptors ------------------------------------------------------------------------


def dense_patches(
    images: np.ndarray, size: int = 4, gradients: bool = False, pad: int = 1
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Dense overlapping patches of a stack of images.

    ``images`` (n, h, w). The images are zero-padded by ``pad`` pixels, then
    every ``size`` x ``size`` window (stride 1) is a descriptor of
    ``size*size`` pixel values, followed, with ``gradients``, by the same
    window of the image's x and y derivatives (3 * size*size values).

    Returns ``(descriptors (n, P, d) float32, positions (P, 2) float32,
    (width, height))``: the (x, y) centres of the P windows (the same for
    every image) and the padded image size, for spatial pyramids.
    """
    if images.ndim != 3:
        raise ValueError(f"images must be (n, h, w), got shape {images.shape}")
    img = np.pad(np.asarray(images, dtype=np.float32), ((0, 0), (pad, pad), (pad, pad)))
    n, h, w = img.shape
    if size < 1 or size > min(h, w):
        raise ValueError(f"patch size must be in 1..{min(h, w)}, got {size}")
    channels: list[np.ndarray] = [img]
    if gradients:
        gy, gx = np.gradient(img, axis=(1, 2))
        channels += [np.asarray(gx), np.asarray(gy)]
    nh, nw = h - size + 1, w - size + 1
    parts = [
        np.lib.stride_tricks.sliding_window_view(c, (size, size), axis=(1, 2)).reshape(
            n, nh * nw, size * size
        )
        for c in channels
    ]
    desc = c_array(np.concatenate(parts, axis=-1), dtype=np.float32)
    yy, xx = np.mgrid[0:nh, 0:nw]
    positions = np.stack([xx.ravel() + size / 2, yy.ravel() + size / 2], axis=1)
    return desc, positions.astype(np.float32), (w, h)


def shift_images(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Every image translated by a random (dx, dy) in [-max_shift, max_shift]², zero fill."""
    if max_shift <= 0:
        return images
    n, h, w = images.shape
    out = np.zeros_like(images)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(n, 2))
    for i, (dx, dy) in enumerate(shifts):
        src = images[i, max(0, -dy): h - max(0, dy), max(0, -dx): w - max(0, dx)]
        out[i, max(0, dy): max(0, dy) + src.shape[0], max(0, dx): max(0, dx) + src.shape[1]] = src
    return out


def parse_pyramid(text: str) -> list[tuple[int, int]] | None:
    """``"1x1,2x2"`` -> ``[(1, 1), (2, 2)]``; ``"none"`` -> None (no pyramid)."""
    if text.strip().lower() in ("", "none", "0"):
        return None
    levels = []
    for part in text.split(","):
        try:
            cols, rows = (int(v) for v in part.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"pyramid levels are COLSxROWS separated by commas (e.g. 1x1,2x2); got {part!r}"
            ) from None
        if cols < 1 or rows < 1:
            raise argparse.ArgumentTypeError(f"pyramid level {part!r} must be at least 1x1")
        if cols > 8 or rows > 8:
            raise argparse.ArgumentTypeError(
                f"pyramid level {part!r}: at most 8x8 cells (the digits are 8x8 pixels)"
            )
        levels.append((cols, rows))
    return levels


# ---- the run ----------------------------------------------------------------------------


class _Stages:
    """Wall-clock time of named stages."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - t0


def _progress(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar (or a stand-in with the same methods when disabled / not installed)."""
    if enabled:
        try:
            from tqdm.auto import tqdm

            return tqdm(total=total, desc=desc, leave=False, unit="img")
        except ImportError:
            pass

    class _Null:
        def update(self, n: int = 1) -> None:
            pass

        def close(self) -> None:
            pass

    return _Null()


def _classifier(kind: str, C: float, seed: int) -> Any:
    if kind == "svm":
        from sklearn.svm import LinearSVC

        return LinearSVC(C=C, max_iter=20000, random_state=seed)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000)


def run(args: argparse.Namespace, out: Any = None) -> DemoResult:
    """The demo with parsed options (see :func:`build_parser`); prints to ``out``."""
    out = sys.stdout if out is None else out
    try:  # scikit-learn is an optional dependency of pyvl, required by the demo
        from sklearn.datasets import load_digits
        from sklearn.decomposition import PCA
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import train_test_split
        from threadpoolctl import threadpool_limits

        from . import estimators
    except ImportError as exc:
        raise SystemExit(
            f"the demo needs scikit-learn ({exc}): pip install 'pyvl[demo]'"
        ) from exc

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    stage = _Stages()
    progress = not args.no_progress
    threads_before = runtime.get_max_threads()
    if args.threads is not None:
        runtime.set_num_threads(args.threads)
    # The scikit-learn stages work on small matrices, where BLAS threads cost
    # more than they give (badly so on a busy machine): one BLAS thread.
    # libgmm's threads are not BLAS threads and are left as they are.
    blas = threadpool_limits(limits=1, user_api="blas")
    try:
        with stage("load"):
            digits = load_digits()
            images = digits.images.astype(np.float32) / 16.0
            y = digits.target
            idx_train, idx_test = train_test_split(
                np.arange(len(images)), test_size=args.test_size, random_state=args.seed,
                stratify=y,
            )
            test_images = shift_images(
                images[idx_test], args.shift, np.random.default_rng(args.seed + 1)
            )
        n_train, n_test = len(idx_train), len(idx_test)
        say(f"pyvl demo: scikit-learn's handwritten digits ({len(images)} images of 8x8 pixels, "
            f"10 classes): {n_train} train / {n_test} test"
            + (f", test digits shifted by up to {args.shift} px" if args.shift else ""))

        with stage("descriptors"):
            d_train, positions, size = dense_patches(
                images[idx_train], args.patch, args.gradients
            )
            d_test, _, _ = dense_patches(test_images, args.patch, args.gradients)
        n_desc, dim = d_train.shape[1], d_train.shape[2]
        say(f"  descriptors  {args.patch}x{args.patch} patches"
            + (" + x/y gradient patches" if args.gradients else "")
            + f" of the zero-padded {size[0]}x{size[1]} images: {n_desc} per image, "
            f"{dim} values each")

        with stage("PCA"):
            flat_train = d_train.reshape(-1, dim)
            n_pca = min(args.pca, dim)
            pca = PCA(n_pca, whiten=True, random_state=args.seed).fit(flat_train)
            z_train = pca.transform(flat_train).astype(np.float32).reshape(n_train, n_desc, n_pca)
            z_test = (
                pca.transform(d_test.reshape(-1, dim)).astype(np.float32)
                .reshape(n_test, n_desc, n_pca)
            )
        kept = float(np.sum(pca.explained_variance_ratio_))
        say(f"  PCA          {dim} -> {n_pca} dimensions, whitened ({kept:.0%} of the variance), "
            f"learned on {len(flat_train):,} training descriptors")

        train_desc = z_train.reshape(-1, n_pca)
        encoder: Any
        with stage("k-means" if args.encoder == "vlad" else "GMM"):
            if args.encoder == "vlad":
                km = estimators.KMeans(args.components, random_state=args.seed,
                                 verbose=int(progress)).fit(train_desc)
                model_text = (f"k-means (pyvl.KMeans), {args.components} centers, "
                              f"{km.n_iter_} iterations")
            else:
                gmm = estimators.GaussianMixture(  # VLFeat's GMM (diagonal, VLFeat's EM)
                    args.components, covariance_type="diag", em="vlfeat", reg_covar=0.0,
                    covariance_lower_bound=1e-4, random_state=args.seed,
                    max_iter=args.max_iter, tol=args.tol, verbose=int(progress),
                )
                with warnings.catch_warnings():  # a capped EM is fine for a vocabulary
                    warnings.simplefilter("ignore", category=ConvergenceWarning)
                    gmm.fit(train_desc)
                model_text = (
                    f"GMM (pyvl.GaussianMixture), {args.components} components, "
                    f"{gmm.n_iter_} EM iterations"
                    + ("" if gmm.converged_ else " (the cap)")
                    + f", log-likelihood {gmm.lower_bound_:.3f} per descriptor"
                )
        say(f"  vocabulary   {model_text}")

        pyramid = args.pyramid
        if args.encoder == "fisher":
            encoder = E.FisherEncoder.from_gmm(
                gmm.means_, gmm.covariances_, gmm.weights_, improved=True, pyramid=pyramid
            )
            enc_text = "Fisher vectors (improved: signed square root + L2)"
        elif args.encoder == "vlad":
            encoder = E.VladEncoder.from_centers(
                km.cluster_centers_, square_root=True, pyramid=pyramid
            )
            enc_text = "VLAD (signed square root + L2)"
        else:
            encoder = E.BovwEncoder.from_gmm(
                gmm.means_, gmm.covariances_, gmm.weights_, mode="soft", frequencies=True,
                square_root=True, normalized=True, pyramid=pyramid,
            )
            enc_text = "bag of words (GMM posteriors, square root + L2)"

        with stage("encoding"):
            def encode(sets: np.ndarray, what: str) -> np.ndarray:
                rows = np.empty((len(sets), encoder.output_dim), dtype=np.float32)
                bar = _progress(len(sets), f"encoding {what}", progress)
                step = max(1, args.batch_size)
                for start in range(0, len(sets), step):  # one C batch call per chunk
                    chunk = list(sets[start:start + step])
                    rows[start:start + len(chunk)] = encoder.encode_batch(
                        chunk,
                        positions=None if pyramid is None else [positions] * len(chunk),
                        image_sizes=None if pyramid is None else size,
                    )
                    bar.update(len(chunk))
                bar.close()
                return rows

            f_train = encode(z_train, "train")
            f_test = encode(z_test, "test")
        levels = "none" if pyramid is None else "+".join(f"{c}x{r}" for c, r in pyramid)
        say(f"  encoding     {enc_text}, spatial pyramid {levels}: "
            f"{encoder.output_dim} dimensions per image")

        name = {"svm": "LinearSVC", "logreg": "LogisticRegression"}[args.classifier]
        with stage("classifier"):
            clf = _classifier(args.classifier, args.C, args.seed).fit(f_train, y[idx_train])
            accuracy = float(clf.score(f_test, y[idx_test]))
        with stage("baseline"):
            raw = _classifier(args.classifier, args.C, args.seed).fit(
                images[idx_train].reshape(n_train, -1), y[idx_train]
            )
            baseline = float(raw.score(test_images.reshape(n_test, -1), y[idx_test]))
        say(f"  classifier   {name} (C={args.C:g}) on the encodings; the same on the "
            f"{images.shape[1] * images.shape[2]} raw pixels as the baseline")
    finally:
        blas.restore_original_limits()
        if args.threads is not None:
            runtime.set_num_threads(threads_before)

    enc_label = {"fisher": "Fisher vectors", "vlad": "VLAD", "bovw": "bag of words"}[args.encoder]
    say()
    say(f"accuracy on the {n_test} test images")
    say(f"  {enc_label + ' of patches':<30}{accuracy:8.2%}   "
        f"({round((1 - accuracy) * n_test)} errors)")
    say(f"  {'raw pixels (baseline)':<30}{baseline:8.2%}   "
        f"({round((1 - baseline) * n_test)} errors)")
    total = sum(stage.times.values())
    say()
    say("time (s)  " + " | ".join(f"{k} {v:.2f}" for k, v in stage.times.items())
        + f" | total {total:.2f}")
    return DemoResult(
        accuracy=accuracy,
        baseline_accuracy=baseline,
        n_train=n_train,
        n_test=n_test,
        encoding_dim=int(encoder.output_dim),
        timings=dict(stage.times),
    )


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The demo's command-line options."""
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        prog=prog or "pyvl demo",
        description=doc.split("\n\n", 1)[0].split(": ", 1)[-1],
        epilog=doc.split("\n\n", 1)[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("-k", "--components", type=int, default=32, metavar="K",
        help="GMM components (k-means centers with --encoder vlad); default 32")
    add("--encoder", choices=_ENCODERS, default="fisher",
        help="image encoding (default fisher)")
    add("--patch", type=int, default=4, metavar="P", help="patch size in pixels (default 4)")
    add("--gradients", action="store_true",
        help="append the patches of the x and y gradients to every descriptor")
    add("--pca", type=int, default=12, metavar="D",
        help="PCA dimensions of the descriptors (default 12)")
    add("--pyramid", type=parse_pyramid, default=parse_pyramid("1x1,2x2"), metavar="LEVELS",
        help="spatial pyramid, COLSxROWS levels separated by commas, or 'none' "
        "(default 1x1,2x2)")
    add("--max-iter", type=int, default=100, help="EM iterations at most (default 100)")
    add("--tol", type=float, default=1e-3,
        help="EM stops when the log-likelihood per descriptor changes less (default 1e-3)")
    add("--classifier", choices=("svm", "logreg"), default="svm",
        help="svm: LinearSVC, logreg: LogisticRegression (default svm)")
    add("-C", type=float, default=1.0, help="the classifier's regularisation C (default 1)")
    add("--test-size", type=float, default=0.5, help="fraction of test images (default 0.5)")
    add("--shift", type=int, default=0, metavar="N",
        help="move every test digit by a random translation of up to N pixels (default 0)")
    add("--batch-size", type=int, default=256,
        help="images per encoding call (the progress bar's step; default 256)")
    add("--threads", type=int, default=None,
        help="libgmm threads (default: all cores); results do not depend on it")
    add("--seed", type=int, default=0, help="random seed of the split, GMM and classifier")
    add("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the demo; returns the exit status."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    for name, lo in (("components", 1), ("patch", 1), ("pca", 1), ("max_iter", 1),
                     ("batch_size", 1)):
        if getattr(args, name) < lo:
            parser.error(f"--{name.replace('_', '-')} must be >= {lo}")
    if not 0 < args.test_size < 1:
        parser.error("--test-size must be between 0 and 1")
    if args.shift < 0 or args.shift > 4:
        parser.error("--shift must be between 0 and 4 pixels")
    if args.patch > 10:
        parser.error("--patch must be at most 10 (the padded digits are 10x10)")
    if args.threads is not None and args.threads < 0:
        parser.error("--threads must be >= 0")
    if args.C <= 0:
        parser.error("-C must be > 0")
    if args.threads is not None and args.threads > 1024:
        parser.error("--threads must be at most 1024")
    try:
        run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ValueError as exc:  # e.g. more components than training descriptors
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    return 0
