"""Layer configurations: what rebuilds a layer, as JSON (no pickle), for ``steepest.save(path,
model=model)`` and ``steepest.load_model(path)``.

Every subclass of ``Layer`` is registered by its class name when it is defined, and its
``__init__`` records the arguments it was called with (the outermost ``__init__`` of the
instance's class: a subclass calling ``super().__init__`` is recorded with its own arguments).
A layer's config is then::

    {"class": "Dense", "module": "steepest.nn.layers",
     "args": [...positional...], "kwargs": {"in_features": 45, "out_features": 8, ...}}

with the values in JSON: numbers, strings, booleans, None, lists, dicts with string keys;
tuples as {"__tuple__": [...]}, dtypes as {"__dtype__": "float32"}, and layers (Sequential's
``*layers``) as {"__layer__": their config}. So a new layer, composite or not, gets saving for
free as long as its constructor arguments are such values; a composite layer that builds its
children itself (TCNBlock) is rebuilt by its constructor, one that is given them (Sequential)
from theirs. Arguments that only draw the initial weights (``seed``, ``*init``) and are not
such values (a Generator, an initializer function) are left out: loading overwrites the
weights. Any other argument that is not such a value makes ``get_config`` raise TypeError.
"""

import functools
import inspect
import numbers

import numpy as np

__all__ = ["register", "get_config", "from_config"]

_REGISTRY = {}  # class name -> [classes of that name, last defined last]


def register(cls):
    """Register a Layer subclass by name and make its ``__init__`` record its arguments."""
    same = _REGISTRY.setdefault(cls.__name__, [])
    same[:] = [c for c in same if (c.__module__, c.__qualname__) !=
               (cls.__module__, cls.__qualname__)] + [cls]  # a redefinition replaces
    if "__init__" in cls.__dict__:
        cls.__init__ = _recording(cls.__dict__["__init__"])


def _recording(init):
    signature = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if type(self).__init__ is __init__:  # the outermost __init__ of the instance's class
            bound = signature.bind(self, *args, **kwargs)
            self._init_arguments = dict(list(bound.arguments.items())[1:])  # without self

    return __init__


def _encode(value, where):
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (numbers.Integral, np.bool_)):
        return bool(value) if isinstance(value, np.bool_) else int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.dtype) or (isinstance(value, type) and
                                       issubclass(value, np.generic)):
        return {"__dtype__": np.dtype(value).name}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) and not k.startswith("__")
                                       for k in value):
        return {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    if hasattr(value, "_init_arguments") or _is_layer(value):
        return {"__layer__": get_config(value)}
    raise TypeError(f"{where} is a {type(value).__name__}, which a layer configuration cannot "
                    "hold (numbers, strings, None, lists, tuples, dicts, dtypes and layers)")


def _is_layer(value):
    return any(value.__class__ in classes for classes in _REGISTRY.values())


def get_config(layer):
    """The layer's configuration (a JSON-ready dict, module docstring)."""
    name = type(layer).__name__
    arguments = getattr(layer, "_init_arguments", None)
    if arguments is None:
        raise TypeError(f"{name} recorded no constructor arguments: it is not a steepest.nn "
                        "Layer subclass, or its __init__ did not finish")
    parameters = inspect.signature(type(layer).__init__).parameters
    positional = any(p.kind is p.VAR_POSITIONAL for p in parameters.values())
    args, kwargs = [], {}
    for pname, value in arguments.items():
        kind = parameters[pname].kind
        where = f"{name}({pname}=...)"
        try:
            if kind is inspect.Parameter.VAR_POSITIONAL:
                args += [_encode(v, f"{name}({pname}[{i}])") for i, v in enumerate(value)]
            elif kind is inspect.Parameter.VAR_KEYWORD:
                kwargs.update({k: _encode(v, f"{name}({k}=...)") for k, v in value.items()})
            elif kind is inspect.Parameter.POSITIONAL_ONLY or (
                    positional and kind is inspect.Parameter.POSITIONAL_OR_KEYWORD):
                args.append(_encode(value, where))
            else:
                kwargs[pname] = _encode(value, where)
        except TypeError:
            if pname == "seed" or pname.endswith("init"):
                continue  # draws the initial weights only, which loading overwrites
            raise
    return {"class": name, "module": type(layer).__module__, "args": args, "kwargs": kwargs}


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__dtype__" in value:
        return np.dtype(value["__dtype__"])
    if "__layer__" in value:
        return from_config(value["__layer__"])
    return {k: _decode(v) for k, v in value.items()}


def _class(name, module):
    classes = _REGISTRY.get(name, [])
    exact = [c for c in classes if c.__module__ == module]
    if exact or len(classes) == 1:
        return (exact or classes)[-1]
    if not classes:
        raise ValueError(f"no layer class {name!r} (from {module}) is defined: import the "
                         "module that defines it before loading")
    raise ValueError(f"several layer classes are named {name!r} and none is from {module}")


def from_config(config):
    """A new layer built from ``get_config``'s dict (fresh weights: load them next)."""
    if not isinstance(config, dict) or not isinstance(config.get("class"), str):
        raise ValueError(f"a layer configuration is a dict with a 'class', got {config!r}")
    cls = _class(config["class"], config.get("module"))
    args, kwargs = config.get("args", []), config.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError(f"the configuration of {config['class']} has malformed arguments")
    return cls(*_decode(args), **{k: _decode(v) for k, v in kwargs.items()})
