"""Iteration callbacks: progress bars, logging, early stopping, Ctrl-C.

libgmm calls a function once per EM or k-means iteration with the iteration
number and the log-likelihood (EM) or energy (k-means); a non-zero return
stops training cleanly, leaving valid parameters (the training loops over
chunks call it the same way). :class:`Monitor` is that callback: it feeds a tqdm progress bar (when verbose and tqdm
is installed) and the ``pyvl`` logger, applies a Python-side convergence
test, and turns Ctrl-C into a clean stop: while training runs (in the main
thread) SIGINT only sets a flag, the next callback returns "stop", and the
caller re-raises KeyboardInterrupt once the model is saved. (A plain
KeyboardInterrupt cannot be caught reliably inside a ctypes callback: Python
may raise it on the callback's very first instruction.)
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

logger = logging.getLogger("pyvl")

#: Callback return value: finish with this iteration's M-step (vl/libgmm/base.h).
FINISH = 2


class Monitor:
    """Callable handed to libgmm as the iteration callback.

    ``converged(prev, value) -> bool`` decides convergence from two
    consecutive values (None: never). ``values`` records every reported value.
    The progress bar (``verbose`` >= 1 and tqdm installed) counts iterations
    (M-steps) with no total -- training stops when it converges, ``total`` is
    only the limit, shown in the label -- and shows the value per point
    (the mean log-likelihood of EM, the mean squared distance of k-means) once
    the number of points ``n`` is known.

    With ``finish_with_step`` (scikit-learn's EM loop), convergence and the
    iteration ``limit`` end training *after* the iteration's M-step (the
    callback returns :data:`FINISH`) and ``previous`` is the value per point
    before the first one (a warm start's lower bound); otherwise (VLFeat's loop) they are
    libgmm's business and the callback stops only on convergence or Ctrl-C.
    """

    def __init__(
        self,
        what: str,
        total: int,
        verbose: int = 0,
        converged: Callable[[float, float], bool] | None = None,
    ) -> None:
        self.what = what
        self.total = total
        self.verbose = verbose
        self.converged_test = converged
        self.values: list[float] = []
        self.converged = False
        self.interrupted = False
        self.n = 0  # points seen, for loops that learn it in their first pass
        self.finish_with_step = False
        self.limit: int | None = None
        self.previous: float | None = None
        self.finished = False
        #: scikit-learn's verbose lines on stdout every ``print_every`` iterations
        #: (GaussianMixture: "  Iteration N", with time and change at verbose >= 2)
        self.print_every = 0
        self._bar: Any = None
        self._t_iter = self._t_init = 0.0

    @property
    def m_steps(self) -> int:
        """M-steps of the current run: one per value, less the last unless the run
        finished with its M-step."""
        return len(self.values) if self.finished else max(len(self.values) - 1, 0)

    def start(self, desc: str) -> None:
        self.values = []
        self.converged = False
        self.finished = False
        self._t_iter = self._t_init = time.perf_counter()
        if self.verbose:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # tqdm is optional: log lines only
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=None, desc=f"{desc} (at most {self.total} iterations)",
                                 leave=False, unit="it")

    @contextmanager
    def catching_sigint(self) -> Iterator[None]:
        """Inside the block, Ctrl-C sets ``interrupted`` instead of raising."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            self.interrupted = True

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __call__(self, iteration: int, value: float) -> int:
        """The iteration callback: records ``value``; returns 1 (stop now) when
        interrupted or, in VLFeat's loop, converged; :data:`FINISH` (an M-step,
        then stop) when converged or at the limit in scikit-learn's loop; else 0."""
        try:
            if self.interrupted:
                return 1
            self.values.append(value)
            logger.debug("%s: iteration %d: %s = %.6f", self.what, iteration,
                         "loglikelihood" if self.what == "gmm" else "energy", value)
            if self.print_every and (iteration + 1) % self.print_every == 0:
                self._print_iteration(iteration + 1)
            if self._bar is not None:
                if iteration > 0 or self.finish_with_step:  # one tick per M-step
                    self._bar.update(1)
                key = "loglik/point" if self.what == "gmm" else "energy/point"
                per = value / self.n if self.n else value
                self._bar.set_postfix({key if self.n else "value": f"{per:.6g}"}, refresh=False)
            if len(self.values) > 1:
                prev: float | None = self.values[-2]
            else:  # the value before the first: a warm start's, per point
                prev = None if self.previous is None or not self.n else self.previous * self.n
            if self.converged_test is not None and prev is not None and self.converged_test(prev, value):
                self.converged = True
                if self.finish_with_step:
                    self.finished = True
                    return FINISH
                return 1
            if self.finish_with_step and self.limit and iteration + 1 >= self.limit:
                self.finished = True
                return FINISH
            return 0
        except KeyboardInterrupt:
            self.interrupted = True
            return 1
        except Exception:  # never let an exception cross into C
            logger.exception("pyvl: error in the iteration callback")
            return 0

    def _print_iteration(self, n_iter: int) -> None:
        if self.verbose >= 2:
            now = time.perf_counter()
            print("  Iteration %d\t time lapse %.5fs\t ll change %.5f"
                  % (n_iter, now - self._t_iter, self.change()))
            self._t_iter = now
        else:
            print("  Iteration %d" % n_iter)

    def change(self) -> float:
        """Change of the last value per point from the one before (inf for the first)."""
        if not self.values or not self.n:
            return float("nan")
        if len(self.values) > 1:
            return (self.values[-1] - self.values[-2]) / self.n
        return float("inf") if self.previous is None else self.values[-1] / self.n - self.previous

    def print_init_end(self) -> None:
        """scikit-learn's line at the end of an initialisation's EM."""
        state = "converged" if self.converged else "did not converge"
        if self.verbose >= 2:
            lb = self.values[-1] / self.n if self.values and self.n else float("nan")
            print(f"Initialization {state}. time lapse {time.perf_counter() - self._t_init:.5f}s"
                  f"\t lower bound {lb:.5f}.")
        else:
            print(f"Initialization {state}.")

    def report(self, iteration: int, value: float) -> int:
        """The callback for loops written in Python (same return values)."""
        return self(iteration, value)
