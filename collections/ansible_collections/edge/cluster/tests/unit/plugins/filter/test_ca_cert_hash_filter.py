# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.filter.ca_cert_hash import FilterModule


@pytest.fixture
def ca_cert_hash():
    return FilterModule().filters()['ca_cert_hash']


@pytest.mark.parametrize('key_type', ['rsa3072', 'p384', 'ed25519'])
def test_filter_matches_openssl(ca_cert_hash, certs, openssl_hash, key_type):
    pem = certs.cert(key_type)
    assert ca_cert_hash(pem) == openssl_hash(pem)


@pytest.mark.parametrize('make_input, message', [
    (lambda certs: 'not a pem', 'not PEM'),
    (lambda certs: certs.private_key_pem('p256'), 'not a certificate'),
    (lambda certs: certs.cert('p256', ca=False), 'not a CA'),
    (lambda certs: certs.cert('p256') + certs.cert('p384', common_name='x'), 'holds 2 certificates'),
    (lambda certs: None, 'expected the PEM text'),
])
def test_filter_raises_ansible_filter_error(ca_cert_hash, certs, make_input, message):
    with pytest.raises(AnsibleFilterError, match='^edge.cluster.ca_cert_hash: .*' + message):
        ca_cert_hash(make_input(certs))
