# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.edge.cluster.plugins.plugin_utils._ha_loadbalancer import (
    HAPlanError,
    peer_address,
    vrrp_plan,
)

ETH0 = {'address': '10.213.16.11', 'netmask': '255.255.255.0'}


def members(*hosts):
    return [{'name': 'cp%d' % i, 'ansible_host': h} for i, h in enumerate(hosts, 1)]


THREE = members('10.213.16.11', '10.213.16.12', '10.213.16.13')


def plan(host='cp1', group=None, vip='10.213.16.100', iface=None, **kw):
    return vrrp_plan(THREE if group is None else group, host, vip, 'eth0', iface or ETH0, **kw)


@pytest.mark.parametrize('member, expected', [
    ({'name': 'a', 'ansible_host': '10.0.0.1', 'default_ipv4': '10.0.0.9'}, '10.0.0.1'),
    # a container name or DNS name in ansible_host: the default IPv4 from facts
    ({'name': 'a', 'ansible_host': 'edge-mol-ha-1', 'default_ipv4': '10.0.0.9'}, '10.0.0.9'),
    ({'name': 'a', 'ansible_host': '', 'default_ipv4': '10.0.0.9'}, '10.0.0.9'),
    # no default route (an internal network): the address on the VIP's interface
    ({'name': 'a', 'ansible_host': 'node-a', 'interface_ipv4': '10.0.0.7', 'default_ipv4': ''}, '10.0.0.7'),
    ({'name': 'a', 'ansible_host': 'node-a', 'interface_ipv4': '10.0.0.7', 'default_ipv4': '10.0.1.7'}, '10.0.0.7'),
    ({'name': 'a', 'address': '10.0.0.5', 'ansible_host': '10.0.0.1'}, '10.0.0.5'),
    ({'name': 'a', 'ansible_host': ' 10.0.0.1 '}, '10.0.0.1'),
    ({'name': 'a', 'ansible_host': '10.0.0.256', 'default_ipv4': '10.0.0.9'}, '10.0.0.9'),
])
def test_peer_address(member, expected):
    assert peer_address(member) == expected


@pytest.mark.parametrize('member, message', [
    ({'name': 'a', 'ansible_host': 'node-a'}, "a: no IPv4 address for VRRP or HAProxy: its ansible_host ('node-a')"),
    ({'name': 'a', 'address': 'fd00::1'}, "a: ha_loadbalancer_address 'fd00::1' is not an IPv4 address"),
])
def test_peer_address_refused(member, message):
    with pytest.raises(HAPlanError, match=message.replace('(', r'\(').replace(')', r'\)')):
        peer_address(member)


@pytest.mark.parametrize('host, priority, peers', [
    ('cp1', 150, ['10.213.16.12', '10.213.16.13']),
    ('cp2', 140, ['10.213.16.11', '10.213.16.13']),
    ('cp3', 130, ['10.213.16.11', '10.213.16.12']),
])
def test_plan_priorities_follow_group_order_and_peers_exclude_self(host, priority, peers):
    result = plan(host)
    assert result['priority'] == priority
    assert result['unicast_peers'] == peers
    assert result['unicast_src_ip'] == '10.213.16.1%s' % host[-1]
    assert (result['vip'], result['vip_prefix'], result['virtual_router_id']) == ('10.213.16.100', 24, 51)
    assert [m['priority'] for m in result['members']] == [150, 140, 130]


@pytest.mark.parametrize('count, top, step', [(1, 150, 10), (2, 150, 10), (3, 150, 10), (5, 200, 5), (9, 254, 20)])
def test_a_failed_check_drops_any_node_below_every_healthy_one(count, top, step):
    group = members(*['10.213.16.%d' % (11 + i) for i in range(count)])
    plans = [vrrp_plan(group, m['name'], '10.213.16.100', 'eth0', ETH0, priority_top=top, priority_step=step)
             for m in group]
    healthy = [p['priority'] for p in plans]
    assert healthy == sorted(healthy, reverse=True) and len(set(healthy)) == count
    for p in plans:
        assert p['priority'] + p['check_weight'] < min(healthy)
        assert -253 <= p['check_weight'] < 0 and 1 <= p['priority'] <= 254


def test_plan_uses_facts_when_ansible_host_is_a_name():
    group = [{'name': 'a', 'ansible_host': 'a', 'default_ipv4': '10.213.16.21'},
             {'name': 'b', 'ansible_host': 'b', 'default_ipv4': '10.213.16.22'}]
    result = vrrp_plan(group, 'b', '10.213.16.100', 'eth0', ETH0)
    assert (result['unicast_src_ip'], result['unicast_peers'], result['priority']) == ('10.213.16.22', ['10.213.16.21'], 140)


def test_vip_prefix_follows_the_interface_netmask():
    assert plan(vip='10.213.200.1', iface={'address': '10.213.16.11', 'netmask': '255.255.0.0'})['vip_prefix'] == 16


@pytest.mark.parametrize('kwargs, message', [
    ({'host': 'cp9'}, "cp9 is not in group 'control_plane' (cp1, cp2, cp3): run the role on that group"),
    ({'group': []}, "group 'control_plane' has no hosts"),
    ({'vip': ''}, "ha_loadbalancer_vip '' is not an IPv4 address"),
    ({'vip': None}, "ha_loadbalancer_vip '' is not an IPv4 address"),
    ({'vip': 'vip.example'}, "ha_loadbalancer_vip 'vip.example' is not an IPv4 address"),
    ({'vip': '10.213.17.100'}, 'ha_loadbalancer_vip 10.213.17.100 is not a host address in 10.213.16.0/24, the subnet of eth0'),
    ({'vip': '10.213.16.255'}, 'is not a host address in 10.213.16.0/24'),
    ({'vip': '10.213.16.0'}, 'is not a host address in 10.213.16.0/24'),
    ({'vip': '10.213.16.12'}, 'ha_loadbalancer_vip 10.213.16.12 is the address of cp2'),
    ({'iface': {'address': '', 'netmask': ''}}, "interface 'eth0' of cp1 has no IPv4 address"),
    ({'group': members('10.213.16.11', '10.213.16.11')}, 'cp1 and cp2 both have the address 10.213.16.11'),
    ({'group': [{'name': 'cp1', 'ansible_host': 'x'}]}, 'cp1: no IPv4 address for VRRP or HAProxy'),
    ({'virtual_router_id': 0}, 'ha_loadbalancer_virtual_router_id 0 is out of range: VRRP allows 1-255'),
    ({'virtual_router_id': 256}, 'ha_loadbalancer_virtual_router_id 256 is out of range'),
    ({'virtual_router_id': 'x'}, 'must be integers'),
    ({'priority_top': 255}, 'ha_loadbalancer_priority_top must be 1-254'),
    ({'priority_step': 0}, 'ha_loadbalancer_priority_step at least 1'),
    ({'priority_top': 20}, 'give priorities down to 0 and a check weight of -30'),
    ({'priority_step': 90}, 'a check weight of -270'),
])
def test_plan_refuses_bad_input_with_a_fix(kwargs, message):
    with pytest.raises(HAPlanError) as err:
        plan(**kwargs)
    assert message in str(err.value)
