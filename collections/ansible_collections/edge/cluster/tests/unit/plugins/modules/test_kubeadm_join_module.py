# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kubeadm_join's main() through patch_module_args: every check before the node changes,
membership and half-finished joins, check mode, no_log, the JoinConfiguration file's life.

Discovery itself (TLS, JWS, pin) is tested against a real TLS server in
module_utils/test_discovery.py; here it is replaced to drive the module's decisions.
"""

from __future__ import annotations

import os
import stat

import pytest
import yaml
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._discovery import DiscoveryError
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_cli import KubePaths
from ansible_collections.edge.cluster.plugins.module_utils import _kubeadm_join as backend
from ansible_collections.edge.cluster.plugins.modules import kubeadm_join as module

TOKEN = 'k8s9zz.qwertyuiopasdfgh'
CERT_KEY = '0f' * 32
HASH = 'sha256:' + 'ab' * 32


class Node:
    def __init__(self, paths):
        self.paths = paths
        self.calls = []
        self.config_seen = None
        self.join_result = (0, 'This node has joined the cluster\n', '')
        self.discovery_error = None
        self.discovered = []
        self.healthy = True
        self.cleaned = []
        self.self_lookup = (0, 'node/edge-01\n', '')

    def run(self, argv, data=None, check_rc=False, **kwargs):
        self.calls.append(list(argv))
        name = os.path.basename(argv[0])
        if name == 'kubeadm' and argv[1] == 'version':
            return 0, 'v1.34.12\n', ''
        if name == 'kubeadm' and argv[1] == 'join':
            config = argv[argv.index('--config') + 1]
            with open(config) as handle:
                self.config_seen = (handle.read(), stat.S_IMODE(os.stat(config).st_mode))
            if self.join_result[0] == 0:
                with open(self.paths.kubelet_conf, 'w') as handle:
                    handle.write('kubelet')
            return self.join_result
        if name == 'kubeadm' and argv[1] == 'reset':
            return 0, '', ''
        if name == 'kubectl':
            assert argv[1:3] == ['--kubeconfig', self.paths.kubelet_conf]
            return self.self_lookup
        raise AssertionError('unexpected command %r' % argv)

    def discover(self, host, port, token_id, secret, pins, timeout, wait):
        self.discovered.append((host, port, token_id, pins, timeout, wait))
        error = self.discovery_error
        if error is not None:
            raise error
        return {'ca_cert_hash': pins[0], 'server': 'https://%s:%d' % (host, port)}

    def commands(self):
        return [argv[1] if os.path.basename(argv[0]) == 'kubeadm' else os.path.basename(argv[0])
                for argv in self.calls]


class Cleaner:
    """Stands in for NodeCleaner (tested in test_reset_utils): records and empties the tree."""

    def __init__(self, node):
        self.node = node

    def __call__(self, run, which, **kwargs):
        self.kwargs = kwargs
        self.warnings = []
        return self

    def gather(self):
        return 'plan'

    def execute(self, plan):
        self.node.cleaned.append(self.kwargs)
        for path in (self.node.paths.kubelet_conf, self.node.paths.ca_cert):
            if os.path.exists(path):
                os.unlink(path)


@pytest.fixture
def node(monkeypatch, tmp_path, fake_commands):
    paths = KubePaths(etc=str(tmp_path / 'etc'), etcd=str(tmp_path / 'etcd'),
                      kubelet=str(tmp_path / 'kubelet'))
    os.makedirs(os.path.join(paths.etc, 'pki'))
    fake = Node(paths)
    monkeypatch.setattr(backend, 'PATHS', paths)
    monkeypatch.setattr(backend, 'DISCOVER', fake.discover)
    monkeypatch.setattr(backend, 'KUBELET_HEALTHY', lambda wait=0: fake.healthy)
    monkeypatch.setattr(backend, 'CLEANER', Cleaner(fake))
    fake_commands(fake.run)
    return fake


def args(node, **extra):
    result = dict(api_server_endpoint='10.213.0.10:6443', token=TOKEN, ca_cert_hashes=[HASH],
                  node_name='edge-01', config_path=os.path.join(node.paths.etc, 'kubeadm-join.yaml'))
    result.update(extra)
    return result


def joined(node):
    with open(node.paths.kubelet_conf, 'w') as handle:
        handle.write('kubelet')


@pytest.mark.parametrize('extra, message', [
    ({'ca_cert_hashes': ['sha1:abc']}, 'not a CA certificate hash'),
    ({'ca_cert_hashes': []}, 'at least one'),
    ({'token': 'abcdef'}, 'not a bootstrap token'),
    ({'api_server_endpoint': '10.213.0.10'}, 'has no port'),
    ({'control_plane': True}, 'needs certificate_key'),
    ({'control_plane': True, 'certificate_key': 'xyz'}, '64 hex characters'),
    ({'certificate_key': CERT_KEY}, 'only used with control_plane'),
    ({'node_name': 'Edge_01'}, 'not a valid Node name'),
    ({'cluster_nodes': 'edge-01'}, 'cluster_nodes must be'),
    ({'config': {'JoinConfiguration': {'discovery': {'tlsBootstrapToken': TOKEN}}}}, 'holds a secret'),
])
def test_bad_input_fails_before_anything(run_module, node, extra, message):
    rc, result = run_module(module.main, args(node, **extra))
    assert rc == 1 and message in result['msg'], result['msg']
    assert node.calls == [] and node.discovered == []
    assert 'qwertyuiopasdfgh' not in result['_raw_output']


@pytest.mark.parametrize('kind, text', [
    ('unreachable', 'api_server_endpoint 10.213.0.10:6443 is unreachable: Connection refused'),
    ('ca_mismatch', 'the cluster CA does not match ca_cert_hashes'),
    ('unknown_token', 'token id k8s9zz is unknown to the cluster or has expired'),
    ('bad_signature', 'the token secret does not match'),
])
def test_discovery_failures_change_nothing(run_module, node, kind, text):
    node.discovery_error = DiscoveryError(kind, text)
    rc, result = run_module(module.main, args(node))
    assert rc == 1
    assert text in result['msg'] and 'Nothing on this node was changed' in result['msg']
    assert result['discovery_error'] == kind
    assert node.commands() == ['version']
    assert not os.path.exists(args(node)['config_path'])
    assert node.discovered == [('10.213.0.10', 6443, 'k8s9zz', [HASH], 10.0, 60)]


@pytest.mark.parametrize('cluster_nodes, status', [
    ({'edge-01': {'ready': True}, 'cp-01': {'ready': True}}, 'Ready'),
    ({'edge-01': {'ready': False}}, 'NotReady'),
    (['edge-01'], 'status unknown'),
])
def test_duplicate_node_name_fails_before_anything(run_module, node, cluster_nodes, status):
    rc, result = run_module(module.main, args(node, cluster_nodes=cluster_nodes))
    assert rc == 1
    assert 'a Node named edge-01 is already registered in the cluster (%s)' % status in result['msg']
    assert node.discovered == [] and 'join' not in node.commands()


def test_join(run_module, node):
    rc, result = run_module(module.main, args(node, cluster_nodes={'cp-01': {'ready': True}}))
    assert rc == 0, result
    assert result['changed'] is True and result['joined'] is True
    assert result['reset_before_join'] is False
    assert result['discovery'] == {'ca_cert_hash': HASH, 'server': 'https://10.213.0.10:6443'}
    config_path = args(node)['config_path']
    assert node.calls[-1] == ['/usr/bin/kubeadm', 'join', '--config', config_path]
    seen, mode = node.config_seen
    assert mode == 0o600
    join = yaml.safe_load(seen)
    assert join['apiVersion'] == 'kubeadm.k8s.io/v1beta4'
    assert join['discovery']['bootstrapToken'] == {
        'apiServerEndpoint': '10.213.0.10:6443', 'token': TOKEN, 'caCertHashes': [HASH],
        'unsafeSkipCAVerification': False}
    assert join['nodeRegistration']['name'] == 'edge-01'
    assert not os.path.exists(config_path)  # the secrets do not stay on disk
    assert 'qwertyuiopasdfgh' not in result['_raw_output']
    assert result['invocation']['module_args']['token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert all('qwertyuiopasdfgh' not in arg for argv in node.calls for arg in argv)


def test_control_plane_join(run_module, node):
    rc, result = run_module(module.main, args(node, control_plane=True, certificate_key=CERT_KEY,
                                              apiserver_advertise_address='10.213.0.11'))
    assert rc == 0, result
    join = yaml.safe_load(node.config_seen[0])
    assert join['controlPlane'] == {'certificateKey': CERT_KEY, 'localAPIEndpoint': {
        'advertiseAddress': '10.213.0.11', 'bindPort': 6443}}
    assert CERT_KEY not in result['_raw_output']
    assert result['invocation']['module_args']['certificate_key'] == \
        'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_check_mode_checks_but_does_not_join(run_module, node):
    rc, result = run_module(module.main, args(node, _ansible_check_mode=True))
    assert rc == 0, result
    assert result['changed'] is True and result['joined'] is True
    assert len(node.discovered) == 1
    assert node.commands() == ['version']
    assert not os.path.exists(args(node)['config_path'])


def test_a_member_is_left_alone(run_module, node):
    joined(node)
    rc, result = run_module(module.main, args(node, cluster_nodes={'edge-01': {'ready': True}}))
    assert rc == 0, result
    assert result['changed'] is False and result['joined'] is False
    assert node.discovered == [] and node.commands() == ['version']


def test_membership_from_the_nodes_own_credentials(run_module, node):
    joined(node)
    rc, result = run_module(module.main, args(node))
    assert rc == 0 and result['changed'] is False
    assert node.commands() == ['version', 'kubectl']


def test_half_finished_join_is_reset_and_joined(run_module, node):
    joined(node)
    rc, result = run_module(module.main, args(node, cluster_nodes={'cp-01': {'ready': True}}))
    assert rc == 0, result
    assert result['changed'] is True and result['reset_before_join'] is True
    assert 'did not finish' in result['reason']
    assert len(node.cleaned) == 1
    assert node.cleaned[0]['paths'][:2] == [node.paths.etc, node.paths.kubelet]
    assert node.commands()[-1] == 'join'


def test_half_finished_join_seen_by_its_own_credentials(run_module, node):
    joined(node)
    node.self_lookup = (1, '', 'Error from server (NotFound): nodes "edge-01" not found')
    rc, result = run_module(module.main, args(node, _ansible_check_mode=True))
    assert rc == 0 and result['reset_before_join'] is True
    assert node.cleaned == []  # check mode


def test_leftovers_without_kubelet_conf_are_cleaned_first(run_module, node):
    with open(node.paths.ca_cert, 'w') as handle:
        handle.write('ca')
    rc, result = run_module(module.main, args(node))
    assert rc == 0 and result['reset_before_join'] is True
    assert 'earlier attempt' in result['reason']


def test_unknown_membership_and_sick_kubelet_fails(run_module, node):
    joined(node)
    node.healthy = False
    node.self_lookup = (1, '', 'Unable to connect to the server: dial tcp: i/o timeout')
    rc, result = run_module(module.main, args(node))
    assert rc == 1 and 'cannot be told' in result['msg']
    assert 'join' not in node.commands()


def test_worker_cannot_become_control_plane_in_place(run_module, node):
    joined(node)
    rc, result = run_module(module.main, args(node, control_plane=True, certificate_key=CERT_KEY,
                                              cluster_nodes=['edge-01']))
    assert rc == 1 and 'already joined as a worker' in result['msg']


def test_failed_join_reports_and_resets(run_module, node):
    node.join_result = (1, '[preflight] Running pre-flight checks\n',
                        'error: error execution phase kubelet-start: a Node with name "edge-01" and '
                        'status "Ready" already exists in the cluster. You must delete the '
                        'existing Node or change the name of this new joining Node\n')
    rc, result = run_module(module.main, args(node))
    assert rc == 1
    assert result['msg'].startswith('kubeadm join failed in phase kubelet-start')
    assert 'choose another node_name' in result['msg']
    assert node.commands()[-2:] == ['join', 'reset']
    assert not os.path.exists(args(node)['config_path'])


def test_check_mode_before_the_static_package_is_installed(run_module, node, monkeypatch):
    monkeypatch.setattr(AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None:
                        None if name == 'kubeadm' else '/usr/bin/' + name)
    rc, result = run_module(module.main, args(node, _ansible_check_mode=True))
    assert rc == 0 and result['changed'] is True
    assert len(node.discovered) == 1 and node.calls == []
    rc, result = run_module(module.main, args(node))
    assert rc == 1 and 'kubeadm not found' in result['msg']
