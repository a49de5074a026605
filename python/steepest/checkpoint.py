"""Checkpoints: the model's parameters, the optimizer's and the scheduler's state in one file.

    steepest.save("run.ckpt", model=params, optimizer=opt, scheduler=sched, extra={"epoch": 3})
    extra = steepest.load("run.ckpt", model=params, optimizer=opt, scheduler=sched)

The file is a NumPy ``.npz`` archive of plain arrays (read with ``allow_pickle=False``: no code is
ever unpickled) plus one entry, ``__steepest__``, holding UTF-8 JSON metadata: the format name
and version, the type of the optimizer and of the scheduler, each parameter's name, shape and
dtype, and the state dicts with every array replaced by a reference to its archive entry. It is
written to a temporary file in the same directory, flushed to disk, then renamed over ``path``
(``os.replace``), so a crash mid-write leaves the previous checkpoint intact.

Names: ``model`` is a mapping ``{name: array or parameter object}`` or an object with
``named_parameters()``; the optimizer's state is then keyed by those names (a parameter the
model does not name is keyed ``#<its index>``), so a rebuilt optimizer whose parameters come in
another order within their groups loads correctly. Without a model the names are the indices.

A state dict may hold numbers, strings, None, lists, tuples, dicts and NumPy arrays, nested;
anything else (a function, an object) is refused when saving. Loading checks the format
version, the optimizer's and the scheduler's types (wrappers included: ``Accumulate(AdamW)``),
the parameter names and shapes, each stored array against what it is loaded into, and every
state dict (through the objects' own checks), all before anything changes; it raises
ValueError (or TypeError) naming the mismatch.
"""

import json
import numbers
import os
import tempfile
from collections.abc import Mapping

import numpy as np

from .optim.optimizer import _data, prepare_load

FORMAT = "steepest-checkpoint"
VERSION = 1
_META = "__steepest__"


# -- state dicts <-> JSON with array references -----------------------------------------------

def _encode(obj, arrays, where):
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError(f"steepest.save: {where} is an object array, which would need pickle")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, arrays, f"{where}[{k!r}]") for k, v in obj.items()}
        return {"__items__": [[_encode(k, arrays, where), _encode(v, arrays, f"{where}[{k!r}]")]
                              for k, v in obj.items()]}
    raise TypeError(f"steepest.save: {where} is a {type(obj).__name__}; a checkpoint holds only "
                    "numbers, strings, None, lists, tuples, dicts and arrays")


def _decode(obj, arrays):
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__array__" in obj:
        return arrays[obj["__array__"]]
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {_freeze(_decode(k, arrays)): _decode(v, arrays) for k, v in obj["__items__"]}
    return {k: _decode(v, arrays) for k, v in obj.items()}


def _freeze(key):
    return tuple(key) if isinstance(key, list) else key


# -- what is saved ------------------------------------------------------------------------------

def _describe(obj):
    """``AdamW``; ``Accumulate(AdamW)`` for a wrapper; ``SequentialLR[LinearLR, StepLR]``."""
    name = type(obj).__name__
    inner = getattr(obj, "optimizer", None)
    if hasattr(obj, "_schedulers"):
        return f"{name}[{', '.join(_describe(s) for s in obj._schedulers)}]"
    if inner is not None and hasattr(obj, "param_groups"):
        return f"{name}({_describe(inner)})"
    return name


def _named(model):
    """``{name: parameter}`` of a model (a mapping, or an object with named_parameters())."""
    if model is None:
        return {}
    if isinstance(model, Mapping):
        return dict(model)
    if hasattr(model, "named_parameters"):
        return dict(model.named_parameters())
    raise TypeError("model must be a mapping {name: array} or have named_parameters(), got "
                    f"{type(model).__name__}")


def _param_names(optimizer, named):
    """The optimizer's parameters in flat order and a name for each."""
    by_id = {id(_data(p)): name for name, p in named.items()}
    params = [p for g in optimizer.param_groups for p in g["params"]]
    return params, [by_id.get(id(_data(p)), f"#{i}") for i, p in enumerate(params)]


def _is_optimizer_state(obj):
    """torch's layout, with steepest's step counts (Optimizer.state_dict) or without."""
    return (isinstance(obj, dict)
            and {"state", "param_groups"} <= set(obj)
            <= {"state", "param_groups", "applied_steps", "skipped_steps"}
            and isinstance(obj["param_groups"], list))


def _by_name(tree, names):
    """Rekey every optimizer state dict (torch's layout) found in ``tree`` by parameter name."""
    if _is_optimizer_state(tree):
        groups = [dict(g, params=[names[i] for i in g["params"]]) for g in tree["param_groups"]]
        return {**tree, "state": {names[i]: s for i, s in tree["state"].items()},
                "param_groups": groups}
    if isinstance(tree, dict):
        return {k: _by_name(v, names) for k, v in tree.items()}
    return tree


def _by_index(tree, optimizer, names):
    """The inverse of _by_name for the current optimizer: names back to its flat indices,
    groups checked to hold the same names."""
    if _is_optimizer_state(tree):
        if len(tree["param_groups"]) != len(optimizer.param_groups):
            raise ValueError(f"steepest.load: the checkpoint has {len(tree['param_groups'])} "
                             f"parameter groups, the optimizer {len(optimizer.param_groups)}")
        index = {name: i for i, name in enumerate(names)}
        groups, first = [], 0
        for g, (saved, group) in enumerate(zip(tree["param_groups"], optimizer.param_groups)):
            ours = names[first:first + len(group["params"])]
            if sorted(saved["params"]) != sorted(ours):
                missing = sorted(set(saved["params"]) - set(ours))
                extra = sorted(set(ours) - set(saved["params"]))
                raise ValueError(f"steepest.load: parameter group {g} of the checkpoint and of "
                                 f"the optimizer differ: only in the checkpoint {missing}, only "
                                 f"in the optimizer {extra}")
            groups.append(dict(saved, params=list(range(first, first + len(ours)))))
            first += len(ours)
        return {**tree, "state": {index[n]: s for n, s in tree["state"].items()},
                "param_groups": groups}
    if isinstance(tree, dict):
        return {k: _by_index(v, optimizer, names) for k, v in tree.items()}
    return tree


def _shapes(names, params):
    return {n: {"shape": list(_data(p).shape), "dtype": str(_data(p).dtype)}
            for n, p in zip(names, params)}


# -- save ---------------------------------------------------------------------------------------

def save(path, *, optimizer=None, scheduler=None, model=None, extra=None):
    """Write the model's parameters, the optimizer's and the scheduler's state, and ``extra``
    (any data: numbers, strings, lists, dicts, arrays) to ``path``, atomically."""
    named = _named(model)
    arrays = {}
    meta = {"format": FORMAT, "version": VERSION}
    if model is not None:
        meta["model"] = {
            "params": _shapes(named, named.values()),
            "arrays": {n: _encode(_data(p), arrays, f"model[{n!r}]") for n, p in named.items()},
        }
    if optimizer is not None:
        params, names = _param_names(optimizer, named)
        if len(set(names)) != len(names):
            raise ValueError("steepest.save: the model gives two optimizer parameters one name")
        meta["optimizer"] = {
            "type": _describe(optimizer), "params": _shapes(names, params),
            "state": _encode(_by_name(optimizer.state_dict(), names), arrays, "optimizer state"),
        }
    if scheduler is not None:
        meta["scheduler"] = {"type": _describe(scheduler),
                             "state": _encode(scheduler.state_dict(), arrays, "scheduler state")}
    if extra is not None:
        meta["extra"] = _encode(extra, arrays, "extra")
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    _write_atomically(os.fspath(path), {_META: blob, **arrays})


def _write_atomically(path, arrays):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# -- load ---------------------------------------------------------------------------------------

def _read(path):
    with np.load(path, allow_pickle=False) as archive:
        if _META not in archive.files:
            raise ValueError(f"steepest.load: {path} is not a steepest checkpoint (no {_META})")
        meta = json.loads(archive[_META].tobytes().decode("utf-8"))
        arrays = {k: archive[k] for k in archive.files if k != _META}
    if meta.get("format") != FORMAT:
        raise ValueError(f"steepest.load: {path} is not a steepest checkpoint")
    version = meta.get("version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"steepest.load: {path} has an invalid format version {version!r}")
    if version > VERSION:
        raise ValueError(f"steepest.load: {path} has checkpoint format version {version}, newer "
                         f"than this steepest reads (up to {VERSION}); upgrade steepest")
    return meta, arrays


def _check_shapes(what, saved, names, params):
    for name, p in zip(names, params):
        if name not in saved:
            hint = " (it names its parameters: pass the model)" if name.startswith("#") else ""
            raise ValueError(f"steepest.load: the checkpoint has no {what} parameter "
                             f"{name!r}{hint}")
        shape = tuple(saved[name]["shape"])
        if shape != _data(p).shape:
            raise ValueError(f"steepest.load: {what} parameter {name!r} has shape {shape} in "
                             f"the checkpoint, {_data(p).shape} here")
    unknown = sorted(set(saved) - set(names))
    if unknown:
        raise ValueError(f"steepest.load: the checkpoint has {what} parameters {unknown} that "
                         "are not here")


def _section(meta, key, path):
    if key not in meta:
        raise ValueError(f"steepest.load: {path} holds no {key}")
    return meta[key]


def _model_arrays(meta, arrays, named, path):
    """{name: the stored array} for every model parameter, each checked against the parameter
    itself (its shape exactly: no broadcasting; a floating-point dtype: no silent cast from
    int, bool or complex), not only against the metadata."""
    saved = _section(meta, "model", path)
    _check_shapes("model", saved["params"], list(named), list(named.values()))
    refs = saved.get("arrays")
    if not isinstance(refs, dict):
        raise ValueError(f"steepest.load: {path}: its model metadata has no table of arrays")
    stored = {}
    for name, p in named.items():
        if name not in refs:
            raise ValueError(f"steepest.load: {path} holds no array for model parameter "
                             f"{name!r}")
        a = _decode(refs[name], arrays)
        data = _data(p)
        if not isinstance(a, np.ndarray):
            raise ValueError(f"steepest.load: model parameter {name!r} is a "
                             f"{type(a).__name__} in the checkpoint, not an array")
        if a.shape != data.shape:
            raise ValueError(f"steepest.load: the array of model parameter {name!r} has shape "
                             f"{a.shape}, the parameter has {data.shape}")
        if a.dtype.kind != "f":
            raise ValueError(f"steepest.load: the array of model parameter {name!r} has dtype "
                             f"{a.dtype}, expected a floating-point array (the parameter is "
                             f"{data.dtype})")
        stored[name] = a
    return stored


def _writable_parameters(named):
    for name, p in named.items():
        data = _data(p)
        if not isinstance(data, np.ndarray):
            raise TypeError(f"model[{name!r}]: expected an ndarray (or an object with an "
                            f"ndarray .data), got {type(data).__name__}")
        if not data.flags.writeable:
            raise ValueError(f"model[{name!r}] is read-only, so it cannot be loaded into")


def load(path, *, optimizer=None, scheduler=None, model=None):
    """Restore, in place, what ``save`` wrote for each object given; returns ``extra`` (None if
    none was saved).

    Everything is checked before anything changes: the file, then the model's arrays, the
    optimizer's and the scheduler's state (each object's own ``load_state_dict`` checks
    included); then all of it is applied."""
    named = _named(model)
    _writable_parameters(named)
    meta, arrays = _read(os.fspath(path))
    apply = []
    if model is not None:
        stored = _model_arrays(meta, arrays, named, path)
    if optimizer is not None:
        saved = _section(meta, "optimizer", path)
        if saved["type"] != _describe(optimizer):
            raise ValueError(f"steepest.load: the checkpoint holds the state of "
                             f"{saved['type']}, not of {_describe(optimizer)}")
        params, names = _param_names(optimizer, named)
        _check_shapes("optimizer", saved["params"], names, params)
        state = _by_index(_decode(saved["state"], arrays), optimizer, names)
        apply.append(prepare_load(optimizer, state))
    if scheduler is not None:
        saved = _section(meta, "scheduler", path)
        if saved["type"] != _describe(scheduler):
            raise ValueError(f"steepest.load: the checkpoint holds the state of scheduler "
                             f"{saved['type']}, not of {_describe(scheduler)}")
        apply.append(prepare_load(scheduler, _decode(saved["state"], arrays)))
    extra = _decode(meta["extra"], arrays) if "extra" in meta else None
    for step in apply:  # none of these can fail: every check has run
        step()
    if model is not None:
        for name, p in named.items():
            np.copyto(_data(p), stored[name], casting="same_kind")
    return extra
