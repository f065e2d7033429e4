# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the unit tests: test certificates made with cryptography, the reference CA
hash computed by the openssl CLI (an implementation independent of this collection), and a
runner for a module's main() through patch_module_args."""

from __future__ import annotations

import datetime
import json
import subprocess

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID


def _new_key(key_type):
    if key_type.startswith('rsa'):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    if key_type == 'ed25519':
        return ed25519.Ed25519PrivateKey.generate()
    curve = {'p256': ec.SECP256R1(), 'p384': ec.SECP384R1(), 'p521': ec.SECP521R1()}[key_type]
    return ec.generate_private_key(curve)


class CertFactory:
    """Makes certificates; keys are cached per type because RSA 4096 takes a while."""

    def __init__(self):
        self._keys = {}

    def key(self, key_type='p256', fresh=False):
        if fresh:
            return _new_key(key_type)
        if key_type not in self._keys:
            self._keys[key_type] = _new_key(key_type)
        return self._keys[key_type]

    def cert(self, key_type='p256', common_name='kubernetes', ca=True, basic_constraints=True,
             name=None, key=None):
        """PEM text (str) of a self-signed certificate.

        ca/basic_constraints: ca=False with basic_constraints=True gives CA:FALSE;
        basic_constraints=False leaves the extension out altogether.
        """
        key = key or self.key(key_type)
        subject = name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder()
                   .subject_name(subject)
                   .issuer_name(subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1)))
        if basic_constraints:
            builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                                            critical=True)
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        algorithm = None if key_type == 'ed25519' else hashes.SHA256()
        cert = builder.sign(key, algorithm)
        return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')

    def private_key_pem(self, key_type='p256'):
        return self.key(key_type).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode('ascii')


@pytest.fixture(scope='session')
def certs():
    return CertFactory()


def openssl_ca_hash(pem):
    """The hash as kubeadm's docs compute it, with the openssl CLI and sha256sum."""
    pipeline = 'openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum'
    done = subprocess.run(['bash', '-c', 'set -o pipefail; ' + pipeline],
                          input=pem.encode('ascii'), capture_output=True, check=True)
    return 'sha256:' + done.stdout.split()[0].decode('ascii')


@pytest.fixture(scope='session')
def openssl_hash():
    return openssl_ca_hash


@pytest.fixture
def run_module(capsys):
    """Run a module's main() with args through patch_module_args; return (rc, result dict)."""
    def run(main, args):
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exited:
                main()
        out = capsys.readouterr().out
        result = json.loads(out)
        result['_raw_output'] = out
        return exited.value.code, result

    return run


@pytest.fixture
def tracebacks_enabled(monkeypatch):
    """Make fail_json keep the traceback it is given, as with ANSIBLE_DISPLAY_TRACEBACK=error."""
    from ansible.module_utils._internal import _traceback

    monkeypatch.setattr(_traceback, '_is_traceback_enabled', lambda event: True)


@pytest.fixture
def fake_commands(monkeypatch):
    """route(fake): every command a module runs goes to fake(argv, data) -> (rc, stdout, stderr),
    and every binary it looks up is found in /usr/bin."""
    def route(fake):
        monkeypatch.setattr(AnsibleModule, 'run_command',
                            lambda self, args, data=None, check_rc=False, **kw: fake(args, data))
        monkeypatch.setattr(AnsibleModule, 'get_bin_path',
                            lambda self, name, required=False, opt_dirs=None: '/usr/bin/' + name)
        return fake
    return route
