"""Errors of the object layer across threads: libgmm's last error is per thread (pyvl._core
raises the one of the thread that made the call), and one object per thread works. A row of
docs/errors.md; the data and helpers are in tests/helpers.py.
"""

from __future__ import annotations

import threading

from helpers import X, check_usable, nan_at, vl_objects

from pyvl import InvalidArgumentError
from pyvl import gmm as G


def test_errors_are_per_thread_and_objects_per_thread_work():
    results, errors = {}, {}

    def work(i):
        try:
            o = vl_objects()
            if i % 2:
                try:
                    G.vl_gmm_cluster(o.gmm, nan_at(X))
                except InvalidArgumentError as e:
                    errors[i] = str(e)
            results[i] = G.vl_gmm_get_loglikelihood(o.gmm)
            check_usable(o)
        except Exception as e:  # noqa: BLE001 - reported below
            errors[i] = f"unexpected {type(e).__name__}: {e}"

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(errors) == [1, 3, 5]
    assert all("data contains NaN or Inf" in m for m in errors.values())
    assert len(set(results.values())) == 1  # the same model in every thread
