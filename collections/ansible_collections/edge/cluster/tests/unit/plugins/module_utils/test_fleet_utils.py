# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_fleet: node names, the membership plan and the report."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import _fleet as fleet


def fixed(chars):
    """A choice() that returns the given characters in turn."""
    it = itertools.cycle(chars)
    return lambda alphabet: next(it)


@pytest.mark.parametrize('prefix', ['edge', 'edge-', 'site.a', 'e'])
def test_generated_name_is_penetrator_shaped(prefix):
    name = fleet.generate_node_name(prefix)
    assert re.match(r'^%s-[a-z0-9]{6}$' % re.escape(prefix.rstrip('-')), name)
    assert fleet.matches_prefix(name, prefix)


def test_generated_name_avoids_taken():
    choice = fixed('aaaaaabbbbbb')
    assert fleet.generate_node_name('edge', taken=['edge-aaaaaa'], choice=choice) == 'edge-bbbbbb'


def test_generated_name_gives_up_with_a_clear_error():
    with pytest.raises(fleet.FleetError, match='no free node name'):
        fleet.generate_node_name('edge', taken=['edge-aaaaaa'], choice=fixed('a'), attempts=3)


@pytest.mark.parametrize('prefix', ['', '-', 'Edge', 'edge_1', 'x' * 57, '-edge', 'edge.', 'a..', 'edge.-'])
def test_bad_prefix(prefix):
    with pytest.raises(fleet.FleetError, match='prefix'):
        fleet.generate_node_name(prefix)


def test_bad_prefix_message_states_the_rule():
    with pytest.raises(fleet.FleetError, match='ending with a letter or digit'):
        fleet.validate_prefix('edge.')


@pytest.mark.parametrize('prefix', ['edge', 'edge-', 'a', 'site.1', 'a.b-c', 'x' * 56])
def test_good_prefix(prefix):
    assert fleet.validate_prefix(prefix) == prefix.rstrip('-')


def test_settings_accepted():
    fleet.validate_settings(
        {'fleet_join_run_id': '20261122-210000-ab12cd', 'fleet_join_label_key': 'app.superedge.io/node-label',
         'fleet_join_inventory_label_key': 'edge.cluster/inventory-host', 'fleet_join_node_name_prefix': None},
        {'h1': {'fleet_join_node_name_prefix': 'edge', 'fleet_join_label_key': 'fleet-run'},
         'h2': {'fleet_join_node_name_prefix': ''}})


@pytest.mark.parametrize('settings, host_settings, match', [
    ({'fleet_join_run_id': 'run 1'}, {}, r"fleet_join_run_id is 'run 1', not a usable Kubernetes label value"),
    ({'fleet_join_run_id': '-r1'}, {}, 'fleet_join_run_id'),
    ({'fleet_join_run_id': 'r' * 64}, {}, 'fleet_join_run_id'),
    ({'fleet_join_run_id': 5}, {}, 'fleet_join_run_id'),
    ({'fleet_join_label_key': 'a/b/c'}, {}, 'fleet_join_label_key is .* not a usable Kubernetes label key'),
    ({'fleet_join_label_key': 'Example.com/x'}, {}, 'fleet_join_label_key'),
    ({'fleet_join_inventory_label_key': 'edge.cluster/'}, {}, 'fleet_join_inventory_label_key'),
    ({'fleet_join_inventory_label_key': 'x' * 64}, {}, 'fleet_join_inventory_label_key'),
    ({}, {'h1': {'fleet_join_label_key': 'bad key'}}, r'fleet_join_label_key \(host h1\)'),
    ({}, {'h2': {'fleet_join_node_name_prefix': 'edge.'}},
     r'fleet_join_node_name_prefix \(host h2\): node name prefix .* ending with a letter or digit'),
    ({'something': 'x'}, {}, 'unknown setting'),
])
def test_bad_settings(settings, host_settings, match):
    with pytest.raises(fleet.FleetError, match=match):
        fleet.validate_settings(settings, host_settings)


@pytest.mark.parametrize('kwargs, expected', [
    (dict(override='my-node'), ('my-node', 'override')),
    (dict(recorded='edge-abc123', prefix='edge'), ('edge-abc123', 'recorded')),
    (dict(recorded='edge-abc123\n', prefix='edge-'), ('edge-abc123', 'recorded')),
    (dict(recorded='edge-abc123'), ('edge-abc123', 'recorded')),
    (dict(default='Host-1'), ('host-1', 'default')),
    (dict(recorded='host-1', default='host-2'), ('host-1', 'recorded')),
])
def test_choose(kwargs, expected):
    assert fleet.choose_node_name(**kwargs) == expected


def test_choose_generates_when_recorded_does_not_fit_or_is_taken_or_rename():
    for kwargs in (dict(recorded='other-abc123'), dict(recorded='edge-abc123', taken=['edge-abc123']),
                   dict(recorded='edge-abc123', rename=True), dict(recorded='')):
        name, source = fleet.choose_node_name(prefix='edge', choice=fixed('zzzzzzabc123'), **kwargs)
        assert source == 'generated'
        assert name == 'edge-zzzzzz'
    # rename never hands back the old name, even if the random draw repeats it
    name, source = fleet.choose_node_name(recorded='edge-aaaaaa', prefix='edge', rename=True,
                                          choice=fixed('aaaaaabbbbbb'))
    assert name == 'edge-bbbbbb'


@pytest.mark.parametrize('kwargs, match', [
    (dict(override='Bad_Name'), 'not a usable node name'),
    (dict(override='taken-1', taken=['taken-1']), 'already a Node'),
    (dict(default='host-1', taken=['host-1']), 'already a Node'),
    (dict(), 'no node name'),
])
def test_choose_refuses(kwargs, match):
    with pytest.raises(fleet.FleetError, match=match):
        fleet.choose_node_name(**kwargs)


@pytest.mark.parametrize('host, expected', [
    ('edge-01', 'edge-01'), ('edge.site.example', 'edge.site.example'), ('10.0.0.1', '10.0.0.1')])
def test_inventory_label_value_plain(host, expected):
    assert fleet.inventory_label_value(host) == expected


@pytest.mark.parametrize('host', ['fe80::1', 'x' * 64, 'a b', '-x'])
def test_inventory_label_value_digest(host):
    value = fleet.inventory_label_value(host)
    assert re.match(r'^h-[0-9a-f]{40}$', value)
    assert value == fleet.inventory_label_value(host)


KEY = 'edge.cluster/inventory-host'
NODES = {
    'cp-1': {'labels': {'node-role.kubernetes.io/control-plane': ''}},
    'edge-abc123': {'labels': {KEY: 'site-1'}},
    'edge-2': {'labels': {}},
    'edge-zzz999': {'labels': {KEY: fleet.inventory_label_value('fe80::9')}},
}


def test_plan():
    got = fleet.plan(['site-1', 'edge-2', 'edge-3', 'fe80::9', 'site-2'], NODES, KEY, reinstall=['site-1', 'edge-3'])
    assert {h: (p['action'], p['node_name']) for h, p in got.items()} == {
        'site-1': ('reinstall', 'edge-abc123'),
        'edge-2': ('member', 'edge-2'),
        'edge-3': ('join', None),
        'fe80::9': ('member', 'edge-zzz999'),
        'site-2': ('join', None),
    }
    assert got['site-2']['inventory_label'] == 'site-2'


def test_plan_rejects_bad_nodes():
    with pytest.raises(fleet.FleetError, match='node_info'):
        fleet.plan(['a'], ['a'], KEY)


def rows():
    plan = fleet.plan(['a', 'b', 'c', 'd', 'e', 'f'], {'n-a': {'labels': {KEY: 'a'}}, 'f': {}}, KEY, reinstall=['f'])
    outcomes = {'b': {'result': 'joined', 'node_name': 'edge-bbbbbb', 'duration': 41.27},
                'c': {'result': 'failed', 'step': 'package', 'reason': 'sha256 mismatch:\n  expected x', 'duration': 3},
                'f': {'result': 'reinstalled', 'node_name': 'f', 'duration': 60}}
    return fleet.report_rows(plan, outcomes, unreachable={'d': 'ssh: connect to host 10.0.0.9 port 22: No route'})


def test_report_rows():
    got = {r['host']: (r['result'], r['node_name'], r['step'], r['reason'], r['duration']) for r in rows()}
    assert got == {
        'a': ('already a member', 'n-a', '', '', 0.0),
        'b': ('joined', 'edge-bbbbbb', '', '', 41.3),
        'c': ('failed', None, 'package', 'sha256 mismatch: expected x', 3.0),
        'd': ('failed', None, 'reach', 'unreachable: ssh: connect to host 10.0.0.9 port 22: No route', 0.0),
        'e': ('failed', None, '', 'the run ended before this host was done (see the log)', 0.0),
        'f': ('reinstalled', 'f', '', '', 60.0),
    }


def test_report_rejects_unknown_result():
    with pytest.raises(fleet.FleetError, match='unknown result'):
        fleet.report_rows({'a': {'action': 'join'}}, {'a': {'result': 'meh'}})


def test_table_and_summary():
    table = fleet.render_table(rows(), 'run-1')
    lines = table.splitlines()
    assert lines[0].split() == ['HOST', 'NODE', 'RESULT', 'SECONDS', 'REASON']
    assert len(lines) == 8
    assert re.match(r'^c\s+-\s+failed\s+3\.0\s+\[package\] sha256 mismatch: expected x$', lines[3])
    # columns line up: RESULT starts at the same offset on every row
    offset = lines[0].index('RESULT')
    assert all(line[offset:].split()[0] in ('RESULT', 'already', 'joined', 'failed', 'reinstalled')
               for line in lines[1:-1])
    assert lines[-1] == 'fleet join run-1: 6 hosts - 1 joined, 1 reinstalled, 1 already a member, 3 failed'


def test_empty_table():
    assert fleet.render_table([], 'r').splitlines()[-1] == 'fleet join r: 0 hosts - nothing to do'


def test_json_document():
    doc = json.loads(json.dumps(fleet.report_document(rows(), run_id='r1', label='app.superedge.io/node-label=r1')))
    assert doc['summary']['failed'] == 3 and doc['summary']['joined'] == 1
    assert doc['batch_label'] == 'app.superedge.io/node-label=r1'
    assert [h['host'] for h in doc['hosts']] == list('abcdef')


def test_long_reason_is_cut():
    assert len(fleet.one_line('x' * 1000)) == 400
