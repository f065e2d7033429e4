# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.edge.cluster.plugins.modules import ca_cert_hash as module


@pytest.fixture
def ca_file(tmp_path, certs):
    path = tmp_path / 'ca.crt'
    path.write_text(certs.cert('rsa2048'))
    return path


@pytest.mark.parametrize('backend', ['auto', 'pure', 'cryptography'])
@pytest.mark.parametrize('check_mode', [False, True])
def test_hash_of_the_file(run_module, openssl_hash, ca_file, backend, check_mode):
    rc, result = run_module(module.main, {'path': str(ca_file), 'backend': backend,
                                          '_ansible_check_mode': check_mode})
    assert rc == 0, result
    assert result['changed'] is False
    assert result['hash'] == openssl_hash(ca_file.read_text())
    assert result['subject'] == 'CN=kubernetes'
    assert result['backend'] == ('cryptography' if backend == 'auto' else backend)
    assert result['path'] == str(ca_file)


def test_default_path_is_kubeadms(run_module, monkeypatch):
    opened = []

    def fake_read(module_, path):
        opened.append(path)
        module_.fail_json(msg='stop here')

    monkeypatch.setattr(module, '_read_file', fake_read)
    rc, dummy = run_module(module.main, {})
    assert rc == 1
    assert opened == ['/etc/kubernetes/pki/ca.crt']


def test_missing_file(run_module, tmp_path):
    rc, result = run_module(module.main, {'path': str(tmp_path / 'nope.crt')})
    assert rc == 1 and result['failed']
    assert result['msg'].startswith('CA certificate %s does not exist' % (tmp_path / 'nope.crt'))


def test_unreadable_path(run_module, tmp_path):
    rc, result = run_module(module.main, {'path': str(tmp_path)})
    assert rc == 1
    assert 'cannot read CA certificate' in result['msg']


def test_huge_file_is_refused(run_module, tmp_path):
    path = tmp_path / 'big'
    path.write_bytes(b'A' * (1024 * 1024 + 1))
    rc, result = run_module(module.main, {'path': str(path)})
    assert rc == 1 and 'larger than 1 MiB' in result['msg']


def test_leaf_certificate_is_refused(run_module, tmp_path, certs):
    path = tmp_path / 'apiserver.crt'
    path.write_text(certs.cert('p256', common_name='kube-apiserver', ca=False))
    rc, result = run_module(module.main, {'path': str(path)})
    assert rc == 1
    assert result['msg'].startswith('%s: the certificate with subject ' % path)
    assert 'not a CA (basicConstraints CA:FALSE)' in result['msg']


def test_private_key_is_refused(run_module, tmp_path, certs):
    path = tmp_path / 'ca.key'
    key = certs.private_key_pem('p256')
    path.write_text(key)
    rc, result = run_module(module.main, {'path': str(path)})
    assert rc == 1 and 'not a certificate: block 1 is "PRIVATE KEY"' in result['msg']
    assert key.splitlines()[1] not in result['_raw_output']


def test_cryptography_backend_without_the_library(run_module, tracebacks_enabled, ca_file, monkeypatch):
    monkeypatch.setattr(module, 'HAS_CRYPTOGRAPHY', False)
    monkeypatch.setattr(module, 'CRYPTOGRAPHY_IMPORT_ERROR', 'Traceback: no cryptography')
    rc, result = run_module(module.main, {'path': str(ca_file), 'backend': 'cryptography'})
    assert rc == 1
    assert 'Failed to import the required Python library (cryptography)' in result['msg']
    assert result['exception'] == 'Traceback: no cryptography'


def test_unexpected_errors_carry_a_traceback(run_module, tracebacks_enabled, ca_file, monkeypatch):
    def explode(pem, backend):
        raise RuntimeError('boom')

    monkeypatch.setattr(module, 'compute_ca_cert_hash', explode)
    rc, result = run_module(module.main, {'path': str(ca_file)})
    assert rc == 1
    assert result['msg'] == 'unexpected error reading %s: boom' % ca_file
    assert 'RuntimeError: boom' in result['exception']
