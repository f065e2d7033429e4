# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""kubeadm's --discovery-token-ca-cert-hash: "sha256:" + hex SHA-256 of the CA certificate's
DER SubjectPublicKeyInfo (kubeadm's pubkeypin package hashes cert.RawSubjectPublicKeyInfo).

Two backends give the same answer: "cryptography" (when the library is installed) and "pure"
(the standard-library DER reader in _der, for nodes without python3-cryptography).
"""

from __future__ import annotations

import hashlib
import traceback
from collections import namedtuple

from ansible_collections.edge.cluster.plugins.module_utils._der import (
    DERError,
    PEMError,
    parse_certificate,
    split_pem,
)

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

BACKENDS = ('auto', 'cryptography', 'pure')
CERTIFICATE_LABEL = 'CERTIFICATE'

CACertHash = namedtuple('CACertHash', ['hash', 'subject', 'backend'])
_CertInfo = namedtuple('_CertInfo', ['spki', 'subject', 'basic_constraints_ca'])


class CACertHashError(ValueError):
    """The input cannot give a CA certificate hash; the message says why and what to do."""


class CryptographyMissingError(CACertHashError):
    """backend=cryptography was asked for and the library is not importable."""


def select_backend(backend):
    """Resolve 'auto' to the backend that will run; refuse 'cryptography' when it is missing."""
    if backend not in BACKENDS:
        raise CACertHashError('backend must be one of %s, got %r' % (', '.join(BACKENDS), backend))
    if backend == 'auto':
        return 'cryptography' if HAS_CRYPTOGRAPHY else 'pure'
    if backend == 'cryptography' and not HAS_CRYPTOGRAPHY:
        raise CryptographyMissingError(
            'backend=cryptography needs the Python cryptography library, which is not '
            'importable here; install it (Debian: python3-cryptography) or use backend=auto')
    return backend


def _load_pure(der):
    fields = parse_certificate(der)
    return _CertInfo(fields.spki, fields.subject, fields.basic_constraints_ca)


def _load_cryptography(der):
    cert = x509.load_der_x509_certificate(der)
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        ca = None
    else:
        ca = constraints.value.ca
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _CertInfo(spki, cert.subject.rfc4514_string(), ca)


_LOADERS = {'pure': _load_pure, 'cryptography': _load_cryptography}


def _describe(info):
    return "subject '%s'" % (info.subject or '<empty>')


def _ca_status(info):
    if info.basic_constraints_ca:
        return 'a CA'
    if info.basic_constraints_ca is None:
        return 'not a CA (no basicConstraints extension)'
    return 'not a CA (basicConstraints CA:FALSE)'


def _several_certificates_message(infos):
    listing = '; '.join(
        'certificate %d: %s, %s' % (number, _describe(info), _ca_status(info))
        for number, info in enumerate(infos, start=1))
    cas = [number for number, info in enumerate(infos, start=1) if info.basic_constraints_ca]
    if len(cas) == 1:
        advice = 'The CA is certificate %d (%s): pass only that one.' % (
            cas[0], _describe(infos[cas[0] - 1]))
    elif cas:
        advice = ('Certificates %s are CAs: pass only the cluster CA, the one kubeadm keeps in '
                  '/etc/kubernetes/pki/ca.crt.' % ', '.join(str(number) for number in cas))
    else:
        advice = 'None of them is a CA: pass the cluster CA (/etc/kubernetes/pki/ca.crt).'
    return ('the input holds %d certificates, expected exactly one (the cluster CA). %s. %s'
            % (len(infos), listing, advice))


def compute_ca_cert_hash(pem, backend='auto'):
    """Return CACertHash(hash='sha256:<64 hex>', subject, backend) for one PEM CA certificate.

    pem: str or bytes holding exactly one "CERTIFICATE" PEM block (other text around it is
    ignored). Raises CACertHashError with a message fit to show a user.
    """
    used = select_backend(backend)
    if isinstance(pem, bytes):
        pem = pem.decode('latin-1')
    if not isinstance(pem, str):
        raise CACertHashError('expected the PEM text of a certificate, got %s' % type(pem).__name__)
    try:
        blocks = split_pem(pem)
    except PEMError as exc:
        raise CACertHashError('not a valid PEM certificate: %s' % exc)
    if not blocks:
        raise CACertHashError(
            'not PEM: no "-----BEGIN CERTIFICATE-----" block found in the input (%d characters). '
            'Pass the PEM text of the cluster CA certificate, e.g. the content of '
            '/etc/kubernetes/pki/ca.crt; convert a DER file with '
            '"openssl x509 -inform DER -in ca.der"' % len(pem))
    others = [(number, block.label) for number, block in enumerate(blocks, start=1)
              if block.label != CERTIFICATE_LABEL]
    if others:
        found = ', '.join('block %d is "%s"' % item for item in others)
        raise CACertHashError(
            'not a certificate: %s; expected only "CERTIFICATE" blocks. Pass the CA '
            'certificate (ca.crt), never a key' % found)
    infos = []
    for number, block in enumerate(blocks, start=1):
        try:
            infos.append(_LOADERS[used](block.der))
        except (DERError, ValueError) as exc:
            raise CACertHashError(
                'certificate %d is not a valid X.509 certificate (%s backend): %s'
                % (number, used, exc))
    if len(infos) > 1:
        raise CACertHashError(_several_certificates_message(infos))
    info = infos[0]
    if not info.basic_constraints_ca:
        raise CACertHashError(
            'the certificate with %s is %s; kubeadm pins the cluster CA. Pass the CA '
            'certificate, normally /etc/kubernetes/pki/ca.crt on a control-plane node'
            % (_describe(info), _ca_status(info)))
    digest = hashlib.sha256(info.spki).hexdigest()
    return CACertHash('sha256:' + digest, info.subject, used)
