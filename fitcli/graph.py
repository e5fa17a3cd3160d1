"""The computational graph of an objective: Graphviz DOT, an SVG where Graphviz is installed,
and a summary (nodes per op, parameters, depth).

The graph is read from the recorded Tensor DAG (``Tensor.parents``, ``Tensor.op``)
before any backward sweep releases it. Traversal is iterative, like the sweep.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .engine import Tensor


@dataclass
class GraphSummary:
    nodes: int                         # op nodes (primitives applied)
    leaves: int                        # parameter and input leaves that need a gradient
    constants: int                     # arrays entering ops without a gradient
    depth: int                         # longest path from a leaf to the output, in ops
    per_op: dict[str, int] = field(default_factory=dict)
    parameters: dict[str, tuple] = field(default_factory=dict)


def _walk(root: Tensor) -> list[Tensor]:
    """Every recorded node reachable from ``root``, parents before children."""
    seen, order, stack = {id(root)}, [], [root]
    while stack:
        node = stack.pop()
        order.append(node)
        for p in node.parents:
            if isinstance(p, Tensor) and id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    # creation order is a topological order (a node is made after its parents)
    return sorted(order, key=lambda t: t._seq)


def summarize(root: Tensor, names: dict[int, str] | None = None) -> GraphSummary:
    """Counts of the graph under ``root``; ``names`` maps id(leaf) → parameter name."""
    names = names or {}
    nodes = _walk(root)
    depth: dict[int, int] = {}
    per_op: Counter = Counter()
    constants = 0
    params = {}
    for t in nodes:
        if t.op is None:
            depth[id(t)] = 0
            if t.requires_grad:
                params[names.get(id(t), f"leaf{len(params)}")] = t.shape
            continue
        per_op[t.op] += 1
        constants += sum(not (isinstance(p, Tensor) and (p.requires_grad or p.op))
                         for p in t.parents)
        depth[id(t)] = 1 + max((depth.get(id(p), 0) for p in t.parents if isinstance(p, Tensor)),
                               default=0)
    return GraphSummary(nodes=sum(per_op.values()), leaves=len(params), constants=constants,
                        depth=depth[id(root)], per_op=dict(per_op.most_common()),
                        parameters=params)


def _shape(x) -> str:
    return "×".join(map(str, np.shape(x))) or "scalar"


def to_dot(root: Tensor, names: dict[int, str] | None = None, title: str = "objective") -> str:
    """Graphviz DOT text: ops as boxes (op and output shape), leaves as ellipses."""
    names = names or {}
    lines = [f'digraph "{title}" {{', "  rankdir=BT;",
             '  node [fontname="Helvetica", fontsize=10];']
    ids: dict[int, str] = {}
    n_const = 0
    for t in _walk(root):
        nid = f"n{len(ids)}"
        ids[id(t)] = nid
        if t.op is None:
            label = f"{names.get(id(t), 'leaf')}\\n{_shape(t.data)}"
            lines.append(f'  {nid} [label="{label}", shape=ellipse, style=filled, '
                         'fillcolor="#dbe9f6"];')
            continue
        style = ', style=filled, fillcolor="#fde0c5"' if t is root else ""
        lines.append(f'  {nid} [label="{t.op}\\n{_shape(t.data)}", shape=box{style}];')
        for p in t.parents:
            if isinstance(p, Tensor) and id(p) in ids:
                lines.append(f"  {ids[id(p)]} -> {nid};")
            else:
                cid = f"c{n_const}"
                n_const += 1
                lines.append(f'  {cid} [label="{_shape(p)}", shape=plaintext, fontcolor=gray];')
                lines.append(f"  {cid} -> {nid} [color=gray];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(root: Tensor, path: Path, names: dict[int, str] | None = None) -> list[Path]:
    """Write ``path`` (.dot) and, where Graphviz's ``dot`` exists, the SVG beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_dot(root, names, title=path.stem))
    written = [path]
    dot = shutil.which("dot")
    if dot:
        svg = path.with_suffix(".svg")
        subprocess.run([dot, "-Tsvg", str(path), "-o", str(svg)], check=True, timeout=60)
        written.append(svg)
    return written
