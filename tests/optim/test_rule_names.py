"""The contract between each rule's Python class and its C++ binding is by name: C++ exports
every rule's hyperparameter names and state keys (``_core.rules``, from the lists it reads them
by), and ``Optimizer._hyper`` reads a group's values by those names ("lr" is group["lr"],
"betas[1]" is group["betas"][1]) in C++'s order, so the two sides cannot drift apart by
position and a rule's class writes no per-rule code for it."""

import numpy as np
import pytest

from steepest import _core, optim
from steepest.optim.optimizer import Optimizer


def _rule_classes():
    seen, todo = [], list(Optimizer.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__dict__.get("_kernel") is not None and cls not in seen:
            seen.append(cls)
    return sorted(seen, key=lambda c: c.__name__)


CLASSES = _rule_classes()
IDS = [c.__name__ for c in CLASSES]


def _rule(cls):
    return _core.rules[cls._kernel.__name__.removesuffix("_step")]


def test_every_rule_is_bound_and_every_binding_has_its_class():
    assert {c._kernel.__name__.removesuffix("_step") for c in CLASSES} == set(_core.rules)
    assert len(CLASSES) >= 16


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_each_cpp_name_reads_its_own_group_value(cls):
    """Set one group value at a time to a marker: it shows up at exactly its name's place."""
    opt = cls([np.zeros(3, np.float32)])
    names = _rule(cls)["hyper"]
    assert cls._hyper_names == names
    for place, name in enumerate(names):
        key, bracket, index = name.partition("[")
        if key in cls.fixed_hyper:
            continue
        group = dict(opt.param_groups[0])
        marker = object()
        if bracket:
            value = list(group[key])
            value[int(index.rstrip("]"))] = marker
            group[key] = tuple(value)
        else:
            group[key] = marker
        values = opt._hyper(group)
        assert len(values) == len(names)
        assert [i for i, v in enumerate(values) if v is marker] == [place], name


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_the_state_keys_agree(cls):
    arrays = tuple(k for k in cls.state_keys if k != "step" and k not in cls.scalar_state)
    assert arrays == _rule(cls)["state"]


def test_fixed_and_none_values():
    """AdamW's decoupled decay is fixed whatever its group says; LAMB's max_weight_norm=None
    and Adafactor's eps=(None, ...) are passed as C++ reads them (inf, nan)."""
    p = np.zeros(3, np.float32)
    adamw = optim.AdamW([p])
    group = dict(adamw.param_groups[0], decoupled_weight_decay=False)
    assert adamw._hyper(group)[adamw._hyper_names.index("decoupled_weight_decay")] is True
    lamb = optim.Lamb([p], max_weight_norm=None)
    assert lamb._hyper(lamb.param_groups[0])[lamb._hyper_names.index("max_weight_norm")] == np.inf
    ada = optim.Adafactor([p])
    assert np.isnan(ada._hyper(ada.param_groups[0])[ada._hyper_names.index("eps[0]")])


@pytest.mark.parametrize("cls", [c for c in CLASSES
                                 if any("[" in n for n in _rule(c)["hyper"])], ids=lambda c: c.__name__)
def test_a_sequence_of_the_wrong_length_is_refused_and_changes_nothing(cls):
    key = next(n for n in _rule(cls)["hyper"] if "[" in n).partition("[")[0]
    p = np.ones(5, np.float32)
    opt = cls([p])
    value = tuple(opt.param_groups[0][key])
    opt.param_groups[0][key] = value + value[-1:]
    with pytest.raises(ValueError, match=rf"Invalid {key}: expected {len(value)} values, got "
                                         rf"{len(value) + 1}"):
        opt.step([np.ones(5, np.float32)])
    assert np.array_equal(p, np.ones(5, np.float32))
    assert not opt.state


def test_a_name_the_groups_lack_is_reported_as_internal_and_changes_nothing():
    class Broken(optim.Adam):
        _hyper_names = optim.Adam._hyper_names + ("beta3",)

    p = np.ones(5, np.float32)
    opt = optim.Adam([p])
    opt.__class__ = Broken
    with pytest.raises(RuntimeError, match="internal.*beta3"):
        opt.step([np.ones(5, np.float32)])
    assert np.array_equal(p, np.ones(5, np.float32))
    assert not opt.state
