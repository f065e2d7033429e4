# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""node_label and node_info main() against a fake kubectl that keeps Nodes in memory and
applies JSON merge patches with the API server's resourceVersion rule."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.edge.cluster.plugins.modules import node_info
from ansible_collections.edge.cluster.plugins.modules import node_label as module


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def make_node(name, labels=None, ready=True, taints=None):
    return {'apiVersion': 'v1', 'kind': 'Node',
            'metadata': {'name': name, 'resourceVersion': '1',
                         'labels': dict({'kubernetes.io/hostname': name}, **(labels or {}))},
            'spec': {'taints': taints} if taints else {},
            'status': {'conditions': [{'type': 'Ready', 'status': 'True' if ready else 'False'}]}}


class Cluster:
    def __init__(self, kubeconfig):
        self.kubeconfig = kubeconfig
        self.nodes = {}
        self.calls = []
        self.conflicts = 0
        self.become_ready_after = {}

    def add(self, node):
        self.nodes[node['metadata']['name']] = node

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        assert argv[1:3] == ['--kubeconfig', self.kubeconfig]
        args = argv[5:]
        if args == ['get', '--raw', '/readyz']:
            return 0, 'ok', ''
        if args == ['get', 'nodes', '--output', 'json']:
            for name, polls in list(self.become_ready_after.items()):
                if polls <= 0:
                    self.nodes[name]['status']['conditions'][0]['status'] = 'True'
                self.become_ready_after[name] = polls - 1
            return 0, json.dumps({'kind': 'List', 'items': list(self.nodes.values())}), ''
        if args[:2] == ['patch', 'node']:
            name, patch = args[2], json.loads(args[6])
            node = self.nodes[name]
            if self.conflicts:
                self.conflicts -= 1
                node['metadata']['resourceVersion'] = str(int(node['metadata']['resourceVersion']) + 1)
                node['metadata']['labels']['someone-else'] = 'was-here'
            if patch['metadata'].get('resourceVersion') != node['metadata']['resourceVersion']:
                return 1, '', ('Error from server (Conflict): Operation cannot be fulfilled on nodes '
                               '"%s": the object has been modified; please apply your changes to '
                               'the latest version and try again' % name)
            updated = merge_patch(node, patch)
            updated['metadata']['resourceVersion'] = str(int(node['metadata']['resourceVersion']) + 1)
            self.nodes[name] = updated
            return 0, 'node/%s patched\n' % name, ''
        raise AssertionError(argv)

    def patches(self):
        return [argv for argv in self.calls if argv[5] == 'patch']


@pytest.fixture
def cluster(monkeypatch, tmp_path, fake_commands):
    kubeconfig = tmp_path / 'admin.conf'
    kubeconfig.write_text('apiVersion: v1\n')
    fake = Cluster(str(kubeconfig))
    fake.add(make_node('cp-01', {'node-role.kubernetes.io/control-plane': ''},
                       taints=[{'key': 'node-role.kubernetes.io/control-plane',
                                'effect': 'NoSchedule'}]))
    fake.add(make_node('edge-01'))
    fake.add(make_node('edge-02'))
    fake_commands(fake)
    clock = {'now': 0.0}
    monkeypatch.setattr(module, 'CLOCK', lambda: clock['now'])
    monkeypatch.setattr(module, 'SLEEP', lambda s: clock.__setitem__('now', clock['now'] + s))
    return fake


EDGE = {'superedge.io/edge-node': 'enable', 'superedge.io/node-edge': 'enable'}
ROLES = {'edge-01': {'labels': EDGE}, 'edge-02': {'labels': EDGE},
         'cp-01': {'labels': {'superedge.io/node-cloud': 'enable'}}}


def args(cluster, **extra):
    result = dict(nodes=ROLES, kubeconfig=cluster.kubeconfig, wait_timeout=0)
    result.update(extra)
    return result


def test_labels_many_nodes_then_is_idempotent(run_module, cluster):
    rc, result = run_module(module.main, args(cluster))
    assert rc == 0, result
    assert result['changed'] is True
    assert sorted(result['changes']) == ['cp-01', 'edge-01', 'edge-02']
    assert result['changes']['edge-01'] == {'labels': {
        'superedge.io/edge-node': {'before': None, 'after': 'enable'},
        'superedge.io/node-edge': {'before': None, 'after': 'enable'}}}
    assert cluster.nodes['edge-02']['metadata']['labels']['superedge.io/node-edge'] == 'enable'
    assert cluster.nodes['cp-01']['metadata']['labels']['superedge.io/node-cloud'] == 'enable'
    assert len(cluster.patches()) == 3
    gets = [argv for argv in cluster.calls if argv[5:7] == ['get', 'nodes']]
    assert len(gets) == 1  # one read up front

    rc, again = run_module(module.main, args(cluster))
    assert rc == 0 and again['changed'] is False and again['changes'] == {}
    assert len(cluster.patches()) == 3


def test_only_changed_nodes_are_patched(run_module, cluster):
    cluster.nodes['edge-01']['metadata']['labels'].update(EDGE)
    rc, result = run_module(module.main, args(cluster))
    assert rc == 0
    assert sorted(result['changes']) == ['cp-01', 'edge-02']
    assert [argv[7] for argv in cluster.patches()] == ['cp-01', 'edge-02']


def test_check_and_diff_mode(run_module, cluster):
    before = copy.deepcopy(cluster.nodes)
    rc, result = run_module(module.main, args(cluster, _ansible_check_mode=True, _ansible_diff=True))
    assert rc == 0 and result['changed'] is True
    assert cluster.patches() == [] and cluster.nodes == before
    diff = result['diff']
    assert sorted(diff['before']) == sorted(diff['after']) == ['cp-01', 'edge-01', 'edge-02']
    assert 'superedge.io/node-edge' not in diff['before']['edge-01']['labels']
    assert diff['after']['edge-01']['labels']['superedge.io/node-edge'] == 'enable'
    assert diff['after']['cp-01']['taints'] == [{'key': 'node-role.kubernetes.io/control-plane',
                                                 'effect': 'NoSchedule'}]


def test_taints_and_removal(run_module, cluster):
    rc, result = run_module(module.main, args(cluster, nodes={'edge-01': {
        'taints': [{'key': 'edge.example/site', 'value': 'a', 'effect': 'NoSchedule'}],
        'annotations': {'edge.example/owner': 'team x'}}}))
    assert rc == 0 and result['changed'] is True
    node = cluster.nodes['edge-01']
    assert node['spec']['taints'] == [{'key': 'edge.example/site', 'value': 'a', 'effect': 'NoSchedule'}]
    assert node['metadata']['annotations'] == {'edge.example/owner': 'team x'}
    rc, result = run_module(module.main, args(cluster, state='absent', nodes={'edge-01': {
        'taints': [{'key': 'edge.example/site'}], 'annotations': ['edge.example/owner']}}))
    assert rc == 0 and result['changed'] is True
    assert 'taints' not in cluster.nodes['edge-01']['spec']
    assert cluster.nodes['edge-01']['metadata']['annotations'] == {}


def test_missing_nodes_fail_before_any_patch(run_module, cluster):
    rc, result = run_module(module.main, args(cluster, nodes=dict(ROLES, **{'edge-99': {}})))
    assert rc == 1
    assert 'Nodes edge-99 are not registered' in result['msg'] and 'nothing was changed' in result['msg']
    assert cluster.patches() == []


def test_bad_keys_fail_before_kubectl(run_module, cluster):
    rc, result = run_module(module.main, args(cluster, nodes={'edge-01': {'labels': {'a b': 'c'}}}))
    assert rc == 1 and "label key 'a b'" in result['msg']
    assert cluster.calls == []


def test_a_conflict_is_read_again_and_retried(run_module, cluster):
    cluster.conflicts = 1
    rc, result = run_module(module.main, args(cluster, nodes={'edge-01': {'labels': EDGE}}))
    assert rc == 0, result
    labels = cluster.nodes['edge-01']['metadata']['labels']
    assert labels['someone-else'] == 'was-here'  # the other writer's change survives
    assert labels['superedge.io/node-edge'] == 'enable'
    assert len(cluster.patches()) == 2


def test_wait_ready(run_module, cluster):
    cluster.nodes['edge-02']['status']['conditions'][0]['status'] = 'False'
    cluster.become_ready_after['edge-02'] = 3
    rc, result = run_module(module.main, args(cluster, wait_ready=True, ready_timeout=60))
    assert rc == 0, result
    assert result['not_ready'] == []


def test_wait_ready_is_bounded(run_module, cluster):
    cluster.nodes['edge-02']['status']['conditions'][0]['status'] = 'False'
    rc, result = run_module(module.main, args(cluster, wait_ready=True, ready_timeout=10))
    assert rc == 1
    assert result['msg'].startswith('Nodes edge-02 are not Ready after 10s')
    assert result['not_ready'] == ['edge-02'] and result['changed'] is True


def test_node_info(run_module, cluster):
    cluster.nodes['edge-02']['status']['conditions'][0]['status'] = 'False'
    rc, result = run_module(node_info.main, {'kubeconfig': cluster.kubeconfig, 'wait_timeout': 0})
    assert rc == 0 and result['changed'] is False
    assert sorted(result['nodes']) == ['cp-01', 'edge-01', 'edge-02']
    assert result['nodes']['cp-01']['control_plane'] is True
    assert result['nodes']['edge-02']['ready'] is False
    rc, result = run_module(node_info.main, {'kubeconfig': cluster.kubeconfig, 'wait_timeout': 0,
                                             'names': ['edge-01', 'nope']})
    assert sorted(result['nodes']) == ['edge-01']
