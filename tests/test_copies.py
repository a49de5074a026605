"""Pickling and deep-copying every public object of steepest.optim, steepest.nn and
steepest.estimators mid-training gives a working object that continues bitwise like the
original (issue #22, item 7).

Each case builds a small training system (an optimizer with its parameters, a scheduler with its
optimizer, a model with its optimizer, ...), advances it a few steps, copies the whole system
(pickle or deepcopy, so that references between its objects are kept), then advances original and
copy alike: every observed array and number must stay bitwise equal, and the copy must own its
arrays. ``test_every_public_object_is_covered`` keeps the table complete.
"""

import copy
import inspect
import pickle

import numpy as np
import pytest

import steepest
from steepest import nn
from steepest.optim import lr_scheduler as S
from steepest.optim.registry import RULES as REGISTRY

COPIES = {"pickle": lambda o: pickle.loads(pickle.dumps(o)), "deepcopy": copy.deepcopy}
SHAPES = [(7,), (5, 3)]


def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def grads_for(params, t):
    rng = np.random.default_rng(1000 + t)
    return [rng.standard_normal(p.shape).astype(p.dtype) + p.dtype.type(0.1) * p
            for p in params]


def loss_and_grads(params):
    """A closure's (loss, grads) of sum((p - 1)^4) over the parameters."""
    return (sum(float(np.sum((p - 1.0) ** 4)) for p in params),
            [4 * (p - 1.0) ** 3 for p in params])


def observe(obj):
    """Everything comparable in ``obj``: arrays, numbers, strings, nested in lists and dicts."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, dict):
        return {k: observe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [observe(v) for v in obj]
    return obj


def same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape \
            and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return a == b or (a != a and b != b)  # NaN == NaN here


def arrays_in(obj, seen=None):
    """The ndarrays reachable from ``obj`` through lists, tuples, dicts and attributes."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type)) or callable(obj) \
            and not hasattr(obj, "__dict__"):
        return []
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple, set)):
        children = list(obj)
    else:
        children = list(getattr(obj, "__dict__", {}).values())
        children += [getattr(obj, s, None) for s in getattr(type(obj), "__slots__", ())]
    return [a for c in children for a in arrays_in(c, seen)]


# -- the systems --------------------------------------------------------------------------------
# Each case: make() -> system (a dict of objects); advance(system, t); look(system) -> what must
# stay equal between original and copy.

# Every rule of the registry, in its first configuration with nontrivial options.
RULES = {rule.name: rule.configs[0] for rule in REGISTRY.values()}


def optimizer_system(rule, **extra):
    def make():
        params = make_params()
        opt = getattr(steepest.optim, rule)(params, nonfinite="skip", **RULES[rule], **extra)
        return {"params": params, "opt": opt}
    return make


def step_optimizer(system, t):
    system["opt"].step(grads_for(system["params"], t))


def look_optimizer(system):
    return [observe(system["params"]), observe(system["opt"].state_dict())]


def lbfgs_system():
    params = make_params()
    return {"params": params, "opt": steepest.optim.LBFGS(params, max_iter=3, history_size=2,
                                                         line_search_fn="strong_wolfe")}


def step_with_closure(system, t):
    system["opt"].step(lambda: loss_and_grads(system["params"]))


def accumulate_system():
    params = make_params()
    return {"params": params, "opt": steepest.optim.Accumulate(
        steepest.optim.AdamW(params, lr=0.01), k=2)}


def look_wrapper(system):
    return [observe(system["params"]), observe(system["opt"].state_dict())]


def sam_system():
    params = make_params()
    return {"params": params,
            "opt": steepest.optim.SAM(steepest.optim.SGD(params, lr=0.002, momentum=0.9),
                                      rho=0.1, adaptive=True)}


def averaged_system(cls, **kwargs):
    def make():
        params = make_params()
        opt = steepest.optim.Adam(params, lr=0.01)
        return {"params": params, "opt": opt, "avg": cls(opt, **kwargs)}
    return make


def step_averaged(system, t):
    step_optimizer(system, t)
    system["avg"].update()


def look_averaged(system):
    return look_optimizer(system) + [observe(system["avg"].state_dict())]


def scale(t):
    """A picklable lr_lambda (a module-level function)."""
    return 0.95 ** t


class Warmup:
    """A picklable callable lr_lambda with state."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, t):
        return min(1.0, (t + 1) / self.steps)


SCHEDULERS = {
    "LambdaLR": lambda o: S.LambdaLR(o, [Warmup(4)]),
    "MultiplicativeLR": lambda o: S.MultiplicativeLR(o, scale),
    "StepLR": lambda o: S.StepLR(o, 2, gamma=0.5),
    "MultiStepLR": lambda o: S.MultiStepLR(o, [2, 4, 4], gamma=0.5),
    "ConstantLR": lambda o: S.ConstantLR(o, 0.5, total_iters=4),
    "LinearLR": lambda o: S.LinearLR(o, 0.25, total_iters=4),
    "ExponentialLR": lambda o: S.ExponentialLR(o, 0.9),
    "PolynomialLR": lambda o: S.PolynomialLR(o, total_iters=8, power=2.0),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, T_max=5),
    "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, 2, T_mult=2),
    "CyclicLR": lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=2, mode="triangular2"),
    "CyclicLR-exp_range": lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=2, mode="exp_range",
                                               gamma=0.9),
    "OneCycleLR": lambda o: S.OneCycleLR(o, 0.1, total_steps=20),
    "SequentialLR": lambda o: S.SequentialLR(
        o, [S.LinearWarmup(o, 2), S.CosineAnnealingLR(o, T_max=4)], milestones=[2]),
    "ChainedScheduler": lambda o: S.ChainedScheduler(
        [S.ConstantLR(o, 0.5, total_iters=3), S.ExponentialLR(o, 0.9)]),
    "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, patience=1, factor=0.5),
    "LinearWarmup": lambda o: S.LinearWarmup(o, 4),
}


def scheduler_system(name):
    def make():
        params = make_params()
        opt = steepest.optim.SGD(params, lr=0.1, momentum=0.9)
        return {"params": params, "opt": opt, "sched": SCHEDULERS[name](opt)}
    return make


def step_scheduled(system, t):
    step_optimizer(system, t)
    sched = system["sched"]
    if isinstance(sched, S.ReduceLROnPlateau):
        sched.step(1.0 if t % 3 else 0.5)
    else:
        sched.step()


def look_scheduled(system):
    return look_optimizer(system) + [system["sched"].get_last_lr(),
                                     observe(system["sched"].state_dict())]


# nn: data of 3 classes, 6 features
X = np.random.default_rng(3).standard_normal((40, 6)).astype(np.float32)
LABELS = np.random.default_rng(4).integers(0, 3, 40)


def model_system(layers, optimizer="adam"):
    def make():
        model = nn.Sequential(*layers())
        opt = getattr(steepest.optim, {"adam": "Adam", "sgd": "SGD"}[optimizer])(
            model.parameters(), lr=0.01)
        return {"model": model, "opt": opt}
    return make


def fit_epoch(system, t):
    system["model"].fit(X, LABELS, loss="cross_entropy", optimizer=system["opt"], epochs=1,
                        batch_size=16, seed=t)


def look_model(system):
    return [observe(system["model"].state_dict()), system["model"].predict(X),
            observe(system["opt"].state_dict())]


def every_layer():
    return [nn.Dense(6, 8, seed=0), nn.ReLU(), nn.Dense(8, 8, seed=1), nn.LeakyReLU(0.1),
            nn.Dropout(0.2, seed=5), nn.Dense(8, 8, seed=2), nn.Tanh(), nn.Dense(8, 8, seed=3),
            nn.Sigmoid(), nn.Dense(8, 8, seed=4), nn.GELU("tanh"), nn.Dense(8, 3, seed=6)]


WINDOWS = X.reshape(40, 2, 3)  # (N, T, F) sequences


def window_model(head):
    """Per-time-step layers, a nested Sequential, then ``head`` to (N, k) and a Dense."""
    return lambda: [nn.Dense(3, 8, seed=0), nn.ReLU(), nn.LayerNorm(8),
                    nn.Sequential(nn.Dense(8, 8, seed=1), nn.Tanh())] + head()


def fit_windows_epoch(system, t):
    system["model"].fit(WINDOWS, LABELS, loss="cross_entropy", optimizer=system["opt"],
                        epochs=1, batch_size=16, seed=t)


def look_window_model(system):
    return [observe(system["model"].state_dict()), system["model"].predict(WINDOWS),
            observe(system["opt"].state_dict())]


def early_stopping_system():
    system = model_system(lambda: [nn.Dense(6, 8, seed=0), nn.ReLU(), nn.Dense(8, 3, seed=1)])()
    system["stopper"] = nn.EarlyStopping(patience=2)
    return system


def fit_with_early_stopping(system, t):
    history = system["model"].fit(X, LABELS, loss="cross_entropy", optimizer=system["opt"],
                                  epochs=2, batch_size=16, seed=t,
                                  validation_data=(X[:10], LABELS[:10]),
                                  early_stopping=system["stopper"])
    system["history"] = history


def look_early_stopping(system):
    stopper = system["stopper"]
    return look_model(system) + [
        [stopper.best, stopper.best_epoch, stopper.stopped_epoch, stopper.monitored],
        observe(dict(system["history"])), system["history"].epochs, system["history"].steps]


def early_stopping_mid_fit():
    """An EarlyStopping copied between its epochs (as a fit would run it)."""
    model = nn.Sequential(nn.Dense(6, 3, seed=0))
    stopper = nn.EarlyStopping(monitor="loss", patience=3, min_delta=0.01)
    stopper.start(model, False, ["loss"])
    return {"model": model, "stopper": stopper, "history": {"loss": []}}


def update_early_stopping(system, t):
    system["history"]["loss"].append([1.0, 0.5, 0.6, 0.55, 0.7, 0.4, 0.45, 0.5][t])
    system["model"].layers[0].bias.data += np.float32(0.125)  # weights the stopper may keep
    system["stop"] = system["stopper"].update(t, system["history"])


def look_stopper(system):
    s = system["stopper"]
    return [s.best, s.best_epoch, s.stopped_epoch, s._wait, observe(s._best_weights),
            system.get("stop")]


def layer_system(layer):
    def make():
        return {"layer": layer()}
    return make


def layer_forward_backward(system, t):
    """One forward and backward of a layer alone (float32 data of 6 features)."""
    layer = system["layer"]
    rng = np.random.default_rng(t)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    y = layer.forward(x, training=True)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    system["y"], system["dx"] = y.copy(), layer.backward(dy).copy()


def look_layer(system):
    layer = system["layer"]
    return [system.get("y"), system.get("dx"),
            [[p.data.copy(), p.grad.copy()] for p in layer.parameters()],
            layer.infer(np.linspace(-3, 3, 30, dtype=np.float32).reshape(5, 6)).copy()]


def sequence_forward_backward(system, t):
    """One forward and backward of a sequence layer alone (float32 data (5, 7, 6))."""
    layer = system["layer"]
    rng = np.random.default_rng(t)
    x = rng.standard_normal((5, 7, 6)).astype(np.float32)
    y = layer.forward(x, training=True)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    system["y"], system["dx"] = y.copy(), layer.backward(dy).copy()


def look_sequence_layer(system):
    layer = system["layer"]
    return [system.get("y"), system.get("dx"),
            [[p.data.copy(), p.grad.copy()] for p in layer.parameters()],
            layer.infer(np.linspace(-3, 3, 210, dtype=np.float32).reshape(5, 7, 6)).copy()]


LOSSES = {
    "MSELoss": (nn.MSELoss, lambda rng: rng.standard_normal((5, 3)).astype(np.float32)),
    "L1Loss": (nn.L1Loss, lambda rng: rng.standard_normal((5, 3)).astype(np.float32)),
    "HuberLoss": (lambda: nn.HuberLoss(0.5),
                  lambda rng: rng.standard_normal((5, 3)).astype(np.float32)),
    "CrossEntropyLoss": (nn.CrossEntropyLoss, lambda rng: rng.integers(0, 3, 5)),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss,
                          lambda rng: rng.random((5, 3)).astype(np.float32)),
    # the ratio losses take one output (the position) and the next returns
    "SharpeLoss": (lambda: nn.SharpeLoss(cost=1e-3), lambda rng: rng.standard_normal(5), 1),
    "SortinoLoss": (nn.SortinoLoss, lambda rng: rng.standard_normal(5), 1),
    "ReinforceLoss": (nn.ReinforceLoss,
                      lambda rng: np.column_stack([rng.integers(0, 3, 5), rng.random(5)])),
}


def loss_system(name):
    def make():
        return {"loss": LOSSES[name][0](), "name": name}
    return make


def loss_value_and_grad(system, t):
    rng = np.random.default_rng(t)
    _, make_target, *outputs = LOSSES[system["name"]]
    outputs = outputs[0] if outputs else 3
    pred = rng.standard_normal((5, outputs)).astype(np.float32)
    target = system["loss"].targets(make_target(rng), outputs, np.float32)
    value, grad = system["loss"].value_and_grad(pred, target)
    system["value"], system["grad"] = value, grad.copy()


def look_loss(system):
    return [system.get("value"), system.get("grad"), repr(system["loss"])]


def parameter_system():
    return {"p": nn.Parameter(np.arange(6, dtype=np.float32).reshape(2, 3))}


def step_parameter(system, t):
    p = system["p"]
    p.grad += np.float32(t)
    p.data -= np.float32(0.5) * p.grad


def look_parameter(system):
    return [system["p"].data.copy(), system["p"].grad.copy(), repr(system["p"])]


def history_system():
    history = nn.History(["loss", "accuracy"])
    return {"history": history}


def add_to_history(system, t):
    h = system["history"]
    h["loss"].append(1.0 / (t + 1))
    h["accuracy"].append(t / 10)
    h.epochs += 1
    h.steps += 3


def look_history(system):
    h = system["history"]
    return [type(h).__name__, observe(dict(h)), h.epochs, h.steps, h.best_epoch]


CASES = {}  # id -> (make, advance, look, covers: the public names this case exercises)
for _rule in RULES:
    CASES[_rule] = (optimizer_system(_rule), step_optimizer, look_optimizer, {_rule})
CASES["LBFGS"] = (lbfgs_system, step_with_closure, look_optimizer, {"LBFGS"})
CASES["Accumulate"] = (accumulate_system, step_optimizer, look_wrapper, {"Accumulate"})
CASES["SAM"] = (sam_system, step_with_closure, look_wrapper, {"SAM"})
CASES["EMA"] = (averaged_system(steepest.optim.EMA, decay=0.8), step_averaged, look_averaged,
                {"EMA"})
CASES["SWA"] = (averaged_system(steepest.optim.SWA), step_averaged, look_averaged, {"SWA"})
for _name in SCHEDULERS:
    CASES[f"lr_scheduler.{_name}"] = (scheduler_system(_name), step_scheduled, look_scheduled,
                                      {_name.split("-")[0]} | (
                                          {"LinearWarmup", "CosineAnnealingLR"}
                                          if _name == "SequentialLR" else set()))
for _name in LOSSES:
    CASES[f"nn.{_name}"] = (loss_system(_name), loss_value_and_grad, look_loss, {_name})
CASES["nn.Parameter"] = (parameter_system, step_parameter, look_parameter, {"Parameter"})
CASES["nn.History"] = (history_system, add_to_history, look_history, {"History"})
CASES["nn.EarlyStopping-between-epochs"] = (early_stopping_mid_fit, update_early_stopping,
                                            look_stopper, {"EarlyStopping"})
# the nn cases that run nn kernels on the copy
NN_CASES = {
    "nn.Sequential": (model_system(every_layer), fit_epoch, look_model,
                      {"Sequential", "Dense", "ReLU", "LeakyReLU", "Dropout", "Tanh", "Sigmoid",
                       "GELU", "fit"}),
    "nn.Sequential-sgd": (model_system(lambda: [nn.Dense(6, 3, seed=0)], optimizer="sgd"),
                          fit_epoch, look_model, {"Sequential", "Dense"}),
    "nn.EarlyStopping-in-fit": (early_stopping_system, fit_with_early_stopping,
                                look_early_stopping, {"EarlyStopping", "History"}),
    "nn.Dense": (layer_system(lambda: nn.Dense(6, 4, seed=0)), layer_forward_backward,
                 look_layer, {"Dense"}),
    "nn.ReLU": (layer_system(nn.ReLU), layer_forward_backward, look_layer, {"ReLU"}),
    "nn.LeakyReLU": (layer_system(lambda: nn.LeakyReLU(0.2)), layer_forward_backward,
                     look_layer, {"LeakyReLU"}),
    "nn.Tanh": (layer_system(nn.Tanh), layer_forward_backward, look_layer, {"Tanh"}),
    "nn.Sigmoid": (layer_system(nn.Sigmoid), layer_forward_backward, look_layer, {"Sigmoid"}),
    "nn.GELU": (layer_system(nn.GELU), layer_forward_backward, look_layer, {"GELU"}),
    "nn.Dropout": (layer_system(lambda: nn.Dropout(0.3, seed=9)), layer_forward_backward,
                   look_layer, {"Dropout"}),
    "nn.Layer": (layer_system(nn.Layer), layer_forward_backward, look_layer, {"Layer"}),
    "nn.LayerNorm": (layer_system(lambda: nn.LayerNorm(6)), layer_forward_backward, look_layer,
                     {"LayerNorm"}),
    "nn.Sequential-windows-LastStep": (
        model_system(window_model(lambda: [nn.LastStep(), nn.Dense(8, 3, seed=2)])),
        fit_windows_epoch, look_window_model, {"Sequential", "Block", "LayerNorm", "LastStep"}),
    "nn.Sequential-windows-MeanOverTime": (
        model_system(window_model(lambda: [nn.MeanOverTime(), nn.Dense(8, 3, seed=2)])),
        fit_windows_epoch, look_window_model, {"MeanOverTime"}),
    "nn.Sequential-windows-Flatten": (
        model_system(window_model(lambda: [nn.Flatten(), nn.Dense(16, 3, seed=2)])),
        fit_windows_epoch, look_window_model, {"Flatten"}),
    "nn.Conv1d": (layer_system(lambda: nn.Conv1d(6, 4, 3, dilation=2, seed=0)),
                  sequence_forward_backward, look_sequence_layer, {"Conv1d"}),
    "nn.TCNBlock": (layer_system(lambda: nn.TCNBlock(6, 4, dropout=0.2, seed=0)),
                    sequence_forward_backward, look_sequence_layer, {"TCNBlock"}),
    "nn.MultiheadAttention": (
        layer_system(lambda: nn.MultiheadAttention(6, 2, dropout=0.2, causal=True, seed=0)),
        sequence_forward_backward, look_sequence_layer, {"MultiheadAttention"}),
    "nn.TransformerEncoderLayer": (
        layer_system(lambda: nn.TransformerEncoderLayer(6, 2, 8, dropout=0.2, seed=0)),
        sequence_forward_backward, look_sequence_layer, {"TransformerEncoderLayer"}),
    "nn.LSTM": (layer_system(lambda: nn.LSTM(6, 4, num_layers=2, dropout=0.2, seed=0)),
                sequence_forward_backward, look_sequence_layer, {"LSTM"}),
    "nn.GRU": (layer_system(lambda: nn.GRU(6, 4, num_layers=2, dropout=0.2, seed=0)),
               sequence_forward_backward, look_sequence_layer, {"GRU"}),
    "nn.PositionalEncoding": (
        layer_system(lambda: nn.PositionalEncoding(6, max_len=9, kind="learned", seed=0)),
        sequence_forward_backward, look_sequence_layer, {"PositionalEncoding"}),
}
CASES.update(NN_CASES)


class _Quartic:
    """A custom loss (the protocol of nn.losses): mean((p - y)^4), gradient 4 (p - y)^3 / N."""

    def value_and_grad(self, output, target):
        d = output - target
        return float(np.mean(d ** 4)), 4 * d ** 3 / d.size


def custom_loss_system():
    return {"loss": nn.CustomLoss(_Quartic()), "last": None}


def custom_loss_step(system, t):
    rng = np.random.default_rng(t)
    out, y = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    system["last"] = system["loss"].value_and_grad(out, y)


def look_custom_loss(system):
    return observe(list(system["last"]))  # [value, gradient]


CASES["nn.CustomLoss"] = (custom_loss_system, custom_loss_step, look_custom_loss,
                          {"CustomLoss"})

# the estimators (scikit-learn is optional), copied between partial_fit calls
try:
    from steepest import estimators
except ImportError:
    estimators = None


def estimator_system(make):
    def system():
        return {"est": make()}
    return system


def partial_fit_epoch(system, t):
    est = system["est"]
    if hasattr(est, "predict_proba"):
        est.partial_fit(X, LABELS, classes=[0, 1, 2])
    else:
        est.partial_fit(X, X @ np.arange(6.0) + np.sin(X[:, 0]))


def look_estimator(system):
    est = system["est"]
    out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
    return [out, list(est.loss_curve_), est.n_iter_, observe(getattr(est, "coef_", None))]


if estimators is not None:
    for _name, _make in {
        "LinearRegressor": lambda: estimators.LinearRegressor(
            penalty="elasticnet", alpha=0.01, optimizer="adam", batch_size=16, seed=0),
        "LogisticClassifier": lambda: estimators.LogisticClassifier(
            penalty="l1", optimizer="sgd", batch_size=8, seed=1),
        "MLPRegressor": lambda: estimators.MLPRegressor(
            hidden_layer_sizes=(8, 5), dropout=0.2, lr_schedule="cosine", epochs=10,
            batch_size=16, seed=2),
        "MLPClassifier": lambda: estimators.MLPClassifier(
            hidden_layer_sizes=(7,), activation="tanh", optimizer="sgd", lr_schedule="step",
            epochs=4, batch_size=16, seed=3),
        "SequenceRegressor": lambda: estimators.SequenceRegressor(   # X read as (n, 6, 1)
            hidden_size=4, dropout=0.1, batch_size=16, seed=4),
        "SequenceClassifier": lambda: estimators.SequenceClassifier(
            hidden_size=4, lr_schedule="cosine", epochs=5, batch_size=16, seed=5),
    }.items():
        CASES[f"estimators.{_name}"] = (estimator_system(_make), partial_fit_epoch,
                                        look_estimator, {_name})


def _params():
    return [pytest.param(name, how, id=f"{name}-{how}") for name in CASES for how in COPIES]


@pytest.mark.parametrize("name, how", _params())
def test_copy_continues_bitwise(name, how):
    make, advance, look, _ = CASES[name]
    original = make()
    for t in range(3):
        advance(original, t)
    twin = COPIES[how](original)
    assert same(look(twin), look(original))
    mine = {id(a) for a in arrays_in(original)}
    assert not any(id(a) in mine for a in arrays_in(twin)), "the copy shares arrays"
    for t in range(3, 7):
        advance(original, t)
        advance(twin, t)
        assert same(look(twin), look(original)), t
    # the copy is independent: advancing it alone leaves the original where it was
    before = look(original)
    advance(twin, 7)
    assert same(look(original), before)


def test_every_public_object_is_covered():
    """Every public class (and fit) of steepest.optim, its lr_scheduler, steepest.nn and
    steepest.estimators (with scikit-learn) is in a case above; base classes are covered
    through their subclasses."""
    public = set()
    for module in (steepest.optim, S, nn) + ((estimators,) if estimators else ()):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or name == "fit":
                public.add(name)
    covered = set().union(*(covers for *_, covers in CASES.values()))
    bases = {"Optimizer", "LRScheduler", "Loss", "Recurrent",
             "StopTraining"}  # StopTraining: an exception
    assert public - covered - bases == set()
