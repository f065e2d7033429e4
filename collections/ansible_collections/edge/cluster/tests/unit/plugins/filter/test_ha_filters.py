# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.filter.ha_backends import FilterModule as HaBackends
from ansible_collections.edge.cluster.plugins.filter.host_port import FilterModule as HostPort
from ansible_collections.edge.cluster.plugins.filter.vrrp_plan import FilterModule as VrrpPlan

vrrp_plan = VrrpPlan().filters()['vrrp_plan']
host_port = HostPort().filters()['host_port']
ha_backends = HaBackends().filters()['ha_backends']

GROUP = [{'name': 'cp1', 'ansible_host': '10.213.16.11'}, {'name': 'cp2', 'ansible_host': '10.213.16.12'}]
ETH0 = {'address': '10.213.16.12', 'netmask': '255.255.255.0'}


def test_vrrp_plan_filter():
    result = vrrp_plan(GROUP, 'cp2', '10.213.16.100', 'eth0', ETH0, virtual_router_id=77)
    assert result['priority'] == 140 and result['check_weight'] == -20
    assert result['unicast_peers'] == ['10.213.16.11'] and result['virtual_router_id'] == 77


@pytest.mark.parametrize('members, message', [
    ('cp1', 'expected a list of host dicts, got str'),
    (['cp1'], 'expected a list of host dicts'),
    (GROUP[:1], 'cp2 is not in group'),
])
def test_vrrp_plan_filter_errors(members, message):
    with pytest.raises(AnsibleFilterError, match='^edge.cluster.vrrp_plan: .*' + message):
        vrrp_plan(members, 'cp2', '10.213.16.100', 'eth0', ETH0)


def test_ha_backends_filter_gives_the_vrrp_peers_addresses():
    group = GROUP + [{'name': 'cp3', 'ansible_host': 'cp3.lab', 'default_ipv4': '10.213.16.13'}]
    backends = ha_backends(group)
    assert backends == [{'name': 'cp1', 'address': '10.213.16.11'}, {'name': 'cp2', 'address': '10.213.16.12'},
                        {'name': 'cp3', 'address': '10.213.16.13'}]
    plan = vrrp_plan(group, 'cp2', '10.213.16.100', 'eth0', ETH0)
    assert [m['address'] for m in plan['members']] == [b['address'] for b in backends]


@pytest.mark.parametrize('members, message', [
    ({'name': 'cp1'}, 'expected a list of host dicts, got dict'),
    ([], "group 'masters' has no hosts"),
    ([{'name': 'cp1', 'ansible_host': 'cp1.lab'}], 'cp1: no IPv4 address'),
    (GROUP + [{'name': 'cp3', 'address': '10.213.16.11'}], 'cp1 and cp3 both have the address 10.213.16.11'),
])
def test_ha_backends_filter_errors(members, message):
    with pytest.raises(AnsibleFilterError, match='^edge.cluster.ha_backends: .*' + message):
        ha_backends(members, group='masters')


def test_host_port_filter():
    assert host_port('lb:7443') == ['lb', 7443]
    assert host_port('lb', default_port='8443') == ['lb', 8443]
    assert host_port('[fd00::5]:8443') == ['fd00::5', 8443]
    with pytest.raises(AnsibleFilterError, match="^edge.cluster.host_port: endpoint 'lb:x'"):
        host_port('lb:x')
    with pytest.raises(AnsibleFilterError, match='without a scheme'):
        host_port('https://lb:6443')


@pytest.mark.parametrize('endpoint, expected', [
    ('lb.example.internal:6443', ('lb.example.internal', 6443)),
    ('10.213.8.5', ('10.213.8.5', 6443)),
    ('10.213.8.5:8443', ('10.213.8.5', 8443)),
    ('[fd00::5]:8443', ('fd00::5', 8443)),
    (' lb:1 ', ('lb', 1)),
])
def test_host_port_cases(endpoint, expected):
    assert host_port(endpoint) == list(expected)


@pytest.mark.parametrize('endpoint', ['', 'lb:', 'lb:99999', 'https://lb:6443', 'a b:1', None, 'fd00::5'])
def test_host_port_refused(endpoint):
    with pytest.raises(AnsibleFilterError, match='^edge.cluster.host_port: endpoint'):
        host_port(endpoint)
