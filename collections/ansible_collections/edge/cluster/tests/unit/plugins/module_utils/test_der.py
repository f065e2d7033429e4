# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ansible_collections.edge.cluster.plugins.module_utils._der import (
    DERError,
    PEMError,
    decode_oid,
    parse_certificate,
    split_pem,
)


def _der_of(pem):
    return x509.load_pem_x509_certificate(pem.encode('ascii')).public_bytes(
        serialization.Encoding.DER)


@pytest.mark.parametrize('key_type', ['rsa2048', 'p256', 'p384', 'ed25519'])
def test_spki_bytes_are_the_certificates_own(certs, key_type):
    pem = certs.cert(key_type)
    cert = x509.load_pem_x509_certificate(pem.encode('ascii'))
    expected = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    fields = parse_certificate(_der_of(pem))
    assert fields.spki == expected
    assert fields.basic_constraints_ca is True


@pytest.mark.parametrize('ca, basic_constraints, expected', [
    (True, True, True),
    (False, True, False),
    (False, False, None),
])
def test_basic_constraints(certs, ca, basic_constraints, expected):
    pem = certs.cert('p256', ca=ca, basic_constraints=basic_constraints)
    assert parse_certificate(_der_of(pem)).basic_constraints_ca is expected


@pytest.mark.parametrize('encoded, dotted', [
    ('550403', '2.5.4.3'),
    ('551d13', '2.5.29.19'),
    ('2a864886f70d010101', '1.2.840.113549.1.1.1'),
    ('2a8648ce3d030107', '1.2.840.10045.3.1.7'),
    ('2b81040022', '1.3.132.0.34'),
    ('2b6570', '1.3.101.112'),
    ('0992268993f22c640119', '0.9.2342.19200300.100.1.25'),
])
def test_decode_oid(encoded, dotted):
    assert decode_oid(bytes.fromhex(encoded)) == dotted


@pytest.mark.parametrize('encoded', ['', '2a86'])
def test_decode_oid_refuses_empty_and_truncated(encoded):
    with pytest.raises(DERError):
        decode_oid(bytes.fromhex(encoded))


@pytest.mark.parametrize('der, message', [
    (b'', 'not a single DER SEQUENCE'),
    (b'\x30', 'truncated element'),
    (b'\x30\x80\x00\x00', 'indefinite length'),
    (b'\x30\x85\x01\x00\x00\x00\x00', 'bad length field'),
    (b'\x30\x05\x02\x01', 'claims 5 bytes'),
    (b'\x02\x01\x00', 'not a single DER SEQUENCE'),
    (b'\x30\x00\x30\x00', 'not a single DER SEQUENCE'),
    (b'\x30\x00', 'this is something else'),
    (b'\x1f\x01\x00', 'multi-byte tag'),
])
def test_malformed_der(der, message):
    with pytest.raises(DERError, match=message):
        parse_certificate(der)


def test_truncated_certificate_is_refused(certs):
    der = _der_of(certs.cert('p256'))
    for cut in (1, 10, len(der) // 2, len(der) - 1):
        with pytest.raises(DERError):
            parse_certificate(der[:cut])


def test_split_pem_keeps_order_and_labels(certs):
    cert = certs.cert('p256')
    text = 'head\n' + cert + 'middle\n' + certs.private_key_pem('p384')
    blocks = split_pem(text)
    assert [block.label for block in blocks] == ['CERTIFICATE', 'PRIVATE KEY']
    assert blocks[0].der == _der_of(cert)


def test_split_pem_accepts_crlf_line_endings(certs):
    pem = certs.cert('p256')
    assert split_pem(pem.replace('\n', '\r\n'))[0].der == split_pem(pem)[0].der


@pytest.mark.parametrize('text, message', [
    ('-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE----', 'truncated'),
    ('-----BEGIN CERTIFICATE-----\nQUJD\n-----END PRIVATE KEY-----\n', 'does not match'),
    ('-----BEGIN CERTIFICATE-----\nQU*D\n-----END CERTIFICATE-----\n', 'not valid base64'),
    ('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nQUJD\n'
     '-----END RSA PRIVATE KEY-----\n', 'has headers'),
])
def test_split_pem_errors(text, message):
    with pytest.raises(PEMError, match=message):
        split_pem(text)


def test_split_pem_decodes_base64():
    text = '-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' % (
        base64.b64encode(b'\x30\x00').decode('ascii'))
    assert split_pem(text)[0].der == b'\x30\x00'
