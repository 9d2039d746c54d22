"""cyvlfeat's GMM, Fisher vector, VLAD, k-means and integer k-means functions, on pyvl.

Code written for cyvlfeat (https://github.com/menpo/cyvlfeat) runs unchanged
after swapping the imports::

    # from cyvlfeat.gmm import gmm
    # from cyvlfeat.fisher import fisher
    # from cyvlfeat.vlad import vlad
    # from cyvlfeat.kmeans import kmeans, kmeans_quantize
    # from cyvlfeat.kmeans import ikmeans, ikmeans_push, hikmeans, hikmeans_push
    from pyvl.compat.cyvlfeat import gmm, fisher, vlad, kmeans, kmeans_quantize
    from pyvl.compat.cyvlfeat import ikmeans, ikmeans_push, hikmeans, hikmeans_push

    means, covars, priors, ll, posteriors = gmm(x, n_clusters=64)
    enc = fisher(x, means, covars, priors, improved=True)

The functions have cyvlfeat's names, argument names and order, defaults and
return values; arrays are row-major as in cyvlfeat (one data point per row):
data (N, D), means/covariances/centers (K, D), priors (K,), VLAD assignments
(N, K). They call pyvl's VLFeat-compatible API (:mod:`pyvl.gmm`,
:mod:`pyvl.kmeans`, :mod:`pyvl.fisher`, :mod:`pyvl.vlad`), so for the same
settings and the same seed they return what those functions return, and
what VLFeat 0.9.21 returns (except where the approximate, ANN, k-means is
involved: libgmm's kd-forest is its own).

Randomness (the GMM 'rand' and 'kmeans' initialisations, k-means seeding,
the ANN kd-trees) draws from VLFeat's per-thread MT19937 generator, as in
cyvlfeat; seed it for repeatable results::

    from pyvl.random import vl_get_rand, vl_rand_seed
    vl_rand_seed(vl_get_rand(), 0)

Bad arguments raise ``ValueError`` with a message naming the argument.
Where cyvlfeat misbehaves, these functions follow VLFeat's MATLAB toolbox
instead (see ``docs/compat.md``):

* ``gmm``: giving ``init_priors``, ``init_means`` and ``init_covars`` selects
  the custom initialisation (cyvlfeat fails with "truth value of an array is
  ambiguous", or silently ignores them); giving them together with an
  explicit ``init_mode`` other than ``'custom'`` is an error;
  ``covariance_bound`` may be a Python float or a length-D array of any
  float dtype (always passed to C as doubles); the log-likelihood is a
  Python ``float`` (double), never truncated to float32.
* ``vlad``: the number of rows of ``assignments`` is checked; the verbose
  code dimension is K*D.
* ``kmeans``/``kmeans_quantize``: ``num_centers`` must be >= 1; integer
  arguments may be numpy integers; ``min_energy_variation`` may be an int.
* ``ikmeans``/``hikmeans`` (8-bit data, :mod:`pyvl.ikmeans`,
  :mod:`pyvl.hikmeans`): see :mod:`.ikmeans` and :mod:`.hikmeans`.
"""

from __future__ import annotations

from .fisher import fisher
from .gmm import gmm
from .hikmeans import hikmeans, hikmeans_push
from .ikmeans import ikmeans, ikmeans_push
from .kmeans import kmeans, kmeans_quantize
from .vlad import vlad

__all__ = [
    "fisher", "gmm", "hikmeans", "hikmeans_push", "ikmeans", "ikmeans_push", "kmeans",
    "kmeans_quantize", "vlad",
]
