"""Issue 13: configs a careless or hostile user writes get one line, in bounded time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hostile_helpers import cli, one_line_error

from fitcli import config as C
from fitcli.errors import ConfigError, InputError, excerpt

LEVELS = ["&a [" + ",".join(['"lol"'] * 9) + "]"] + [
    f"&{c} [" + ",".join([f"*{p}"] * 9) + "]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
BOMB = "model: {type: mlp}\nname: [" + ", ".join(LEVELS) + "]\n"   # 9^9 values


def test_an_alias_bomb_is_refused_at_once(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="aliases expand"):
        C.read_config(path)
    assert time.perf_counter() - t0 < 1.0
    one_line_error(cli("validate", path), "aliases expand")


def test_a_small_bomb_shows_a_bounded_excerpt():
    small = "model: {type: mlp}\nname: [" + ", ".join(LEVELS[:5]) + "]\n"   # 9^5 values
    with pytest.raises(ConfigError) as e:
        C.resolve(C.parse_yaml(small))
    assert str(e.value).startswith("name: expected") and len(str(e.value)) < 300


def test_excerpt_is_bounded_for_any_value():
    assert len(excerpt("x" * 10 ** 6)) <= 80
    nested = [[list(range(1000))] * 1000] * 1000
    assert len(excerpt(nested)) <= 80 and excerpt("ten") == "'ten'"


@pytest.mark.parametrize("text, words", [
    ("a: &a [*a]\n", ("refers to itself",)),
    ("a: " + "[" * 10000 + "]" * 10000 + "\n", ("nested deeper",)),
    ("a: " + "[" * 200 + "]" * 200 + "\n", ("nested deeper",)),
])
def test_recursive_and_deep_yaml(tmp_path, text, words):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    one_line_error(cli("validate", path), "c.yaml", *words)


@pytest.mark.parametrize("data, words", [
    ("model: {type: mlp}\n".encode("utf-16"), ("not UTF-8", "UTF-16")),
    ("name: café\n".encode("latin-1"), ("not UTF-8", "0xe9")),
    (bytes(range(256)) * 4, ("not UTF-8",)),
])
def test_a_config_that_is_not_utf8(tmp_path, data, words):
    path = tmp_path / "c.yaml"
    path.write_bytes(data)
    one_line_error(cli("validate", path), "c.yaml", *words)


def test_a_utf8_bom_is_fine(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes("name: bom\nmodel: {type: mlp}\n".encode("utf-8-sig"))
    assert C.read_config(path)["name"] == "bom"


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom"])
def test_a_config_that_is_a_device(tmp_path, target):
    path = tmp_path / "c.yaml"
    path.symlink_to(target)
    one_line_error(cli("validate", path), "regular file")


def test_a_huge_config_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("# " + "x" * (2 << 20) + "\n")
    one_line_error(cli("validate", path), "larger than")


@pytest.mark.parametrize("section", ["model", "loss", "optimizer"])
@pytest.mark.parametrize("value", [["mlp"], {"a": 1}])
def test_a_list_or_mapping_as_type(tmp_path, section, value):
    raw = {"model": {"type": "mlp"}, "data": {"dataset": "spirals"}}
    raw[section] = {"type": value}
    with pytest.raises(ConfigError, match=rf"{section}\.type: expected one of"):
        C.resolve(raw)


def test_set_values_are_bounded_too(tmp_path):
    one_line_error(cli("validate", Path("nowhere.yaml")), "not found")
