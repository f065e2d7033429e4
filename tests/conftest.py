"""Fixtures shared by the suites under tests/. Plain helper functions live in edge_testlib.py
(a unique module name: pytest imports every conftest.py as "conftest")."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from edge_testlib import openssl_certificate  # noqa: E402  (needs the path above)


@pytest.fixture
def openssl_ca(tmp_path):
    """Factory: openssl_ca(name, key='p256', ca=True) -> path of a new certificate."""
    def make(name='ca', key='p256', ca=True, common_name=None):
        return openssl_certificate(tmp_path, name, key=key, ca=ca, common_name=common_name)
    return make
