# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_plan and fleet_report filters: the wrappers over _fleet, and their errors."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.filter.fleet_plan import FilterModule as PlanFilters
from ansible_collections.edge.cluster.plugins.filter.fleet_report import FilterModule as ReportFilters

fleet_plan = PlanFilters().filters()['fleet_plan']
fleet_report = ReportFilters().filters()['fleet_report']


def test_plan_then_report():
    plan = fleet_plan(['a', 'b', 'c'], nodes={'edge-aaaaaa': {'labels': {'edge.cluster/inventory-host': 'a'}}},
                      reinstall=[])
    assert plan['a']['action'] == 'member' and plan['b']['action'] == 'join'
    report = fleet_report(plan, outcomes={'b': {'result': 'joined', 'node_name': 'edge-bbbbbb', 'duration': '12.5'}},
                          unreachable={'c': 'ssh: timed out'}, run_id='r1', label='app.superedge.io/node-label=r1',
                          started='2026-11-22T21:00:00Z')
    assert report['failed'] == ['c']
    assert report['summary']['joined'] == 1 and report['summary']['already a member'] == 1
    assert report['table'].splitlines()[-1] == 'fleet join r1: 3 hosts - 1 joined, 1 already a member, 1 failed'
    doc = json.loads(json.dumps(report['document']))
    assert doc['hosts'][1] == {'host': 'b', 'node_name': 'edge-bbbbbb', 'result': 'joined', 'reason': '', 'step': '',
                               'task': '', 'duration': 12.5}
    assert doc['started'] == '2026-11-22T21:00:00Z' and doc['batch_label'] == 'app.superedge.io/node-label=r1'


@pytest.mark.parametrize('hosts, nodes, match', [
    ('a', {}, 'list of inventory host names'),
    (['a'], ['a'], 'node_info'),
])
def test_plan_errors(hosts, nodes, match):
    with pytest.raises(AnsibleFilterError, match=match):
        fleet_plan(hosts, nodes=nodes)


def test_plan_checks_the_settings_first():
    with pytest.raises(AnsibleFilterError, match=r'fleet_join_node_name_prefix \(host b\).*ending with a letter or digit'):
        fleet_plan(['a', 'b'], nodes={},
                   host_settings={'a': {'fleet_join_node_name_prefix': 'edge'}, 'b': {'fleet_join_node_name_prefix': 'edge.'}})
    with pytest.raises(AnsibleFilterError, match='fleet_join_run_id'):
        fleet_plan(['a'], nodes={}, settings={'fleet_join_run_id': 'run/1'})
    assert fleet_plan(['a'], nodes={}, settings={'fleet_join_run_id': None, 'fleet_join_label_key': 'fleet'},
                      host_settings={'a': {'fleet_join_node_name_prefix': ''}})['a']['action'] == 'join'


def test_report_errors():
    with pytest.raises(AnsibleFilterError, match='fleet_plan dict'):
        fleet_report(['a'])
    with pytest.raises(AnsibleFilterError, match='unknown result'):
        fleet_report({'a': {'action': 'join'}}, outcomes={'a': {'result': 'done'}})
