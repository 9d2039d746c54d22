"""Drop-in replacements for other VLFeat wrappers, built on pyvl.

* :mod:`pyvl.compat.cyvlfeat`: cyvlfeat's ``gmm``, ``fisher``, ``vlad``,
  ``kmeans``, ``kmeans_quantize``, ``ikmeans``, ``ikmeans_push``,
  ``hikmeans`` and ``hikmeans_push`` (same names, arguments, defaults and
  return values), so code written for cyvlfeat runs on pyvl by changing the
  import. See ``docs/compat.md``.
"""
