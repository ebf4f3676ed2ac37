"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_data_path(name: str) -> Path:
    """Path of a file in ../shared/data; skip when absent (a user's clone), fail when absent under CI=true."""
    path = SHARED_DATA / name
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{path} is missing: CI must run with ../shared/data beside the repository")
        pytest.skip(f"{path} not present (real market data lives in ../shared/data, not in this repo)")
    return path


@pytest.fixture
def shared_data_dir() -> Path:
    """The ../shared/data directory (skips or fails like ``shared_data_path``)."""
    if not SHARED_DATA.is_dir():
        shared_data_path("README.md")
    return SHARED_DATA


@pytest.fixture
def ethusdc_mid_csv() -> Path:
    """The real ETHUSDC mid-price CSV."""
    return shared_data_path("ethusdc_mid_2025-11-24_dev.csv")


@pytest.fixture
def btcusdt_recording() -> Path:
    """The real Binance USD-M raw WebSocket recording (hftbacktest format)."""
    return shared_data_path("hftbacktest_usdm_btcusdt_20230404.dat.gz")
