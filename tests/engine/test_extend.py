"""The extension surface and the primitive tables: one definition per primitive, tables
that do not depend on what was imported, every primitive in the battery, no reaching into
the engine's private modules."""

import ast
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fitcli
import fitcli.engine as fe
from fitcli.battery import EXTENSIONS, all_ops
from fitcli.engine.extend import Case, Op, op_table, primitive, primitives_of
from fitcli.engine.gradcheck import check_grad, check_jvp

ROOT = Path(fitcli.__file__).parent


def test_op_tables_do_not_depend_on_what_was_imported():
    # a fresh interpreter: the engine's table before and after importing every
    # module that defines primitives, and the battery's table in either order
    code = (
        "import fitcli.engine as fe\n"
        "before = len(fe.OPS)\n"
        f"for name in {EXTENSIONS!r}:\n"
        "    __import__(name)\n"
        "from fitcli.battery import all_ops\n"
        "print(before, len(fe.OPS), len(all_ops()))\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.split()
    battery_first = subprocess.run(
        [sys.executable, "-c", "from fitcli.battery import all_ops; import fitcli.engine as fe;"
         "print(len(fe.OPS), len(all_ops()))"], capture_output=True, text=True,
        check=True).stdout.split()
    assert first[0] == first[1] == battery_first[0]
    assert first[2] == battery_first[1] == str(len(all_ops()))
    assert len(all_ops()) > len(fe.OPS)


def _fitcli_modules():
    for info in pkgutil.walk_packages([str(ROOT)], prefix="fitcli."):
        if not info.name.endswith("__main__"):
            yield importlib.import_module(info.name)


def test_every_primitive_defined_anywhere_is_in_the_battery():
    # a module that defines primitives but is missing from battery.EXTENSIONS would
    # escape gradcheck --ops: import everything and look for module-level primitives
    table = all_ops()
    for module in _fitcli_modules():
        for op in primitives_of(module):
            assert table.get(op.name) is op, \
                f"{module.__name__} defines {op.name!r}; list the module in fitcli.battery"


def _imported_names(path: Path):
    """Dotted names an import statement of ``path`` may refer to (relative ones resolved)."""
    package = list(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            base = ".".join(base + ([node.module] if node.module else []))
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def test_nothing_outside_the_engine_imports_its_private_modules():
    private = {p.stem for p in (ROOT / "engine").glob("*.py")} - {"__init__", "extend",
                                                                 "gradcheck"}
    bad = [f"{path.relative_to(ROOT.parent)}: {name}"
           for path in ROOT.rglob("*.py") if (ROOT / "engine") not in path.parents
           for name in _imported_names(path)
           if name.split(".")[:2] == ["fitcli", "engine"] and name.count(".") >= 2
           and name.split(".")[2] in private]
    assert not bad, bad


# -- primitive(): the checks at definition ----------------------------------------------------
def _cube(a):
    return a ** 3


@pytest.mark.parametrize("kwargs,message", [
    (dict(vjps=()), "either vjps"),
    (dict(vjps=(lambda g, out, a: g,), vjp_var=lambda i, g, out, *a: g), "either vjps"),
    (dict(vjps=(lambda g, out, a: 3 * g * a * a,)), "needs a jvp rule"),
    (dict(vjps=(lambda g, out, a, b: g, lambda g, out, a, b: g), linear=True), "needs a jvp"),
])
def test_primitive_rejects_incomplete_definitions(kwargs, message):
    with pytest.raises(fe.EngineError, match=message):
        primitive("cube", _cube, **kwargs)


def test_primitive_linear_one_input_may_omit_its_jvp():
    double = primitive("double", lambda a: 2 * a, (lambda g, out, a: 2 * g,), linear=True)
    x = np.array([0.5, -1.0])
    for r in check_jvp(lambda a: fe.apply(double, a), (x,), name="double"):
        assert r.passed, r.failure_line()


def test_op_table_rejects_two_primitives_of_one_name():
    a = primitive("same", np.negative, (lambda g, out, x: -g,), linear=True)
    b = primitive("same", np.negative, (lambda g, out, x: -g,), linear=True)
    with pytest.raises(fe.EngineError, match="'same'"):
        op_table([a, b])


def test_engine_primitives_are_defined_through_the_extension_surface():
    # the engine's families bind their table entries at module level, like any extension
    assert all(isinstance(op, Op) for op in fe.OPS.values())
    assert set(fe.OPS) == {c.op for c in fe.gradcheck_cases(np.random.default_rng(0))}


# -- the README's example, run as written -------------------------------------------------------
def _readme_example() -> str:
    text = (ROOT.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    found = [b for b in blocks if "primitive(" in b]
    assert len(found) == 1, "the README shows one primitive definition"
    return found[0]


def test_readme_primitive_example_runs_and_checks():
    namespace: dict = {}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)
    cases = namespace["gradcheck_cases"](np.random.default_rng(0))
    assert cases and all(isinstance(c, Case) for c in cases)
    for case in cases:
        for r in check_grad(case.fn, case.args, name=case.op, label=case.label) + check_jvp(
                case.fn, case.args, name=case.op, label=case.label):
            assert r.passed, r.failure_line()


def test_a_saving_primitive_hands_its_vjps_what_the_forward_saved():
    seen = []

    def fwd(a):
        e = np.exp(a)
        return e * 2.0, e                                 # out, saved

    def vjp(g, saved, a):
        seen.append(saved)
        return g * 2.0 * saved                            # d(2 eᵃ) = 2 eᵃ, eᵃ not recomputed

    op = primitive("twice_exp_saving", fwd, (vjp,), saves=True,
                   jvp=lambda t, out, a: t[0] * out)
    x = fe.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    y = fe.apply(op, x)
    np.testing.assert_allclose(y.data, 2.0 * np.exp([0.0, 1.0]))
    assert y._saved is not None
    fe.sum(y).backward()
    np.testing.assert_allclose(x.grad, 2.0 * np.exp([0.0, 1.0]))
    np.testing.assert_array_equal(seen[0], np.exp([0.0, 1.0]))
    assert y._saved is None                              # dropped once swept
    with fe.no_grad():
        z = fe.apply(op, x)
    assert not hasattr(z, "_saved")                      # nothing kept without a graph
    for r in check_grad(lambda a: fe.apply(op, a), (np.array([0.3, -0.2]),), name="saving"):
        assert r.passed, r.failure_line()
    with pytest.raises(fe.EngineError, match="linear"):
        primitive("bad", fwd, (vjp,), saves=True, linear=True)
