"""pyvl.FisherVectorEncoder / VladEncoder / BovwEncoder: the encoders as
scikit-learn transformers of lists of per-image descriptor arrays.

* A real task: scikit-learn's digits, dense 4x4 patches as descriptors, in a
  Pipeline with a logistic regression (accuracy far above the 10 % of chance),
  through clone, pickling and cross-validation.
* The transformers are pyvl's estimators' codebooks in the encoders: the same
  parameters train bit for bit the same codebook, and the encodings are the
  encoders' (one C batch call per transform); a trained model can be given.
* scikit-learn's conventions: the estimator checks that do not need 2-D input,
  get_params/set_params/clone, fitted attributes, feature names, validation
  in fit, errors.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from helpers import VLFEAT, image_sizes, images
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks as checks

import pyvl
import pyvl.encoders as E

D = 5

#: the transformers train VLFeat's GMM (diagonal, VLFeat's EM) by default


# 12 images of 1..59 descriptors, one of them empty
IMAGE_SIZES = image_sizes(12, low=1)


def patches(image: np.ndarray, size: int = 4) -> np.ndarray:
    """All size x size patches of an image, flattened: ((H-size+1)*(W-size+1), size*size)."""
    h, w = image.shape
    return np.stack(
        [image[i:i + size, j:j + size].ravel() for i in range(h - size + 1)
         for j in range(w - size + 1)]
    )


@pytest.fixture(scope="module")
def digits():
    """Digits as descriptor lists: 25 patches of 16 values per 8x8 image; a fixed split."""
    data = load_digits()
    X = [patches(im) for im in data.images]
    y = data.target
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:1200], order[1200:]
    return [X[i] for i in train], y[train], [X[i] for i in test], y[test]


SMALL = [
    pyvl.FisherVectorEncoder(n_components=3, max_iter=20, random_state=0),
    pyvl.VladEncoder(n_clusters=4, max_iter=20, random_state=0),
    pyvl.BovwEncoder(n_clusters=6, max_iter=20, random_state=0),
    pyvl.BovwEncoder(n_clusters=5, codebook="gmm", mode="soft", normalized=True, random_state=0),
]
IDS = ["fisher", "vlad", "bovw", "bovw-gmm"]


@pytest.fixture(params=range(len(SMALL)), ids=IDS)
def transformer(request):
    return clone(SMALL[request.param])


# ---- a real task ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "step, minimum",
    [
        (pyvl.FisherVectorEncoder(n_components=8, random_state=0), 0.9),
        (pyvl.VladEncoder(n_clusters=16, random_state=0), 0.9),
        (pyvl.BovwEncoder(n_clusters=64, normalized=True, random_state=0), 0.85),
    ],
    ids=["fisher", "vlad", "bovw"],
)
def test_digits_pipeline(digits, step, minimum):
    Xtr, ytr, Xte, yte = digits
    pipe = Pipeline([("enc", step), ("clf", LogisticRegression(max_iter=2000))])
    assert pipe.fit(Xtr, ytr) is pipe
    accuracy = pipe.score(Xte, yte)
    assert accuracy > minimum, accuracy  # chance: 0.1
    features = pipe[:-1].get_feature_names_out()
    assert features.shape == (pipe["enc"].output_dim_,)

    # clone: same parameters, not fitted; refitting gives the same encoder (seeded)
    twin = clone(pipe)
    assert twin.get_params()["enc"].get_params() == step.get_params()
    with pytest.raises(NotFittedError):
        twin.predict(Xte)
    refit = twin["enc"].fit(Xtr)
    np.testing.assert_array_equal(refit.transform(Xte), pipe["enc"].transform(Xte))

    # pickling the fitted pipeline
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict_proba(Xte), pipe.predict_proba(Xte))
    np.testing.assert_array_equal(restored["enc"].transform(Xte), pipe["enc"].transform(Xte))


def test_cross_validation_and_grid_search_on_lists(digits):
    Xtr, ytr, _, _ = digits
    X, y = Xtr[:450], ytr[:450]
    pipe = Pipeline([("fv", pyvl.FisherVectorEncoder(n_components=2, random_state=0)),
                     ("clf", RidgeClassifier())])
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.5)
    search = GridSearchCV(pipe, {"fv__n_components": [2, 4], "fv__improved": [True, False]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["fv__n_components"] in (2, 4)
    best = search.best_params_["fv__n_components"]
    assert search.best_estimator_["fv"].output_dim_ == 2 * best * 16


# ---- the transformers are the estimators' codebooks in the encoders ------------------------


@pytest.mark.parametrize(
    "transformer_, train, encoder",
    [
        (pyvl.FisherVectorEncoder(3, improved=False, fast=True, init_params="k-means++",
                                  max_iter=7, n_init=2, covariance_lower_bound=1e-3,
                                  random_state=11),
         pyvl.GaussianMixture(3, init_params="k-means++", max_iter=7, n_init=2,
                              covariance_lower_bound=1e-3, random_state=11, dtype="float32",
                              **VLFEAT),
         dict(cls=E.FisherEncoder, improved=False, fast=True)),
        (pyvl.FisherVectorEncoder(4, square_root=True, improved=False, dtype="float64",
                                  random_state=3),
         pyvl.GaussianMixture(4, random_state=3, dtype="float64", **VLFEAT),
         dict(cls=E.FisherEncoder, square_root=True, improved=False, dtype="float64")),
        (pyvl.VladEncoder(5, normalize_components=True, square_root=True, algorithm="elkan",
                          max_iter=9, n_init=2, random_state=4),
         pyvl.KMeans(5, algorithm="elkan", max_iter=9, n_init=2, random_state=4, dtype="float32"),
         dict(cls=E.VladEncoder, normalize_components=True, square_root=True)),
        (pyvl.VladEncoder(4, unnormalized=True, normalize_mass=True, dtype=np.float64,
                          random_state=2),
         pyvl.KMeans(4, random_state=2, dtype=np.float64),
         dict(cls=E.VladEncoder, unnormalized=True, normalize_mass=True, dtype="float64")),
        (pyvl.BovwEncoder(6, mode="soft", sigma=1.5, frequencies=True, square_root=True,
                          random_state=5),
         pyvl.KMeans(6, random_state=5, dtype="float32"),
         dict(cls=E.BovwEncoder, mode="soft", sigma=1.5, frequencies=True, square_root=True)),
        (pyvl.BovwEncoder(4, codebook="gmm", init_params="kmeans", covariance_lower_bound=1e-2,
                          max_iter=5, random_state=6),
         pyvl.GaussianMixture(4, covariance_lower_bound=1e-2, max_iter=5, random_state=6,
                              dtype="float32", **VLFEAT),
         dict(cls=E.BovwEncoder, codebook="gmm")),
    ],
    ids=["fisher-fast", "fisher-f64", "vlad-elkan", "vlad-f64", "bovw-soft", "bovw-gmm"],
)
def test_transformer_is_the_estimator_codebook_in_the_encoder(transformer_, train, encoder):
    """fit trains the codebook with pyvl's estimator of the same parameters (one
    vocabulary), and transform is the encoder on it, bit for bit."""
    import warnings

    X = images(IMAGE_SIZES, D)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = transformer_.fit_transform(X)
        train.fit(np.concatenate(X))
    options = dict(encoder)
    cls = options.pop("cls")
    if hasattr(train, "cluster_centers_"):
        enc = cls.from_centers(train.cluster_centers_, **options)
    else:
        enc = cls.from_gmm(train.means_, train.covariances_, train.weights_, **options)
    np.testing.assert_array_equal(out, enc.encode_batch(X))
    assert out.dtype == enc.np_dtype and out.shape == (len(X), enc.output_dim)
    for key, value in enc.get_state().items():
        np.testing.assert_array_equal(transformer_.encoder_.get_state()[key], value)


def test_a_trained_model_is_used_as_given():
    """model=: a fitted pyvl or scikit-learn mixture / k-means is the codebook; fit
    trains nothing; clone() unfits it unless it is frozen (FrozenEstimator)."""
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.frozen import FrozenEstimator
    from sklearn.mixture import GaussianMixture as SkGM

    X = images(IMAGE_SIZES, D)
    data = np.concatenate(X)
    gm = pyvl.GaussianMixture(3, random_state=0, **VLFEAT).fit(data)
    sk_gm = SkGM(3, covariance_type="diag", random_state=0).fit(data)
    sk_km = SkKMeans(4, random_state=0, n_init=1).fit(data)
    for model, t in ((gm, pyvl.FisherVectorEncoder), (sk_gm, pyvl.FisherVectorEncoder),
                     (sk_km, pyvl.VladEncoder), (sk_gm, pyvl.BovwEncoder)):
        kw = {"codebook": "gmm"} if t is pyvl.BovwEncoder else {}
        fitted = t(model=model, dtype="float64", **kw).fit(X)
        state = fitted.encoder_.get_state()
        if "centers" in state:
            np.testing.assert_array_equal(state["centers"], model.cluster_centers_)
        else:
            np.testing.assert_array_equal(state["means"], model.means_)
            np.testing.assert_array_equal(state["priors"], model.weights_)
        assert fitted.encoder_.n_components if t is pyvl.FisherVectorEncoder else True
    with pytest.raises(ValueError, match="diag"):
        pyvl.FisherVectorEncoder(model=SkGM(2, random_state=0).fit(data)).fit(X)
    with pytest.raises(ValueError, match="FrozenEstimator"):
        clone(pyvl.FisherVectorEncoder(model=gm)).fit(X)
    frozen = clone(pyvl.FisherVectorEncoder(model=FrozenEstimator(gm), dtype="float64"))
    np.testing.assert_array_equal(frozen.fit(X).encoder_.get_state()["means"], gm.means_)
    y = np.arange(len(X)) % 2
    pipe = Pipeline([("fv", pyvl.FisherVectorEncoder(model=FrozenEstimator(gm))),
                     ("clf", RidgeClassifier())])
    GridSearchCV(pipe, {"fv__improved": [True, False]}, cv=2).fit(X, y)


def test_pyramid_and_one_array_as_one_image():
    """With a pyramid, each image is (descriptors, positions, size) and the output is
    the encoder's pyramid encoding; a single (n, D) array is one image."""
    X = images(IMAGE_SIZES, D)
    rng = np.random.default_rng(4)
    pos = [rng.uniform(0, 10, size=(len(x), 2)) for x in X]
    t = pyvl.VladEncoder(3, pyramid=[(1, 1), (2, 2)], random_state=0)
    out = t.fit_transform([(x, p, (10, 10)) for x, p in zip(X, pos)])
    enc = E.VladEncoder.from_centers(t.cluster_centers_, pyramid=[(1, 1), (2, 2)])
    np.testing.assert_array_equal(out, enc.encode_batch(X, pos, (10, 10)))
    assert out.shape == (len(X), 5 * 3 * D) and len(t.get_feature_names_out()) == 5 * 3 * D
    with pytest.raises(TypeError, match="tuple"):
        t.transform(X)
    flat = pyvl.FisherVectorEncoder(2, random_state=0).fit(X)
    np.testing.assert_array_equal(flat.transform(X[0]), flat.transform([X[0]]))
    one = pyvl.FisherVectorEncoder(2, random_state=0).fit(np.concatenate(X))
    np.testing.assert_array_equal(one.means_, flat.means_)
    with pytest.raises(ValueError, match=r"X\[0\] has shape"):
        flat.transform([np.zeros((3, D + 1))])
    # one-dimensional descriptors: (n, 1) could be one image or n images
    one_d = pyvl.FisherVectorEncoder(2, random_state=0).fit([x[:, :1] for x in X])
    with pytest.raises(TypeError, match="1-dimensional"):
        one_d.transform(X[0][:, :1])
    assert one_d.transform([X[0][:, :1]]).shape == (1, 2 * 2)


def test_fitted_attributes(transformer):
    X = images(IMAGE_SIZES, D)
    assert not any(k.endswith("_") for k in vars(transformer))
    assert transformer.fit(X, y=np.arange(len(X))) is transformer  # y is ignored
    enc = transformer.encoder_
    assert isinstance(enc, E.Encoder) and enc.is_fitted
    assert transformer.descriptor_dim_ == D
    assert transformer.output_dim_ == enc.output_dim
    state = enc.get_state()
    if "centers" in state:
        np.testing.assert_array_equal(transformer.cluster_centers_, state["centers"])
    else:
        np.testing.assert_array_equal(transformer.means_, state["means"])
        np.testing.assert_array_equal(transformer.covariances_, state["covariances"])
        np.testing.assert_array_equal(transformer.priors_, state["priors"])


def test_transform_input_forms(transformer):
    X = images(IMAGE_SIZES, D)
    transformer.fit(X)
    Y = transformer.transform(X)
    assert Y.shape == (len(X), transformer.output_dim_)
    assert np.all(Y[3] == 0)  # the empty image
    # tuples, float32, 3-D arrays, object arrays of arrays, no images
    np.testing.assert_array_equal(transformer.transform(tuple(X)), Y)
    equal = np.stack([x[:10] for x in X if len(x) >= 10])
    np.testing.assert_array_equal(transformer.transform(equal), transformer.transform(list(equal)))
    objects = np.empty(len(X), dtype=object)
    objects[:] = X
    np.testing.assert_array_equal(transformer.transform(objects), Y)
    assert transformer.transform([]).shape == (0, transformer.output_dim_)
    np.testing.assert_array_equal(transformer.transform(X[0]), Y[:1])  # one image
    with pytest.raises(ValueError, match="dimension"):
        transformer.transform([np.zeros((4, D + 1))])
    with pytest.raises(ValueError):
        transformer.transform([np.full((4, D), np.nan)])


def test_unfitted_and_empty(transformer):
    with pytest.raises(NotFittedError):
        transformer.transform(images(IMAGE_SIZES, D))
    with pytest.raises(NotFittedError):
        transformer.get_feature_names_out()
    with pytest.raises(ValueError, match="empty"):
        transformer.fit([])
    with pytest.raises(TypeError, match="list of per-image"):
        transformer.fit(3)


def test_parameters_are_validated_in_fit_not_init():
    X = images(IMAGE_SIZES, D)
    bad = [
        pyvl.FisherVectorEncoder(n_components=0),
        pyvl.FisherVectorEncoder(init_params="nope"),
        pyvl.FisherVectorEncoder(layout="nope"),
        pyvl.FisherVectorEncoder(max_iter=-1),
        pyvl.FisherVectorEncoder(dtype="int8"),
        pyvl.FisherVectorEncoder(random_state=-1),
        pyvl.FisherVectorEncoder(random_state="seed"),
        pyvl.VladEncoder(n_clusters=2.5),
        pyvl.VladEncoder(algorithm="kd"),
        pyvl.VladEncoder(n_init=0),
        pyvl.BovwEncoder(mode="soft"),  # needs sigma
        pyvl.BovwEncoder(sigma=1.0),  # only with soft votes
        pyvl.BovwEncoder(codebook="tree"),
    ]
    for t in bad:
        with pytest.raises((ValueError, TypeError)):
            t.fit(X)
        assert not hasattr(t, "encoder_")


def test_random_state_forms():
    X = images(IMAGE_SIZES, D)
    a = pyvl.VladEncoder(4, random_state=np.random.RandomState(8)).fit_transform(X)
    b = pyvl.VladEncoder(4, random_state=np.random.RandomState(8)).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    c = pyvl.VladEncoder(4, random_state=2**32 - 1).fit_transform(X)
    assert c.shape == a.shape


def test_get_set_params_and_clone(transformer):
    params = transformer.get_params()
    assert clone(transformer).get_params() == params
    transformer.fit(images(IMAGE_SIZES, D))
    twin = clone(transformer)
    assert not hasattr(twin, "encoder_")
    key = "n_components" if "n_components" in params else "n_clusters"
    assert twin.set_params(**{key: params[key] + 1}) is twin
    twin.fit(images(IMAGE_SIZES, D))
    state = twin.encoder_.get_state()
    assert next(iter(state.values())).shape[0] == params[key] + 1
    with pytest.raises(ValueError):
        twin.set_params(bogus=1)


@pytest.mark.parametrize("cls", [pyvl.FisherVectorEncoder, pyvl.VladEncoder, pyvl.BovwEncoder])
@pytest.mark.parametrize(
    "check",
    [
        "check_no_attributes_set_in_init",
        "check_get_params_invariance",
        "check_set_params",
        "check_estimator_cloneable",
        "check_estimator_repr",
        "check_do_not_raise_errors_in_init_or_set_params",
        "check_mixin_order",
        "check_valid_tag_types",
        "check_estimator_tags_renamed",
        "check_parameters_default_constructible",
    ],
)
def test_sklearn_checks_that_do_not_need_2d_input(cls, check):
    getattr(checks, check)(cls.__name__, cls())


def test_tags():
    tags = pyvl.FisherVectorEncoder().__sklearn_tags__()
    assert not tags.input_tags.two_d_array
    assert tags.requires_fit


# ---- feature names ------------------------------------------------------------------------


def test_feature_names_follow_the_layout():
    X = images(IMAGE_SIZES, D)
    k = 3
    fv = pyvl.FisherVectorEncoder(k, random_state=0).fit(X)
    names = fv.get_feature_names_out()
    assert names.dtype == object and len(set(names)) == names.size == 2 * k * D
    assert names[0] == "fv_mu_k0_d0"
    assert names[2 * D + 4] == "fv_mu_k2_d4"
    assert names[k * D + 1 * D + 3] == "fv_sigma_k1_d3"
    assert names[-1] == f"fv_sigma_k{k - 1}_d{D - 1}"

    vlad = pyvl.VladEncoder(4, random_state=0).fit(X)
    names = vlad.get_feature_names_out()
    assert list(names[:D + 1]) == [f"vlad_k0_d{j}" for j in range(D)] + ["vlad_k1_d0"]
    assert names.size == len(set(names)) == 4 * D

    bovw = pyvl.BovwEncoder(6, random_state=0).fit(X)
    assert list(bovw.get_feature_names_out()) == [f"bovw_k{j}" for j in range(6)]

    dims = ["x", "y", "z", "u", "v"]
    assert vlad.get_feature_names_out(dims)[D + 2] == "vlad_k1_z"
    assert fv.get_feature_names_out(dims)[k * D] == "fv_sigma_k0_x"
    with pytest.raises(ValueError, match="input_features"):
        vlad.get_feature_names_out(["a", "b"])


def test_feature_names_match_the_fisher_blocks():
    """The column named fv_mu_k{c}_d{j} is the mean gradient of component c, dimension j:
    with one image of one descriptor, fast mode and no normalisation it is
    (x_j - mu_cj) / sigma_cj / sqrt(prior_c) for the assigned component, 0 elsewhere."""
    X = images(IMAGE_SIZES, D)
    fv = pyvl.FisherVectorEncoder(3, improved=False, fast=True, dtype="float64",
                                  random_state=0).fit(X)
    x = X[0][:1]
    row = fv.transform([x])[0]
    names = list(fv.get_feature_names_out())
    c = int(np.argmax(np.abs(row)) // D) % 3
    for j in range(D):
        sigma = np.sqrt(fv.covariances_[c, j])
        expected = (x[0, j] - fv.means_[c, j]) / sigma / np.sqrt(fv.priors_[c])
        assert row[names.index(f"fv_mu_k{c}_d{j}")] == pytest.approx(expected, rel=1e-9)


# ---- persistence ------------------------------------------------------------------------------


def test_save_load_and_pickle(transformer, tmp_path):
    X = images(IMAGE_SIZES, D)
    transformer.fit(X)
    path = tmp_path / "model.npz"
    transformer.save(path)
    for restored in (type(transformer).load(path), pyvl.io.load(path),
                     pickle.loads(pickle.dumps(transformer))):
        assert type(restored) is type(transformer)
        assert restored.get_params() == transformer.get_params()
        np.testing.assert_array_equal(restored.transform(X), transformer.transform(X))
        assert list(restored.get_feature_names_out()) == list(transformer.get_feature_names_out())
    # unfitted ones too
    unfitted = clone(transformer)
    unfitted.save(path)
    back = pyvl.io.load(path)
    assert back.get_params() == unfitted.get_params() and not hasattr(back, "encoder_")


def test_top_level_names():
    import pyvl.transformers as T

    assert pyvl.FisherVectorEncoder is T.FisherVectorEncoder
    assert pyvl.VladEncoder is T.VladEncoder and pyvl.VladEncoder is not E.VladEncoder
    assert pyvl.BovwEncoder is T.BovwEncoder
    assert {"FisherVectorEncoder", "VladEncoder", "BovwEncoder"} <= set(pyvl.__all__)
