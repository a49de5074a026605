"""L-BFGS with an optional strong-Wolfe line search (torch.optim.LBFGS), in NumPy."""

import numbers
from collections.abc import Mapping

import numpy as np

from ._closure import evaluate
from .optimizer import Optimizer, _count, _data, whole_count

_SCALARS = ("t", "H_diag", "prev_loss")       # floats of the state (None before the first step)
_VECTORS = ("d", "prev_flat_grad")            # flat arrays
_HISTORY = ("old_dirs", "old_stps")           # lists of flat arrays
_LISTS = ("ro", "al")                         # lists of floats (al: None where unused)


class _NonFinite(Exception):
    """A closure evaluation inside a guarded LBFGS step gave a NaN or an infinity."""


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to bounds."""
    xmin, xmax = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin), xmax)
    return (xmin + xmax) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Line search along d for a step t satisfying the strong Wolfe conditions
    (Nocedal & Wright 2006, Algorithms 3.5-3.6): bracket, then zoom by cubic interpolation.
    Returns (f_new, g_new, t, evaluations)."""
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point satisfies the conditions
    insuf_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # too close to an end of the bracket (twice, or outside): move 10% inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], ls_func_evals


class LBFGS(Optimizer):
    r"""Limited-memory BFGS (Liu & Nocedal 1989, "On the Limited Memory BFGS Method for Large
    Scale Optimization"), with torch.optim.LBFGS's arguments, defaults and semantics. The
    parameters are seen as one flat vector x with gradient g. One ``step(closure)`` runs up to
    max_iter iterations (and max_eval closure calls)::

        s_k = x_{k+1} - x_k,  y_k = g_{k+1} - g_k,  rho_k = 1 / (y_k . s_k)
              (a pair enters the history, of at most history_size, only if y_k . s_k > 1e-10)
        d   = -H g   by the two-loop recursion over the history, with H_0 = (y.s / y.y) I
        x   = x + t d

    with t = lr (the first iteration ever: ``min(1, 1 / sum|g|) * lr``), or, with
    ``line_search_fn="strong_wolfe"``, t found by a line search satisfying the strong Wolfe
    conditions (c1 = 1e-4, c2 = 0.9) from that initial t. It stops when max|g| <=
    tolerance_grad, when max|t d| or the change of the loss is below tolerance_change, or at
    max_iter / max_eval.

    ``closure()`` evaluates the loss at the current parameters (which LBFGS changes in place)
    and returns ``(loss, grads)``, or the loss alone after setting each parameter's ``.grad``
    (see steepest.optim._closure). ``step`` returns the loss at the start of the step. One
    parameter group only. The computation runs in NumPy, in the parameters' dtype.

    ``nonfinite="skip"`` / ``"raise"`` (see steepest.optim.Optimizer) check every evaluation of
    the step, gradients and loss (the line search compares losses): at the first NaN or
    infinity the parameters and the state go back to what they were before the step, which is
    then counted in ``skipped_steps`` (and returns the loss at its start), or raises
    FloatingPointError.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None, *,
                 nonfinite="propagate"):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults, nonfinite)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    def _check_group(self, group):
        if not 0.0 <= group["lr"]:
            raise ValueError(f"Invalid learning rate: {group['lr']}")
        for key in ("max_iter", "max_eval", "history_size"):
            if not isinstance(group[key], int) or group[key] < 1:
                raise ValueError(f"Invalid {key}: {group[key]} (expected an integer >= 1)")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError("only 'strong_wolfe' is supported as line_search_fn, got "
                             f"{group['line_search_fn']!r}")
        dtypes = {_data(p).dtype for p in group["params"]}
        if len(dtypes) > 1:
            raise TypeError("LBFGS: all parameters must have one dtype, got "
                            f"{sorted(map(str, dtypes))}")

    # -- the parameters as one flat vector -------------------------------------------------

    def _params(self):
        return self.param_groups[0]["params"]

    def _dtype(self):
        return _data(self._params()[0]).dtype

    def _flat_grad(self, grads):
        return np.concatenate([np.zeros(_data(p).size, self._dtype()) if g is None else g.ravel()
                               for p, g in zip(self._params(), grads)])

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self._params():
            data = _data(p)
            data += step_size * update[offset:offset + data.size].reshape(data.shape)
            offset += data.size

    def _evaluate(self, closure):
        loss, grads = evaluate(closure, self._params(), "LBFGS.step")
        flat_grad = self._flat_grad(grads)
        if self._nonfinite and not (np.isfinite(flat_grad).all() and np.isfinite(float(loss))):
            bad = [f"grads[{k}]" for k, g in enumerate(grads)
                   if g is not None and not np.isfinite(g).all()]
            raise _NonFinite(f"LBFGS.step: {(bad or ['the loss'])[0]} holds a NaN or an "
                             "infinity (nonfinite='raise'); no parameter or state was changed")
        return loss, flat_grad

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss, flat_grad = self._evaluate(closure)
        for p, saved in zip(self._params(), x):
            _data(p)[...] = saved
        return float(loss), flat_grad

    # -- the step --------------------------------------------------------------------------

    def step(self, closure):
        """Run up to max_iter L-BFGS iterations; returns the loss before the first."""
        if not self._nonfinite:
            loss = self._step(closure)
            self.applied_steps += 1
            return loss
        first = []  # the loss of the step's first evaluation

        def recording():
            out = closure()
            if not first:
                first.append(out[0] if isinstance(out, tuple) else out)
            return out

        params = [_data(p) for p in self._params()]
        saved_params = [p.copy() for p in params]
        saved_state = {k: list(v) if isinstance(v, list) else v   # lists change in place
                       for k, v in self.state.get(0, {}).items()}
        had_state = 0 in self.state
        try:
            loss = self._step(recording)
        except _NonFinite as error:
            for p, saved in zip(params, saved_params):
                p[...] = saved
            self.state = {0: saved_state} if had_state else {}
            if self.nonfinite == "raise":
                raise FloatingPointError(str(error)) from None
            self.skipped_steps += 1
            return first[0]
        self.applied_steps += 1
        return loss

    def _step(self, closure):
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        self._check_group(group)
        state = self.state.setdefault(0, {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss, flat_grad = self._evaluate(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        opt_cond = np.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # the direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            # the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break
            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = [_data(p).copy() for p in self._params()]

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:  # no use re-evaluating after the last iteration
                    loss, flat_grad = self._evaluate(closure)
                    loss = float(loss)
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            # stopping conditions
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    # -- state_dict: torch's layout, the state under parameter 0 ---------------------------

    def state_dict(self):
        """``{"state": {0: {...}}, "param_groups": [...]}``: counts as ints, scalars as floats,
        vectors and the history as (lists of) copied arrays."""
        saved = {}
        for key, value in self.state.get(0, {}).items():
            if key in ("func_evals", "n_iter"):
                saved[key] = int(value)
            elif key in _SCALARS:
                saved[key] = None if value is None else float(value)
            elif key in _VECTORS:
                saved[key] = None if value is None else np.array(value)
            elif key in _HISTORY:
                saved[key] = [np.array(v) for v in value]
            elif key in _LISTS:
                saved[key] = [None if v is None else float(v) for v in value]
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        group["params"] = list(range(len(self._params())))
        return {"state": {0: saved} if saved else {}, "param_groups": [group],
                "applied_steps": self.applied_steps, "skipped_steps": self.skipped_steps}

    def _prepare_load(self, state_dict):
        if not isinstance(state_dict, Mapping) or not isinstance(state_dict.get("state"), Mapping) \
                or not isinstance(state_dict.get("param_groups"), list):
            raise ValueError("loaded state dict must be a dict with a dict 'state' and a list "
                             "'param_groups'")
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self._params()):
            raise ValueError(f"loaded state dict has {len(groups)} groups of "
                             f"{[len(g['params']) for g in groups]} parameters, LBFGS has one "
                             f"of {len(self._params())}")
        counts = [_count(state_dict.get(key, 0), key) for key in ("applied_steps", "skipped_steps")]
        saved_state = dict(state_dict["state"])
        if len(saved_state) > 1:
            raise ValueError("loaded LBFGS state has state for more than one parameter")
        saved = next(iter(saved_state.values()), {})
        unknown = set(saved) - {"func_evals", "n_iter", *_SCALARS, *_VECTORS, *_HISTORY, *_LISTS}
        if unknown:
            raise ValueError(f"loaded state has keys {sorted(unknown)} that LBFGS does not use")
        dtype, size = self._dtype(), sum(_data(p).size for p in self._params())

        def vector(v, key):
            v = np.asarray(v)
            if v.dtype.kind != "f":  # no bool, int or complex cast silently
                raise TypeError(f"loaded LBFGS state[{key!r}] has dtype {v.dtype}, expected a "
                                "floating-point array")
            v = np.array(v, dtype=dtype, copy=True)
            if v.shape != (size,):
                raise ValueError(f"loaded LBFGS state[{key!r}] has shape {v.shape}, the "
                                 f"parameters have {size} elements")
            return v

        def scalar(v, key):
            if getattr(v, "ndim", None) == 0:
                v = v.item()
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
                raise TypeError(f"loaded LBFGS state[{key!r}]: expected a number, got {v!r}")
            try:
                return dtype.type(v)
            except OverflowError:  # an int beyond float64's range
                raise ValueError(f"loaded LBFGS state[{key!r}]: expected a finite number, got "
                                 "an int too large for a float") from None

        state = {}
        for key, value in saved.items():
            if key in ("func_evals", "n_iter"):
                state[key] = whole_count(value, f"loaded LBFGS state[{key!r}]")
            elif key in _SCALARS or key in _VECTORS:
                state[key] = None if value is None else (
                    scalar(value, key) if key in _SCALARS else vector(value, key))
            elif key in _HISTORY:
                state[key] = [vector(v, key) for v in value]
            else:
                state[key] = [None if v is None else scalar(v, key) for v in value]
        new_group = dict(self.param_groups[0])
        new_group.update({k: v for k, v in groups[0].items() if k != "params"})
        self._check_group(new_group)

        def apply():
            self.param_groups[0].update(new_group)
            self.state = {0: state} if state else {}
            self.applied_steps, self.skipped_steps = counts

        return apply
