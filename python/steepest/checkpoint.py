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
``CheckpointError`` (a ValueError) naming the file and what is wrong.
"""

import json
import math
import numbers
import os
import tempfile
import zipfile
from collections.abc import Mapping

import numpy as np

from .optim.optimizer import _data, loadable, prepare_load

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
        key = obj["__array__"]
        if not isinstance(key, str) or key not in arrays:
            raise ValueError(f"its metadata refers to an array {key!r} that the file does not "
                             "hold")
        return arrays[key]
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays) for v in _entries(obj["__tuple__"]))
    if "__items__" in obj:
        return {_freeze(_decode(k, arrays)): _decode(v, arrays)
                for k, v in (_pair(item) for item in _entries(obj["__items__"]))}
    return {k: _decode(v, arrays) for k, v in obj.items()}


def _entries(value):
    if not isinstance(value, list):
        raise ValueError(f"its metadata has {value!r} where a list belongs")
    return value


def _pair(item):
    if not isinstance(item, list) or len(item) != 2:
        raise ValueError(f"its metadata has {item!r} where a [key, value] pair belongs")
    return item


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
            raise ValueError(f"the checkpoint has {len(tree['param_groups'])} parameter "
                             f"groups, the optimizer {len(optimizer.param_groups)}")
        index = {name: i for i, name in enumerate(names)}
        groups, first = [], 0
        for g, (saved, group) in enumerate(zip(tree["param_groups"], optimizer.param_groups)):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), list):
                raise ValueError(f"parameter group {g} of the checkpoint has no list of "
                                 "parameters")
            ours = names[first:first + len(group["params"])]
            if sorted(saved["params"]) != sorted(ours):
                missing = sorted(set(saved["params"]) - set(ours))
                extra = sorted(set(ours) - set(saved["params"]))
                raise ValueError(f"parameter group {g} of the checkpoint and of the "
                                 f"optimizer differ: only in the checkpoint {missing}, only "
                                 f"in the optimizer {extra}")
            groups.append(dict(saved, params=list(range(first, first + len(ours)))))
            first += len(ours)
        unknown = sorted(map(str, set(tree["state"]) - set(index)))
        if unknown:
            raise ValueError(f"the checkpoint has optimizer state for parameters {unknown} that "
                             "the optimizer does not have")
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
    (any data: numbers, strings, lists, dicts, arrays) to ``path``, atomically. A steepest.nn
    model (a Sequential, any Layer) also has its architecture stored, as JSON (its layers'
    classes and constructor arguments: nn/config.py), so that :func:`load_model` rebuilds it."""
    named = _named(model)
    arrays = {}
    meta = {"format": FORMAT, "version": VERSION}
    if model is not None:
        meta["model"] = {
            "params": _shapes(named, named.values()),
            "arrays": {n: _encode(_data(p), arrays, f"model[{n!r}]") for n, p in named.items()},
        }
        if callable(getattr(model, "get_config", None)):  # a steepest.nn layer or model
            meta["model"]["architecture"] = model.get_config()
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

class CheckpointError(ValueError):
    """``steepest.load`` could not use a file: it is not a steepest checkpoint (not a zip
    archive, a lone ``.npy`` array, another program's ``.npz``), it is damaged (truncated, a
    member missing or corrupt, metadata that is not the format's), or it does not fit the
    objects given (another optimizer type, other parameter names or shapes, state a
    ``load_state_dict`` refuses). The message names the file and what is wrong; the original
    exception, if any, is its ``__cause__``. Nothing was changed when it is raised."""


def _read(path):
    """(metadata, {name: array}) of the file at ``path``; OSError when it cannot be opened,
    CheckpointError for any content that is not a readable checkpoint. Each member's header is
    checked against its size before it is read (a damaged header allocates nothing)."""
    with open(path, "rb") as f:
        if f.read(6) == b"\x93NUMPY":
            raise CheckpointError(f"steepest.load: {path} is a single NumPy array (.npy), not a "
                                  "steepest checkpoint")
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
        except zipfile.BadZipFile as e:
            raise CheckpointError(f"steepest.load: {path} is not a steepest checkpoint (not a "
                                  f"zip archive, or a truncated one: {e})") from e
        try:
            with archive:
                arrays = {}
                for info in archive.infolist():
                    if not info.filename.endswith(".npy"):
                        raise CheckpointError(f"steepest.load: {path} is not a steepest "
                                              f"checkpoint (it holds {info.filename!r})")
                    arrays[info.filename[:-4]] = _read_member(archive, info)
        except CheckpointError:
            raise
        except MemoryError:
            raise
        except Exception as e:  # anything the bytes of the file make zipfile, zlib or NumPy raise
            raise CheckpointError(f"steepest.load: {path} is damaged ({type(e).__name__}: "
                                  f"{e})") from e
    blob = arrays.pop(_META, None)
    if blob is None:
        raise CheckpointError(f"steepest.load: {path} is not a steepest checkpoint (no {_META})")
    try:
        if blob.dtype != np.uint8 or blob.ndim != 1:
            raise ValueError(f"it is a {blob.dtype} array of shape {blob.shape}, not bytes")
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CheckpointError(f"steepest.load: {path} has damaged metadata ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"steepest.load: {path} is not a steepest checkpoint")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(f"steepest.load: {path} has an invalid format version "
                              f"{version!r}")
    if version > VERSION:
        raise CheckpointError(f"steepest.load: {path} has checkpoint format version {version}, "
                              f"newer than this steepest reads (up to {VERSION}); upgrade "
                              "steepest")
    return meta, arrays


def _read_member(archive, info):
    """One ``.npy`` member of the archive, its header checked against its size first."""
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f"member {info.filename!r} has .npy format version {version}")
        if dtype.hasobject:
            raise ValueError(f"member {info.filename!r} is an object array, which would need "
                             "pickle")
        size = member.tell() + math.prod(shape) * dtype.itemsize
        if size != info.file_size:
            raise ValueError(f"member {info.filename!r} should have {size} bytes for its "
                             f"{dtype} array of shape {shape}, it has {info.file_size}")
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _shape(entry, where):
    """The shape recorded in the metadata entry ``{"shape": [...], "dtype": ...}``."""
    shape = entry.get("shape") if isinstance(entry, dict) else None
    if not isinstance(shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise ValueError(f"the metadata of {where} has no valid shape: {entry!r}")
    return tuple(shape)


def _check_shapes(what, saved, names, params):
    if not isinstance(saved, dict):
        raise ValueError(f"the metadata of the {what} has no parameter table")
    for name, p in zip(names, params):
        if name not in saved:
            hint = " (it names its parameters: pass the model)" if name.startswith("#") else ""
            raise ValueError(f"the checkpoint has no {what} parameter {name!r}{hint}")
        shape = _shape(saved[name], f"{what} parameter {name!r}")
        if shape != _data(p).shape:
            raise ValueError(f"{what} parameter {name!r} has shape {shape} in the checkpoint, "
                             f"{_data(p).shape} here")
    unknown = sorted(set(saved) - set(names))
    if unknown:
        raise ValueError(f"the checkpoint has {what} parameters {unknown} that are not here")


def _section(meta, key):
    if key not in meta:
        raise ValueError(f"it holds no {key}")
    section = meta[key]
    if not isinstance(section, dict):
        raise ValueError(f"its {key} metadata is a {type(section).__name__}, not a dict")
    return section


def _model_arrays(meta, arrays, named):
    """{name: the stored array} for every model parameter, each checked against the parameter
    itself (its shape exactly: no broadcasting; a floating-point dtype: no silent cast from
    int, bool or complex), not only against the metadata."""
    saved = _section(meta, "model")
    _check_shapes("model", saved.get("params"), list(named), list(named.values()))
    refs = saved.get("arrays")
    if not isinstance(refs, dict):
        raise ValueError("its model metadata has no table of arrays")
    stored = {}
    for name, p in named.items():
        if name not in refs:
            raise ValueError(f"it holds no array for model parameter {name!r}")
        a = _decode(refs[name], arrays)
        data = _data(p)
        if not isinstance(a, np.ndarray):
            raise ValueError(f"model parameter {name!r} is a {type(a).__name__} in the "
                             "checkpoint, not an array")
        stored[name] = loadable(a, data, f"the array of model parameter {name!r}")
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
    included); then all of it is applied. A file that is not a steepest checkpoint, is damaged,
    or does not fit the objects given raises :class:`steepest.CheckpointError` (a ValueError)
    naming the file and what is wrong; a file that cannot be opened raises OSError as ``open``
    does; an invalid argument raises TypeError or ValueError."""
    named = _named(model)
    _writable_parameters(named)
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None and not hasattr(obj, "load_state_dict"):
            raise TypeError(f"steepest.load: {name} has no load_state_dict: got "
                            f"{type(obj).__name__}")
    if optimizer is not None and not hasattr(optimizer, "param_groups"):
        raise TypeError(f"steepest.load: optimizer has no param_groups: got "
                        f"{type(optimizer).__name__}")
    meta, arrays = _read(os.fspath(path))
    try:
        apply = []
        if model is not None:
            stored = _model_arrays(meta, arrays, named)
        if optimizer is not None:
            saved = _section(meta, "optimizer")
            if saved.get("type") != _describe(optimizer):
                raise ValueError(f"the checkpoint holds the state of {saved.get('type')}, not "
                                 f"of {_describe(optimizer)}")
            params, names = _param_names(optimizer, named)
            _check_shapes("optimizer", saved.get("params"), names, params)
            state = _by_index(_decode(saved.get("state"), arrays), optimizer, names)
            apply.append(prepare_load(optimizer, state))
        if scheduler is not None:
            saved = _section(meta, "scheduler")
            if saved.get("type") != _describe(scheduler):
                raise ValueError(f"the checkpoint holds the state of scheduler "
                                 f"{saved.get('type')}, not of {_describe(scheduler)}")
            apply.append(prepare_load(scheduler, _decode(saved.get("state"), arrays)))
        extra = _decode(meta["extra"], arrays) if "extra" in meta else None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        what = str(e) if isinstance(e, (ValueError, TypeError)) else f"{type(e).__name__}: {e}"
        raise CheckpointError(f"steepest.load: {path}: {what}") from e
    # Every check has run: steepest's objects cannot refuse now (an object without
    # _prepare_load, such as a torch optimizer, checks as it loads, first).
    for step in apply:
        step()
    if model is not None:
        for name, p in named.items():
            np.copyto(_data(p), stored[name], casting="same_kind")
    return extra


def load_model(path):
    """The steepest.nn model ``steepest.save(path, model=model)`` stored: rebuilt from its
    architecture (its layers' classes and constructor arguments, JSON) and filled with its
    parameters. Layer classes of one's own must be defined (imported) before. A checkpoint
    saved without an architecture (before it was stored, or of a mapping of arrays) raises
    :class:`CheckpointError`: rebuild the model and use ``steepest.load(path, model=...)``."""
    from .nn.config import from_config

    meta, _ = _read(os.fspath(path))
    try:
        architecture = _section(meta, "model").get("architecture")
        if architecture is None:
            raise ValueError("it holds no architecture (saved without one, or from a mapping "
                             "of arrays): rebuild the model and use steepest.load(path, "
                             "model=...)")
        model = from_config(architecture)
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"steepest.load_model: {path}: {e}") from e
    load(path, model=model)
    return model
