# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""PEM splitting and a minimal DER reader for X.509 certificates, standard library only.

Nodes may have python3 without python3-cryptography (the lab node is Debian minbase + python3),
yet the CA hash must be computed there. A certificate is read only as far as needed: the raw
SubjectPublicKeyInfo bytes (exactly what kubeadm hashes: Go's cert.RawSubjectPublicKeyInfo),
the subject (for messages) and the basicConstraints extension.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import namedtuple

# Labels may not contain dashes; the END label must repeat the BEGIN label.
_PEM_BLOCK_RE = re.compile(
    r'-----BEGIN (?P<label>[A-Z0-9 ]+)-----(?P<body>.*?)-----END (?P=label)-----',
    re.DOTALL,
)
_PEM_BEGIN_RE = re.compile(r'-----BEGIN ([^-\r\n]*)-----')

PemBlock = namedtuple('PemBlock', ['label', 'der'])
CertificateFields = namedtuple('CertificateFields', ['spki', 'subject', 'basic_constraints_ca'])
"""spki: raw DER bytes; subject: RFC 4514 string; basic_constraints_ca: True, False, or None
when the certificate has no basicConstraints extension."""

_SEQUENCE = 0x30
_SET = 0x31
_INTEGER = 0x02
_BIT_STRING = 0x03
_OCTET_STRING = 0x04
_BOOLEAN = 0x01
_OID = 0x06
_VERSION_TAG = 0xA0  # [0] EXPLICIT
_ISSUER_UID_TAG = 0x81  # [1] IMPLICIT
_SUBJECT_UID_TAG = 0x82  # [2] IMPLICIT
_EXTENSIONS_TAG = 0xA3  # [3] EXPLICIT

_BASIC_CONSTRAINTS_OID = '2.5.29.19'

# Same short names as cryptography's Name.rfc4514_string(), so both backends word errors alike.
_NAME_OIDS = {
    '2.5.4.3': 'CN',
    '2.5.4.6': 'C',
    '2.5.4.7': 'L',
    '2.5.4.8': 'ST',
    '2.5.4.9': 'STREET',
    '2.5.4.10': 'O',
    '2.5.4.11': 'OU',
    '0.9.2342.19200300.100.1.1': 'UID',
    '0.9.2342.19200300.100.1.25': 'DC',
}

_STRING_DECODERS = {
    0x0C: 'utf-8',  # UTF8String
    0x12: 'ascii',  # NumericString
    0x13: 'ascii',  # PrintableString
    0x14: 'latin-1',  # TeletexString (treated as Latin-1, as most tools do)
    0x16: 'ascii',  # IA5String
    0x1A: 'ascii',  # VisibleString
    0x1C: 'utf-32-be',  # UniversalString
    0x1E: 'utf-16-be',  # BMPString
}


class PEMError(ValueError):
    """The text is not PEM, or a PEM block is damaged."""


class DERError(ValueError):
    """The bytes are not the DER structure expected."""


def split_pem(text):
    """Return the PEM blocks in text (str) as PemBlock(label, der), in order.

    Text outside the blocks is ignored (openssl x509 -text puts a dump before the block).
    """
    blocks = []
    for number, match in enumerate(_PEM_BLOCK_RE.finditer(text), start=1):
        label = match.group('label')
        body = match.group('body')
        if ':' in body:
            raise PEMError(
                'PEM block %d (%s) has headers (such as Proc-Type); an encrypted or legacy '
                'block is not a certificate' % (number, label))
        try:
            der = base64.b64decode(''.join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise PEMError('PEM block %d (%s) is not valid base64: the file is damaged or '
                           'was edited by hand' % (number, label))
        blocks.append(PemBlock(label, der))
    begins = len(_PEM_BEGIN_RE.findall(text))
    if begins != len(blocks):
        raise PEMError(
            'found %d "-----BEGIN ...-----" line(s) but only %d complete PEM block(s): a block '
            'is truncated or its END line does not match its BEGIN line' % (begins, len(blocks)))
    return blocks


def _read_tlv(data, pos, end):
    """Read one DER element at data[pos:end]; return (tag, value_start, value_end)."""
    if end - pos < 2:
        raise DERError('truncated element at byte %d' % pos)
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DERError('unexpected multi-byte tag at byte %d' % pos)
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise DERError('indefinite length at byte %d is not allowed in DER' % (pos - 1))
        if count > 4 or end - pos < count:
            raise DERError('bad length field at byte %d' % (pos - 1))
        length = int.from_bytes(data[pos:pos + count], 'big')
        pos += count
    if end - pos < length:
        raise DERError('element at byte %d claims %d bytes, only %d remain' % (pos, length, end - pos))
    return tag, pos, pos + length


def _children(data, start, end):
    """List (tag, element_start, value_start, value_end) of the elements in data[start:end]."""
    items = []
    pos = start
    while pos < end:
        tag, value_start, value_end = _read_tlv(data, pos, end)
        items.append((tag, pos, value_start, value_end))
        pos = value_end
    return items


def _expect(item, tag, what):
    if item is None or item[0] != tag:
        found = 'nothing' if item is None else 'tag 0x%02x' % item[0]
        raise DERError('expected %s (tag 0x%02x), found %s' % (what, tag, found))
    return item


def decode_oid(value):
    """Dotted string of a DER OBJECT IDENTIFIER value (without tag and length)."""
    if not value:
        raise DERError('empty OBJECT IDENTIFIER')
    arcs = []
    current = 0
    for byte in bytearray(value):
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(current)
            current = 0
    if value[-1] & 0x80:
        raise DERError('truncated OBJECT IDENTIFIER')
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return '.'.join(str(arc) for arc in head + arcs[1:])


def _escape_rfc4514(value):
    """Escape an attribute value as RFC 4514 section 2.4 (and cryptography) do."""
    if not value:
        return ''
    for char in ('\\', '"', '+', ',', ';', '<', '>'):
        value = value.replace(char, '\\' + char)
    value = value.replace('\0', '\\00')
    if value[0] in ('#', ' '):
        value = '\\' + value
    if value[-1] == ' ':
        value = value[:-1] + '\\ '
    return value


def _format_name(data, start, end):
    """RFC 4514 string of a DER Name (its value bytes data[start:end]): last RDN first."""
    rdns = []
    for rdn in _children(data, start, end):
        _expect(rdn, _SET, 'a RelativeDistinguishedName SET')
        parts = []
        for attribute in _children(data, rdn[2], rdn[3]):
            _expect(attribute, _SEQUENCE, 'an AttributeTypeAndValue SEQUENCE')
            fields = _children(data, attribute[2], attribute[3])
            if len(fields) != 2:
                raise DERError('AttributeTypeAndValue must have 2 fields, has %d' % len(fields))
            oid = decode_oid(data[fields[0][2]:fields[0][3]])
            tag, element_start, value_start, value_end = fields[1]
            encoding = _STRING_DECODERS.get(tag)
            if encoding is None:
                text = '#' + binascii.hexlify(data[element_start:value_end]).decode('ascii')
            else:
                try:
                    text = _escape_rfc4514(data[value_start:value_end].decode(encoding))
                except UnicodeDecodeError:
                    raise DERError('attribute %s is not valid %s' % (oid, encoding))
            parts.append('%s=%s' % (_NAME_OIDS.get(oid, oid), text))
        rdns.append('+'.join(parts))
    return ','.join(reversed(rdns))


def _basic_constraints_ca(data, start, end):
    """cA flag of a BasicConstraints extension value (DER in data[start:end])."""
    outer = _children(data, start, end)
    if len(outer) != 1:
        raise DERError('basicConstraints must hold one SEQUENCE')
    _expect(outer[0], _SEQUENCE, 'the basicConstraints SEQUENCE')
    fields = _children(data, outer[0][2], outer[0][3])
    if fields and fields[0][0] == _BOOLEAN:
        value = data[fields[0][2]:fields[0][3]]
        if len(value) != 1:
            raise DERError('basicConstraints cA is not a one-byte BOOLEAN')
        return value[0] != 0
    return False  # cA DEFAULT FALSE


def _extensions_basic_constraints(data, start, end):
    """Look through the [3] extensions value; return the cA flag or None if absent."""
    wrapper = _children(data, start, end)
    if len(wrapper) != 1:
        raise DERError('extensions must hold one SEQUENCE')
    _expect(wrapper[0], _SEQUENCE, 'the Extensions SEQUENCE')
    for extension in _children(data, wrapper[0][2], wrapper[0][3]):
        _expect(extension, _SEQUENCE, 'an Extension SEQUENCE')
        fields = _children(data, extension[2], extension[3])
        if len(fields) not in (2, 3):
            raise DERError('an Extension must have 2 or 3 fields, has %d' % len(fields))
        oid = decode_oid(data[_expect(fields[0], _OID, 'extnID')[2]:fields[0][3]])
        value = _expect(fields[-1], _OCTET_STRING, 'extnValue')
        if oid == _BASIC_CONSTRAINTS_OID:
            return _basic_constraints_ca(data, value[2], value[3])
    return None


def parse_certificate(der):
    """Read the fields this collection needs from one DER X.509 certificate.

    Raises DERError when der is not a certificate (a key, a CSR, random bytes).
    """
    data = bytes(der)
    top = _children(data, 0, len(data))
    if len(top) != 1 or top[0][0] != _SEQUENCE:
        raise DERError('not a single DER SEQUENCE')
    parts = _children(data, top[0][2], top[0][3])
    if [item[0] for item in parts] != [_SEQUENCE, _SEQUENCE, _BIT_STRING]:
        raise DERError('a certificate is SEQUENCE {tbsCertificate, signatureAlgorithm, '
                       'signatureValue}; this is something else')
    tbs = parts[0]
    fields = _children(data, tbs[2], tbs[3])
    index = 0
    if fields and fields[0][0] == _VERSION_TAG:
        index = 1
    names = ['serialNumber', 'signature', 'issuer', 'validity', 'subject',
             'subjectPublicKeyInfo']
    tags = [_INTEGER, _SEQUENCE, _SEQUENCE, _SEQUENCE, _SEQUENCE, _SEQUENCE]
    found = {}
    for name, tag in zip(names, tags):
        item = fields[index] if index < len(fields) else None
        found[name] = _expect(item, tag, 'tbsCertificate.' + name)
        index += 1
    spki = found['subjectPublicKeyInfo']
    spki_fields = _children(data, spki[2], spki[3])
    if [item[0] for item in spki_fields] != [_SEQUENCE, _BIT_STRING]:
        raise DERError('subjectPublicKeyInfo is not SEQUENCE {algorithm, subjectPublicKey}')
    basic_constraints_ca = None
    for item in fields[index:]:
        if item[0] == _EXTENSIONS_TAG:
            basic_constraints_ca = _extensions_basic_constraints(data, item[2], item[3])
        elif item[0] not in (_ISSUER_UID_TAG, _SUBJECT_UID_TAG):
            raise DERError('unexpected tag 0x%02x after subjectPublicKeyInfo' % item[0])
    subject = found['subject']
    return CertificateFields(
        spki=data[spki[1]:spki[3]],
        subject=_format_name(data, subject[2], subject[3]),
        basic_constraints_ca=basic_constraints_ca,
    )
