"""The model registry is explicit and lazy: a kind's module loads when its class is asked for."""

import subprocess
import sys
from pathlib import Path

from fitcli.models import MODELS, Kinds, Model

ROOT = Path(__file__).resolve().parents[2]


def test_every_kind_resolves_to_its_class():
    for name in MODELS:
        cls = MODELS[name]
        assert issubclass(cls, Model) and cls.name == name
    assert "nope" not in MODELS and MODELS.get("nope") is None


def test_membership_and_names_import_nothing():
    kinds = Kinds({"x": "no_such_module:X"})
    assert "x" in kinds and list(kinds) == ["x"] and len(kinds) == 1


def test_an_mlp_run_does_not_import_the_imaging_stack():
    code = ("import sys; from fitcli.api import load, build; "
            "build(load('configs/mlp_spirals.yaml')); "
            "print(sorted(m for m in ('scipy.fft', 'scipy.ndimage', 'matplotlib', "
            "'fitcli.models.registration', 'fitcli.models.superres') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, env={"PYTHONPATH": str(ROOT), "PATH": ""}, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
