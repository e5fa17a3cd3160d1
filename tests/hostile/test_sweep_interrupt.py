"""Issue 13: Ctrl-C between two sweep trials stops the sweep with its table and exit 130,
never a traceback — one signal (stop scheduling) or two (stop at once)."""

from __future__ import annotations

import signal

import pytest
from hostile_helpers import cli


@pytest.mark.parametrize("signals", [1, 2])
def test_ctrl_c_between_trials(tiny, monkeypatch, signals):
    import fitcli.cli.sweep as S

    real, calls = S._line, []

    def line(*a, **k):      # after the first trial: the user presses Ctrl-C
        calls.append(1)
        if len(calls) == 1:
            for _ in range(signals):
                signal.raise_signal(signal.SIGINT)
        return real(*a, **k)

    monkeypatch.setattr(S, "_line", line)
    code, out, err = cli("sweep", tiny, "--grid", "optimizer.step=0.1,0.2,0.3,0.4",
                         "--out", "sw", "-q")
    assert code == 130, (code, out, err)
    assert "Traceback" not in out + err
    assert "interrupted" in err
    assert len(calls) < 4
