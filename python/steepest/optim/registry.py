"""The registry of fused update rules: one row per rule, read by everything that lists rules.

``model.fit(optimizer="adamw")`` (steepest.nn.training), the benchmark harness
(steepest.bench.rules) and every table-driven test take their rules from ``RULES`` here, so a new
rule is its kernel, its header, its class and one ``Rule`` row: it is then covered by the generic
tests (parity with its NumPy reference and with torch, bad input, the non-finite guard,
interrupted steps, state_dict, copies, fuzzing), timed by the bench and named by ``fit``. The
torch drop-ins (steepest.torch) are generated from the classes themselves.

A row says, for its rule:
- ``cls``: the steepest.optim class; ``name`` its name (``key`` the lower-case one fit and the
  bench take);
- ``hyper``: the hyperparameters the generic tests build it with, chosen so that every state
  array the rule has exists after one step (momentum for SGD, amsgrad for Adam, ...);
- ``configs``: configurations worth testing as they are (state_dict round trips, replays of the
  reference): each sets options away from their defaults;
- ``fuzz_configs``: a few valid configurations the fuzzer draws from (together they create every
  state array the rule has);
- ``options``: axes of options whose product the torch parity test enumerates, each a tuple of
  alternatives (a dict each; one alternative may set several linked options). Combinations the
  class refuses (SGD's nesterov without momentum) are dropped (``combinations``);
- ``bad_hyper``: invalid hyperparameters and the error message (a regex, torch's words) each
  must raise, at construction and at a step after it was written into a param group;
- ``reference``: its NumPy oracle in steepest.reference.optim (``reference_step`` calls it with
  the class's hyperparameters);
- ``l2``: ``weight_decay`` adds ``weight_decay * p`` to the gradient (unless the group sets
  ``decoupled_weight_decay``), where it can cancel (test_parity's error scales widen there);
- tolerances: ``parity_k`` (test_parity's tolerance in units of eps(dtype) times each element's
  first-order error scale; None where the rule has scales of its own there) and ``torch_rtol``
  ({dtype name: rtol} of 200 free-running steps against torch, both dtypes);
- ``torch``: the name of torch.optim's class of the rule (None: torch has none), with
  ``torch_lr``, the two param groups' learning rates in the torch parity test;
- the bench: ``bench`` (constructor arguments), ``reads`` and ``writes`` (arrays read and written
  back in place per parameter, which fix the bytes a fused step moves: its memory ceiling), and
  for rules of several passes (per-tensor norms between them) ``passes``, the (reads, writes) of
  each.

The measured figures behind each tolerance are in the docstrings of the tests that use them.
"""

import inspect
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from .adabelief import AdaBelief
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adan import Adan
from .adamax import Adamax
from .asgd import ASGD
from .lamb import Lamb
from .lars import Lars
from .lion import Lion
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

# torch.optim's free-running tolerance over 200 steps (test_torch_parity's docstring).
TORCH_RTOL = {"float32": 2e-6, "float64": 5e-15}
# A pair of the classes' hyperparameters that the references take as two keywords.
_PAIRS = {"betas": ("beta1", "beta2"), "etas": ("etaminus", "etaplus"),
          "step_sizes": ("step_size_min", "step_size_max")}


@dataclass(frozen=True)
class Rule:
    cls: type
    hyper: dict
    configs: tuple
    fuzz_configs: tuple
    options: tuple
    bad_hyper: tuple
    reference: str
    bench: dict
    reads: int
    writes: int
    passes: tuple = ()
    l2: bool = False
    parity_k: float = None
    torch: str = None
    torch_lr: tuple = None
    torch_rtol: dict = field(default_factory=lambda: dict(TORCH_RTOL))

    @property
    def name(self):
        return self.cls.__name__

    @property
    def key(self):
        return self.name.lower()

    @property
    def state_keys(self):
        return self.cls.state_keys

    @property
    def array_keys(self):
        """The keys of the rule's state arrays (not the step count nor per-tensor scalars)."""
        return tuple(k for k in self.cls.state_keys
                     if k != "step" and k not in self.cls.scalar_state)

    @property
    def param_shaped(self):
        """Whether every state array has its parameter's shape (not Adafactor's factors)."""
        return self.cls._state_shape is Optimizer._state_shape

    @property
    def defaults(self):
        """The constructor's defaults (what a group holds for an argument not given)."""
        return {n: p.default for n, p in inspect.signature(self.cls.__init__).parameters.items()
                if n not in ("self", "params", "nonfinite")}

    def make(self, params, **hyper):
        return self.cls(params, **hyper)

    def reference_kwargs(self, hyper):
        """The keywords of the reference for the class's hyperparameters ``hyper`` (a param group
        or constructor arguments; missing ones take the class's defaults)."""
        function = getattr(_reference(), self.reference)
        accepted = inspect.signature(function).parameters
        h = dict(self.defaults)
        h.update(hyper)
        h.update(getattr(self.cls, "fixed_hyper", {}))
        for pair, (first, second) in _PAIRS.items():
            if pair in h and first in accepted:
                h[first], h[second] = h.pop(pair)
        return {k: v for k, v in h.items() if k in accepted}

    def reference_step(self, p, g, state, hyper):
        """One step of the NumPy reference on ``p`` (in place) with the class's hyperparameters."""
        getattr(_reference(), self.reference)(p, g, state, **self.reference_kwargs(hyper))

    def combinations(self):
        """The product of ``options``, each a dict of hyperparameters, without those the class
        refuses."""
        found = []
        for parts in itertools.product(*self.options):
            hyper = {k: v for part in parts for k, v in part.items()}
            try:
                self.cls([np.zeros(1)], **hyper)
            except ValueError:
                continue
            found.append(hyper)
        return found


def _reference():
    from ..reference import optim
    return optim


def _flags(*names):
    """One axis per flag: off or on."""
    return tuple(({n: False}, {n: True}) for n in names)


def _either(name, *values):
    return (tuple({name: v} for v in values),)


# Bad hyperparameters shared by rules with torch's wording for them.
_BAD_LR = ((dict(lr=math.nan), r"Invalid learning rate: nan"),
           (dict(lr=-0.1), r"Invalid learning rate: -0\.1"))
_BAD_EPS = ((dict(eps=-1e-8), r"Invalid epsilon value: -1e-08"),)
_BAD_WD = ((dict(weight_decay=-0.01), r"Invalid weight_decay value: -0\.01"),)
_BAD_BETAS = ((dict(betas=(1.5, 0.999)), r"Invalid beta parameter at index 0: 1\.5"),
              (dict(betas=(0.9, -0.5)), r"Invalid beta parameter at index 1: -0\.5"),
              (dict(betas=(0.9,)), r"Invalid betas: expected 2 values, got 1"))
_BAD_ADAM = (
    (dict(lr=math.nan), r"Invalid learning rate: nan"),
    (dict(lr=-0.1), r"Invalid learning rate: -0\.1"),
    (dict(lr=math.inf), r"Invalid learning rate: inf"),
    (dict(eps=-1e-8), r"Invalid epsilon value: -1e-08"),
    (dict(eps=math.nan), r"Invalid epsilon value: nan"),
    (dict(betas=(1.5, 0.999)), r"Invalid beta parameter at index 0: 1\.5"),
    (dict(betas=(-0.1, 0.999)), r"Invalid beta parameter at index 0: -0\.1"),
    (dict(betas=(0.9, 1.0)), r"Invalid beta parameter at index 1: 1\.0"),
    (dict(betas=(0.9, math.nan)), r"Invalid beta parameter at index 1: nan"),
    (dict(betas=(0.9, 0.99, 0.999)), r"Invalid betas: expected 2 values, got 3"),
    (dict(weight_decay=-0.01), r"Invalid weight_decay value: -0\.01"),
)
# weight_decay 0 or 0.1, maximize or not: the axes of most rules' torch parity cases.
_WD_MAX = (({"weight_decay": 0.0}, {"weight_decay": 0.1}), *_flags("maximize"))
# The element-wise rules' tolerance in test_parity (see its module docstring).
_ELEMENTWISE_K = 48.0

RULES = {rule.key: rule for rule in [
    Rule(
        SGD, hyper=dict(lr=0.1, momentum=0.9),
        configs=(dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01),
                 dict(lr=0.02, momentum=0.8, dampening=0.2, maximize=True)),
        fuzz_configs=(dict(lr=0.1), dict(lr=0.1, momentum=0.9),
                      dict(lr=0.05, momentum=0.9, nesterov=True),
                      dict(momentum=0.5, dampening=0.3, weight_decay=0.01, maximize=True)),
        options=(_either("momentum", 0.0, 0.9) + _either("dampening", 0.0, 0.3)
                 + _flags("nesterov") + _WD_MAX),
        bad_hyper=(
            (dict(lr=math.nan), r"Invalid learning rate: nan"),
            (dict(lr=-0.1), r"Invalid learning rate: -0\.1"),
            (dict(lr=math.inf), r"Invalid learning rate: inf"),
            (dict(momentum=-0.9), r"Invalid momentum value: -0\.9"),
            (dict(momentum=math.nan), r"Invalid momentum value: nan"),
            (dict(weight_decay=-0.01), r"Invalid weight_decay value: -0\.01"),
            (dict(dampening=math.nan), r"Invalid dampening value: nan"),
            (dict(momentum=0.0, nesterov=True),
             r"Nesterov momentum requires a momentum and zero dampening"),
            (dict(dampening=0.5, nesterov=True),
             r"Nesterov momentum requires a momentum and zero dampening")),
        reference="sgd", l2=True, torch="SGD", torch_lr=(0.01, 0.003),
        # reads p, g, b; writes p, b
        bench=dict(lr=1e-3, momentum=0.9), reads=3, writes=2),
    Rule(
        Adam, hyper=dict(lr=0.1, amsgrad=True),
        configs=(dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.01, amsgrad=True),
                 dict(lr=0.003, maximize=True)),
        fuzz_configs=(dict(lr=0.01), dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
        # torch 2.13's Adam takes AdamW's decay as an option
        options=(_either("decoupled_weight_decay", False, True) + _flags("amsgrad") + _WD_MAX),
        bad_hyper=_BAD_ADAM, reference="adam", l2=True, torch="Adam",
        torch_lr=(0.01, 0.002),
        # reads p, g, m, v; writes p, m, v: 28 bytes per float32 parameter
        bench=dict(lr=1e-3), reads=4, writes=3),
    Rule(
        AdamW, hyper=dict(lr=0.1, amsgrad=True),
        configs=(dict(lr=0.01, weight_decay=0.1, amsgrad=True),
                 dict(lr=0.003, betas=(0.5, 0.9), maximize=True)),
        fuzz_configs=(dict(lr=0.01), dict(lr=0.01, amsgrad=True, maximize=True)),
        options=(_flags("amsgrad") + _WD_MAX),
        bad_hyper=_BAD_ADAM, reference="adam", torch="AdamW", torch_lr=(0.01, 0.002),
        bench=dict(lr=1e-3, weight_decay=1e-2), reads=4, writes=3),
    Rule(
        # momentum and centered: every state array exists
        RMSprop, hyper=dict(lr=0.01, momentum=0.9, centered=True),
        configs=(dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01),
                 dict(lr=0.003, maximize=True)),
        fuzz_configs=(dict(), dict(momentum=0.9, centered=True, weight_decay=0.1)),
        options=(_flags("centered") + _either("momentum", 0.0, 0.9) + _WD_MAX),
        bad_hyper=_BAD_LR + _BAD_EPS + _BAD_WD + (
            (dict(alpha=-0.5), r"Invalid alpha value: -0\.5"),
            (dict(momentum=-0.9), r"Invalid momentum value: -0\.9")),
        reference="rmsprop", l2=True,
        parity_k=_ELEMENTWISE_K, torch="RMSprop", torch_lr=(0.01, 0.003),
        # reads p, g, v; writes p, v
        bench=dict(lr=1e-2), reads=3, writes=2),
    Rule(
        Adagrad, hyper=dict(lr=0.1),
        configs=(dict(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1,
                      weight_decay=0.01),),
        fuzz_configs=(dict(), dict(lr_decay=0.01, initial_accumulator_value=0.1)),
        options=(_either("lr_decay", 0.0, 0.01) + _either("initial_accumulator_value", 0.0, 0.1)
                 + _WD_MAX),
        bad_hyper=_BAD_LR + _BAD_EPS + _BAD_WD + (
            (dict(lr_decay=-0.1), r"Invalid lr_decay value: -0\.1"),
            (dict(initial_accumulator_value=-1.0),
             r"Invalid initial_accumulator_value value: -1\.0")),
        reference="adagrad", l2=True,
        parity_k=_ELEMENTWISE_K, torch="Adagrad", torch_lr=(0.05, 0.01),
        # reads p, g, sum; writes p, sum
        bench=dict(lr=1e-2), reads=3, writes=2),
    Rule(
        Adadelta, hyper=dict(),
        configs=(dict(lr=1.0, rho=0.8, weight_decay=0.01, maximize=True),),
        fuzz_configs=(dict(), dict(weight_decay=0.1, maximize=True)),
        options=_WD_MAX,
        bad_hyper=_BAD_LR + _BAD_EPS + _BAD_WD + (
            (dict(rho=1.5), r"Invalid rho value: 1\.5"),
            (dict(rho=-0.1), r"Invalid rho value: -0\.1")),
        reference="adadelta", l2=True,
        parity_k=_ELEMENTWISE_K, torch="Adadelta", torch_lr=(1.0, 0.3),
        # acc_delta squares a quotient of square roots: 8.6e-7 / 1.4e-15 measured vs torch
        torch_rtol={"float32": 1e-5, "float64": 2e-14},
        # reads p, g, v, u; writes p, v, u
        bench=dict(), reads=4, writes=3),
    Rule(
        Adamax, hyper=dict(lr=0.01),
        configs=(dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.01),),
        fuzz_configs=(dict(), dict(weight_decay=0.1)),
        options=_WD_MAX,
        bad_hyper=_BAD_LR + _BAD_EPS + _BAD_WD + _BAD_BETAS,
        reference="adamax", l2=True,
        parity_k=_ELEMENTWISE_K, torch="Adamax", torch_lr=(0.01, 0.002),
        # reads p, g, m, u; writes p, m, u
        bench=dict(lr=2e-3), reads=4, writes=3),
    Rule(
        NAdam, hyper=dict(lr=0.01),
        configs=(dict(lr=0.01, weight_decay=0.01, momentum_decay=0.01),
                 dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
        fuzz_configs=(dict(), dict(weight_decay=0.1, decoupled_weight_decay=True)),
        options=(_flags("decoupled_weight_decay") + _WD_MAX),
        bad_hyper=_BAD_LR + _BAD_EPS + _BAD_WD + _BAD_BETAS + (
            (dict(momentum_decay=-0.1), r"Invalid momentum_decay value: -0\.1"),),
        reference="nadam", l2=True, parity_k=_ELEMENTWISE_K, torch="NAdam", torch_lr=(0.01, 0.002),
        # reads p, g, m, v; writes p, m, v
        bench=dict(lr=2e-3), reads=4, writes=3),
    Rule(
        RAdam, hyper=dict(lr=0.01),
        configs=(dict(lr=0.01, weight_decay=0.01),
                 dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
        fuzz_configs=(dict(), dict(weight_decay=0.1, decoupled_weight_decay=True)),
        options=(_flags("decoupled_weight_decay") + _WD_MAX),
        bad_hyper=_BAD_LR + _BAD_EPS + _BAD_WD + _BAD_BETAS,
        reference="radam", l2=True, parity_k=_ELEMENTWISE_K, torch="RAdam", torch_lr=(0.01, 0.002),
        # reads p, g, m, v; writes p, m, v
        bench=dict(lr=1e-3), reads=4, writes=3),
    Rule(
        Rprop, hyper=dict(lr=0.01),
        configs=(dict(lr=0.01, etas=(0.4, 1.3), step_sizes=(1e-5, 1.0)),),
        fuzz_configs=(dict(), dict(maximize=True)),
        options=(({"etas": (0.5, 1.2), "step_sizes": (1e-6, 50)},
                  {"etas": (0.3, 1.5), "step_sizes": (1e-3, 0.05)}), *_flags("maximize")),
        bad_hyper=_BAD_LR + (
            (dict(etas=(1.5, 1.2)), r"Invalid eta values: 1\.5, 1\.2"),
            (dict(etas=(0.5, 0.9)), r"Invalid eta values: 0\.5, 0\.9"),
            (dict(etas=(0.0, 1.2)), r"Invalid eta values: 0\.0, 1\.2"),
            (dict(step_sizes=(1.0, 1e-6)), r"Invalid step_sizes: 1\.0, 1e-06"),
            (dict(etas=(0.5,)), r"Invalid etas: expected 2 values, got 1")),
        # products, compares and selects: bitwise equal to its reference and to torch
        reference="rprop", parity_k=0.0, torch="Rprop", torch_lr=(0.01, 0.003),
        # reads p, g, prev, step_size; writes p, prev, step_size
        bench=dict(lr=1e-2), reads=4, writes=3),
    Rule(
        # t0=2: the average starts after two steps
        ASGD, hyper=dict(lr=0.01, t0=2.0),
        configs=(dict(lr=0.01, t0=20.0, lambd=0.01, weight_decay=0.01),),
        fuzz_configs=(dict(), dict(t0=1.0, weight_decay=0.1)),
        options=(({"t0": 1e6, "lambd": 1e-4}, {"t0": 50.0, "lambd": 0.01}), *_WD_MAX),
        bad_hyper=_BAD_LR + _BAD_WD + ((dict(lambd=math.nan), r"Invalid lambd value: nan"),),
        reference="asgd", l2=True, parity_k=_ELEMENTWISE_K, torch="ASGD", torch_lr=(0.01, 0.003),
        # With the default t0 (mu = 1, ax = p): reads p, g; writes p, ax. ax is only written,
        # but a write-allocating cache reads its lines first: the (3, 2) pattern.
        bench=dict(lr=1e-2), reads=3, writes=2),
    Rule(
        Lion, hyper=dict(lr=1e-3),
        configs=(dict(lr=1e-3, weight_decay=0.1, maximize=True),),
        fuzz_configs=(dict(), dict(weight_decay=0.1)),
        options=_WD_MAX,
        bad_hyper=_BAD_LR + _BAD_WD + _BAD_BETAS,
        # bitwise equal to its reference (its sums are unfused in both); not in torch
        reference="lion", parity_k=0.0,
        # reads p, g, m; writes p, m
        bench=dict(lr=1e-4), reads=3, writes=2),
    Rule(
        Lamb, hyper=dict(lr=0.1),
        configs=(dict(lr=0.01, weight_decay=0.01, max_weight_norm=3.0),
                 dict(lr=0.003, betas=(0.5, 0.9), bias_correction=False, maximize=True)),
        fuzz_configs=(dict(), dict(max_weight_norm=10.0, bias_correction=False)),
        options=(_flags("bias_correction") + _WD_MAX),
        bad_hyper=_BAD_ADAM + (
            (dict(max_weight_norm=0.0), r"Invalid max_weight_norm value: 0\.0"),
            (dict(max_weight_norm=-1.0), r"Invalid max_weight_norm value: -1\.0"),
            (dict(max_weight_norm=math.nan), r"Invalid max_weight_norm value: nan")),
        reference="lamb",
        # Two passes: (1) reads p, g, m, v, writes m, v and sums ||p||^2, ||u||^2; (2) reads
        # p, m, v (u recomputed), writes p: 40 bytes per float32 parameter.
        bench=dict(lr=1e-3, weight_decay=1e-2), reads=7, writes=3, passes=((4, 2), (3, 1))),
    Rule(
        Lars, hyper=dict(lr=0.1, exclude_1d=False),
        configs=(dict(lr=0.5, momentum=0.9, nesterov=True, weight_decay=0.01, exclude_1d=False),
                 dict(lr=0.2, momentum=0.8, trust_coefficient=0.01, maximize=True)),
        fuzz_configs=(dict(), dict(exclude_1d=False, nesterov=True, weight_decay=0.01)),
        options=(_flags("nesterov", "exclude_1d") + _WD_MAX),
        bad_hyper=(
            (dict(lr=math.nan), r"Invalid learning rate: nan"),
            (dict(lr=-0.1), r"Invalid learning rate: -0\.1"),
            (dict(momentum=-0.9), r"Invalid momentum value: -0\.9"),
            (dict(weight_decay=-0.01), r"Invalid weight_decay value: -0\.01"),
            (dict(trust_coefficient=0.0), r"Invalid trust_coefficient value: 0\.0"),
            (dict(trust_coefficient=math.inf), r"Invalid trust_coefficient value: inf"),
            (dict(eps=-1e-8), r"Invalid epsilon value: -1e-08"),
            (dict(momentum=0.0, nesterov=True), r"Nesterov momentum requires a momentum")),
        reference="lars",
        # Two passes: (1) reads p, g for ||p||, ||g||; (2) SGD with momentum: reads p, g, b,
        # writes p, b: 28 bytes per float32 parameter.
        bench=dict(lr=0.1, momentum=0.9, weight_decay=1e-4, exclude_1d=False), reads=5,
        writes=2, passes=((2, 0), (3, 2))),
    Rule(
        Adafactor, hyper=dict(lr=0.01),
        configs=(dict(lr=0.01, weight_decay=0.01, eps=(1e-6, 1e-3)),
                 dict(lr=0.02, beta2_decay=-0.5, d=2.0, maximize=True)),
        fuzz_configs=(dict(), dict(eps=(1e-30, 1e-3), weight_decay=0.1)),
        options=(_WD_MAX + (({"eps": (None, 1e-3)}, {"eps": (1e-6, 0.0)}),)
                 + _either("d", 1.0, 2.0)),
        bad_hyper=(
            (dict(lr=-0.1), r"Learning rate should be >= 0 but is: -0\.1"),
            (dict(lr=math.nan), r"Learning rate should be >= 0 but is: nan"),
            (dict(beta2_decay=0.5), r"beta2_decay should be <= 0 but is: 0\.5"),
            (dict(eps=(-1e-30, 1e-3)), r"epsilon1 should be >= 0 but is: -1e-30"),
            (dict(eps=(None, -1.0)), r"epsilon2 should be >= 0 but is: -1\.0"),
            (dict(eps=(None, 1e-3, 0.0)), r"Invalid eps: expected 2 values, got 3"),
            (dict(d=0.5), r"Clipping threshold d should be >= 1 but is: 0\.5"),
            (dict(weight_decay=-0.01), r"weight_decay should be >= 0 but is: -0\.01")),
        reference="adafactor", torch="Adafactor", torch_lr=(0.01, 0.002),
        # On the bench's 1-d tensors (unfactored), three passes: ||p|| and v (reads p, g, v,
        # writes v); ||u|| (reads g, v); p (reads p, g, v, writes p): 40 bytes per float32
        # parameter. (Factored 2-d tensors: p, g; g; p, g -> p.)
        bench=dict(), reads=8, writes=2, passes=((3, 1), (2, 0), (3, 1))),
    Rule(
        AdaBelief, hyper=dict(lr=0.1, amsgrad=True),
        configs=(dict(lr=0.01, betas=(0.8, 0.95), eps=1e-12, weight_decay=0.01, amsgrad=True,
                      decoupled_weight_decay=False),
                 dict(lr=0.003, weight_decay=0.1, bias_correction=False, maximize=True)),
        fuzz_configs=(dict(), dict(amsgrad=True, weight_decay=0.1, decoupled_weight_decay=False)),
        options=(_flags("amsgrad", "decoupled_weight_decay", "bias_correction") + _WD_MAX),
        bad_hyper=_BAD_ADAM, reference="adabelief", l2=True, parity_k=_ELEMENTWISE_K,
        # reads p, g, m, s; writes p, m, s
        bench=dict(lr=1e-3), reads=4, writes=3),
    Rule(
        Adan, hyper=dict(lr=0.01),
        configs=(dict(lr=0.01, betas=(0.9, 0.8, 0.95), eps=1e-6, weight_decay=0.02),
                 dict(lr=0.003, weight_decay=0.1, no_prox=True, maximize=True)),
        fuzz_configs=(dict(), dict(weight_decay=0.1, no_prox=True)),
        options=(_flags("no_prox") + _WD_MAX),
        bad_hyper=_BAD_LR + _BAD_EPS + _BAD_WD + (
            (dict(betas=(1.0, 0.92, 0.99)), r"Invalid beta parameter at index 0: 1\.0"),
            (dict(betas=(0.98, -0.1, 0.99)), r"Invalid beta parameter at index 1: -0\.1"),
            (dict(betas=(0.98, 0.92, math.nan)), r"Invalid beta parameter at index 2: nan"),
            (dict(betas=(0.98, 0.92)), r"Invalid betas: expected 3 values, got 2")),
        reference="adan", parity_k=_ELEMENTWISE_K,
        # reads p, g, m, n, v, -g_prev; writes p, m, n, v, -g_prev
        bench=dict(lr=1e-3), reads=6, writes=5),
]}
