"""Parameters of a model file: a JSON object, with arrays, dtypes and
``RandomState`` objects as references to ``param.<name>`` members."""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from .archive import Members, ModelFileError


def encode_params(params: Mapping[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """Parameters as a JSON object; arrays, dtypes and RandomState objects become
    references to ``param.<name>`` members added to ``arrays``."""

    def enc(value: Any, name: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):
            return float(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise TypeError(f"parameter {name}: a {value.dtype} array cannot be saved")
            key = f"param.{name}"
            if key in arrays:
                raise TypeError(f"parameter {name}: only one array per parameter can be saved")
            arrays[key] = np.array(value, order="C")
            return {"__ndarray__": key}
        if isinstance(value, np.random.RandomState):
            _, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            key = f"param.{name}"
            arrays[key] = np.asarray(keys, dtype=np.uint32)
            return {
                "__random_state__": key,
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached),
            }
        is_type = isinstance(value, type) and issubclass(value, np.generic)
        if isinstance(value, np.dtype) or is_type:
            return {"__dtype__": np.dtype(value).name, "as_type": is_type}
        if isinstance(value, (list, tuple)):
            return [enc(v, name) for v in value]
        raise TypeError(
            f"parameter {name}={value!r} cannot be written to a portable file "
            "(use pickle for such objects)"
        )

    return json.dumps({str(k): enc(v, str(k)) for k, v in params.items()}, allow_nan=True)


def decode_params(text: str, members: Members) -> dict[str, Any]:
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"__params__ is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(raw, dict):
        raise ModelFileError("__params__ must be a JSON object")

    def dec(value: Any, name: str) -> Any:
        if isinstance(value, list):
            return [dec(v, name) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"__ndarray__"}:
            key = value["__ndarray__"]
            if key != f"param.{name}":
                raise ModelFileError(f"parameter {name}: bad array reference {key!r}")
            a = members.get(key)
            if a.dtype.kind not in "biuf":
                raise ModelFileError(f"parameter {name}: a {a.dtype} array")
            return a
        if set(value) == {"__random_state__", "pos", "has_gauss", "cached_gaussian"}:
            key = value["__random_state__"]
            if key != f"param.{name}":
                raise ModelFileError(f"parameter {name}: bad RandomState reference {key!r}")
            keys = members.get(key)
            pos, has_gauss, cached = value["pos"], value["has_gauss"], value["cached_gaussian"]
            if (
                keys.dtype != np.uint32
                or keys.shape != (624,)
                or not isinstance(pos, int)
                or not 0 <= pos <= 624
                or has_gauss not in (0, 1)
                or not isinstance(cached, (int, float))
            ):
                raise ModelFileError(f"parameter {name}: invalid RandomState")
            rs = np.random.RandomState()
            rs.set_state(("MT19937", keys, pos, has_gauss, float(cached)))
            return rs
        if set(value) == {"__dtype__", "as_type"}:
            if value["__dtype__"] not in ("float32", "float64"):
                raise ModelFileError(f"parameter {name}: unsupported dtype {value['__dtype__']!r}")
            dt = np.dtype(value["__dtype__"])
            return dt.type if value["as_type"] else dt
        raise ModelFileError(f"parameter {name}: unexpected JSON object {sorted(value)}")

    try:
        return {k: dec(v, k) for k, v in raw.items()}
    except RecursionError:
        raise ModelFileError("__params__ is nested too deeply") from None
