#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_node_name
short_description: Choose a joining node's name (Penetrator style) and record it on the node
version_added: 0.1.0
description:
  - Runs on a node about to join and decides its Node name, then writes it to O(path) (mode 0644), so later runs
    (a retry after a failed join, a reinstall) use the same name.
  - "Order: O(name) when given (Penetrator's C(nodeNamesOverride)); else the name recorded in O(path), when it
    still fits O(prefix), no other Node has it and O(rename=false); else with O(prefix) a new
    C(<prefix>-<6 random [a-z0-9]>) (Penetrator's C(nodeNamePrefix) naming, from Python's C(secrets)) that is not
    in O(taken); else O(default)."
  - A trailing C(-) of O(prefix) is dropped, so C(edge) and C(edge-) both give C(edge-x7k2p9).
extends_documentation_fragment:
  - edge.cluster._attributes
attributes:
  check_mode:
    support: full
    details:
      - Returns the name it would choose and writes nothing (a generated name then differs from the one a real run
        would pick).
  diff_mode:
    support: full
    details:
      - Shows the recorded name before and after.
  idempotent:
    support: full
    details:
      - The recorded name is kept, so a second run reports no change.
options:
  path:
    description: The file that records the node's name.
    type: path
    default: /etc/edge-cluster/node-name
  prefix:
    description: Name prefix; empty for no generated names.
    type: str
    default: ''
  name:
    description: Use exactly this name (it must not be another Node's).
    type: str
  default:
    description:
      - The name when there is no O(prefix), no O(name) and nothing recorded.
      - Defaults to the node's hostname in lowercase (what kubeadm would use).
    type: str
  taken:
    description: Names of the cluster's Nodes other than this node's own (M(edge.cluster.node_info)).
    type: list
    elements: str
    default: []
  rename:
    description: Do not keep the recorded name; generate a new one from O(prefix) (a reinstall with a new name).
    type: bool
    default: false
requirements:
  - Python 3.8 or newer on the node.
seealso:
  - module: edge.cluster.node_info
  - module: edge.cluster.kubeadm_join
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Name the node edge-<6 random characters>, once
  edge.cluster.fleet_node_name:
    prefix: edge
    taken: "{{ cluster_nodes.nodes | list }}"
  register: fleet_name
  become: true

- name: Join under it
  edge.cluster.kubeadm_join:
    node_name: "{{ fleet_name.node_name }}"
    api_server_endpoint: 10.0.0.10:6443
    token: "{{ join_token }}"
    ca_cert_hashes: ["{{ ca_hash }}"]
  become: true
"""

RETURN = r"""
node_name:
  description: The chosen name.
  returned: success
  type: str
  sample: edge-x7k2p9
source:
  description: Where it came from, V(override), V(recorded), V(generated) or V(default).
  returned: success
  type: str
  sample: recorded
previous:
  description: The name recorded before this run (empty when none).
  returned: success
  type: str
  sample: edge-a1b2c3
path:
  description: The record file.
  returned: always
  type: str
  sample: /etc/edge-cluster/node-name
"""

import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._command import exit_module
from ansible_collections.edge.cluster.plugins.module_utils._files import write_atomic
from ansible_collections.edge.cluster.plugins.module_utils._fleet import (
    FleetError,
    choose_node_name,
)


def _read(path):
    try:
        with open(path, 'r', encoding='utf-8') as handle:
            return handle.read(256).strip()
    except FileNotFoundError:
        return ''


def run_module(module):
    params = module.params
    path = params['path']
    try:
        previous = _read(path)
    except OSError as exc:
        module.fail_json(path=path, msg='cannot read %s: %s (it needs become: true)' % (path, exc.strerror or exc))
    try:
        name, source = choose_node_name(recorded=previous, prefix=params['prefix'] or None,
                                        override=params['name'],
                                        default=params['default'] or socket.gethostname().lower(),
                                        taken=params['taken'], rename=params['rename'])
    except FleetError as exc:
        module.fail_json(path=path, msg=str(exc))
    changed = name != previous
    result = dict(changed=changed, node_name=name, source=source, previous=previous, path=path)
    if module._diff:
        result['diff'] = dict(before=previous + '\n' if previous else '', after=name + '\n',
                              before_header=path, after_header=path)
    if changed and not module.check_mode:
        try:
            write_atomic(path, name + '\n', 0o644, make_dirs=True)
        except OSError as exc:
            module.fail_json(path=path, msg='cannot write %s: %s' % (path, exc.strerror or exc))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/edge-cluster/node-name'),
            prefix=dict(type='str', default=''),
            name=dict(type='str'),
            default=dict(type='str'),
            taken=dict(type='list', elements='str', default=[]),
            rename=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    exit_module(module, run_module, unexpected='unexpected error choosing the node name',
                context=dict(path=module.params['path']))


if __name__ == '__main__':
    main()
