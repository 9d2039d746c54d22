"""The training layer: one driver per model, whatever the data source.

``params`` validates parameters and turns ``random_state`` into seeds;
``data`` is where the data comes from (one array in memory, chunks, a Dask
array) and how passes over chunks compute statistics; ``gmm`` and ``kmeans``
are the fit drivers (initialisation, ``n_init`` best-of, EM / Lloyd,
restarts); ``progress`` the iteration callback (progress bars, convergence,
Ctrl-C). It uses only the object layer (``pyvl._core``) and numpy; the
scikit-learn estimators, the encoders and the command line sit above it.
"""
