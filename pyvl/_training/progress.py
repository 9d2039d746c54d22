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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

logger = logging.getLogger("pyvl")


class Monitor:
    """Callable handed to libgmm as the iteration callback.

    ``converged(prev, value) -> bool`` decides convergence from two
    consecutive values (None: never). ``values`` records every reported value.
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
        self._bar: Any = None

    def start(self, desc: str) -> None:
        self.values = []
        self.converged = False
        if self.verbose:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # tqdm is optional: log lines only
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=self.total, desc=desc, leave=False, unit="it")

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
        """The iteration callback: records ``value``; 1 (stop) once converged or
        interrupted, else 0."""
        try:
            if self.interrupted:
                return 1
            self.values.append(value)
            logger.debug("%s: iteration %d: %s = %.6f", self.what, iteration,
                         "loglikelihood" if self.what == "gmm" else "energy", value)
            if self._bar is not None:
                if iteration > 0:
                    self._bar.update(1)
                self._bar.set_postfix(value=f"{value:.6g}", refresh=False)
            if (
                self.converged_test is not None
                and len(self.values) > 1
                and self.converged_test(self.values[-2], value)
            ):
                self.converged = True
                return 1
            return 0
        except KeyboardInterrupt:
            self.interrupted = True
            return 1
        except Exception:  # never let an exception cross into C
            logger.exception("pyvl: error in the iteration callback")
            return 0

    def report(self, iteration: int, value: float) -> bool:
        """The callback for loops written in Python: True means stop."""
        return bool(self(iteration, value))
