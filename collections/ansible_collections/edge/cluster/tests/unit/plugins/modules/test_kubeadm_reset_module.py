# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kubeadm_reset's main(): clean node → no change, check mode, residue → failure, and the
guarded Node deletion. The cleaner itself is tested in module_utils/test_reset_utils.py."""

from __future__ import annotations

import json
import os
import socket

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._reset import ResetPlan
from ansible_collections.edge.cluster.plugins.modules import kubeadm_reset as module


def dirty_plan():
    plan = ResetPlan()
    plan.kubeadm_reset = True
    plan.paths = ['/etc/kubernetes', '/var/lib/kubelet']
    plan.interfaces = ['cni0', 'flannel.1']
    plan.iptables = {'iptables-nft': {'tables': {'nat': {'chains': ['KUBE-SERVICES'], 'jumps': 1}},
                                      'argv': []}}
    return plan


class Cleaner:
    def __init__(self):
        self.plans = [dirty_plan(), ResetPlan()]
        self.executed = []
        self.warnings = []
        self.kwargs = None

    def __call__(self, run, which, **kwargs):
        self.kwargs = kwargs
        self.kubeadm = kwargs['kubeadm']
        return self

    def gather(self):
        return self.plans.pop(0) if len(self.plans) > 1 else self.plans[0]

    def execute(self, plan):
        self.executed.append(plan)


@pytest.fixture
def cleaner(monkeypatch):
    fake = Cleaner()
    monkeypatch.setattr(module, 'CLEANER', fake)
    monkeypatch.setattr(AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    return fake


def test_dirty_node_is_cleaned(run_module, cleaner):
    rc, result = run_module(module.main, {})
    assert rc == 0, result
    assert result['changed'] is True and len(cleaner.executed) == 1
    assert result['removed']['interfaces'] == ['cni0', 'flannel.1']
    assert result['removed']['iptables'] == {'iptables-nft': {'nat': {'chains': ['KUBE-SERVICES'],
                                                                      'jump_rules': 1}}}
    assert cleaner.kwargs['paths'] == ['/etc/kubernetes', '/var/lib/kubelet', '/etc/cni/net.d',
                                       '/var/lib/cni', '/run/flannel', '/run/kubernetes']
    assert cleaner.kwargs['etcd_data_dir'] == '/var/lib/etcd'
    assert cleaner.kwargs['chain_prefixes'] == ['KUBE-', 'FLANNEL-', 'CNI-']


def test_clean_node_reports_no_change(run_module, cleaner):
    cleaner.plans = [ResetPlan()]
    rc, result = run_module(module.main, {})
    assert rc == 0 and result['changed'] is False and cleaner.executed == []


def test_check_mode_lists_and_keeps(run_module, cleaner):
    rc, result = run_module(module.main, {'_ansible_check_mode': True, '_ansible_diff': True})
    assert rc == 0 and result['changed'] is True
    assert cleaner.executed == []
    assert result['diff']['before']['paths'] == ['/etc/kubernetes', '/var/lib/kubelet']
    assert result['diff']['after'] == {}


def test_residue_fails_with_the_list(run_module, cleaner):
    stuck = ResetPlan()
    stuck.interfaces = ['cni0']
    cleaner.plans = [dirty_plan(), stuck]
    cleaner.warnings = ['deleting interface cni0 failed (rc=2): Operation not permitted']
    rc, result = run_module(module.main, {})
    assert rc == 1
    assert 'not clean after the reset' in result['msg'] and 'Operation not permitted' in result['msg']
    assert result['remaining']['interfaces'] == ['cni0']


def test_short_chain_prefixes_are_refused(run_module, cleaner):
    rc, result = run_module(module.main, {'chain_prefixes': ['KUBE-', '']})
    assert rc == 1 and 'too short' in result['msg']
    assert cleaner.kwargs is None


def test_delete_node_on_the_control_plane_without_local_cleanup_guard(run_module, cleaner):
    rc, result = run_module(module.main, {'delete_node': True, 'node_name': 'edge-01'})
    assert rc == 1
    assert 'cleanup_local=true would reset that machine too' in result['msg']
    assert cleaner.kwargs is None


def test_delete_node_needs_a_name(run_module, cleaner):
    rc, result = run_module(module.main, {'delete_node': True, 'cleanup_local': False})
    assert rc == 1 and 'needs node_name' in result['msg']


@pytest.fixture
def kubectl(monkeypatch, tmp_path):
    kubeconfig = tmp_path / 'admin.conf'
    kubeconfig.write_text('apiVersion: v1\n')
    state = {'nodes': {'edge-01'}, 'calls': []}

    def run_command(self, argv, data=None, check_rc=False, **kwargs):
        state['calls'].append(list(argv))
        args = argv[5:]
        if args == ['get', '--raw', '/readyz']:
            return 0, 'ok', ''
        if args[:2] == ['get', 'node']:
            found = args[2] in state['nodes']
            return 0, json.dumps({'kind': 'Node', 'metadata': {'name': args[2]}}) if found else '', ''
        if args[:2] == ['delete', 'node']:
            state['nodes'].discard(args[2])
            return 0, 'node "%s" deleted' % args[2], ''
        raise AssertionError(argv)

    monkeypatch.setattr(AnsibleModule, 'run_command', run_command)
    state['kubeconfig'] = str(kubeconfig)
    return state


def test_delete_node_then_idempotent(run_module, cleaner, kubectl):
    params = {'delete_node': True, 'node_name': 'edge-01', 'cleanup_local': False,
              'kubeconfig': kubectl['kubeconfig'], 'wait_timeout': 0}
    rc, result = run_module(module.main, params)
    assert rc == 0 and result['changed'] is True and result['node_deleted'] is True
    assert kubectl['nodes'] == set() and cleaner.kwargs is None
    rc, result = run_module(module.main, params)
    assert rc == 0 and result['changed'] is False and result['node_deleted'] is False


def test_delete_node_in_check_mode(run_module, cleaner, kubectl):
    rc, result = run_module(module.main, {
        'delete_node': True, 'node_name': 'edge-01', 'cleanup_local': False,
        'kubeconfig': kubectl['kubeconfig'], 'wait_timeout': 0, '_ansible_check_mode': True})
    assert rc == 0 and result['changed'] is True and kubectl['nodes'] == {'edge-01'}


def test_delete_own_node_and_clean_in_one_call(run_module, cleaner, kubectl, monkeypatch):
    monkeypatch.setattr(socket, 'gethostname', lambda: 'edge-01')
    rc, result = run_module(module.main, {'delete_node': True, 'node_name': 'edge-01',
                                          'kubeconfig': kubectl['kubeconfig'], 'wait_timeout': 0})
    assert rc == 0 and result['node_deleted'] is True and len(cleaner.executed) == 1


def test_missing_kubeadm_is_a_warning(run_module, cleaner, monkeypatch, tmp_path):
    warnings = []
    monkeypatch.setattr(AnsibleModule, 'warn', lambda self, message: warnings.append(message))
    rc, result = run_module(module.main, {'kubeadm': str(tmp_path / 'no-kubeadm')})
    assert rc == 0 and cleaner.kwargs['kubeadm'] is None
    assert any('cleaning without kubeadm reset' in w for w in warnings)
    assert not os.path.exists(tmp_path / 'no-kubeadm')
