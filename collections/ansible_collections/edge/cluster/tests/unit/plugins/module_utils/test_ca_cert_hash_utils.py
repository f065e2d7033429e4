# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from ansible_collections.edge.cluster.plugins.module_utils import _ca_cert_hash
from ansible_collections.edge.cluster.plugins.module_utils._ca_cert_hash import (
    CACertHashError,
    CryptographyMissingError,
    compute_ca_cert_hash,
    select_backend,
)

KEY_TYPES = ['rsa2048', 'rsa3072', 'rsa4096', 'p256', 'p384', 'p521', 'ed25519']
BACKENDS = ['pure', 'cryptography']
HASH_RE = re.compile(r'^sha256:[0-9a-f]{64}$')


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('key_type', KEY_TYPES)
def test_hash_matches_openssl(certs, openssl_hash, key_type, backend):
    pem = certs.cert(key_type)
    result = compute_ca_cert_hash(pem, backend)
    assert HASH_RE.match(result.hash)
    assert result.hash == openssl_hash(pem)
    assert result.subject == 'CN=kubernetes'
    assert result.backend == backend


@pytest.mark.parametrize('key_type', ['rsa2048', 'p384'])
def test_hash_depends_on_the_key_only(certs, key_type):
    """Two certificates for one key pin the same hash; another key pins another."""
    first = compute_ca_cert_hash(certs.cert(key_type, common_name='one')).hash
    second = compute_ca_cert_hash(certs.cert(key_type, common_name='two')).hash
    other = compute_ca_cert_hash(certs.cert(key_type, key=certs.key(key_type, fresh=True))).hash
    assert first == second
    assert other != first


def test_bytes_input_and_surrounding_text(certs, openssl_hash):
    pem = certs.cert('p256')
    noisy = 'Certificate:\n    Data: (openssl -text dump)\n' + pem + '\ntrailing words\n'
    assert compute_ca_cert_hash(noisy.encode('ascii')).hash == openssl_hash(pem)


@pytest.mark.parametrize('backend', BACKENDS)
def test_leaf_with_ca_false_is_refused(certs, backend):
    pem = certs.cert('p256', common_name='kube-apiserver', ca=False)
    with pytest.raises(CACertHashError, match=r"subject 'CN=kube-apiserver' is not a CA "
                                              r"\(basicConstraints CA:FALSE\)"):
        compute_ca_cert_hash(pem, backend)


@pytest.mark.parametrize('backend', BACKENDS)
def test_certificate_without_basic_constraints_is_refused(certs, backend):
    pem = certs.cert('rsa2048', common_name='legacy', basic_constraints=False)
    with pytest.raises(CACertHashError, match=r'not a CA \(no basicConstraints extension\)'):
        compute_ca_cert_hash(pem, backend)


@pytest.mark.parametrize('backend', BACKENDS)
def test_bundle_of_two_names_count_and_ca(certs, backend):
    ca = certs.cert('p256', common_name='kubernetes')
    leaf = certs.cert('p384', common_name='kube-apiserver', ca=False)
    with pytest.raises(CACertHashError) as caught:
        compute_ca_cert_hash(leaf + ca, backend)
    message = str(caught.value)
    assert 'holds 2 certificates' in message
    assert "certificate 1: subject 'CN=kube-apiserver', not a CA" in message
    assert "The CA is certificate 2 (subject 'CN=kubernetes')" in message


def test_bundle_of_two_cas_and_of_two_leaves(certs):
    two_cas = certs.cert('p256', common_name='a') + certs.cert('p384', common_name='b')
    with pytest.raises(CACertHashError, match='Certificates 1, 2 are CAs'):
        compute_ca_cert_hash(two_cas)
    leaves = (certs.cert('p256', common_name='a', ca=False)
              + certs.cert('p384', common_name='b', basic_constraints=False))
    with pytest.raises(CACertHashError, match='None of them is a CA'):
        compute_ca_cert_hash(leaves)


@pytest.mark.parametrize('text, expected', [
    ('', 'not PEM: no "-----BEGIN CERTIFICATE-----" block'),
    ('just some words\n', 'not PEM'),
    ('\x00\x01garbage\xff', 'not PEM'),
    ('-----BEGIN CERTIFICATE-----\nMIIB\n', 'truncated'),
    ('-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----\n',
     'not valid base64'),
    ('-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n',
     'certificate 1 is not a valid X.509 certificate'),
    ('-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n',
     'certificate 1 is not a valid X.509 certificate'),
])
@pytest.mark.parametrize('backend', BACKENDS)
def test_garbage_is_refused(text, expected, backend):
    with pytest.raises(CACertHashError, match=re.escape(expected)):
        compute_ca_cert_hash(text, backend)


def test_private_key_is_refused_without_showing_it(certs):
    key_pem = certs.private_key_pem('p256')
    with pytest.raises(CACertHashError) as caught:
        compute_ca_cert_hash(key_pem)
    message = str(caught.value)
    assert 'not a certificate: block 1 is "PRIVATE KEY"' in message
    body = key_pem.splitlines()[1]
    assert body not in message


def test_certificate_with_key_block_is_refused(certs):
    with pytest.raises(CACertHashError, match='block 2 is "PRIVATE KEY"'):
        compute_ca_cert_hash(certs.cert('p256') + certs.private_key_pem('p256'))


def test_non_string_input():
    with pytest.raises(CACertHashError, match='expected the PEM text'):
        compute_ca_cert_hash(42)


def test_subject_formatting_agrees_between_backends(certs):
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, 'DE'),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Edge, Inc. +more'),
        x509.NameAttribute(NameOID.COMMON_NAME, ' kubernetes#ca '),
    ])
    pem = certs.cert('p256', name=name)
    pure = compute_ca_cert_hash(pem, 'pure')
    crypto = compute_ca_cert_hash(pem, 'cryptography')
    assert pure.subject == crypto.subject
    assert pure.subject == 'CN=\\ kubernetes#ca\\ ,O=Edge\\, Inc. \\+more,C=DE'


def test_auto_prefers_cryptography_and_falls_back(monkeypatch):
    assert select_backend('auto') == 'cryptography'
    monkeypatch.setattr(_ca_cert_hash, 'HAS_CRYPTOGRAPHY', False)
    assert select_backend('auto') == 'pure'
    assert select_backend('pure') == 'pure'
    with pytest.raises(CryptographyMissingError, match='python3-cryptography'):
        select_backend('cryptography')
    with pytest.raises(CACertHashError, match='backend must be one of'):
        select_backend('openssl')


def test_works_where_cryptography_cannot_be_imported(certs, openssl_hash, tmp_path):
    """A node without python3-cryptography: importing it fails, the hash still comes out."""
    pem_file = tmp_path / 'ca.crt'
    pem = certs.cert('rsa2048')
    pem_file.write_text(pem)
    script = (
        "import sys\n"
        "sys.modules['cryptography'] = None  # makes 'import cryptography' raise ImportError\n"
        "from ansible_collections.edge.cluster.plugins.module_utils import _ca_cert_hash as m\n"
        "assert not m.HAS_CRYPTOGRAPHY and 'cryptography' in m.CRYPTOGRAPHY_IMPORT_ERROR\n"
        "r = m.compute_ca_cert_hash(open(sys.argv[1]).read())\n"
        "print(r.backend, r.hash)\n"
    )
    done = subprocess.run([sys.executable, '-c', script, str(pem_file)], capture_output=True,
                          text=True, env={'PYTHONPATH': ':'.join(sys.path)}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ['pure', openssl_hash(pem)]
