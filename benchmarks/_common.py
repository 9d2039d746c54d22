"""Shared benchmark helpers: a clean BLAS environment, timing, machine info, tables."""

from __future__ import annotations

import datetime
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Callable

# Some machines set these for every process, which pins OpenBLAS to an older
# kernel (and a small L2 model) and slows numpy's matmul: the yardstick must
# be the machine's real SGEMM, so the benchmark re-executes itself without them.
_BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def clean_blas_environment() -> None:
    """Re-exec the current script without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE."""
    if any(v in os.environ for v in _BLAS_VARS):
        env = {k: v for k, v in os.environ.items() if k not in _BLAS_VARS}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of fn() over `repeats` runs after `warmup` runs.

    Starts with a short pause: thread pools of the previous measurement
    (OpenBLAS, OpenMP) spin for a while after their last task and would steal
    a core from the next implementation on a 2-core machine."""
    time.sleep(0.3)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paired_times(fns: Sequence[Callable[[], object]], repeats: int, pause: float = 0.05,
                 warmup: int = 1, batch: int = 1) -> list[float]:
    """Median wall times of several functions measured in alternation.

    Each round runs every function in order, each after `pause` seconds
    (spinning thread pools of the previous call go idle). A shared machine's
    load drifts over seconds; alternating makes the drift hit every function
    alike, so ratios of these medians are steadier than ratios of medians
    taken one after the other. With `batch` > 1 a function runs batch + 1
    times back to back per round and the first run is not counted: the
    times of calls that follow each other (warm caches, awake threads)."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            time.sleep(pause)
            if batch > 1:
                fn()
            for _ in range(batch):
                t = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def iteration_time(run: Callable[[int], object], lo: int, hi: int, repeats: int,
                   pause: float = 0.3) -> float:
    """Time of one iteration of an iterative fit: (t(hi) - t(lo)) / (hi - lo),
    where run(m) fits with m iterations, the two timed in alternation
    (paired_times); NaN if the difference is not positive (noise larger than
    the iterations: printed as n/a, never as a negative or zero time)."""
    t_lo, t_hi = paired_times([lambda: run(lo), lambda: run(hi)], repeats, pause=pause)
    return (t_hi - t_lo) / (hi - lo) if t_hi > t_lo else float("nan")


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "?"
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu in ("", "?", "x86_64"):
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    flags = " ".join(f for f in ("sse2", "avx", "avx2", "fma", "avx512f") if f in have)
                    break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            cwd=os.path.dirname(__file__), check=False,
        ).stdout.strip() or "?"
    except OSError:
        commit = "?"
    blas = "?"
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            if info.get("internal_api") == "openblas":
                blas = f"OpenBLAS {info.get('version')} {info.get('architecture')} ({info.get('num_threads')} threads)"
    except ImportError:
        pass
    import pyvl
    from pyvl import simd

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "cpu": cpu,
        "flags": flags,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "numpy BLAS": blas,
        "pyvl": f"{pyvl.__version__}, SIMD {simd.simd_level()}, {pyvl.vl_get_max_threads()} threads",
    }


class Table:
    """Rows of (benchmark, implementation, seconds, ratio notes), printed and kept as markdown."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: str) -> None:
        self.rows.append(tuple(cells))
        print("  " + " | ".join(cells), flush=True)

    def markdown(self, header: tuple[str, ...]) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(header) + " |",
                 "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines) + "\n"


def fmt_s(t: float) -> str:
    if math.isnan(t):
        return "n/a"
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.3f} s"


def ratio(a: float, b: float) -> str:
    return "n/a" if math.isnan(a) or math.isnan(b) else f"{a / b:.2f}x"
