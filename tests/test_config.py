"""Config reading and validation: safe YAML, duplicate keys, coercion, dotted errors."""

from __future__ import annotations

import json

import pytest

from fitcli import config as C
from fitcli.errors import ConfigError, InputError
from fitcli.schema import describe_registry, json_schema

BASE = {
    "name": "t",
    "data": {"dataset": "spirals", "samples": 60},
    "model": {"type": "mlp", "hidden": [4]},
    "optimizer": {"type": "gd", "step": 0.1, "iterations": 3},
}


def resolve(**changes):
    raw = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        raw = C.apply_overrides(raw, {key.replace("__", "."): value})
    return C.resolve(raw)


def message(exc_info) -> str:
    return str(exc_info.value)


def test_valid_config_fills_defaults():
    cfg = resolve()
    assert cfg.model == {"hidden": [4], "activation": "tanh", "init": "xavier"}
    assert cfg.stop["iterations"] == 3 and cfg.output["every"] == 10
    assert cfg.resolved["loss"] == {"type": "logistic"}   # the model's default loss


def test_duplicate_keys_are_rejected():
    with pytest.raises(InputError, match="duplicate key 'seed'"):
        C.parse_yaml("seed: 1\nname: a\nseed: 2\n", "c.yaml")


def test_yaml_is_read_safely():
    with pytest.raises(InputError, match="invalid YAML"):
        C.parse_yaml("a: !!python/object/apply:os.system ['true']\n")


def test_exponent_without_dot_is_a_float_where_a_float_is_expected():
    raw = C.parse_yaml("regularization:\n  - {type: l2, weight: 1e-3}\n")
    assert raw["regularization"][0]["weight"] == "1e-3"      # what PyYAML gives
    cfg = resolve(regularization=raw["regularization"], optimizer__step="5e-2")
    assert cfg.regularization[0][2] == pytest.approx(1e-3)
    assert cfg.optimizer["step"] == pytest.approx(0.05)


def test_wrong_type_names_the_field():
    with pytest.raises(ConfigError) as e:
        resolve(optimizer__iterations="ten")
    assert message(e) == "optimizer.iterations: expected a positive integer, got 'ten'"


@pytest.mark.parametrize("key, value, expected", [
    ("modle", {"type": "mlp"}, "modle: expected a known key (did you mean 'model'?)"),
    ("model.hiden", [3], "model.hiden: expected a known key (did you mean 'hidden'?)"),
    ("optimizer.batch_size", 8, "optimizer.batch_size"),   # gd takes no batch_size
    ("output.evry", 3, "did you mean 'every'?"),
    ("data.standardise", True, "did you mean 'standardize'?"),
])
def test_unknown_keys_suggest_the_closest(key, value, expected):
    with pytest.raises(ConfigError) as e:
        C.resolve(C.apply_overrides(BASE, {key: value}))
    assert expected in message(e)


@pytest.mark.parametrize("key, value, expected", [
    ("model.type", "mpl", "model.type: expected one of mlp"),
    ("loss", "logistik", "did you mean 'logistic'?"),
    ("optimizer.type", "lbgfs", "optimizer.type"),
    ("regularization", [{"type": "l3", "weight": 1}], "regularization[0].type"),
    ("regularization", [{"type": "l2"}], "regularization[0].weight"),
    ("regularization", [{"type": "l2", "weight": -1}], "a non-negative number"),
    ("model.activation", "tanhh", "did you mean 'tanh'?"),
    ("model.hidden", [4, "x"], "model.hidden[1]: expected an integer"),
    ("dtype", "float16", "dtype: expected one of float64, float32"),
    ("seed", -1, "seed: expected a non-negative integer"),
    ("output.every", 0, "output.every: expected a positive integer"),
    ("optimizer.tol", "small", "optimizer.tol: expected a non-negative number"),
    ("data", [1, 2], "data: expected a mapping"),
    ("name", "a b", "name: expected letters"),
])
def test_bad_values_are_reported_with_their_path(key, value, expected):
    with pytest.raises(ConfigError) as e:
        C.resolve(C.apply_overrides(BASE, {key: value}))
    assert expected in message(e)


def test_missing_required_option():
    raw = C.apply_overrides(BASE, {})
    del raw["data"]["dataset"]
    with pytest.raises(ConfigError, match=r"data\.dataset: expected a string \(required\)"):
        C.resolve(raw)


def test_set_overrides_parse_yaml_values_and_create_sections():
    raw = C.apply_overrides(BASE, ["model.hidden=[8, 8]", "optimizer.step=1e-2",
                                   "output.every=5", "regularization=[{type: l2, weight: 0.1}]"])
    assert raw["model"]["hidden"] == [8, 8]
    assert raw["output"] == {"every": 5}
    cfg = C.resolve(raw)
    assert cfg.optimizer["step"] == pytest.approx(0.01)
    assert BASE["model"]["hidden"] == [4]          # the original is untouched
    raw = C.apply_overrides(raw, ["regularization.0.weight=0.5"])
    assert raw["regularization"][0]["weight"] == 0.5


def test_set_without_equals_is_an_error():
    with pytest.raises(ConfigError, match="--set: expected KEY.PATH=VALUE"):
        C.apply_overrides(BASE, ["model.hidden"])


def test_read_config_errors(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        C.read_config(tmp_path / "nope.yaml")
    p = tmp_path / "list.yaml"
    p.write_text("- a\n- b\n")
    with pytest.raises(InputError, match="mapping at the top level"):
        C.read_config(p)


def test_load_uses_file_stem_as_default_name_and_seed_override(tmp_path):
    p = tmp_path / "my-run.yaml"
    raw = dict(BASE)
    raw.pop("name")
    p.write_text(json.dumps(raw))   # JSON is YAML
    cfg = C.load(p, seed=7)
    assert cfg.name == "my-run" and cfg.seed == 7 and cfg.base_dir == tmp_path.resolve()


def test_dump_round_trips():
    cfg = resolve()
    again = C.resolve(C.parse_yaml(C.dump(cfg)))
    assert again.resolved == cfg.resolved


def test_describe_registry_lists_options_from_signatures():
    models = {r["name"]: r for r in describe_registry("models")}
    assert models["mlp"]["options"]["activation"] == "tanh"
    assert models["mlp"]["options"]["data.dataset"] == "(required)"
    losses = {r["name"]: r for r in describe_registry("losses")}
    assert losses["huber"]["options"] == {"delta": 1.0}
    assert {"digits", "spirals", "moons"} <= {r["name"] for r in describe_registry("datasets")}


def test_json_schema_accepts_shipped_configs_and_rejects_typos():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    assert not list(validator.iter_errors(BASE))
    assert list(validator.iter_errors({**BASE, "modle": {}}))
    bad = C.apply_overrides(BASE, {"model.hiden": [3]})
    assert list(validator.iter_errors(bad))
    bad = C.apply_overrides(BASE, {"data.datset": "x"})
    assert list(validator.iter_errors(bad))


# -- one vocabulary for validation; explicit registries ----------------------------------
def test_did_you_mean_and_check_choice_are_the_one_helper():
    from fitcli.errors import OptionError, check_choice, did_you_mean
    from fitcli.models.base import check_choice as model_check_choice

    assert did_you_mean("armjo", ["armijo", "wolfe"]) == "did you mean 'armijo'?"
    assert did_you_mean("zzz", ["armijo", "wolfe"]) == ""
    assert model_check_choice is check_choice        # model kinds import it from base
    assert check_choice("cell", "gru", ("lstm", "gru")) == "gru"
    with pytest.raises(OptionError) as exc:
        check_choice("cell", "lstn", ("lstm", "gru"))
    assert str(exc.value) == "cell: expected one of lstm, gru, got 'lstn' (did you mean 'lstm'?)"
    moved = exc.value.at("model")
    assert type(moved) is ConfigError and moved.field == "model.cell"
    assert str(moved) == "model.cell: " + str(exc.value).split(": ", 1)[1]


def test_construct_puts_an_option_error_on_the_section():
    from fitcli.optim import OPTIMIZERS

    with pytest.raises(ConfigError) as exc:
        C.construct(OPTIMIZERS["sgd"], "optimizer", __import__("numpy").zeros(2), momentum=1.5)
    assert exc.value.field == "optimizer.momentum" and "[0, 1)" in message(exc)


def test_numbers_written_as_strings_are_read_as_numbers():
    assert C.coerce("5", int, "f") == 5 and C.coerce("1e-3", float, "f") == 1e-3
    with pytest.raises(ConfigError, match="f: expected an integer, got '5.5'"):
        C.coerce("5.5", int, "f")
    with pytest.raises(ConfigError, match="optimizer.iterations: expected a positive integer, "
                                          "got 'ten'"):
        resolve(optimizer__iterations="ten")


def test_registries_are_explicit_tables():
    reg = C.registries()
    assert set(reg["models"]) == {"mlp", "rnn", "superres", "registration", "testfn"}
    assert set(reg["losses"]) == {"logistic", "mse", "l1", "huber", "ssd"}
    assert set(reg["regularizers"]) == {"l2", "l1", "tikhonov", "sobolev", "smooth_tv", "tv"}
    assert {"digits", "spirals", "moons", "adding", "sine", "reber", "text"} == set(
        reg["datasets"])
    for kind in ("models", "losses", "regularizers", "datasets", "optimizers"):
        assert all(obj.name == name for name, obj in reg[kind].items())


def test_a_model_kind_owns_its_losses_and_regularizers():
    from fitcli.models.registration import NCC, RegistrationModel
    from fitcli.models.registration.fields import FIELD_REGULARIZERS

    assert RegistrationModel.losses == {"ncc": NCC}
    assert RegistrationModel.regularizers is FIELD_REGULARIZERS
    own = C.own_registry("losses", RegistrationModel)
    assert own["ncc"] is NCC and own["ssd"] is C.registries()["losses"]["ssd"]
    # another kind's names are unknown here, with the usual suggestion
    with pytest.raises(ConfigError, match=r"loss\.type: expected one of .*got 'ncc'"):
        resolve(loss="ncc")
    with pytest.raises(ConfigError, match=r"regularization\[0\]\.type: .*got 'diffusion'"):
        resolve(regularization=[{"type": "diffusion", "weight": 1.0}])
    testfn = C.resolve({"model": {"type": "testfn", "function": "quadratic"},
                        "optimizer": {"type": "gd"}})
    assert testfn.loss_cls is C.registries()["models"]["testfn"].losses["value"]
    rows = {(r["name"], r["doc"].split("]")[0]) for r in describe_registry("losses")}
    assert ("ncc", "[registration") in rows and ("value", "[testfn") in rows
    regs = [r for r in describe_registry("regularizers") if r["name"] == "tv"]
    assert [r["doc"].startswith("[registration]") for r in regs] == [False, True]
