# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_plan
short_description: One control-plane node's Keepalived VRRP settings, derived from its group
version_added: 0.1.0
description:
  - Takes the control-plane group's hosts (in inventory order) and returns, for O(host), its VRRP address,
    unicast peers, priority and the weight of the HAProxy check, with the VIP checked against the interface's subnet.
  - A member's address is its C(address) when set, else its C(ansible_host) when that is an IPv4 address, else its
    C(interface_ipv4) (its address on the VIP's interface), else its C(default_ipv4).
  - Priorities fall by O(priority_step) along the group (the first host is the preferred VIP holder). The check
    weight is minus O(priority_step) times the number of hosts, so a node whose HAProxy fails drops below every
    healthy node.
  - Fails with a message naming the bad value and the fix when the host is not in the group, an address is missing
    or shared, the VIP is not a free host address in the interface's subnet, or the priorities leave VRRP's range.
  - Used by the P(edge.cluster.ha_loadbalancer#role) role.
options:
  host:
    description: The host to plan for (its C(inventory_hostname)).
    type: string
    required: true
  vip:
    description: The virtual IPv4 address.
    type: string
    required: true
  interface:
    description: The interface the VIP goes on (named in messages).
    type: string
    required: true
  interface_ipv4:
    description: The interface's IPv4 facts, a dict with C(address) and C(netmask).
    type: dict
    required: true
  priority_top:
    description: The first host's priority.
    type: integer
    default: 150
  priority_step:
    description: How much lower each next host's priority is.
    type: integer
    default: 10
  virtual_router_id:
    description: The VRRP router id (1-255).
    type: integer
    default: 51
extends_documentation_fragment:
  - edge.cluster._ha_members
"""

EXAMPLES = r"""
- name: Plan this node's VRRP settings
  ansible.builtin.set_fact:
    my_vrrp: >-
      {{ [{'name': 'cp1', 'ansible_host': '10.213.8.11'}, {'name': 'cp2', 'ansible_host': '10.213.8.12'}]
         | edge.cluster.vrrp_plan(host=inventory_hostname, vip='10.213.8.100', interface='eth0',
                                  interface_ipv4=ansible_facts.eth0.ipv4) }}
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    position:
      description: The host's index in the group.
      type: integer
    priority:
      description: The host's VRRP priority.
      type: integer
    check_weight:
      description: The (negative) weight of the HAProxy check script.
      type: integer
    unicast_src_ip:
      description: The host's own VRRP address.
      type: string
    unicast_peers:
      description: The other hosts' VRRP addresses.
      type: list
      elements: string
    members:
      description: Every host with its address and priority.
      type: list
      elements: dict
    vip:
      description: The VIP, normalised.
      type: string
    vip_prefix:
      description: The prefix length of the interface's subnet, used for the VIP.
      type: integer
    interface:
      description: The interface.
      type: string
    virtual_router_id:
      description: The VRRP router id.
      type: integer
  sample:
    position: 0
    priority: 150
    check_weight: -30
    unicast_src_ip: 10.213.8.11
    unicast_peers: [10.213.8.12, 10.213.8.13]
    vip: 10.213.8.100
    vip_prefix: 24
    interface: eth0
    virtual_router_id: 51
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.plugin_utils._ha_loadbalancer import HAPlanError
from ansible_collections.edge.cluster.plugins.plugin_utils._ha_loadbalancer import vrrp_plan as _vrrp_plan


def vrrp_plan(members, host, vip, interface, interface_ipv4, priority_top=150, priority_step=10,
              virtual_router_id=51, group='control_plane'):
    if not isinstance(members, (list, tuple)) or not all(isinstance(m, dict) for m in members):
        raise AnsibleFilterError('edge.cluster.vrrp_plan: expected a list of host dicts, got %s' % type(members).__name__)
    try:
        return _vrrp_plan(list(members), host, vip, interface, interface_ipv4, priority_top=priority_top,
                          priority_step=priority_step, virtual_router_id=virtual_router_id, group=group)
    except HAPlanError as exc:
        raise AnsibleFilterError('edge.cluster.vrrp_plan: %s' % exc)


class FilterModule:
    def filters(self):
        return {'vrrp_plan': vrrp_plan}
