# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: ha_backends
short_description: Every control-plane node's own address, as HAProxy's backends
version_added: 0.1.0
description:
  - Takes the control-plane group's hosts (in inventory order) and returns each one's name and address, the same
    address P(edge.cluster.vrrp_plan#filter) gives it as a VRRP peer.
  - A member's address is its C(address) when set, else its C(ansible_host) when that is an IPv4 address, else its
    C(interface_ipv4), else its C(default_ipv4).
  - Fails with a message naming the host and the fix when the group is empty, a host has no IPv4 address, or two
    hosts share one.
  - Used by the node-local balancer of the P(edge.cluster.ha_loadbalancer#role) role (C(tasks_from=local.yml)).
extends_documentation_fragment:
  - edge.cluster._ha_members
"""

EXAMPLES = r"""
- name: The API servers behind the node-local balancer
  ansible.builtin.set_fact:
    my_backends: >-
      {{ [{'name': 'cp1', 'ansible_host': '10.213.8.11'}, {'name': 'cp2', 'default_ipv4': '10.213.8.12'}]
         | edge.cluster.ha_backends }}
  # [{'name': 'cp1', 'address': '10.213.8.11'}, {'name': 'cp2', 'address': '10.213.8.12'}]
"""

RETURN = r"""
_value:
  description: Every host with its address, in the group's order.
  type: list
  elements: dict
  contains:
    name:
      description: The host's inventory name.
      type: string
    address:
      description: Its IPv4 address.
      type: string
  sample:
    - {name: cp1, address: 10.213.8.11}
    - {name: cp2, address: 10.213.8.12}
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.plugin_utils._ha_loadbalancer import HAPlanError, member_addresses


def ha_backends(members, group='control_plane'):
    if not isinstance(members, (list, tuple)) or not all(isinstance(m, dict) for m in members):
        raise AnsibleFilterError('edge.cluster.ha_backends: expected a list of host dicts, got %s' % type(members).__name__)
    try:
        return member_addresses(list(members), group=group)
    except HAPlanError as exc:
        raise AnsibleFilterError('edge.cluster.ha_backends: %s' % exc)


class FilterModule:
    def filters(self):
        return {'ha_backends': ha_backends}
