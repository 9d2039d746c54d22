"""The object layer: the only part of pyvl that talks to libgmm.

``lib`` loads the shared library and holds the one ctypes signature table;
``errors`` maps its error codes to exceptions; ``arrays`` turns user input
into the arrays C reads; ``handle`` owns C objects; ``enums`` names C
constants; ``objects`` (GMM, KMeans), ``ikmeans`` (IKMFilt, HIKMTree),
``rand``, ``encoding`` and ``runtime`` are the Python faces of the C objects and functions. Everything above this
package goes through those; only modules of this package import ``lib``
(see docs/architecture.md).
"""
