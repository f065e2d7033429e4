# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_plan
short_description: Which inventory hosts of a fleet are cluster members already, from one node listing
version_added: 0.1.0
description:
  - Takes the inventory hosts of a fleet join and the cluster's Nodes (RV(edge.cluster.node_info#module:nodes)) and
    says per host whether it is a member (its Node carries O(label_key) with the host's recorded value, or a Node
    is named exactly like the host), must join, or must be reinstalled (a member listed in O(reinstall)).
  - The decision needs no connection to the hosts, so a re-run over a joined fleet touches none of them.
  - The value recorded for a host is its inventory name when that is a valid label value, else C(h-) and 40 hex
    digits of its SHA-256 (RV(_value.inventory_label)).
options:
  _input:
    description: Inventory host names.
    type: list
    elements: string
    required: true
  nodes:
    description: The Nodes, as M(edge.cluster.node_info) returns them.
    type: dict
    required: true
  label_key:
    description: The label that records the inventory host on its Node.
    type: string
    default: edge.cluster/inventory-host
  reinstall:
    description: Hosts to reset and join again when they are members.
    type: list
    elements: string
    default: []
  settings:
    description:
      - "The run's settings to check before anything is planned, C({setting: value}); a V(null) value is unset."
      - Known settings are C(fleet_join_run_id) (a label value), C(fleet_join_label_key) and
        C(fleet_join_inventory_label_key) (label keys), and C(fleet_join_node_name_prefix) (empty, or lowercase
        letters, digits, C(-) and C(.), starting and ending with a letter or digit).
      - A bad value fails the filter with a message that names the setting and what to set it to.
    type: dict
    default: {}
  host_settings:
    description: "The same settings per host, C({host: {setting: value}}), as each host sees them."
    type: dict
    default: {}
seealso:
  - module: edge.cluster.node_info
  - plugin: edge.cluster.fleet_report
    plugin_type: filter
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Hosts that still have to join
  ansible.builtin.set_fact:
    fleet_todo: >-
      {{ groups['edge_nodes'] | edge.cluster.fleet_plan(nodes=cluster.nodes) | dict2items
         | rejectattr('value.action', 'eq', 'member') | map(attribute='key') }}
"""

RETURN = r"""
_value:
  description: Per host, what it needs.
  type: dict
  contains:
    action:
      description: V(member), V(join) or V(reinstall).
      type: string
    node_name:
      description: The host's current Node name; V(null) when it has none.
      type: string
    inventory_label:
      description: The value of O(label_key) that records this host on its Node.
      type: string
  sample: {edge-01: {action: member, node_name: edge-x7k2p9, inventory_label: edge-01}}
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.module_utils._fleet import FleetError, plan, validate_settings


def fleet_plan(hosts, nodes, label_key='edge.cluster/inventory-host', reinstall=None, settings=None, host_settings=None):
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError('edge.cluster.fleet_plan: the input must be a list of inventory host names')
    try:
        validate_settings(dict(settings or {}), dict(host_settings or {}))
        return plan(list(hosts), nodes, label_key, reinstall or [])
    except FleetError as exc:
        raise AnsibleFilterError('edge.cluster.fleet_plan: %s' % exc)


class FilterModule:
    def filters(self):
        return {'fleet_plan': fleet_plan}
