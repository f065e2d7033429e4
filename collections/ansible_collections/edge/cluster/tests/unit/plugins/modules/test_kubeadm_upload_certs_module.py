# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kubeadm_upload_certs' main() through patch_module_args: the key only in a 0600 file that is
gone afterwards, never on argv or in any output (even a failure's), check mode, bad input.

Unit level: run_command answers from a script; the real upload is proven by the HA end-to-end
suite (tests/ha), where a control plane joins with the key."""

from __future__ import annotations

import os
import stat

import pytest
import yaml

from ansible_collections.edge.cluster.plugins.module_utils._upload_certs import (
    upload_certs_argv,
    upload_certs_documents,
)
from ansible_collections.edge.cluster.plugins.modules import kubeadm_upload_certs as module

KEY = '3c' * 32


class Node:
    """kubeadm version and init phase upload-certs, scripted."""

    def __init__(self, result=(0, '[upload-certs] Storing the certificates in Secret "kubeadm-certs"\n', '')):
        self.result = result
        self.calls = []
        self.config_seen = None

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        if argv[1] == 'version':
            return 0, 'v1.34.12\n', ''
        if argv[1:4] == ['init', 'phase', 'upload-certs']:
            config = argv[argv.index('--config') + 1]
            with open(config) as handle:
                self.config_seen = (handle.read(), stat.S_IMODE(os.stat(config).st_mode))
            return self.result
        raise AssertionError('unexpected command %r' % argv)


@pytest.fixture
def node(fake_commands):
    fake = Node()
    fake_commands(fake)
    return fake


@pytest.fixture
def paths(tmp_path):
    kubeconfig = tmp_path / 'admin.conf'
    kubeconfig.write_text('apiVersion: v1\n')
    return {'kubeconfig': str(kubeconfig), 'config_path': str(tmp_path / 'upload-certs.yaml')}


def test_upload_passes_the_key_only_through_a_private_file(run_module, node, paths):
    rc, result = run_module(module.main, dict(paths, certificate_key=KEY))
    assert rc == 0, result
    assert result['changed'] is True
    assert result['secret'] == 'kube-system/kubeadm-certs'
    upload = node.calls[-1]
    assert upload == ['/usr/bin/kubeadm', 'init', 'phase', 'upload-certs', '--upload-certs',
                      '--skip-certificate-key-print', '--config', paths['config_path'],
                      '--kubeconfig', paths['kubeconfig']]
    seen, mode = node.config_seen
    assert mode == 0o600
    docs = {doc['kind']: doc for doc in yaml.safe_load_all(seen)}
    assert docs['InitConfiguration']['certificateKey'] == KEY
    assert docs['ClusterConfiguration']['kubernetesVersion'] == 'v1.34.12'
    assert not os.path.exists(paths['config_path'])
    assert KEY not in result['_raw_output']
    assert result['invocation']['module_args']['certificate_key'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_a_failure_says_why_without_the_key(run_module, node, paths):
    # kubeadm quoting the key back must not carry it into the message (printed even under no_log).
    node.result = (1, '', 'error execution phase upload-certs: error uploading certs with key %s: '
                          'connection refused\n' % KEY)
    rc, result = run_module(module.main, dict(paths, certificate_key=KEY))
    assert rc == 1
    assert 'upload-certs failed' in result['msg'] and 'connection refused' in result['msg']
    assert KEY not in result['_raw_output']
    assert not os.path.exists(paths['config_path'])


def test_check_mode_runs_nothing(run_module, node, paths):
    rc, result = run_module(module.main, dict(paths, certificate_key=KEY, _ansible_check_mode=True))
    assert rc == 0 and result['changed'] is True
    assert node.calls == []


@pytest.mark.parametrize('key, kubeconfig, message', [
    ('abc', None, '64 hex characters'),
    (KEY, '/nonexistent/admin.conf', 'run this on a control-plane node'),
])
def test_bad_input_fails_before_any_command(run_module, node, paths, key, kubeconfig, message):
    rc, result = run_module(module.main, dict(paths, certificate_key=key,
                                              kubeconfig=kubeconfig or paths['kubeconfig']))
    assert rc == 1 and message in result['msg'], result['msg']
    assert node.calls == []


def test_documents_and_argv():
    docs = upload_certs_documents(KEY, '1.34.12', 'unix:///run/containerd/containerd.sock')
    assert [doc['kind'] for doc in docs] == ['InitConfiguration', 'ClusterConfiguration']
    assert {doc['apiVersion'] for doc in docs} == {'kubeadm.k8s.io/v1beta4'}
    assert docs[1]['kubernetesVersion'] == 'v1.34.12'
    assert upload_certs_argv('kubeadm', '/c.yaml', '/a.conf')[-4:] == ['--config', '/c.yaml', '--kubeconfig', '/a.conf']


def test_documents_refuse_a_bad_key_without_showing_it():
    with pytest.raises(ValueError) as error:
        upload_certs_documents('zz' * 32, 'v1.34.12', 'unix:///run/containerd/containerd.sock')
    assert 'zz' * 32 not in str(error.value)
