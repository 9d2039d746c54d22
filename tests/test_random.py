"""VLFeat's MT19937 stream: our draws equal the reference generator's and VLFeat's."""

from __future__ import annotations

import numpy as np
from reference import MT19937

from pyvl.random import (
    vl_get_rand,
    vl_rand_new,
    vl_rand_permute_indexes,
    vl_rand_real1,
    vl_rand_seed,
    vl_rand_uindex,
    vl_rand_uint32,
)


def test_stream_matches_reference():
    r = vl_rand_new(1234)
    want = MT19937(1234)
    assert [vl_rand_uint32(r) for _ in range(2000)] == [next(want) for _ in range(2000)]


def test_unseeded_default_is_5489():
    r = vl_rand_new()
    assert vl_rand_uint32(r) == next(MT19937(5489))


def test_derived_draws():
    r = vl_rand_new(7)
    m = MT19937(7)
    assert vl_rand_real1(r) == next(m) * (1.0 / 4294967295.0)
    assert vl_rand_uindex(r, 1000) == next(m) % 1000


def test_thread_default_generator_matches_vlfeat(vlfeat):
    vl_rand_seed(vl_get_rand(), 99)
    vlfeat.seed(99)
    ours = [vl_rand_uint32(vl_get_rand()) for _ in range(100)]
    theirs = [vlfeat.lib.vl_rand_uint32(vlfeat.lib.vl_get_rand()) for _ in range(100)]
    assert ours == theirs


def test_permutation():
    p = vl_rand_permute_indexes(vl_rand_new(3), 50)
    assert sorted(p.tolist()) == list(range(50))
    assert not np.array_equal(p, np.arange(50))
