"""``fitcli validate``, ``fitcli list`` and ``fitcli schema``: what a config may say."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import FitcliError
from .common import SeedOpt, SetOpt, fail, out


def validate(
    config: Annotated[Path, typer.Argument(help="The YAML config.")],
    set_: SetOpt = None, seed: SeedOpt = None,
) -> None:
    """Check a config without fitting; print the resolved config.

    Exit 0 valid, 2 invalid.
    """
    from .. import config as C
    from ..problem import build

    try:
        cfg = C.load(config, set_, seed)
        problem = build(cfg)
    except FitcliError as exc:
        raise fail(exc) from None
    out.print(C.dump(cfg), end="", highlight=False, markup=False)
    out.print(f"# valid: {problem.formula}; {problem.params.size} parameters", markup=False)


KINDS = ("models", "losses", "optimizers", "datasets", "regularizers")


def list_(
    kind: Annotated[str | None, typer.Argument(
        help="models | losses | optimizers | datasets | regularizers (default: all).")] = None,
) -> None:
    """The names a config may use, with their options and defaults (from the registries)."""
    from ..errors import did_you_mean
    from ..schema import describe_registry

    if kind is not None and kind not in KINDS:
        hint = did_you_mean(kind, KINDS)
        raise fail(FitcliError(f"list: expected one of {', '.join(KINDS)}, got {kind!r}"
                               + (f" ({hint})" if hint else "")))
    for k in [kind] if kind else KINDS:
        table = Table(title=k, show_lines=False, title_justify="left")
        for col in ("name", "options (default)", "description"):
            table.add_column(col)
        for row in describe_registry(k):
            opts = ", ".join(f"{n}={_show(v)}" for n, v in row["options"].items())
            table.add_row(row["name"], escape(opts) or "-", escape(row["doc"]))
        out.print(table)


def _show(v) -> str:
    return "[" + ", ".join(map(str, v)) + "]" if isinstance(v, (list, tuple)) else str(v)


def schema() -> None:
    """Print a JSON Schema of the config format (for editors; see the README)."""
    import json

    from ..schema import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))




def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command("list")(list_)
    app.command()(schema)
