"""The contract between each rule's Python class and its C++ binding is by name: C++ exports
every rule's hyperparameter names and state keys (``_core.rules``, from the lists it reads them
by), the class gives its values by those names (``_hyper_values``) and the base class orders them
(``Optimizer._hyper``), so the two sides cannot drift apart by position."""

import numpy as np
import pytest

from steepest import _core, optim
from steepest.optim.optimizer import Optimizer


def _rule_classes():
    seen, todo = [], list(Optimizer.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__dict__.get("_hyper_values") and cls not in seen:
            seen.append(cls)
    return sorted(seen, key=lambda c: c.__name__)


CLASSES = _rule_classes()
IDS = [c.__name__ for c in CLASSES]


def _make(cls):
    return cls([np.zeros(3, np.float32)])


def test_every_rule_is_bound_and_every_binding_has_its_class():
    bound = {c._kernel.__name__.removesuffix("_step") for c in CLASSES}
    assert bound == set(_core.rules)
    assert len(CLASSES) >= 14


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_the_class_gives_exactly_the_names_cpp_reads(cls):
    opt = _make(cls)
    group = opt.param_groups[0]
    rule = _core.rules[cls._kernel.__name__.removesuffix("_step")]
    assert cls._hyper_names == rule["hyper"]
    values = opt._hyper_values(group)
    assert set(values) == set(rule["hyper"])
    assert opt._hyper(group) == tuple(values[n] for n in rule["hyper"])


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_the_state_keys_agree(cls):
    rule = _core.rules[cls._kernel.__name__.removesuffix("_step")]
    arrays = tuple(k for k in cls.state_keys if k != "step" and k not in cls.scalar_state)
    assert arrays == rule["state"]


def test_values_are_matched_by_name_not_by_position():
    """A class that builds its dict in another order steps exactly as the original."""

    class Shuffled(optim.NAdam):
        def _hyper_values(self, group):
            return dict(reversed(list(super()._hyper_values(group).items())))

    rng = np.random.default_rng(0)
    p = rng.standard_normal(37).astype(np.float32)
    q = p.copy()
    a = optim.NAdam([p], lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)
    b = Shuffled([q], lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)
    for _ in range(3):
        g = rng.standard_normal(37).astype(np.float32)
        a.step([g])
        b.step([g])
    assert np.array_equal(p, q)


@pytest.mark.parametrize("change", ["missing", "extra"])
def test_a_name_missing_or_extra_is_reported_and_changes_nothing(change):
    class Broken(optim.Adam):
        def _hyper_values(self, group):
            values = super()._hyper_values(group)
            if change == "missing":
                del values["betas[1]"]
            else:
                values["beta2"] = 0.999
            return values

    p = np.ones(5, np.float32)
    with pytest.raises(RuntimeError, match="betas\\[1\\]" if change == "missing" else "beta2"):
        Broken([p])
    opt = optim.Adam([p])
    opt.__class__ = Broken
    with pytest.raises(RuntimeError, match="internal"):
        opt.step([np.ones(5, np.float32)])
    assert np.array_equal(p, np.ones(5, np.float32))
    assert not opt.state
