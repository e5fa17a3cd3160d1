import numpy as np

import fitcli.engine as fe
from fitcli import graph


def _objective():
    W = fe.tensor(np.ones((3, 4)), requires_grad=True)
    b = fe.tensor(np.zeros(4), requires_grad=True)
    X = np.ones((5, 3))
    out = fe.mean(fe.logsumexp(fe.tanh(X @ W + b), axis=1))
    return out, {id(W): "W", id(b): "b"}


def test_summary_counts_ops_parameters_and_depth():
    out, names = _objective()
    s = graph.summarize(out, names)
    assert s.per_op == {"matmul": 1, "add": 1, "tanh": 1, "logsumexp": 1, "sum": 1,
                        "multiply": 1}
    assert s.parameters == {"W": (3, 4), "b": (4,)}
    assert s.depth == 6 and s.nodes == 6


def test_dot_names_every_op_and_edge(tmp_path):
    out, names = _objective()
    text = graph.to_dot(out, names)
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    for op in ("matmul", "add", "tanh", "logsumexp", "sum", "multiply"):
        assert f'label="{op}\\n' in text
    assert text.count("->") == 7 + 2  # one edge per op input: 7 from tensors, 2 constants (X, 1/N)
    written = graph.write(out, tmp_path / "g.dot", names)
    assert written[0].read_text() == graph.to_dot(out, names, title="g")


def test_long_chain_summary_is_iterative():
    x = fe.tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    assert graph.summarize(fe.sum(y)).depth == 20001
