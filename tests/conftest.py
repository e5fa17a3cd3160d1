"""Fixtures shared across the test tree (which mirrors the package)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The project's root: configs/, datasets/, README.md."""
    return ROOT


@pytest.fixture(scope="session")
def configs_dir() -> Path:
    """The shipped configs."""
    return ROOT / "configs"


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The shipped data (with its provenance in datasets/README.md)."""
    return ROOT / "datasets"
