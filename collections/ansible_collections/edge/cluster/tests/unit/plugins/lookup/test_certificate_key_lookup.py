# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.edge.cluster.plugins.lookup.certificate_key import LookupModule
from ansible_collections.edge.cluster.plugins.module_utils import _certificate_key


@pytest.fixture
def lookup():
    plugin = LookupModule()
    plugin._load_name = 'edge.cluster.certificate_key'  # what the plugin loader would set
    return plugin


def test_returns_one_new_key(lookup):
    first = lookup.run([], variables={})
    second = lookup.run([], variables={})
    assert len(first) == 1 and re.match(r'^[0-9a-f]{64}$', first[0])
    assert first != second


def test_key_comes_from_secrets(lookup, monkeypatch):
    monkeypatch.setattr(_certificate_key.secrets, 'token_hex', lambda nbytes: 'cd' * nbytes)
    assert lookup.run([], variables={}) == ['cd' * 32]


def test_terms_are_refused(lookup):
    with pytest.raises(AnsibleLookupError, match='takes no terms, got 1'):
        lookup.run(['x'], variables={})
