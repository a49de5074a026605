"""The Optimizer base: parameter groups, per-parameter state, state_dict.

A parameter is a float32/float64 NumPy array updated in place, or an object whose ``.data`` is
such an array and whose ``.grad`` holds its gradient (what ``steepest.nn`` layers expose).
Parameters are numbered by their position in the flattened list of all groups: ``opt.state[i]``
is the state of parameter ``i``, and the state_dict uses the same numbers (as torch.optim does).

Each step makes one call into C++ per parameter group; the loop over tensors runs there.
"""

import math

import numpy as np

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _data(p):
    """The array of a parameter: the array itself, or its ``.data``."""
    return p if isinstance(p, np.ndarray) else p.data


def check_positive(value, what):
    """Raise a torch-like ValueError unless ``0 <= value < inf`` (NaN fails)."""
    if not (0.0 <= value < math.inf):
        raise ValueError(f"Invalid {what}: {value}")


def check_betas(betas):
    """Raise unless ``betas`` is a pair in [0, 1)."""
    if len(betas) != 2:
        raise ValueError(f"Invalid betas: expected 2 values, got {len(betas)}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


class Optimizer:
    """Base class of every update rule.

    Subclasses set ``state_keys`` (the names of their per-parameter state), implement
    ``_check_group(group)`` (raise ValueError on an invalid hyperparameter) and
    ``_update(group, params, grads, indices, check_only)`` (one call into C++ for the group).
    """

    state_keys = ()

    def __init__(self, params, defaults):
        if isinstance(params, np.ndarray) or hasattr(params, "data"):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of arrays or "
                f"dicts, but got {type(params).__name__}"
            )
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group):
        """Add a group ``{"params": [...], <hyperparameter>: value, ...}``; missing
        hyperparameters take the optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group.get("params")
        if params is None:
            raise ValueError("param_group has no 'params'")
        params = [params] if isinstance(params, np.ndarray) or hasattr(params, "data") else list(params)
        first = sum(len(g["params"]) for g in self.param_groups)
        seen = {id(_data(p)) for g in self.param_groups for p in g["params"]}
        for k, p in enumerate(params):
            data = getattr(p, "data", None) if not isinstance(p, np.ndarray) else p
            if not isinstance(data, np.ndarray):
                raise TypeError(
                    f"params[{first + k}]: expected a numpy.ndarray or an object with an "
                    f"ndarray .data, got {type(p).__name__}"
                )
            if data.dtype not in _FLOATS:
                raise TypeError(f"params[{first + k}]: expected a float32 or float64 array, got {data.dtype}")
            if id(data) in seen:
                raise ValueError(f"params[{first + k}]: some parameters appear more than once")
            seen.add(id(data))
        group = dict(self.defaults)
        group.update(param_group)
        group["params"] = params
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"param_group has unknown hyperparameters: {sorted(unknown)}")
        self._check_group(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=False):
        """Zero every ``.grad`` array in place (keeping the buffers), or set it to None."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = getattr(p, "grad", None)
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    grad[...] = 0

    def step(self, grads=None):
        """Update every parameter in place from its gradient.

        ``grads`` is a list aligned with the parameters (flattened across groups); without it
        each parameter's ``.grad`` is used. A parameter whose gradient is None is skipped, as in
        torch. Invalid input raises before any array changes.
        """
        count = sum(len(g["params"]) for g in self.param_groups)
        if grads is not None:
            grads = list(grads)
            if len(grads) != count:
                raise ValueError(f"step: expected {count} grads, one per parameter, got {len(grads)}")
        work = []
        index = 0
        for group in self.param_groups:
            self._check_group(group)
            params, group_grads, indices = [], [], []
            for p in group["params"]:
                if grads is not None:
                    grad = grads[index]
                elif isinstance(p, np.ndarray):
                    raise ValueError("step: the parameters are plain arrays, so grads must be given")
                else:
                    grad = p.grad
                if grad is not None:
                    params.append(_data(p))
                    group_grads.append(grad)
                    indices.append(index)
                index += 1
            if params:
                work.append((group, params, group_grads, indices))
        if len(work) > 1:  # check every group before any is updated
            for args in work:
                self._update(*args, check_only=True)
        for args in work:
            self._update(*args, check_only=False)

    def state_dict(self):
        """A snapshot (arrays copied) of the state and the hyperparameters, keyed by parameter
        number, in torch.optim's layout."""
        state = {
            i: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            for i, s in self.state.items()
        }
        groups, index = [], 0
        for group in self.param_groups:
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = list(range(index, index + len(group["params"])))
            index += len(group["params"])
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a state_dict of the same optimizer over parameters of the same shapes. The
        arrays are copied (and cast to each parameter's dtype); nothing changes on error."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, the optimizer "
                f"has {len(self.param_groups)}"
            )
        number = {}  # saved parameter number -> (our number, array)
        index = 0
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {g} has {len(saved['params'])} "
                    f"parameters, the optimizer's has {len(group['params'])}"
                )
            for saved_index, p in zip(saved["params"], group["params"]):
                number[saved_index] = (index, _data(p))
                index += 1
        state = {}
        for saved_index, saved_state in state_dict["state"].items():
            if saved_index not in number:
                raise ValueError(f"loaded state dict has state for unknown parameter {saved_index}")
            i, data = number[saved_index]
            unknown = set(saved_state) - set(self.state_keys)
            if unknown:
                raise ValueError(
                    f"loaded state for parameter {saved_index} has keys {sorted(unknown)} "
                    f"that {type(self).__name__} does not use (expected {list(self.state_keys)})"
                )
            state[i] = {}
            for key, value in saved_state.items():
                if isinstance(value, np.ndarray) or np.ndim(value) > 0:
                    value = np.asarray(value)
                    if value.shape != data.shape:
                        raise ValueError(
                            f"loaded state[{saved_index}][{key!r}] has shape {value.shape}, "
                            f"the parameter has {data.shape}"
                        )
                    value = np.array(value, dtype=data.dtype, order="C", copy=True)
                elif key == "step":
                    value = int(value)
                state[i][key] = value
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new = dict(group)
            new.update({k: v for k, v in saved.items() if k != "params"})
            self._check_group(new)
            new_groups.append(new)
        for group, new in zip(self.param_groups, new_groups):
            group.update(new)
        self.state = state

    # -- for subclasses ------------------------------------------------------------------

    def _check_group(self, group):
        raise NotImplementedError

    def _update(self, group, params, grads, indices, check_only):
        raise NotImplementedError

    def _states(self, indices, key, params):
        """The state arrays ``key`` of the given parameters, and those to create: a list of
        arrays (zeros where the state is new) and a dict {index: new array}, stored by the
        caller only once the update succeeded."""
        arrays, created = [], {}
        for i, p in zip(indices, params):
            a = self.state.get(i, {}).get(key)
            if a is None:
                if not isinstance(p, np.ndarray):
                    raise TypeError(f"params[{i}]: expected a numpy.ndarray, got {type(p).__name__}")
                a = np.zeros(p.shape, dtype=p.dtype)
                created[i] = a
            arrays.append(a)
        return arrays, created
