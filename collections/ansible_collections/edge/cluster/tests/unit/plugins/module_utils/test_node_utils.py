# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Label/annotation/taint validation, diffing and merge-patch building for node_label."""

from __future__ import annotations

import json

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import _node as n


def node(name='edge-01', labels=None, annotations=None, taints=None, ready=True, rv='100'):
    return {
        'metadata': {'name': name, 'resourceVersion': rv,
                     'labels': dict(labels or {'kubernetes.io/hostname': name}),
                     'annotations': dict(annotations or {})},
        'spec': {'taints': list(taints)} if taints else {},
        'status': {'conditions': [{'type': 'MemoryPressure', 'status': 'False'},
                                  {'type': 'Ready', 'status': 'True' if ready else 'False'}],
                   'addresses': [{'type': 'InternalIP', 'address': '10.213.0.21'},
                                 {'type': 'Hostname', 'address': name}],
                   'nodeInfo': {'kubeletVersion': 'v1.34.12'}},
    }


def spec(labels=None, annotations=None, taints=None, state='present', name='edge-01'):
    raw = {}
    if labels is not None:
        raw['labels'] = labels
    if annotations is not None:
        raw['annotations'] = annotations
    if taints is not None:
        raw['taints'] = taints
    return n.validate_nodes({name: raw}, state)[name]


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize('nodes, message', [
    ({}, 'non-empty dict'),
    ({'Edge_01': {}}, 'not a valid Node name'),
    ({'edge-01': {'label': {}}}, 'unknown keys label'),
    ({'edge-01': {'labels': {'bad key': 'x'}}}, "label key 'bad key'"),
    ({'edge-01': {'labels': {'UPPER.io/x': 'y'}}}, 'invalid prefix'),
    ({'edge-01': {'labels': {'/x': 'y'}}}, 'invalid prefix'),
    ({'edge-01': {'labels': {'a' * 64: 'y'}}}, 'name part must be 1-63'),
    ({'edge-01': {'labels': {'x': 'has space'}}}, 'values are at most 63'),
    ({'edge-01': {'labels': {'x': 'v' * 64}}}, 'values are at most 63'),
    ({'edge-01': {'labels': ['x']}}, 'list of keys is for state=absent'),
    ({'edge-01': {'taints': [{'key': 'a'}]}}, 'needs an effect'),
    ({'edge-01': {'taints': [{'key': 'a', 'effect': 'NoWay'}]}}, "effect 'NoWay'"),
    ({'edge-01': {'taints': [{'key': 'a', 'effect': 'NoSchedule', 'colour': 1}]}}, 'unknown fields'),
    ({'edge-01': {'taints': [{'value': 'a'}]}}, 'needs at least a key'),
    ({'edge-01': {'taints': {'key': 'a'}}}, 'taints must be a list'),
])
def test_bad_input_is_named(nodes, message):
    with pytest.raises(n.NodeSpecError, match=message):
        n.validate_nodes(nodes, 'present')


def test_values_are_normalised():
    wanted = spec(labels={'superedge.io/node-edge': 'enable', 'flag': True, 'gone': None,
                          'empty': ''},
                  annotations={'note': 'any text: even spaces', 'count': 3})
    assert wanted['labels'] == {'superedge.io/node-edge': 'enable', 'flag': 'true',
                                'gone': None, 'empty': ''}
    assert wanted['annotations'] == {'note': 'any text: even spaces', 'count': '3'}


def test_absent_takes_keys_as_list_or_dict():
    assert spec(labels=['a', 'b'], state='absent')['labels'] == {'a': None, 'b': None}
    assert spec(labels={'a': 'ignored'}, state='absent')['labels'] == {'a': None}
    taint = spec(taints=[{'key': 'a'}], state='absent')['taints'][0]
    assert taint == {'key': 'a', 'value': None, 'effect': None, 'state': 'absent'}


# ---------------------------------------------------------------- live state

def test_summary_and_readiness():
    live = node(labels={'node-role.kubernetes.io/control-plane': ''}, ready=False,
                taints=[{'key': 'node-role.kubernetes.io/control-plane', 'effect': 'NoSchedule'}])
    info = n.summary(live)
    assert info == {
        'ready': False, 'control_plane': True,
        'labels': {'node-role.kubernetes.io/control-plane': ''},
        'taints': [{'key': 'node-role.kubernetes.io/control-plane', 'effect': 'NoSchedule'}],
        'addresses': {'InternalIP': '10.213.0.21', 'Hostname': 'edge-01'},
        'kubelet_version': 'v1.34.12', 'unschedulable': False}
    assert n.is_ready(node()) and not n.is_ready({'status': {}})


def test_missing_and_not_ready():
    live = n.nodes_by_name({'items': [node('a'), node('b', ready=False)]})
    assert n.missing_nodes(live, ['a', 'c', 'b']) == ['c']
    assert n.not_ready(live, ['a', 'b', 'c']) == ['b', 'c']


# ---------------------------------------------------------------- planning

def test_no_change_gives_no_patch():
    live = node(labels={'superedge.io/node-edge': 'enable'}, annotations={'a': 'b'},
                taints=[{'key': 'edge', 'value': 'true', 'effect': 'NoSchedule'}])
    patch, changes, before, after = n.plan_node(live, spec(
        labels={'superedge.io/node-edge': 'enable', 'absent-already': None},
        annotations={'a': 'b'}, taints=[{'key': 'edge', 'value': 'true', 'effect': 'NoSchedule'}]))
    assert patch is None and changes == {} and before == after


def test_labels_and_annotations_become_a_guarded_merge_patch():
    live = node(labels={'kubernetes.io/hostname': 'edge-01', 'old': 'x', 'keep': 'y'},
                annotations={'note': 'old'})
    patch, changes, before, after = n.plan_node(live, spec(
        labels={'superedge.io/node-edge': 'enable', 'old': None, 'keep': 'y'},
        annotations={'note': 'new'}))
    assert patch == {'metadata': {'resourceVersion': '100',
                                  'labels': {'superedge.io/node-edge': 'enable', 'old': None},
                                  'annotations': {'note': 'new'}}}
    assert changes == {
        'labels': {'old': {'before': 'x', 'after': None},
                   'superedge.io/node-edge': {'before': None, 'after': 'enable'}},
        'annotations': {'note': {'before': 'old', 'after': 'new'}}}
    assert after['labels'] == {'kubernetes.io/hostname': 'edge-01', 'keep': 'y',
                               'superedge.io/node-edge': 'enable'}
    assert before['labels']['old'] == 'x'


TIME = '2026-01-01T00:00:00Z'


@pytest.mark.parametrize('live_taints, wanted, expected_taints, actions', [
    # add
    ([], [{'key': 'edge', 'value': 'true', 'effect': 'NoSchedule'}],
     [{'key': 'edge', 'value': 'true', 'effect': 'NoSchedule'}], ['add']),
    # update the value, keep other fields such as timeAdded
    ([{'key': 'edge', 'value': 'old', 'effect': 'NoExecute', 'timeAdded': TIME}],
     [{'key': 'edge', 'value': 'new', 'effect': 'NoExecute'}],
     [{'key': 'edge', 'value': 'new', 'effect': 'NoExecute', 'timeAdded': TIME}], ['update']),
    # same key, other effect: a second taint
    ([{'key': 'edge', 'effect': 'NoSchedule'}], [{'key': 'edge', 'effect': 'NoExecute'}],
     [{'key': 'edge', 'effect': 'NoSchedule'}, {'key': 'edge', 'effect': 'NoExecute'}], ['add']),
    # remove by key and effect; the other taint stays
    ([{'key': 'a', 'effect': 'NoSchedule'}, {'key': 'b', 'effect': 'NoSchedule'}],
     [{'key': 'a', 'effect': 'NoSchedule', 'state': 'absent'}],
     [{'key': 'b', 'effect': 'NoSchedule'}], ['remove']),
    # remove the last one: the list goes away (null in the merge patch)
    ([{'key': 'a', 'effect': 'NoSchedule'}], [{'key': 'a', 'state': 'absent'}], None, ['remove']),
])
def test_taint_planning(live_taints, wanted, expected_taints, actions):
    patch, changes, before, after = n.plan_node(node(taints=live_taints), spec(taints=wanted))
    assert patch['spec'] == {'taints': expected_taints}
    assert [c['action'] for c in changes['taints']] == actions
    assert patch['metadata'] == {'resourceVersion': '100'}
    assert after['taints'] == [dict((k, v) for k, v in t.items() if k != 'timeAdded')
                               for t in expected_taints or []]


def test_state_absent_removes_listed_items():
    live = node(labels={'a': '1', 'b': '2'}, annotations={'c': '3'},
                taints=[{'key': 'x', 'value': 'y', 'effect': 'NoSchedule'},
                        {'key': 'x', 'value': 'y', 'effect': 'NoExecute'}])
    patch, changes, dummy, after = n.plan_node(live, spec(
        labels=['a', 'zz'], annotations={'c': None}, taints=[{'key': 'x'}], state='absent'))
    assert patch == {'metadata': {'resourceVersion': '100', 'labels': {'a': None},
                                  'annotations': {'c': None}}, 'spec': {'taints': None}}
    assert len(changes['taints']) == 2
    assert after == {'labels': {'b': '2'}, 'annotations': {}, 'taints': []}


def test_absent_taint_with_another_value_stays():
    live = node(taints=[{'key': 'x', 'value': 'keep', 'effect': 'NoSchedule'}])
    patch, changes, dummy, dummy2 = n.plan_node(live, spec(
        taints=[{'key': 'x', 'value': 'other', 'effect': 'NoSchedule'}], state='absent'))
    assert patch is None and changes == {}


def test_argv_lists():
    patch = {'metadata': {'labels': {'b': '2', 'a': None}}}
    argv = n.patch_args('edge-01', patch)
    assert argv[:6] == ['patch', 'node', 'edge-01', '--type', 'merge', '--patch']
    assert json.loads(argv[6]) == patch
    assert argv[6] == '{"metadata":{"labels":{"a":null,"b":"2"}}}'
    assert n.get_nodes_args() == ['get', 'nodes', '--output', 'json']
    assert n.delete_node_args('edge-01') == ['delete', 'node', 'edge-01', '--ignore-not-found',
                                             '--wait=false']
