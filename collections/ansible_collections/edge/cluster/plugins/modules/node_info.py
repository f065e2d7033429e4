#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: node_info
short_description: The Nodes registered in the cluster, with their readiness, roles and labels
version_added: 0.1.0
description:
  - Lists the cluster's Nodes with one C(kubectl get nodes -o json) through a cluster admin kubeconfig, so run it on
    (or delegate it to) a control-plane node.
  - Its RV(nodes) result is what M(edge.cluster.kubeadm_join) takes as O(edge.cluster.kubeadm_join#module:cluster_nodes).
    A joining node has no credentials of its own to find out whether its name is taken, or whether an earlier join
    of its own got as far as registering the Node.
extends_documentation_fragment:
  - edge.cluster._attributes
  - edge.cluster._attributes.ACTIONGROUP_KUBEADM
  - edge.cluster._attributes.READ_ONLY
  - edge.cluster._kubectl
options:
  names:
    description: Only these Nodes (those that exist); all Nodes when empty.
    type: list
    elements: str
    default: []
requirements:
  - kubectl and a cluster admin kubeconfig where the module runs.
seealso:
  - module: edge.cluster.kubeadm_join
  - module: edge.cluster.node_label
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Nodes of the cluster
  edge.cluster.node_info:
  delegate_to: "{{ groups['control_plane'][0] }}"
  run_once: true
  register: edge_cluster_nodes
  become: true

- name: Show the ones not Ready
  ansible.builtin.debug:
    msg: "{{ edge_cluster_nodes.nodes | dict2items | rejectattr('value.ready') | map(attribute='key') }}"
"""

RETURN = r"""
nodes:
  description: Per Node name, its state.
  returned: always
  type: dict
  contains:
    ready:
      description: The Ready condition is True.
      type: bool
    control_plane:
      description: The node carries the C(node-role.kubernetes.io/control-plane) label.
      type: bool
    labels:
      description: All labels.
      type: dict
    taints:
      description: Taints (key, value, effect).
      type: list
    addresses:
      description: First address of each type (C(InternalIP), C(Hostname), ...).
      type: dict
    kubelet_version:
      description: Version the kubelet reports.
      type: str
    unschedulable:
      description: The node is cordoned.
      type: bool
  sample: {edge-01: {ready: true, control_plane: false, labels: {}, taints: [], addresses: {InternalIP: 10.213.0.21},
           kubelet_version: v1.34.12, unschedulable: false}}
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._command import CommandError, exit_module
from ansible_collections.edge.cluster.plugins.module_utils._kubectl import (
    KUBECTL_COMMON_ARGS,
    kubectl_from_module,
)
from ansible_collections.edge.cluster.plugins.module_utils._node import (
    get_nodes_args,
    nodes_by_name,
    summary,
)


def run_module(module):
    kubectl = kubectl_from_module(module)
    kubectl.wait_ready(module.params['wait_timeout'])
    stdout = kubectl.check(get_nodes_args(), 'listing Nodes')
    try:
        live = nodes_by_name(json.loads(stdout))
    except (ValueError, KeyError, TypeError):
        raise CommandError('listing Nodes: kubectl printed something that is not a Node list',
                           stdout=stdout)
    names = module.params['names'] or sorted(live)
    return dict(changed=False, nodes=dict((name, summary(live[name]))
                                          for name in names if name in live))


def main():
    argument_spec = dict(names=dict(type='list', elements='str', default=[]))
    argument_spec.update(KUBECTL_COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    exit_module(module, run_module)


if __name__ == '__main__':
    main()
