"""Wrote the model files in this folder with pyvl 0.1.0 (format version 1, commit
5f52034), with the outputs those models gave on ``probe.npy``
(``expected.npz``). tests/test_persistence_compat.py checks that today's pyvl
still loads them and gives the same outputs. Kept for the record; rerunning it
with a newer pyvl would overwrite the fixtures."""

import os
import warnings

import numpy as np

import pyvl
import pyvl.encoders as E

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)
x = (rng.normal(size=(600, 7)) * rng.uniform(0.5, 2, 7)).astype(np.float32)
images = [x[i * 50 : (i + 1) * 50] for i in range(4)]
probe = x[:40]
np.save(os.path.join(here, "probe.npy"), probe)
expected = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    objs = {
        "gmm_float32": pyvl.GaussianMixture(4, random_state=0).fit(x),
        "gmm_float64": pyvl.GaussianMixture(3, random_state=1, covariance_lower_bound=np.full(7, 0.01)).fit(x.astype(np.float64)),
        "kmeans": pyvl.KMeans(5, random_state=0, algorithm="elkan").fit(x),
        "enc_fisher": E.get("fisher", n_components=3, random_state=0).fit(x),
        "enc_vlad": E.get("vlad", n_clusters=3, random_state=0, pyramid=[(1, 1), (2, 1)]).fit(x),
        "enc_bovw": E.get("bovw", n_clusters=3, random_state=0, mode="soft", codebook="gmm").fit(x),
        "tr_fisher": pyvl.FisherVectorEncoder(n_components=3, random_state=0).fit(images),
        "tr_vlad": pyvl.VladEncoder(n_clusters=3, random_state=0).fit(images),
        "tr_bovw": pyvl.BovwEncoder(n_clusters=3, random_state=0).fit(images),
    }
for name, obj in objs.items():
    obj.save(os.path.join(here, f"{name}.npz"))
    if name.startswith("gmm"):
        expected[name] = obj.predict_proba(probe)
    elif name == "kmeans":
        expected[name] = obj.transform(probe)
    elif name.startswith("enc_"):
        pos = np.abs(rng.normal(size=(40, 2))) if "vlad" in name else None
        if pos is not None:
            np.save(os.path.join(here, "positions.npy"), pos * 10)
            expected[name] = obj.encode(probe, positions=pos * 10, image_size=(40, 40))
        else:
            expected[name] = obj.encode(probe)
    else:
        expected[name] = obj.transform([probe, probe[:10]])
np.savez(os.path.join(here, "expected.npz"), **expected)
