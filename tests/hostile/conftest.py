"""Fixtures of the hostile-input tests (helpers in hostile_helpers.py)."""

from __future__ import annotations

import pytest
import yaml
from hostile_helpers import TINY


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A tiny config file in an empty working directory."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path
