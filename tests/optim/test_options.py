"""The YAML schema of each optimizer: defaults, coercion and one-line errors naming the field."""

import numpy as np
import pytest

from fitcli import config as C
from fitcli.errors import ConfigError, OptionError
from fitcli.optim import OPTIMIZERS


def option_defaults(cls) -> dict:
    return {name: opt.default for name, opt in C.options_of(cls).items()}


def resolve_optimizer(name: str, options: dict) -> C.Config:
    """A config of a cheap model with this optimizer section (validated, not run)."""
    return C.resolve({"model": {"type": "testfn", "function": "quadratic"},
                      "optimizer": {"type": name, **options}})


def test_registry_names_and_schema():
    assert set(OPTIMIZERS) >= {"gd", "heavy_ball", "nesterov", "lbfgs", "bfgs", "sgd", "adam",
                               "svrg", "ista", "fista"}
    for name, cls in OPTIMIZERS.items():
        assert cls.name == name
        opts = option_defaults(cls)
        assert "rng" not in opts and "n_samples" not in opts
        cls(np.zeros(3), **opts)                     # the defaults are valid
        for banned in ("iterations", "tol", "rtol", "time_limit"):
            assert banned not in opts                # the fit loop owns these
    assert OPTIMIZERS["sgd"].stochastic and not OPTIMIZERS["lbfgs"].stochastic
    assert OPTIMIZERS["fista"].handles_nonsmooth


@pytest.mark.parametrize("name,options,field,text", [
    ("gd", {"step": "armjo"}, "optimizer.step", "did you mean 'armijo'"),
    ("gd", {"step": -1.0}, "optimizer.step", "a positive number"),
    ("gd", {"step": "ten"}, "optimizer.step", "a positive number"),
    ("heavy_ball", {"momentum": 1.5}, "optimizer.momentum", "[0, 1)"),
    ("nesterov", {"momentum": "shedule"}, "optimizer.momentum", "schedule"),
    ("lbfgs", {"history": 0}, "optimizer.history", "integer >= 1"),
    ("lbfgs", {"bounds": [1, 0]}, "optimizer.bounds", "lo < hi"),
    ("lbfgs", {"bounds": 3}, "optimizer.bounds", "[lo, hi]"),
    ("sgd", {"batch_size": 2.5}, "optimizer.batch_size", "integer"),
    ("sgd", {"schedule": "cosin"}, "optimizer.schedule", "did you mean 'cosine'"),
    ("adam", {"beta2": 1.0}, "optimizer.beta2", "[0, 1)"),
    ("fista", {"restart": "yes"}, "optimizer.restart", "true or false"),
])
def test_bad_options_name_the_field(name, options, field, text):
    with pytest.raises(ConfigError) as exc:
        resolve_optimizer(name, options)    # the config checks them before any compute
    assert exc.value.field == field
    assert text in str(exc.value)
    assert "\n" not in str(exc.value)
    # built directly, the optimizer names its bare option; the config adds the section
    with pytest.raises(OptionError) as bare:
        OPTIMIZERS[name](np.zeros(3), **options)
    assert bare.value.option == field.removeprefix("optimizer.")


def test_numbers_written_as_yaml_strings_are_coerced():
    def build(name, x, **options):
        cfg = resolve_optimizer(name, options)
        return cfg.optimizer_cls(x, **cfg.optimizer)

    opt = build("gd", np.zeros(2), step="1e-3")
    assert opt.rule == 1e-3
    assert build("adam", np.zeros(2), eps="1e-6").eps == 1e-6
    assert build("lbfgs", np.zeros(2), history="5").S.shape == (5, 2)
    assert build("lbfgs", np.full(2, 2.0), bounds=[0, None]).bounds == (0.0, np.inf)
    assert build("lbfgs", np.full(2, 2.0), bounds=["1e-3", 1]).bounds == (1e-3, 1.0)


def test_optimizers_do_not_parse_strings_the_config_converts():
    # one place converts YAML text to numbers (config.coerce); an optimizer gets numbers
    with pytest.raises(OptionError, match="step: expected a positive number"):
        OPTIMIZERS["gd"](np.zeros(2), step="1e-3")
    with pytest.raises(OptionError, match="history"):
        OPTIMIZERS["lbfgs"](np.zeros(2), history="5")


def test_compare_specs_are_typed_like_the_config():
    from fitcli import config as C
    from fitcli.compare import compare, parse_spec

    assert parse_spec("gd:step=1e-3") == ("gd", {"step": 1e-3})
    assert parse_spec("lbfgs:bounds=[1e-3, null]") == ("lbfgs", {"bounds": [1e-3, None]})

    cfg = C.load({"model": {"type": "testfn", "function": "quadratic"},
                  "optimizer": {"type": "lbfgs"}})
    with pytest.raises(ConfigError) as exc:
        compare(cfg, ["gd:step=-1"], iterations=1)
    assert exc.value.field == "--optimizers gd:step=-1: optimizer.step"


def test_schedules_and_epoch_reshuffling():
    from fitcli.optim.sgd import Minibatches, Schedule

    step = Schedule(0.1, "step", 0.5, 10, 100, 0.0)
    assert [step(k) for k in (0, 9, 10, 25)] == [0.1, 0.1, 0.05, 0.025]
    cos = Schedule(0.1, "cosine", 0.1, 10, 100, 0.001)
    assert cos(0) == 0.1 and abs(cos(50) - 0.0505) < 1e-12 and cos(100) == cos(500) == 0.001
    mb = Minibatches(10, 4, np.random.default_rng(0))
    epoch = [mb.next() for _ in range(3)]
    assert [len(b) for b in epoch] == [4, 4, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate(epoch)), np.arange(10))
    nxt = np.concatenate([mb.next() for _ in range(3)])
    assert mb.epoch == 1 and not np.array_equal(nxt, np.concatenate(epoch))
    assert Minibatches(None, 4, np.random.default_rng(0)).next() is None   # no samples
