"""The complexity benchmark runs and shows what it should (generous, load-proof margins)."""

from fitcli.bench import complexity


def test_complexity_quick_run_tables_and_figure(tmp_path):
    res = complexity.run(quick=True)
    grad = res["gradient"]
    assert [r["n"] for r in grad] == [10, 100, 1000]
    # finite differences cost grows like n; one reverse sweep does not
    assert grad[-1]["fd"] > 20 * grad[-1]["reverse"]
    assert grad[-1]["fd"] > 5 * grad[0]["fd"]
    assert all(r["reverse"] < 50 for r in grad)
    text = complexity.format_tables(res)
    assert "FD" in text and "input end" in text
    path = complexity.figure(res["gradient"], res["jacobian"], res["chain"],
                             tmp_path / "complexity.png")
    assert path.exists() and path.stat().st_size > 10_000
