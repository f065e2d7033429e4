# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import _certificate_key as ck


def test_generate_draws_32_bytes_from_secrets(monkeypatch):
    asked = []

    def fake_token_hex(nbytes):
        asked.append(nbytes)
        return 'ab' * nbytes

    monkeypatch.setattr(ck.secrets, 'token_hex', fake_token_hex)
    assert ck.generate_certificate_key() == 'ab' * 32
    assert asked == [32]


def test_generate_gives_distinct_valid_keys():
    keys = {ck.generate_certificate_key() for dummy in range(50)}
    assert len(keys) == 50
    assert all(ck.is_certificate_key(key) and key == key.lower() for key in keys)


@pytest.mark.parametrize('value, valid', [
    ('0' * 64, True),
    ('deadbeef' * 8, True),
    ('DEADBEEF' * 8, True),
    ('0' * 63, False),
    ('0' * 65, False),
    ('g' * 64, False),
    ('0' * 64 + '\n', False),
    ('', False),
    (None, False),
    (123, False),
    (b'0' * 64, False),
])
def test_is_certificate_key(value, valid):
    assert ck.is_certificate_key(value) is valid
