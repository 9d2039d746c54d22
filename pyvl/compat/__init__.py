"""Drop-in replacements for other VLFeat wrappers, built on pyvl.

* :mod:`pyvl.compat.cyvlfeat`: cyvlfeat's ``gmm``, ``fisher``, ``vlad``,
  ``kmeans`` and ``kmeans_quantize`` (same names, arguments, defaults and
  return values), so code written for cyvlfeat runs on pyvl by changing the
  import. See ``docs/compat.md``.
"""
