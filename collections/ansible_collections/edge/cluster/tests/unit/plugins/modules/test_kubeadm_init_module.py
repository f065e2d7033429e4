# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kubeadm_init's main() through patch_module_args: validation before anything runs, check
mode, no_log, the config file's life (0600, secrets only while kubeadm runs), idempotence
against an existing control plane with drift, and failure reporting.

Unit level: run_command answers from a script. The kubeadm "init" here only stands in for
output parsing and the module's decisions; a real init is proven by the lab's end-to-end run.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import yaml
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils import _kubeadm_init as backend
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_cli import KubePaths
from ansible_collections.edge.cluster.plugins.modules import kubeadm_init as module

TOKEN = 'k8s9zz.qwertyuiopasdfgh'
CERT_KEY = '0f' * 32
FAILED_PREFLIGHT = '''\
[preflight] Some fatal errors occurred:
\t[ERROR Port-6443]: Port 6443 is in use
[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`
error: error execution phase preflight: preflight checks failed
To see the stack trace of this error execute with --v=5 or higher
'''
LIVE_CLUSTER_CONFIGURATION = '''\
apiServer:
  certSANs:
  - 10.213.0.100
  extraArgs:
  - name: enable-admission-plugins
    value: NodeRestriction
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.34.12
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
'''


class Node:
    """A node's commands, scripted: kubeadm version/init/reset, kubectl, journalctl."""

    def __init__(self, paths, ca_pem):
        self.paths = paths
        self.ca_pem = ca_pem
        self.calls = []
        self.config_seen = None
        self.init_result = (0, '[init] Using Kubernetes version: v1.34.12\n', '')
        self.ready = True
        self.kubeadm_version = 'v1.34.12'

    def __call__(self, argv, data=None, check_rc=False, **kwargs):
        self.calls.append((list(argv), data))
        name = os.path.basename(argv[0])
        if name == 'kubeadm' and argv[1] == 'version':
            return 0, self.kubeadm_version + '\n', ''
        if name == 'kubeadm' and argv[1] == 'init':
            config = argv[argv.index('--config') + 1]
            with open(config) as handle:
                self.config_seen = (handle.read(), stat.S_IMODE(os.stat(config).st_mode))
            if self.init_result[0] == 0:
                self._initialise()
            return self.init_result
        if name == 'kubeadm' and argv[1] == 'reset':
            return 0, '', ''
        if name == 'journalctl':
            return 0, 'kubelet line 1\nkubelet line 2\n', ''
        if name == 'kubectl':
            args = argv[5:]
            if args == ['get', '--raw', '/readyz']:
                return (0, 'ok', '') if self.ready else (1, '', 'error loading config file')
            if args[:4] == ['--namespace', 'kube-system', 'get', 'configmap']:
                return 0, json.dumps({'data': {'ClusterConfiguration': LIVE_CLUSTER_CONFIGURATION}}), ''
        raise AssertionError('unexpected command %r' % argv)

    def _initialise(self):
        os.makedirs(os.path.dirname(self.paths.ca_cert), exist_ok=True)
        with open(self.paths.ca_cert, 'w') as handle:
            handle.write(self.ca_pem)
        with open(self.paths.admin_conf, 'w') as handle:
            handle.write('apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.213.0.10:6443\n')

    def commands(self):
        return [argv[1] if os.path.basename(argv[0]) == 'kubeadm' else os.path.basename(argv[0])
                for argv, dummy in self.calls]


@pytest.fixture
def node(monkeypatch, tmp_path, certs, fake_commands):
    paths = KubePaths(etc=str(tmp_path / 'etc'), etcd=str(tmp_path / 'etcd'),
                      kubelet=str(tmp_path / 'kubelet'))
    os.makedirs(paths.etc)
    monkeypatch.setattr(backend, 'PATHS', paths)
    fake = Node(paths, certs.cert('p256', common_name='kubernetes'))
    fake_commands(fake)
    return fake


@pytest.fixture
def warnings(monkeypatch):
    """module.warn() calls (in results only when ansible thinks it is not on the controller,
    which another test importing controller code changes: record them directly)."""
    seen = []
    monkeypatch.setattr(AnsibleModule, 'warn', lambda self, message: seen.append(message))
    return seen


def args(node, **extra):
    result = dict(kubernetes_version='v1.34.12', pod_network_cidr='10.244.0.0/16',
                  apiserver_advertise_address='10.213.0.10', apiserver_cert_extra_sans=['10.213.0.100'],
                  kubeconfig=node.paths.admin_conf,
                  config_path=os.path.join(node.paths.etc, 'kubeadm-init.yaml'), wait_timeout=0)
    result.update(extra)
    return result


@pytest.mark.parametrize('extra, message', [
    ({'pod_network_cidr': '10.244.0.1/16'}, 'pod_network_cidr'),
    ({'kubernetes_version': 'latest'}, 'not a Kubernetes version'),
    ({'token': 'not-a-token'}, 'not a bootstrap token'),
    ({'token_ttl': '0'}, 'never expires'),
    ({'certificate_key': CERT_KEY}, 'only used with upload_certs'),
    ({'certificate_key': 'abc', 'upload_certs': True}, '64 hex characters'),
    ({'apiserver_cert_extra_sans': ['bad name']}, 'neither an IP address nor a DNS name'),
    ({'control_plane_endpoint': 'https://vip:6443'}, 'without a scheme'),
    ({'node_name': 'CP_1'}, 'not a valid Node name'),
    ({'config': {'InitConfiguration': {'certificateKey': CERT_KEY}}}, 'holds a secret'),
])
def test_bad_input_fails_before_any_command(run_module, node, extra, message):
    rc, result = run_module(module.main, args(node, **extra))
    assert rc == 1 and message in result['msg'], result['msg']
    assert node.calls == []
    assert CERT_KEY not in result['_raw_output']


def test_version_skew_is_refused_before_init(run_module, node):
    rc, result = run_module(module.main, args(node, kubernetes_version='v1.36.0'))
    assert rc == 1 and 'cannot be deployed by kubeadm 1.34.12' in result['msg']
    assert node.commands() == ['version']


def test_check_mode_on_a_fresh_node(run_module, node):
    rc, result = run_module(module.main, args(node, token=TOKEN, upload_certs=True,
                                              certificate_key=CERT_KEY, _ansible_check_mode=True,
                                              _ansible_diff=True))
    assert rc == 0, result
    assert result['changed'] is True and result['initialized'] is True
    assert result['token'] is None and result['certificate_key'] is None
    assert result['endpoint'] == '10.213.0.10:6443'
    assert result['api_version'] == 'kubeadm.k8s.io/v1beta4'
    assert node.commands() == ['version']
    assert not os.path.exists(args(node)['config_path'])
    after = result['diff']['after']
    assert 'kind: "ClusterConfiguration"' in after and 'bootstrapTokens' not in after
    for secret in ('qwertyuiopasdfgh', CERT_KEY):
        assert secret not in result['_raw_output']
    assert result['invocation']['module_args']['token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert result['invocation']['module_args']['certificate_key'] == \
        'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    init = result['kubeadm_config']['InitConfiguration']
    assert init['bootstrapTokens'][0]['token'] == '<hidden>'
    assert init['certificateKey'] == '<hidden>'


def test_init_passes_secrets_only_through_the_file(run_module, node, openssl_hash):
    rc, result = run_module(module.main, args(node, token=TOKEN, upload_certs=True,
                                              certificate_key=CERT_KEY))
    assert rc == 0, result
    assert result['changed'] is True and result['initialized'] is True
    init_argv = [argv for argv, dummy in node.calls if argv[1] == 'init'][0]
    config_path = args(node)['config_path']
    assert init_argv == ['/usr/bin/kubeadm', 'init', '--config', config_path, '--skip-token-print',
                         '--skip-certificate-key-print', '--upload-certs']
    # while kubeadm ran, the file held the secrets, mode 0600
    seen, mode = node.config_seen
    assert mode == 0o600
    docs = {doc['kind']: doc for doc in yaml.safe_load_all(seen)}
    assert docs['InitConfiguration']['bootstrapTokens'][0]['token'] == TOKEN
    assert docs['InitConfiguration']['certificateKey'] == CERT_KEY
    # afterwards it does not, and is still 0600
    kept = open(config_path).read()
    assert 'qwertyuiopasdfgh' not in kept and CERT_KEY not in kept
    assert stat.S_IMODE(os.stat(config_path).st_mode) == 0o600
    assert {doc['kind'] for doc in yaml.safe_load_all(kept)} == {
        'InitConfiguration', 'ClusterConfiguration', 'KubeletConfiguration'}
    assert result['endpoint'] == '10.213.0.10:6443'
    assert result['ca_cert_hash'] == openssl_hash(node.ca_pem)
    # given secrets are no_log options: Ansible masks them wherever they would show
    assert 'qwertyuiopasdfgh' not in result['_raw_output'] and CERT_KEY not in result['_raw_output']


def test_generated_secrets_are_returned_for_the_joins(run_module, node):
    rc, result = run_module(module.main, args(node, upload_certs=True))
    assert rc == 0, result
    assert len(result['token']) == 23 and len(result['certificate_key']) == 64
    seen = node.config_seen[0]
    assert result['token'] in seen and result['certificate_key'] in seen
    assert result['token'] not in open(args(node)['config_path']).read()


def test_failed_init_reports_and_cleans(run_module, node):
    node.init_result = (1, '[bootstrap-token] Using token: %s\n' % TOKEN, FAILED_PREFLIGHT)
    rc, result = run_module(module.main, args(node, token=TOKEN))
    assert rc == 1
    assert result['msg'].startswith('kubeadm init failed in phase preflight')
    assert 'Port-6443: Port 6443 is in use' in result['msg']
    assert 'edge.cluster.kubeadm_reset' in result['msg']
    assert 'cleaned with `kubeadm reset --force`' in result['msg']
    assert result['preflight_errors'] == [{'check': 'Port-6443', 'message': 'Port 6443 is in use'}]
    assert result['kubelet_log_tail'] == ['kubelet line 1', 'kubelet line 2']
    assert node.commands() == ['version', 'init', 'journalctl', 'reset']
    assert 'qwertyuiopasdfgh' not in result['_raw_output']
    assert 'qwertyuiopasdfgh' not in open(args(node)['config_path']).read()


def test_failed_init_can_keep_the_state(run_module, node):
    node.init_result = (1, '', FAILED_PREFLIGHT)
    rc, result = run_module(module.main, args(node, reset_on_failure=False))
    assert rc == 1 and 'reset' not in node.commands()


def test_leftovers_fail_before_anything_changes(run_module, node):
    os.makedirs(node.paths.manifests)
    open(os.path.join(node.paths.manifests, 'kube-apiserver.yaml'), 'w').close()
    rc, result = run_module(module.main, args(node))
    assert rc == 1
    assert 'earlier attempt' in result['msg'] and 'kubeadm_reset' in result['msg']
    assert result['leftovers'] == [node.paths.manifests]
    assert node.commands() == ['version']


def _existing(node):
    node._initialise()


def test_a_healthy_control_plane_is_not_initialised_again(run_module, node, warnings):
    _existing(node)
    rc, result = run_module(module.main, args(node))
    assert rc == 0, result
    assert result['changed'] is False and result['initialized'] is False
    assert result['drift'] == [] and result['token'] is None
    assert result['endpoint'] == '10.213.0.10:6443' and result['ca_cert_hash'].startswith('sha256:')
    assert 'init' not in node.commands()
    assert warnings == []


def test_drift_is_reported_not_applied(run_module, node, warnings):
    _existing(node)
    rc, result = run_module(module.main, args(node, pod_network_cidr='10.245.0.0/16',
                                              apiserver_cert_extra_sans=['10.213.0.100', 'new.test']))
    assert rc == 0, result
    assert result['changed'] is False
    assert result['drift'] == [
        {'path': 'apiServer.certSANs', 'requested': ['10.213.0.100', 'new.test'],
         'live': ['10.213.0.100']},
        {'path': 'networking.podSubnet', 'requested': '10.245.0.0/16', 'live': '10.244.0.0/16'}]
    assert any('never changes a running control plane' in w for w in warnings)
    assert 'init' not in node.commands()


def test_an_unhealthy_control_plane_fails_with_advice(run_module, node):
    _existing(node)
    node.ready = False
    rc, result = run_module(module.main, args(node))
    assert rc == 1
    assert 'does not answer' in result['msg'] and 'kubeadm_reset' in result['msg']
    assert 'init' not in node.commands()


def test_v1beta3_for_older_clusters(run_module, node):
    node.kubeadm_version = 'v1.30.5'
    rc, result = run_module(module.main, args(node, kubernetes_version='1.30.5',
                                              _ansible_check_mode=True))
    assert rc == 0, result
    assert result['api_version'] == 'kubeadm.k8s.io/v1beta3'
    assert result['kubeadm_config']['ClusterConfiguration']['apiServer']['extraArgs'] == {
        'enable-admission-plugins': 'NodeRestriction'}
    assert result['kubeadm_config']['ClusterConfiguration']['kubernetesVersion'] == 'v1.30.5'


def test_kubernetes_version_defaults_to_kubeadms(run_module, node):
    rc, result = run_module(module.main, dict(args(node, _ansible_check_mode=True),
                                              kubernetes_version=None))
    assert rc == 0
    assert result['kubeadm_config']['ClusterConfiguration']['kubernetesVersion'] == 'v1.34.12'


def _no_kubeadm(monkeypatch):
    monkeypatch.setattr(AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None:
                        None if name == 'kubeadm' else '/usr/bin/' + name)


def test_check_mode_before_the_static_package_is_installed(run_module, node, monkeypatch, warnings):
    _no_kubeadm(monkeypatch)
    rc, result = run_module(module.main, args(node, _ansible_check_mode=True))
    assert rc == 0, result
    assert result['changed'] is True and result['api_version'] == 'kubeadm.k8s.io/v1beta4'
    assert node.calls == []
    assert any('not installed yet' in w for w in warnings)


def test_without_kubeadm_a_real_run_fails_clearly(run_module, node, monkeypatch):
    _no_kubeadm(monkeypatch)
    rc, result = run_module(module.main, args(node))
    assert rc == 1 and 'kubeadm not found in PATH' in result['msg']


def test_unreadable_live_configuration_is_a_warning(run_module, node, warnings, monkeypatch):
    _existing(node)
    real = node.__call__

    def run(argv, data=None):
        if argv[5:9] == ['--namespace', 'kube-system', 'get', 'configmap']:
            return 1, '', 'Error from server (Forbidden): configmaps "kubeadm-config" is forbidden'
        return real(argv, data)

    monkeypatch.setattr(AnsibleModule, 'run_command',
                        lambda self, args, data=None, check_rc=False, **kw: run(args, data))
    rc, result = run_module(module.main, args(node))
    assert rc == 0 and result['changed'] is False and result['drift'] == []
    assert any('drift is not reported' in w for w in warnings)


def test_live_configuration_without_pyyaml_goes_through_kubectl(run_module, node, monkeypatch):
    """Nodes have no PyYAML: kubectl converts the stored YAML to JSON, offline."""
    import builtins
    real_import = builtins.__import__

    def no_yaml(name, *a, **kw):
        if name == 'yaml':
            raise ImportError(name)
        return real_import(name, *a, **kw)

    _existing(node)
    real = node.__call__
    live = yaml.safe_load(LIVE_CLUSTER_CONFIGURATION)

    def run(argv, data=None):
        if argv[5:8] == ['label', '--local', '--filename']:
            assert data == LIVE_CLUSTER_CONFIGURATION
            return 0, json.dumps(dict(live, metadata={'labels': {'edge.cluster/parsed': 'true'}})), ''
        return real(argv, data)

    monkeypatch.setattr(AnsibleModule, 'run_command',
                        lambda self, args, data=None, check_rc=False, **kw: run(args, data))
    monkeypatch.setattr(builtins, '__import__', no_yaml)
    rc, result = run_module(module.main, args(node, pod_network_cidr='10.245.0.0/16'))
    monkeypatch.setattr(builtins, '__import__', real_import)
    assert rc == 0, result
    assert result['drift'] == [{'path': 'networking.podSubnet', 'requested': '10.245.0.0/16',
                                'live': '10.244.0.0/16'}]
