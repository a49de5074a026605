"""steepest.save / steepest.load: bitwise resume, atomic writes, versions, checks, names."""

import copy
import json
import os
import zipfile

import numpy as np
import pytest

import steepest
from steepest import checkpoint
from steepest.optim import EMA, LBFGS, Accumulate
from steepest.optim import lr_scheduler as S

SHAPES = {"dense.weight": (4, 3), "dense.bias": (3,), "head.weight": (3, 1)}
X = np.random.default_rng(7).standard_normal((64, 4))
Y = np.random.default_rng(8).standard_normal((64, 1))


def make_model(seed=0):
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape) * 0.5 for name, shape in SHAPES.items()}


def grads(model, t):
    """Gradients of a two-layer tanh network's squared error on minibatch t."""
    idx = np.random.default_rng(1000 + t).choice(len(X), 16, replace=False)
    x, y = X[idx], Y[idx]
    h = np.tanh(x @ model["dense.weight"] + model["dense.bias"])
    err = h @ model["head.weight"] - y
    dh = err @ model["head.weight"].T * (1 - h * h)
    return {"dense.weight": x.T @ dh / len(y), "dense.bias": dh.mean(0),
            "head.weight": h.T @ err / len(y)}


def setup_adamw(model):
    groups = [{"params": [model["dense.weight"], model["dense.bias"]]},
              {"params": [model["head.weight"]], "lr": 0.003}]
    opt = Accumulate(steepest.optim.AdamW(groups, lr=0.01, weight_decay=0.05), k=3)
    sched = S.SequentialLR(opt, [S.LinearWarmup(opt, 4), S.CosineAnnealingLR(opt, T_max=10)],
                           milestones=[4])
    return opt, sched


def setup_sgd(model):
    opt = steepest.optim.SGD(list(model.values()), lr=0.05, momentum=0.9, nesterov=True)
    return opt, S.MultiStepLR(opt, milestones=[5, 12, 12], gamma=0.5)


def hyper(opt):
    return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]


def train(model, opt, sched, ema, start, stop):
    for t in range(start, stop):
        g = grads(model, t)
        order = [name for group in opt.param_groups for p in group["params"]
                 for name, q in model.items() if q is p]
        applied = opt.step([g[name] for name in order])
        if applied is not False:  # Accumulate tells; plain optimizers return None
            sched.step()
            ema.update()


@pytest.mark.parametrize("setup", [setup_adamw, setup_sgd], ids=["Accumulate-AdamW", "SGD"])
def test_interrupted_run_resumes_bitwise(tmp_path, setup):
    model = make_model()
    opt, sched = setup(model)
    ema = EMA(model.values(), decay=0.9)
    train(model, opt, sched, ema, 0, 40)

    first = make_model()
    opt1, sched1 = setup(first)
    ema1 = EMA(first.values(), decay=0.9)
    train(first, opt1, sched1, ema1, 0, 17)  # 17: mid-accumulation for k = 3
    path = tmp_path / "run.ckpt"
    steepest.save(path, model=first, optimizer=opt1, scheduler=sched1,
                  extra={"step": 17, "ema": ema1.state_dict()})

    resumed = make_model(seed=1)  # a new process: other initial values
    opt2, sched2 = setup(resumed)
    ema2 = EMA(resumed.values(), decay=0.9)
    extra = steepest.load(path, model=resumed, optimizer=opt2, scheduler=sched2)
    ema2.load_state_dict(extra["ema"])
    train(resumed, opt2, sched2, ema2, extra["step"], 40)

    for name in SHAPES:
        assert np.array_equal(resumed[name], model[name]), name
    for a, b in zip(ema2.averages, ema.averages):
        assert np.array_equal(a, b)
    assert sched2.get_last_lr() == sched.get_last_lr()
    inner, inner2 = getattr(opt, "optimizer", opt), getattr(opt2, "optimizer", opt2)
    assert hyper(inner2) == hyper(inner)
    for i, state in inner.state.items():
        for key, value in state.items():
            assert np.array_equal(inner2.state[i][key], value), (i, key)


def test_keyed_by_name(tmp_path):
    model = make_model()
    opt = steepest.optim.Adam(list(model.values()), lr=0.01)
    train(model, opt, S.StepLR(opt, 5), EMA(model.values()), 0, 3)
    steepest.save(tmp_path / "c.ckpt", model=model, optimizer=opt)

    fresh = make_model()
    reordered = [fresh["head.weight"], fresh["dense.bias"], fresh["dense.weight"]]
    opt2 = steepest.optim.Adam(reordered, lr=0.01)
    steepest.load(tmp_path / "c.ckpt", model=fresh, optimizer=opt2)
    for name, p in zip(["head.weight", "dense.bias", "dense.weight"], range(3)):
        assert np.array_equal(opt2.state[p]["exp_avg"], opt.state[list(SHAPES).index(name)]
                              ["exp_avg"])
    with pytest.raises(ValueError, match="pass the model"):
        steepest.load(tmp_path / "c.ckpt", optimizer=steepest.optim.Adam(reordered))


def test_file_is_npz_without_pickle(tmp_path):
    model = make_model()
    steepest.save(tmp_path / "c.npz", model=model, extra={"k": (1, 2.5), 3: [np.inf, None]})
    with np.load(tmp_path / "c.npz", allow_pickle=False) as archive:
        meta = json.loads(archive[checkpoint._META].tobytes())
        assert meta["format"] == "steepest-checkpoint" and meta["version"] == checkpoint.VERSION
        assert all(archive[k].dtype != object for k in archive.files)
    extra = steepest.load(tmp_path / "c.npz")
    assert extra == {"k": (1, 2.5), 3: [np.inf, None]}
    with pytest.raises(TypeError, match="a checkpoint holds only"):
        steepest.save(tmp_path / "bad.npz", extra={"fn": print})
    assert not (tmp_path / "bad.npz").exists()


def test_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = make_model()
    path = tmp_path / "c.ckpt"
    steepest.save(path, model=model)
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        steepest.save(path, model=make_model(seed=3))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.ckpt"]  # no temporary file left
    loaded = make_model(seed=5)
    steepest.load(path, model=loaded)
    assert all(np.array_equal(loaded[n], model[n]) for n in SHAPES)


def test_newer_version_and_foreign_files(tmp_path):
    path = tmp_path / "c.ckpt"
    steepest.save(path, model=make_model())
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(arrays[checkpoint._META].tobytes())
    meta["version"] = checkpoint.VERSION + 1
    arrays[checkpoint._META] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match="format version 2, newer than this steepest"):
        steepest.load(path, model=make_model())
    with open(tmp_path / "other.npz", "wb") as f:
        np.savez(f, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a steepest checkpoint"):
        steepest.load(tmp_path / "other.npz")


def test_mismatches_raise_and_change_nothing(tmp_path):
    model = make_model()
    opt = steepest.optim.AdamW(list(model.values()), lr=0.01)
    sched = S.ExponentialLR(opt, 0.9)
    train(model, opt, sched, EMA(model.values()), 0, 2)
    path = tmp_path / "c.ckpt"
    steepest.save(path, model=model, optimizer=opt, scheduler=sched)

    wrong = make_model(seed=4)
    wrong["dense.bias"] = np.zeros(5)
    before = {n: p.copy() for n, p in wrong.items()}
    opt2 = steepest.optim.AdamW(list(wrong.values()), lr=0.01)
    with pytest.raises(ValueError, match=r"'dense.bias' has shape \(3,\) in the checkpoint"):
        steepest.load(path, model=wrong, optimizer=opt2)
    assert all(np.array_equal(wrong[n], before[n]) for n in wrong) and not opt2.state

    fresh = make_model(seed=4)
    sgd = steepest.optim.SGD(list(fresh.values()), lr=0.1)
    with pytest.raises(ValueError, match="holds the state of AdamW, not of SGD"):
        steepest.load(path, model=fresh, optimizer=sgd)
    acc = Accumulate(steepest.optim.AdamW(list(fresh.values())), 2)
    with pytest.raises(ValueError, match=r"not of Accumulate\(AdamW\)"):
        steepest.load(path, model=fresh, optimizer=acc)
    adamw = steepest.optim.AdamW(list(fresh.values()))
    with pytest.raises(ValueError, match="scheduler ExponentialLR, not of StepLR"):
        steepest.load(path, model=fresh, optimizer=adamw, scheduler=S.StepLR(adamw, 3))
    assert not adamw.state


def test_lbfgs_checkpoint(tmp_path):
    def run(x, opt, steps):
        for _ in range(steps):
            opt.step(lambda: (np.sum((x - 3.0) ** 4), [4 * (x - 3.0) ** 3]))

    x, y = np.zeros(5), np.zeros(5)
    opt = LBFGS([x], max_iter=4, history_size=3, line_search_fn="strong_wolfe")
    run(x, opt, 2)
    steepest.save(tmp_path / "l.ckpt", model={"x": x}, optimizer=opt)
    opt2 = LBFGS([y], max_iter=4, history_size=3, line_search_fn="strong_wolfe")
    steepest.load(tmp_path / "l.ckpt", model={"x": y}, optimizer=opt2)
    run(x, opt, 2)
    run(y, opt2, 2)
    assert np.array_equal(x, y)


# -- a file is checked whole before anything changes (issue #22, items 2, 4 and 9) ---------------

def _archive(path):
    """(metadata, {name: array}) of a checkpoint, to tamper with."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    return json.loads(arrays.pop(checkpoint._META).tobytes()), arrays


def _write(path, meta, arrays):
    blob = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **{checkpoint._META: blob}, **arrays)


def _saved_run(tmp_path):
    """A checkpoint of an AdamW run with a SequentialLR, after 5 steps."""
    model = make_model()
    opt = steepest.optim.AdamW(list(model.values()), lr=0.01, weight_decay=0.05)
    sched = S.SequentialLR(opt, [S.LinearWarmup(opt, 4), S.CosineAnnealingLR(opt, T_max=10)],
                           milestones=[4])
    train(model, opt, sched, EMA(model.values()), 0, 5)
    path = tmp_path / "good.ckpt"
    steepest.save(path, model=model, optimizer=opt, scheduler=sched, extra={"epoch": 5})
    return path


def _target():
    """A model, optimizer and scheduler two steps into another run (state to keep), and a
    function that asserts none of them changed since this call."""
    model = make_model(seed=4)
    opt = steepest.optim.AdamW(list(model.values()), lr=0.01, weight_decay=0.05)
    sched = S.SequentialLR(opt, [S.LinearWarmup(opt, 4), S.CosineAnnealingLR(opt, T_max=10)],
                           milestones=[4])
    train(model, opt, sched, EMA(model.values()), 100, 102)
    arrays = {n: p.copy() for n, p in model.items()}
    opt_state = copy.deepcopy(opt.state_dict())
    sched_state = copy.deepcopy(sched.state_dict())

    def assert_unchanged():
        for name, p in model.items():
            assert np.array_equal(p, arrays[name]), name
        now = opt.state_dict()
        assert now["param_groups"] == opt_state["param_groups"]
        assert (now["applied_steps"], now["skipped_steps"]) == (2, 0)
        assert set(now["state"]) == set(opt_state["state"])
        for i, state in opt_state["state"].items():
            for key, value in state.items():
                assert np.array_equal(now["state"][i][key], value), (i, key)
                assert np.asarray(now["state"][i][key]).dtype == np.asarray(value).dtype
        assert _same_tree(sched.state_dict(), sched_state)

    return model, opt, sched, assert_unchanged


def _same_tree(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same_tree, a, b))
    return a == b


def _ref(tree, *keys):
    for key in keys:
        tree = tree[key]
    return tree["__array__"]


def _array_of_model(meta, arrays, name, value):
    arrays[_ref(meta, "model", "arrays", name)] = value


def _state_array(meta, arrays, value, name="dense.bias", key="exp_avg"):
    arrays[_ref(meta, "optimizer", "state", "state", name, key)] = value


def _set(*keys, value):
    def tamper(meta, arrays):
        tree = meta
        for key in keys[:-1]:
            tree = tree[key]
        tree[keys[-1]] = value
    return tamper


def _step_of(value):
    return _set("optimizer", "state", "state", "dense.bias", "step", value=value)


def _delete(*keys):
    def tamper(meta, arrays):
        tree = meta
        for key in keys[:-1]:
            tree = tree[key]
        del tree[keys[-1]]
    return tamper


# (description, tamper(meta, arrays), what the error says). The model is loaded last, the
# optimizer first: a bad model array or scheduler state must not leave the optimizer loaded.
TAMPERED = [
    ("a (1,) model array where the metadata says (3,)",
     lambda m, a: _array_of_model(m, a, "dense.bias", np.ones(1)), r"has shape \(1,\)"),
    ("an int64 model array", lambda m, a: _array_of_model(
        m, a, "head.weight", np.ones((3, 1), np.int64)), "dtype int64"),
    ("a bool model array", lambda m, a: _array_of_model(
        m, a, "head.weight", np.ones((3, 1), bool)), "dtype bool"),
    ("a complex state array",
     lambda m, a: _state_array(m, a, np.full(3, 1 + 2j)), "dtype complex128"),
    ("an int state array", lambda m, a: _state_array(m, a, np.ones(3, np.int64)), "dtype int64"),
    ("a state array of another shape",
     lambda m, a: _state_array(m, a, np.ones(1)), r"has shape \(1,\)"),
    ("no model['arrays']", _delete("model", "arrays"), "no table of arrays"),
    ("a model array the file lacks", lambda m, a: a.pop(_ref(m, "model", "arrays", "dense.bias")),
     "does not hold"),
    ("step 2**63", _step_of(2**63), r"'step'\]: expected a count >= 0 and <= 2\*\*62"),
    ("step 1e300", _step_of(1e300), r"'step'\]: expected a count >= 0 and <= 2\*\*62"),
    ("step -1", _step_of(-1), r"'step'\]: expected a count >= 0"),
    ("step 2.5", _step_of(2.5), r"'step'\]: expected a whole number"),
    ("step true", _step_of(True), r"'step'\]: expected a whole number of steps, got a bool"),
    ("step a string", _step_of("7"), r"'step'\]: expected a whole number"),
    ("applied_steps 2**63", _set("optimizer", "state", "applied_steps", value=2**63),
     "applied_steps: expected a count"),
    ("skipped_steps -3", _set("optimizer", "state", "skipped_steps", value=-3),
     "skipped_steps: expected a count"),
    ("the scheduler's last_epoch 2**63", _set("scheduler", "state", "last_epoch", value=2**63),
     "last_epoch: expected a count"),
    ("a child scheduler's last_epoch 1.5",
     lambda m, a: m["scheduler"]["state"]["_schedulers"][1].update(last_epoch=1.5),
     "last_epoch: expected a whole number"),
    ("the scheduler's lrs as a string", _set("scheduler", "state", "_last_lr", value="0.1"),
     "_last_lr must be a list"),
    ("an lr too large for a float", _set("scheduler", "state", "_last_lr", value=[10**400]),
     "got an int too large for a float"),
    ("an unknown hyperparameter", _set("optimizer", "state", "param_groups", 0, "fast",
                                       value=True), r"hyperparameters \['fast'\]"),
    ("a damaged extra", _set("extra", value={"__array__": "a999"}), "does not hold"),
]


@pytest.mark.parametrize("tamper, says", [t[1:] for t in TAMPERED], ids=[t[0] for t in TAMPERED])
def test_a_bad_entry_raises_and_changes_nothing(tmp_path, tamper, says):
    meta, arrays = _archive(_saved_run(tmp_path))
    tamper(meta, arrays)
    path = tmp_path / "bad.ckpt"
    _write(path, meta, arrays)
    model, opt, sched, assert_unchanged = _target()
    with pytest.raises(steepest.CheckpointError, match=says) as error:
        steepest.load(path, model=model, optimizer=opt, scheduler=sched)
    assert str(path) in str(error.value)
    assert_unchanged()


def test_the_untampered_file_loads(tmp_path):
    """The baseline of the cases above: the same objects load the file they were not loaded
    from, and the largest count allowed (2**62) loads."""
    meta, arrays = _archive(_saved_run(tmp_path))
    _step_of(2**62)(meta, arrays)
    path = tmp_path / "max.ckpt"
    _write(path, meta, arrays)
    model, opt, sched, _ = _target()
    assert steepest.load(path, model=model, optimizer=opt, scheduler=sched) == {"epoch": 5}
    assert int(opt.state[1]["step"]) == 2**62
    assert sched.last_epoch == 5


def test_a_float64_checkpoint_loads_into_a_float32_model(tmp_path):
    """Casting between floating-point dtypes is what load has always done (a float64 run
    deployed in float32); only other kinds are refused."""
    path = _saved_run(tmp_path)
    model = {n: np.zeros(s, np.float32) for n, s in SHAPES.items()}
    steepest.load(path, model=model)
    meta, arrays = _archive(path)
    for name, p in model.items():
        assert p.dtype == np.float32
        assert np.array_equal(p, arrays[_ref(meta, "model", "arrays", name)].astype(np.float32))


def test_a_read_only_parameter_is_refused_before_anything_changes(tmp_path):
    path = _saved_run(tmp_path)
    model, opt, sched, assert_unchanged = _target()
    model["head.weight"].flags.writeable = False
    with pytest.raises(ValueError, match=r"model\['head.weight'\] is read-only"):
        steepest.load(path, model=model, optimizer=opt, scheduler=sched)
    model["head.weight"].flags.writeable = True
    assert_unchanged()


# -- damaged and foreign files: one error type, naming the file ---------------------------------

def _bytes_of(path):
    return path.read_bytes()


def _rewrite_meta(tamper):
    def damage(good, path):
        meta, arrays = _archive(good)
        tamper(meta, arrays)
        _write(path, meta, arrays)
    return damage


def _raw_meta(blob):
    def damage(good, path):
        _, arrays = _archive(good)
        with open(path, "wb") as f:
            np.savez(f, **{checkpoint._META: blob}, **arrays)
    return damage


def _truncated(fraction):
    def damage(good, path):
        data = _bytes_of(good)
        path.write_bytes(data[:int(len(data) * fraction)])
    return damage


def _flipped_member_byte(good, path):
    """A byte inside an array's data flipped: the zip member's CRC no longer matches."""
    data = bytearray(_bytes_of(good))
    meta, arrays = _archive(good)
    ref = _ref(meta, "model", "arrays", "dense.weight")
    raw = np.asarray(arrays[ref]).tobytes()
    at = bytes(data).index(raw) + len(raw) // 2
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _lying_header(good, path):
    """A member whose .npy header claims far more data than it holds."""
    meta, arrays = _archive(good)
    ref = _ref(meta, "model", "arrays", "dense.weight")
    blob = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with zipfile.ZipFile(path, "w") as z:
        for name, a in {checkpoint._META: blob, **arrays}.items():
            with z.open(name + ".npy", "w") as f:
                if name == ref:
                    np.lib.format.write_array_header_1_0(
                        f, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
                    f.write(a.tobytes())
                else:
                    np.lib.format.write_array(f, a, allow_pickle=False)


def _npy(good, path):
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))


def _pickled_member(good, path):
    meta, arrays = _archive(good)
    blob = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **{checkpoint._META: blob}, **arrays, evil=np.array([print], dtype=object))


def _foreign_zip(good, path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("README.txt", "not arrays")


DAMAGED = [
    ("empty", lambda good, path: path.write_bytes(b""), "not a zip archive"),
    ("random bytes", lambda good, path: path.write_bytes(bytes(range(256)) * 8),
     "not a zip archive"),
    ("a .npy file", _npy, r"single NumPy array \(.npy\)"),
    ("a zip of other files", _foreign_zip, "not a steepest checkpoint"),
    ("the first half of a checkpoint", _truncated(0.5), "not a steepest checkpoint|damaged"),
    ("all but its last 10 bytes", _truncated(0.99), "not a steepest checkpoint|damaged"),
    ("a corrupted member", _flipped_member_byte, r"damaged \(BadZipFile: Bad CRC-32"),
    ("a member's header lying about its size", _lying_header, "should have"),
    ("an object array member", _pickled_member, "pickle"),
    ("metadata that is not UTF-8", _raw_meta(np.frombuffer(b"\xff\xfe{", np.uint8)),
     "damaged metadata"),
    ("metadata that is not JSON", _raw_meta(np.frombuffer(b"{'format': 1", np.uint8)),
     "damaged metadata"),
    ("metadata of float64 numbers", _raw_meta(np.zeros(4)), "damaged metadata"),
    ("metadata that is a list", _raw_meta(np.frombuffer(b"[1, 2]", np.uint8)),
     "not a steepest checkpoint"),
    ("version true", _rewrite_meta(_set("version", value=True)), "invalid format version"),
    ("model metadata a list", _rewrite_meta(_set("model", value=[1])), "model metadata is a"),
    ("model params a list", _rewrite_meta(_set("model", "params", value=[])),
     "no parameter table"),
    ("a shape of strings", _rewrite_meta(_set("model", "params", "dense.bias", "shape",
                                              value=["3"])), "no valid shape"),
    ("no optimizer type", _rewrite_meta(_delete("optimizer", "type")), "state of None"),
    ("optimizer params missing", _rewrite_meta(_delete("optimizer", "params")),
     "no parameter table"),
    ("optimizer state a number", _rewrite_meta(_set("optimizer", "state", value=3)),
     "must be a dict"),
    ("no param_groups", _rewrite_meta(_delete("optimizer", "state", "param_groups")),
     "param_groups"),
    ("a group without params", _rewrite_meta(_delete("optimizer", "state", "param_groups", 0,
                                                     "params")), "no list of parameters"),
    ("state for an unknown parameter", _rewrite_meta(
        lambda m, a: m["optimizer"]["state"]["state"].update(ghost={})), "ghost"),
    ("a parameter's state a list", _rewrite_meta(
        _set("optimizer", "state", "state", "dense.bias", value=[1])), "must be a dict"),
    ("a bad items table", _rewrite_meta(_set("extra", value={"__items__": [[1]]})),
     r"\[key, value\] pair"),
    ("a bad tuple", _rewrite_meta(_set("extra", value={"__tuple__": 3})), "list belongs"),
    ("no scheduler children", _rewrite_meta(_delete("scheduler", "state", "_schedulers")),
     "_schedulers"),
    ("scheduler state a list", _rewrite_meta(_set("scheduler", "state", value=[])),
     "_schedulers"),
    ("milestones a number", _rewrite_meta(_set("scheduler", "state", "_milestones", value=4)),
     None),
]


@pytest.mark.parametrize("damage, says", [d[1:] for d in DAMAGED], ids=[d[0] for d in DAMAGED])
def test_damaged_or_foreign_file_raises_checkpoint_error(tmp_path, damage, says):
    good = _saved_run(tmp_path)
    path = tmp_path / "damaged.ckpt"
    damage(good, path)
    model, opt, sched, assert_unchanged = _target()
    with pytest.raises(steepest.CheckpointError, match=says) as error:
        steepest.load(path, model=model, optimizer=opt, scheduler=sched)
    assert str(path) in str(error.value)
    assert isinstance(error.value, ValueError)
    assert_unchanged()


def test_a_file_that_cannot_be_opened_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        steepest.load(tmp_path / "nowhere.ckpt")
    with pytest.raises(IsADirectoryError):
        steepest.load(tmp_path)


def test_objects_that_are_not_optimizers_or_schedulers_are_refused_before_reading(tmp_path):
    path = _saved_run(tmp_path)
    with pytest.raises(TypeError, match="optimizer has no load_state_dict: got list"):
        steepest.load(path, optimizer=[1, 2])
    with pytest.raises(TypeError, match="scheduler has no load_state_dict: got int"):
        steepest.load(path, scheduler=3)
