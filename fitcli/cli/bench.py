"""``fitcli bench``: measurements on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import FitcliError
from .common import fail, load_config, out

bench_app = typer.Typer(help="Measurements on this machine.", no_args_is_help=True)
@bench_app.command("complexity")
def bench_complexity(
    quick: Annotated[bool, typer.Option("--quick", help="Smaller sizes (a first look).")]
    = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the figure.")]
    = Path("runs/bench"),
    configs: Annotated[list[Path] | None, typer.Option(
        "--config", help="Also time loss vs loss+gradient of this config (repeatable).")]
    = None,
) -> None:
    """The measured cost of finite differences, forward and reverse mode.

    1. gradient of f: Rⁿ → R by FD, forward and reverse mode, relative to f;
    2. full Jacobians by forward vs reverse mode (crossover at m ≈ n);
    3. a chain of dense Jacobians multiplied from the input or the output end;
    4. with --config, the cheap-gradient ratio of that config's objective.
    """
    from ..bench import complexity
    from ..problem import build, make_closure
    from ..runfolder import check_writable

    try:   # before minutes of timing, not after
        check_writable(out_dir, "--out", folder=True)
    except FitcliError as exc:
        raise fail(exc) from None
    res = complexity.run(quick)
    out.print(complexity.format_tables(res), markup=False, highlight=False)
    rows = []
    for c in configs or []:
        try:
            problem = build(load_config(c, [], None))
        except FitcliError as exc:
            raise fail(exc) from None
        closure, x = make_closure(problem), problem.params.flat.copy()
        r = complexity.objective_ratio(lambda: closure(x, need_grad=False),
                                       lambda: closure(x))
        rows.append((str(c), r))
    if rows:
        out.print("\n4. a config's objective: time(loss + gradient) / time(loss)")
        for name, r in rows:
            out.print(f"{name:<40}{r['loss_seconds'] * 1e3:>10.3f} ms{r['ratio']:>8.2f}",
                      markup=False)
    path = complexity.figure(res["gradient"], res["jacobian"], res["chain"],
                             out_dir / "complexity.png")
    out.print(f"figure: {path}", markup=False)




def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
