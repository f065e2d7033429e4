# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.edge.cluster.plugins.test.certificate_key_valid import TestModule as CertificateKeyTests


@pytest.mark.parametrize('value, valid', [
    ('0123456789abcdef' * 4, True),
    ('0123456789ABCDEF' * 4, True),
    ('0123456789abcdef' * 3, False),
    ('0123456789abcdex' * 4, False),
    (None, False),
    (['0' * 64], False),
])
def test_certificate_key_valid(value, valid):
    assert CertificateKeyTests().tests()['certificate_key_valid'](value) is valid
