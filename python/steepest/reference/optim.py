"""Reference update rules in pure NumPy, one step on one tensor, in place.

Each function takes a parameter array ``p`` (updated in place), its gradient ``g`` (read only),
a ``state`` dict holding that parameter's optimizer state (created on the first call, updated in
place afterwards) and the hyperparameters as keyword arguments with torch.optim's names.

The equations follow torch.optim's documented algorithms and its default (``foreach=False``)
implementation. In particular ``maximize`` negates the gradient *before* weight decay is added,
as torch's implementation does. Scalars that do not depend on the element (bias corrections,
step sizes) are computed in Python floats (double precision); the array arithmetic runs in the
dtype of ``p`` (a Python float operand does not promote a float32 array).
"""

import math

import numpy as np

__all__ = ["sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "radam", "rprop",
           "asgd", "lion", "lamb", "lars", "adafactor", "adabelief", "adan"]


def _check(p, g):
    if not isinstance(p, np.ndarray) or not isinstance(g, np.ndarray):
        raise TypeError("p and g must be numpy arrays")
    if p.shape != g.shape:
        raise ValueError(f"gradient shape {g.shape} differs from parameter shape {p.shape}")


def _signed_grad(g, maximize, dtype):
    """A fresh work array holding ``-g if maximize else g`` in ``dtype``."""
    work = np.empty(g.shape, dtype=dtype)
    if maximize:
        np.negative(g, out=work)
    else:
        np.copyto(work, g)
    return work


def sgd(p, g, state, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
        maximize=False):
    r"""One step of SGD (torch.optim.SGD), in place on ``p`` and ``state``.

    Equations (torch.optim.SGD's algorithm; ``b`` is ``state['momentum_buffer']``)::

        g = -grad if maximize else grad
        g = g + weight_decay * p                          (if weight_decay != 0)
        if momentum != 0:
            b = g  (a copy)                               (first step: no buffer yet)
            b = momentum * b + (1 - dampening) * g        (later steps)
            g = g + momentum * b   if nesterov   else   g = b
        p = p - lr * g

    ``state`` is empty before the first step; with ``momentum != 0`` the step stores
    ``state['momentum_buffer']`` (an array like ``p``). With ``momentum == 0`` the state is not
    touched. The first step does not apply dampening, as in torch.
    """
    _check(p, g)
    work = _signed_grad(g, maximize, p.dtype)
    if weight_decay != 0:
        work += weight_decay * p
    _momentum_step(p, work, state, lr, momentum, dampening, nesterov)


def adam(p, g, state, *, lr, beta1, beta2, eps, weight_decay=0.0, amsgrad=False, maximize=False,
         decoupled_weight_decay=False):
    r"""One step of Adam (torch.optim.Adam) or, with ``decoupled_weight_decay=True``, AdamW
    (torch.optim.AdamW), in place on ``p`` and ``state``.

    Equations at step t = 1, 2, ... (torch.optim.Adam / AdamW's algorithms; ``m``, ``v``, ``vmax``
    are ``state['exp_avg']``, ``state['exp_avg_sq']``, ``state['max_exp_avg_sq']``)::

        g = -grad if maximize else grad
        p = p * (1 - lr * weight_decay)                   (AdamW: decoupled decay)
        g = g + weight_decay * p                          (Adam: L2 penalty in the gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m^ = m / (1 - beta1**t)
        vmax = max(vmax, v);  v^ = vmax / (1 - beta2**t)  (amsgrad)
        v^ = v / (1 - beta2**t)                           (otherwise)
        p = p - lr * m^ / (sqrt(v^) + eps)

    computed, as torch does, as ``p - lr / (1 - beta1**t) * m / (sqrt(v^) / sqrt(1 - beta2**t)
    + eps)``. ``state`` is empty before the first step, which creates ``state['step'] = 0`` (an
    int, incremented before use), ``exp_avg`` and ``exp_avg_sq`` (zeros like ``p``) and, when
    ``amsgrad``, ``max_exp_avg_sq`` (zeros like ``p``).
    """
    _check(p, g)
    t = _count_step(state)
    _zeros(state, p, "exp_avg", "exp_avg_sq", *(("max_exp_avg_sq",) if amsgrad else ()))
    m, v = state["exp_avg"], state["exp_avg_sq"]

    work = _signed_grad(g, maximize, p.dtype)
    if weight_decay != 0:
        if decoupled_weight_decay:
            np.multiply(p, 1.0 - lr * weight_decay, out=p)
        else:
            work += weight_decay * p

    # m = beta1 * m + (1 - beta1) * g
    np.multiply(m, beta1, out=m)
    m += (1.0 - beta1) * work
    # v = beta2 * v + ((1 - beta2) * g) * g, in torch's order (addcmul): g * g first would
    # overflow for |g| > sqrt(max) (1.8e19 in float32), where this is still finite.
    np.multiply(v, beta2, out=v)
    v += (1.0 - beta2) * work * work

    if amsgrad:
        vmax = state["max_exp_avg_sq"]
        np.maximum(vmax, v, out=vmax)
        vhat = vmax
    else:
        vhat = v

    bias_correction1 = 1.0 - beta1**t
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**t)
    step_size = lr / bias_correction1

    # denom = sqrt(v^) / sqrt(1 - beta2**t) + eps   (work is reused as scratch from here on)
    denom = work
    np.sqrt(vhat, out=denom)
    np.divide(denom, bias_correction2_sqrt, out=denom)
    np.add(denom, eps, out=denom)
    # p = p - step_size * m / denom
    np.divide(m, denom, out=denom)
    np.multiply(denom, step_size, out=denom)
    np.subtract(p, denom, out=p)


def _momentum_step(p, work, state, lr, momentum, dampening, nesterov):
    """SGD's tail, shared by SGD and LARS: with ``momentum != 0`` the buffer b = work (a copy) on
    the first step, else b = momentum * b + (1 - dampening) * work; the direction is
    work + momentum * b (nesterov) or b; then p -= lr * direction. ``work`` is overwritten."""
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = work.copy()
            state["momentum_buffer"] = buf
        else:
            np.multiply(buf, momentum, out=buf)
            buf += (1.0 - dampening) * work
        if nesterov:
            work += momentum * buf
        else:
            np.copyto(work, buf)
    np.multiply(work, lr, out=work)
    np.subtract(p, work, out=p)


def _count_step(state):
    state["step"] = int(state.get("step", 0)) + 1
    return state["step"]


def _zeros(state, p, *keys):
    for key in keys:
        if state.get(key) is None:
            state[key] = np.zeros(p.shape, dtype=p.dtype)


def _lerp(a, b, w):
    """a + w * (b - a), in place on a, computed as torch.lerp_ does: from a when w < 0.5, else
    as b - (1 - w) * (b - a) (so that w = 1 gives b exactly)."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (1.0 - w) * (b - a)


def rmsprop(p, g, state, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False, maximize=False):
    r"""One step of RMSprop (torch.optim.RMSprop), in place on ``p`` and ``state``::

        g  = -grad if maximize else grad
        g  = g + weight_decay * p
        v  = alpha * v + (1 - alpha) * g**2                      (square_avg)
        centered:  ga = lerp(ga, g, 1 - alpha);  a = sqrt(v - ga**2) + eps   (grad_avg)
        otherwise: a = sqrt(v) + eps
        momentum > 0:  b = momentum * b + g / a;  p = p - lr * b     (momentum_buffer)
        otherwise:     p = p - lr * g / a
    """
    _check(p, g)
    _count_step(state)
    _zeros(state, p, "square_avg", *(("momentum_buffer",) if momentum > 0 else ()),
           *(("grad_avg",) if centered else ()))
    work = _signed_grad(g, maximize, p.dtype)
    if weight_decay != 0:
        work += weight_decay * p
    v = state["square_avg"]
    np.multiply(v, alpha, out=v)
    v += (1.0 - alpha) * work * work
    if centered:
        ga = state["grad_avg"]
        _lerp(ga, work, 1.0 - alpha)
        avg = np.sqrt(v - ga * ga)
    else:
        avg = np.sqrt(v)
    avg += eps
    if momentum > 0:
        buf = state["momentum_buffer"]
        np.multiply(buf, momentum, out=buf)
        buf += work / avg
        p -= lr * buf
    else:
        p -= lr * (work / avg)


def adagrad(p, g, state, *, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10, maximize=False):
    r"""One step of Adagrad (torch.optim.Adagrad), in place. At step t (from 1)::

        g   = -grad if maximize else grad
        g   = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s   = s + g**2                         (sum; starts at initial_accumulator_value)
        p   = p - clr * g / (sqrt(s) + eps)
    """
    _check(p, g)
    t = _count_step(state)
    if state.get("sum") is None:
        state["sum"] = np.full(p.shape, initial_accumulator_value, dtype=p.dtype)
    work = _signed_grad(g, maximize, p.dtype)
    if weight_decay != 0:
        work += weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s = state["sum"]
    s += work * work
    std = np.sqrt(s)
    std += eps
    p -= clr * (work / std)


def adadelta(p, g, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    r"""One step of Adadelta (torch.optim.Adadelta), in place::

        g  = -grad if maximize else grad
        g  = g + weight_decay * p
        v  = rho * v + (1 - rho) * g**2                 (square_avg)
        d  = sqrt(u + eps) / sqrt(v + eps) * g
        u  = rho * u + (1 - rho) * d**2                 (acc_delta)
        p  = p - lr * d
    """
    _check(p, g)
    _count_step(state)
    _zeros(state, p, "square_avg", "acc_delta")
    work = _signed_grad(g, maximize, p.dtype)
    if weight_decay != 0:
        work += weight_decay * p
    v, u = state["square_avg"], state["acc_delta"]
    np.multiply(v, rho, out=v)
    v += (1.0 - rho) * work * work
    std = np.sqrt(v + eps)
    delta = np.sqrt(u + eps) / std * work
    np.multiply(u, rho, out=u)
    u += (1.0 - rho) * delta * delta
    p -= lr * delta


def adamax(p, g, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
           maximize=False):
    r"""One step of Adamax (torch.optim.Adamax), in place. At step t (from 1)::

        g  = -grad if maximize else grad
        g  = g + weight_decay * p
        m  = lerp(m, g, 1 - beta1)                      (exp_avg)
        u  = max(beta2 * u, |g| + eps)                  (exp_inf)
        p  = p - lr / (1 - beta1**t) * m / u
    """
    _check(p, g)
    t = _count_step(state)
    _zeros(state, p, "exp_avg", "exp_inf")
    work = _signed_grad(g, maximize, p.dtype)
    if weight_decay != 0:
        work += weight_decay * p
    m, u = state["exp_avg"], state["exp_inf"]
    _lerp(m, work, 1.0 - beta1)
    np.maximum(u * beta2, np.abs(work) + eps, out=u)
    clr = lr / (1.0 - beta1**t)
    p -= clr * (m / u)


def nadam(p, g, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
          momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
    r"""One step of NAdam (torch.optim.NAdam), in place. At step t (from 1)::

        g    = -grad if maximize else grad
        p    = p * (1 - lr * weight_decay)  (decoupled)  or  g = g + weight_decay * p
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))
        P    = P * mu_t                                   (mu_product, starts at 1)
        m    = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g**2
        d    = sqrt(v / (1 - beta2**t)) + eps
        p    = p - lr (1 - mu_t) / (1 - P) * g / d - lr mu_{t+1} / (1 - P mu_{t+1}) * m / d

    ``mu_product`` is kept as a Python float (torch keeps a 0-d tensor of its default dtype).
    """
    _check(p, g)
    t = _count_step(state)
    state.setdefault("mu_product", 1.0)
    _zeros(state, p, "exp_avg", "exp_avg_sq")
    work = _signed_grad(g, maximize, p.dtype)
    if weight_decay != 0:
        if decoupled_weight_decay:
            np.multiply(p, 1.0 - lr * weight_decay, out=p)
        else:
            work += weight_decay * p
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    state["mu_product"] = float(state["mu_product"]) * mu
    mu_product = state["mu_product"]
    m, v = state["exp_avg"], state["exp_avg_sq"]
    _lerp(m, work, 1.0 - beta1)
    np.multiply(v, beta2, out=v)
    v += (1.0 - beta2) * work * work
    denom = np.sqrt(v / (1.0 - beta2**t))
    denom += eps
    p -= lr * (1.0 - mu) / (1.0 - mu_product) * (work / denom)
    p -= lr * mu_next / (1.0 - mu_product * mu_next) * (m / denom)


def radam(p, g, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
          decoupled_weight_decay=False, maximize=False):
    r"""One step of RAdam (torch.optim.RAdam), in place. At step t (from 1)::

        g     = -grad if maximize else grad
        p     = p * (1 - lr * weight_decay)  (decoupled)  or  g = g + weight_decay * p
        m     = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g**2
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        rho_t > 5:  p = p - lr * m / (1 - beta1**t) * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r
                    r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        otherwise:  p = p - lr * m / (1 - beta1**t)
    """
    _check(p, g)
    t = _count_step(state)
    _zeros(state, p, "exp_avg", "exp_avg_sq")
    work = _signed_grad(g, maximize, p.dtype)
    if weight_decay != 0:
        if decoupled_weight_decay:
            np.multiply(p, 1.0 - lr * weight_decay, out=p)
        else:
            work += weight_decay * p
    m, v = state["exp_avg"], state["exp_avg_sq"]
    _lerp(m, work, 1.0 - beta1)
    np.multiply(v, beta2, out=v)
    v += (1.0 - beta2) * work * work
    bias_correction1 = 1.0 - beta1**t
    bias_correction2 = 1.0 - beta2**t
    m_hat = m / bias_correction1
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta2**t / bias_correction2
    if rho_t > 5.0:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                         / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        adaptive = math.sqrt(bias_correction2) / (np.sqrt(v) + eps)
        p -= m_hat * lr * adaptive * rect
    else:
        p -= m_hat * lr


def rprop(p, g, state, *, lr, etaminus=0.5, etaplus=1.2, step_size_min=1e-6, step_size_max=50.0,
          maximize=False):
    r"""One step of Rprop (torch.optim.Rprop), in place, elementwise::

        g  = -grad if maximize else grad
        s  = g * prev                                    (prev starts at 0)
        step_size = clamp(step_size * (etaplus if s > 0, etaminus if s < 0, else 1),
                          step_size_min, step_size_max)  (step_size starts at lr)
        g  = 0 where s < 0;   p = p - sign(g) * step_size;   prev = g
    """
    _check(p, g)
    _count_step(state)
    _zeros(state, p, "prev")
    if state.get("step_size") is None:
        state["step_size"] = np.full(p.shape, lr, dtype=p.dtype)
    work = _signed_grad(g, maximize, p.dtype)
    prev, step_size = state["prev"], state["step_size"]
    s = np.sign(work * prev)
    factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1.0)).astype(p.dtype)
    np.multiply(step_size, factor, out=step_size)
    np.clip(step_size, step_size_min, step_size_max, out=step_size)
    work[s < 0] = 0
    p -= np.sign(work) * step_size
    np.copyto(prev, work)


def asgd(p, g, state, *, lr, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False):
    r"""One step of ASGD (torch.optim.ASGD), in place. At step t (from 1), with torch's state
    ``eta`` and ``mu`` (kept here as Python floats, set after each step as torch does)::

        g   = -grad if maximize else grad
        g   = g + weight_decay * p
        p   = p * (1 - lambd * eta);   p = p - eta * g      (eta starts at lr)
        ax  = ax + mu * (p - ax)   (ax = p when mu == 1)     (mu starts at 1)
        eta = lr / (1 + lambd * lr * t)**alpha;   mu = 1 / max(1, t - t0)
    """
    _check(p, g)
    t = _count_step(state)
    _zeros(state, p, "ax")
    state.setdefault("eta", float(lr))
    state.setdefault("mu", 1.0)
    work = _signed_grad(g, maximize, p.dtype)
    if weight_decay != 0:
        work += weight_decay * p
    eta, mu = state["eta"], state["mu"]
    np.multiply(p, 1.0 - lambd * eta, out=p)
    p -= eta * work
    ax = state["ax"]
    if mu != 1:
        ax += (p - ax) * mu
    else:
        np.copyto(ax, p)
    state["eta"] = lr / ((1 + lambd * lr * t) ** alpha)
    state["mu"] = 1 / max(1, t - t0)


def lion(p, g, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0, maximize=False):
    r"""One step of Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms",
    Program 1), in place::

        g  = -grad if maximize else grad
        p  = p * (1 - lr * weight_decay)
        p  = p - lr * sign(beta1 * m + (1 - beta1) * g)     (sign(0) = 0)
        m  = beta2 * m + (1 - beta2) * g                    (exp_avg)
    """
    _check(p, g)
    _zeros(state, p, "exp_avg")
    work = _signed_grad(g, maximize, p.dtype)
    m = state["exp_avg"]
    if weight_decay != 0:
        np.multiply(p, 1.0 - lr * weight_decay, out=p)
    update = np.sign(m * beta1 + (1.0 - beta1) * work)
    p -= lr * update
    np.multiply(m, beta2, out=m)
    m += (1.0 - beta2) * work


def _norm(x):
    """The Euclidean norm of ``x``, computed in float64."""
    return math.sqrt(float(np.sum(np.square(x, dtype=np.float64))))


def lamb(p, g, state, *, lr, beta1, beta2, eps, weight_decay=0.0, max_weight_norm=None,
         bias_correction=True, maximize=False):
    r"""One step of LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning: Training
    BERT in 76 minutes"), in place on ``p`` and ``state``.

    Equations at step t = 1, 2, ... (``m``, ``v`` are ``state['exp_avg']``,
    ``state['exp_avg_sq']``)::

        g = -grad if maximize else grad
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m^ = m / (1 - beta1**t),  v^ = v / (1 - beta2**t)   (bias_correction; else m, v)
        u = m^ / (sqrt(v^) + eps) + weight_decay * p
        r = min(||p||, max_weight_norm) / ||u||             (1 if either norm is 0)
        p = p - lr * r * u

    The norms are computed in float64; u, like everything else, in the dtype of ``p``.
    """
    _check(p, g)
    t = _count_step(state)
    _zeros(state, p, "exp_avg", "exp_avg_sq")
    m, v = state["exp_avg"], state["exp_avg_sq"]

    work = _signed_grad(g, maximize, p.dtype)
    np.multiply(m, beta1, out=m)
    m += (1.0 - beta1) * work
    np.multiply(v, beta2, out=v)
    v += (1.0 - beta2) * work * work  # ((1 - beta2) g) g: see adam

    bc1 = 1.0 - beta1**t if bias_correction else 1.0
    bc2 = 1.0 - beta2**t if bias_correction else 1.0
    # u = (m / bc1) / (sqrt(v) / sqrt(bc2) + eps) + weight_decay * p: v / bc2 first would
    # overflow on the first steps (bc2 = 1 - beta2 = 0.001) where sqrt(v) / sqrt(bc2) does not
    u = np.sqrt(v)
    u /= p.dtype.type(math.sqrt(bc2))
    u += p.dtype.type(eps)
    np.divide(m / p.dtype.type(bc1), u, out=u)
    if weight_decay != 0:
        u += weight_decay * p

    p_norm = _norm(p)
    if max_weight_norm is not None:
        p_norm = min(p_norm, max_weight_norm)
    u_norm = _norm(u)
    trust = p_norm / u_norm if p_norm > 0 and u_norm > 0 else 1.0
    np.multiply(u, lr * trust, out=u)
    np.subtract(p, u, out=p)


def lars(p, g, state, *, lr, momentum=0.9, weight_decay=0.0, nesterov=False,
         trust_coefficient=0.001, eps=1e-8, exclude_1d=True, maximize=False):
    r"""One step of LARS (You et al. 2017, "Large Batch Training of Convolutional Networks"), in
    place on ``p`` and ``state``.

    Equations (``b`` is ``state['momentum_buffer']``)::

        g  = -grad if maximize else grad
        l  = trust_coefficient * ||p|| / (||g|| + weight_decay * ||p|| + eps)
                                        (1 if ||p|| or ||g|| is 0)
        g' = (g + weight_decay * p) * l
        b  = g'  (first step)  or  momentum * b + g'        (if momentum != 0)
        d  = g' + momentum * b  if nesterov  else  b        (g' if momentum == 0)
        p  = p - lr * d

    With ``exclude_1d``, a ``p`` of at most one dimension uses l = 1 and no weight decay. The
    norms are computed in float64.
    """
    _check(p, g)
    work = _signed_grad(g, maximize, p.dtype)
    if not (exclude_1d and p.ndim <= 1):
        p_norm, g_norm = _norm(p), _norm(g)
        local_lr = 1.0
        if p_norm > 0 and g_norm > 0:
            local_lr = trust_coefficient * p_norm / (g_norm + weight_decay * p_norm + eps)
        if weight_decay != 0:
            work += weight_decay * p
        np.multiply(work, local_lr, out=work)
    _momentum_step(p, work, state, lr, momentum, 0.0, nesterov)


def adafactor(p, g, state, *, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
              weight_decay=0.0, maximize=False):
    r"""One step of Adafactor (Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with
    Sublinear Memory Cost") with torch.optim.Adafactor's semantics (its ``_single_tensor_adafactor``
    is the spec), in place on ``p`` and ``state``.

    For a parameter of 2+ dimensions the second moment is factored over the last two: a row
    variance R (``state['row_var']``, the parameter's shape with the last dimension 1) and a
    column variance C (``state['col_var']``, with the second-to-last dimension 1). Otherwise it is
    a full ``state['variance']``. At step t = 1, 2, ...::

        g     = -grad if maximize else grad
        b     = t ** beta2_decay                               (1 - beta2_t)
        rho   = min(lr, 1 / sqrt(t))
        alpha = max(eps2, ||p|| / sqrt(numel)) * rho          (||p|| before the decay)
        p     = p * (1 - lr * weight_decay)
        factored:   R = R + b * (mean(g**2, -1) - R),  C = C + b * (mean(g**2, -2) - C)
                    V = (R / max(mean(R, -2), eps1)) C        (an outer product; torch's
                        (R C) / max(...) overflows float32 for |g| > ~1.4e9, g**4-sized)
        otherwise:  V = variance = variance + b * (g**2 - variance)
        u     = g / sqrt(max(V, eps1**2))
        p     = p - alpha / max(1, ||u|| / (sqrt(numel) d)) * u

    eps1 = None means the machine epsilon of the parameter's dtype. Norms and means of squares
    are computed in float64, the rest in the dtype of ``p``. An empty ``p`` only counts the step.
    """
    _check(p, g)
    eps1, eps2 = eps
    if eps1 is None:
        eps1 = float(np.finfo(p.dtype).eps)
    factored = p.ndim > 1
    t = float(_count_step(state))
    if factored:
        if state.get("row_var") is None:
            state["row_var"] = np.zeros(p.shape[:-1] + (1,), dtype=p.dtype)
        if state.get("col_var") is None:
            state["col_var"] = np.zeros(p.shape[:-2] + (1, p.shape[-1]), dtype=p.dtype)
    else:
        _zeros(state, p, "variance")
    if p.size == 0:
        return  # nothing to update (torch raises ZeroDivisionError); the state is kept at zero

    work = _signed_grad(g, maximize, p.dtype)
    one_minus_beta2 = t**beta2_decay
    rho = min(lr, 1.0 / math.sqrt(t))
    numel = max(p.size, 1)
    alpha = max(eps2, _norm(p) / math.sqrt(numel)) * rho
    if weight_decay != 0:
        np.multiply(p, 1.0 - lr * weight_decay, out=p)

    squared = np.square(work, dtype=np.float64)
    if factored:
        row, col = state["row_var"], state["col_var"]
        row_mean = squared.mean(axis=-1, keepdims=True).astype(p.dtype)
        col_mean = squared.mean(axis=-2, keepdims=True).astype(p.dtype)
        row += one_minus_beta2 * (row_mean - row)
        col += one_minus_beta2 * (col_mean - col)
        mean_of_rows = np.maximum(row.mean(axis=-2, keepdims=True, dtype=np.float64), eps1)
        var = (row / mean_of_rows.astype(p.dtype)) * col  # broadcasts to the outer product
    else:
        variance = state["variance"]
        variance += one_minus_beta2 * (squared.astype(p.dtype) - variance)
        var = variance.copy()
    np.maximum(var, p.dtype.type(eps1 * eps1), out=var)
    update = work / np.sqrt(var)
    denom = max(1.0, _norm(update) / (math.sqrt(numel) * d))
    update *= alpha / denom
    np.subtract(p, update, out=p)


def adabelief(p, g, state, *, lr, beta1, beta2, eps, weight_decay=0.0, amsgrad=False,
              decoupled_weight_decay=True, bias_correction=True, maximize=False):
    r"""One step of AdaBelief (Zhuang et al. 2020, "AdaBelief Optimizer: Adapting Stepsizes by
    the Belief in Observed Gradients", NeurIPS, Algorithm 2), with the options of the authors'
    adabelief-pytorch (decoupled or L2 weight decay, AMSGrad; no rectification), in place.
    At step t = 1, 2, ... (``m``, ``s``, ``smax`` are ``state['exp_avg']``,
    ``state['exp_avg_var']``, ``state['max_exp_avg_var']``)::

        g = -grad if maximize else grad
        p = p * (1 - lr * weight_decay)                   (decoupled_weight_decay)
        g = g + weight_decay * p                          (otherwise: L2 penalty)
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * (g - m)**2 + eps    (the new m)
        smax = max(smax, s);  s^ = smax                   (amsgrad; else s^ = s)
        p = p - lr / bc1 * m / (sqrt(s^) / sqrt(bc2) + eps)

    bc1 = 1 - beta1**t and bc2 = 1 - beta2**t, or 1 without ``bias_correction``.
    """
    _check(p, g)
    t = _count_step(state)
    _zeros(state, p, "exp_avg", "exp_avg_var", *(("max_exp_avg_var",) if amsgrad else ()))
    work = _signed_grad(g, maximize, p.dtype)
    if weight_decay != 0:
        if decoupled_weight_decay:
            np.multiply(p, 1.0 - lr * weight_decay, out=p)
        else:
            work += weight_decay * p
    m, s = state["exp_avg"], state["exp_avg_var"]
    np.multiply(m, beta1, out=m)
    m += (1.0 - beta1) * work
    residual = work - m
    np.multiply(s, beta2, out=s)
    s += (1.0 - beta2) * residual * residual
    s += eps
    if amsgrad:
        np.maximum(state["max_exp_avg_var"], s, out=state["max_exp_avg_var"])
        s = state["max_exp_avg_var"]
    bc1 = 1.0 - beta1**t if bias_correction else 1.0
    bc2 = 1.0 - beta2**t if bias_correction else 1.0
    denom = np.sqrt(s) / math.sqrt(bc2) + eps
    p -= (lr / bc1) * (m / denom)


def adan(p, g, state, *, lr, betas=(0.98, 0.92, 0.99), eps=1e-8, weight_decay=0.0,
         no_prox=False, maximize=False):
    r"""One step of Adan (Xie et al. 2022, "Adan: Adaptive Nesterov Momentum Algorithm for
    Faster Optimizing Deep Models", Algorithm 1), in place. ``betas`` weigh the old value as in
    the authors' code (the paper's beta_i is 1 - beta_i here), and the moments are
    bias-corrected as there. At step t = 1, 2, ... (``m``, ``n``, ``v`` are
    ``state['exp_avg']``, ``state['exp_avg_sq']``, ``state['exp_avg_diff']``; the previous
    gradient is kept negated in ``state['neg_pre_grad']``, the code's key)::

        g = -grad if maximize else grad
        d = g - g_prev                                    (0 at t = 1)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * d
        n = beta3 * n + (1 - beta3) * (g + beta2 * d)**2
        eta = lr / (sqrt(n / bc3) + eps)                  bc_i = 1 - beta_i**t
        p = (p - eta * (m / bc1 + beta2 * v / bc2)) / (1 + lr * weight_decay)
        p = p * (1 - lr * weight_decay) - eta * (m / bc1 + beta2 * v / bc2)     (no_prox)
    """
    _check(p, g)
    beta1, beta2, beta3 = betas
    t = _count_step(state)
    _zeros(state, p, "exp_avg", "exp_avg_sq", "exp_avg_diff", "neg_pre_grad")
    work = _signed_grad(g, maximize, p.dtype)
    m, n, v = state["exp_avg"], state["exp_avg_sq"], state["exp_avg_diff"]
    diff = np.zeros_like(work) if t == 1 else work + state["neg_pre_grad"]
    np.multiply(m, beta1, out=m)
    m += (1.0 - beta1) * work
    np.multiply(v, beta2, out=v)
    v += (1.0 - beta2) * diff
    u = work + beta2 * diff
    np.multiply(n, beta3, out=n)
    n += (1.0 - beta3) * u * u
    bc1, bc2, bc3 = (1.0 - beta1**t), (1.0 - beta2**t), (1.0 - beta3**t)
    denom = np.sqrt(n) / math.sqrt(bc3) + eps
    update = ((lr / bc1) * m + (lr * beta2 / bc2) * v) / denom
    if no_prox:
        np.multiply(p, 1.0 - lr * weight_decay, out=p)
        p -= update
    else:
        p -= update
        p /= 1.0 + lr * weight_decay
    np.negative(work, out=state["neg_pre_grad"])
