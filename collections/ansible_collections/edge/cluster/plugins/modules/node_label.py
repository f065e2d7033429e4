#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: node_label
short_description: Labels, annotations and taints of many Nodes in one call
version_added: 0.1.0
description:
  - Sets or removes labels, annotations and taints on Nodes through the API with a cluster admin kubeconfig (run it
    on a control-plane node, or delegate to one). edgeadm had each edge node label itself with its own kubelet
    credentials; the C(NodeRestriction) admission plugin rightly forbids most of that, and a node should never be
    trusted to choose its own role.
  - Reads all Nodes once (C(kubectl get nodes -o json)), compares, and patches only the nodes that change, each with
    one JSON merge patch carrying the object's C(resourceVersion), so a concurrent change makes the patch fail
    instead of being overwritten (it is then read and planned again, up to 3 times).
  - Every node named must exist, and every key and value must be valid, before anything is patched.
  - With O(wait_ready=true) it then waits, at most O(ready_timeout) seconds, until all the named nodes are Ready.
extends_documentation_fragment:
  - edge.cluster._attributes
  - edge.cluster._attributes.ACTIONGROUP_KUBEADM
  - edge.cluster._kubectl
attributes:
  check_mode:
    support: full
    details:
      - Reads the Nodes and reports the changes it would make.
  diff_mode:
    support: full
    details:
      - Shows, per changed node, its labels, annotations and taints before and after.
  idempotent:
    support: full
options:
  nodes:
    description:
      - "What to set per node: C({<node name>: {labels: {key: value}, annotations: {key: value}, taints: [{key, value,
        effect, state}]}})."
      - With O(state=present), labels and annotations are set; a V(null) value removes that key. Keys not listed are
        left alone. Taints are matched by key and effect; a taint's own C(state=absent) removes it.
      - With O(state=absent), the listed label and annotation keys (a dict or a list of keys) and taints (matched by
        key, and by effect and value when given) are removed.
    type: dict
    required: true
  state:
    description: Whether the listed items should be present or absent.
    type: str
    choices: [present, absent]
    default: present
  wait_ready:
    description: After patching, wait until all the named nodes report Ready.
    type: bool
    default: false
  ready_timeout:
    description: Seconds O(wait_ready) waits before failing with the nodes still not Ready.
    type: int
    default: 300
requirements:
  - kubectl and a cluster admin kubeconfig where the module runs.
seealso:
  - module: edge.cluster.node_info
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: SuperEdge roles for the edge nodes and the cloud side
  edge.cluster.node_label:
    nodes:
      edge-01:
        labels:
          superedge.io/edge-node: enable
          superedge.io/node-edge: enable
      cp-01:
        labels:
          superedge.io/node-cloud: enable
    wait_ready: true
  delegate_to: "{{ groups['control_plane'][0] }}"
  run_once: true
  become: true

- name: Keep general workloads off an edge node, and drop an old label
  edge.cluster.node_label:
    nodes:
      edge-02:
        labels:
          site: null
        taints:
          - key: edge.example/dedicated
            value: camera
            effect: NoSchedule
  become: true

- name: Remove a label from several nodes
  edge.cluster.node_label:
    state: absent
    nodes:
      edge-01: {labels: [superedge.io/node-edge]}
      edge-02: {labels: [superedge.io/node-edge]}
  become: true
"""

RETURN = r"""
changes:
  description: Per changed node, what changed (labels and annotations with before/after, taints added, updated or
    removed). Empty when nothing changed.
  returned: always
  type: dict
  sample: {edge-01: {labels: {superedge.io/node-edge: {before: null, after: enable}}}}
nodes:
  description: Per named node, its labels, annotations and taints after the run (as planned, in check mode).
  returned: always
  type: dict
not_ready:
  description: Named nodes not Ready (after waiting, with O(wait_ready=true)).
  returned: always
  type: list
  elements: str
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._command import CommandError, exit_module
from ansible_collections.edge.cluster.plugins.module_utils._kubectl import (
    KUBECTL_COMMON_ARGS,
    kubectl_from_module,
)
from ansible_collections.edge.cluster.plugins.module_utils._node import (
    NodeSpecError,
    get_nodes_args,
    missing_nodes,
    nodes_by_name,
    not_ready,
    patch_args,
    plan_node,
    validate_nodes,
)

PATCH_ATTEMPTS = 3
READY_POLL = 3.0
SLEEP = time.sleep
CLOCK = time.monotonic


def _live(kubectl):
    stdout = kubectl.check(get_nodes_args(), 'listing Nodes')
    try:
        return nodes_by_name(json.loads(stdout))
    except (ValueError, KeyError, TypeError):
        raise CommandError('listing Nodes: kubectl printed something that is not a Node list',
                           stdout=stdout)


def _conflict(exc):
    text = '%s %s' % (exc.stderr, exc.msg)
    return 'Conflict' in text or 'the object has been modified' in text


def run_module(module):
    params = module.params
    try:
        wanted = validate_nodes(params['nodes'], params['state'])
    except NodeSpecError as exc:
        module.fail_json(msg=str(exc))
    if params['ready_timeout'] < 0:
        module.fail_json(msg='ready_timeout must be 0 or more seconds')
    kubectl = kubectl_from_module(module)
    kubectl.wait_ready(params['wait_timeout'])
    live = _live(kubectl)
    missing = missing_nodes(live, wanted)
    if missing:
        module.fail_json(msg='Nodes %s are not registered in the cluster (it has: %s); nothing was '
                             'changed. Join them first or fix the names'
                             % (', '.join(missing), ', '.join(sorted(live)) or 'none'))
    result = dict(changed=False, changes={}, nodes={}, not_ready=[])
    diff_before, diff_after = {}, {}
    for name in sorted(wanted):
        for attempt in range(1, PATCH_ATTEMPTS + 1):
            patch, changes, before, after = plan_node(live[name], wanted[name])
            if patch is None or module.check_mode:
                break
            try:
                kubectl.check(patch_args(name, patch), 'patching Node %s' % name)
                break
            except CommandError as exc:
                if not _conflict(exc) or attempt == PATCH_ATTEMPTS:
                    raise
                live = _live(kubectl)  # someone else changed the node: plan again
        result['nodes'][name] = after
        if changes:
            result['changed'] = True
            result['changes'][name] = changes
            diff_before[name], diff_after[name] = before, after
    if module._diff:
        result['diff'] = dict(before=diff_before, after=diff_after)
    if params['wait_ready'] and not module.check_mode:
        deadline = CLOCK() + params['ready_timeout']
        while True:
            waiting = not_ready(live, wanted)
            if not waiting or CLOCK() >= deadline:
                break
            SLEEP(READY_POLL)
            live = _live(kubectl)
        if waiting:
            module.fail_json(msg='Nodes %s are not Ready after %ds; see `kubectl describe node` and '
                                 'the kubelet log on them (journalctl -u kubelet). Usual causes: '
                                 'no CNI yet, kubelet cannot reach the API server'
                                 % (', '.join(waiting), params['ready_timeout']),
                             not_ready=waiting, changes=result['changes'],
                             changed=result['changed'])
    result['not_ready'] = not_ready(live, wanted)
    return result


def main():
    argument_spec = dict(
        nodes=dict(type='dict', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        wait_ready=dict(type='bool', default=False),
        ready_timeout=dict(type='int', default=300),
    )
    argument_spec.update(KUBECTL_COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    exit_module(module, run_module)


if __name__ == '__main__':
    main()
