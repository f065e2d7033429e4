#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_reset
short_description: Return a node to the state before kubeadm init or join, completely
version_added: 0.1.0
description:
  - Runs C(kubeadm reset --force) and removes what it leaves behind (edgeadm's reset left all of it), so the node is
    ready for a fresh init or join.
  - "Removed: leftover pods and containers in containerd's C(k8s.io) namespace (images stay, so an offline node can
    join again); mounts under C(/var/lib/kubelet) and CNI network namespaces; the contents of O(paths) (kubeadm and
    kubelet state, CNI configuration and state) and of O(etcd_data_dir); the interfaces in O(interfaces); the
    iptables and ip6tables chains whose names start with O(chain_prefixes) and the rules that jump to them, in every
    table and every iptables backend present (legacy and nft); kube-proxy's and flannel's nftables tables."
  - Nothing else of the firewall is touched, and file removal never crosses a mount point.
  - With O(delete_node=true) the Node object O(node_name) is deleted through the API with the admin kubeconfig. That
    needs the control plane's credentials, so run that part delegated to a control-plane node with
    O(cleanup_local=false), and the local cleanup on the node itself.
  - After cleaning, the node is inspected again; anything still present makes the module fail with the list.
attributes:
  check_mode:
    support: full
    details:
      - Reports everything that would be removed (RV(removed)) and changes nothing.
  diff_mode:
    support: full
    details:
      - Shows the inventory of leftovers before and after.
  idempotent:
    support: full
    details:
      - A clean node reports no change.
options:
  cleanup_local:
    description: Clean this node. Set to V(false) on a task that only deletes a Node object.
    type: bool
    default: true
  delete_node:
    description: Delete the Node object O(node_name) through the API (O(kubectl), O(kubeconfig)).
    type: bool
    default: false
  node_name:
    description: Node object to delete with O(delete_node=true).
    type: str
  paths:
    description: Directories whose contents are removed (the directories stay), or files that are removed.
    type: list
    elements: path
    default: [/etc/kubernetes, /var/lib/kubelet, /etc/cni/net.d, /var/lib/cni, /run/flannel, /run/kubernetes]
  etcd_data_dir:
    description: etcd's data directory on control-plane nodes, emptied too. Empty string to keep it.
    type: path
    default: /var/lib/etcd
  interfaces:
    description: Network interfaces deleted when present.
    type: list
    elements: str
    default: [cni0, flannel.1, flannel-v6.1, flannel-wg, flannel-wg-v6, kube-ipvs0, kube-bridge, nodelocaldns]
  chain_prefixes:
    description:
      - iptables chains with these name prefixes are flushed and deleted, with the rules jumping to them.
      - Each prefix must be at least 3 characters, so a typo cannot select the whole firewall.
    type: list
    elements: str
    default: [KUBE-, FLANNEL-, CNI-]
  kubeadm:
    description: The kubeadm binary; when it is missing, the rest of the cleanup still happens.
    type: path
    default: kubeadm
  cri_socket:
    description: CRI endpoint of the container runtime.
    type: str
    default: unix:///run/containerd/containerd.sock
extends_documentation_fragment:
  - edge.cluster._attributes
  - edge.cluster._attributes.ACTIONGROUP_KUBEADM
  - edge.cluster._kubectl
requirements:
  - Python 3.8 or newer on the node.
seealso:
  - module: edge.cluster.kubeadm_init
  - module: edge.cluster.kubeadm_join
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Delete the Node object (on the control plane)
  edge.cluster.kubeadm_reset:
    delete_node: true
    node_name: "{{ inventory_hostname }}"
    cleanup_local: false
  delegate_to: "{{ groups['control_plane'][0] }}"
  become: true

- name: Clean the node itself
  edge.cluster.kubeadm_reset:
  become: true
"""

RETURN = r"""
removed:
  description: What was removed (or would be, in check mode).
  returned: always
  type: dict
  contains:
    kubeadm_reset:
      description: Whether C(kubeadm reset) ran.
      type: bool
    containers:
      description: Container ids left in containerd's k8s.io namespace.
      type: list
    mounts:
      description: Mount points unmounted.
      type: list
    paths:
      description: Paths emptied or removed.
      type: list
    interfaces:
      description: Interfaces deleted.
      type: list
    iptables:
      description: Per iptables binary and table, the chains deleted and the number of jump rules removed.
      type: dict
    nft_tables:
      description: nftables tables deleted.
      type: list
node_deleted:
  description: V(true) when the Node object was deleted (or would be).
  returned: always
  type: bool
"""

import os
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._command import (
    exit_module,
    module_runner,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_cli import KUBEADM_COMMON_ARGS
from ansible_collections.edge.cluster.plugins.module_utils._kubectl import (
    KUBECTL_COMMON_ARGS,
    kubectl_from_module,
)
from ansible_collections.edge.cluster.plugins.module_utils._node import (
    delete_node_args,
    get_node_args,
)
from ansible_collections.edge.cluster.plugins.module_utils._reset import (
    DEFAULT_CHAIN_PREFIXES,
    DEFAULT_ETCD_DATA_DIR,
    DEFAULT_INTERFACES,
    DEFAULT_PATHS,
    NodeCleaner,
)

CLEANER = NodeCleaner  # seam for unit tests


def _which(module):
    def which(name):
        return module.get_bin_path(name, opt_dirs=['/usr/local/sbin', '/usr/sbin', '/sbin',
                                                   '/usr/local/bin', '/usr/bin'])
    return which


def _kubeadm(module, which):
    value = module.params['kubeadm']
    if os.sep in value:
        return value if os.access(value, os.X_OK) else None
    return which(value)


def _delete_node(module, result):
    params = module.params
    kubectl = kubectl_from_module(module)
    kubectl.wait_ready(params['wait_timeout'])
    name = params['node_name']
    found = kubectl.check(get_node_args(name), 'looking up Node %s' % name).strip()
    result['node_deleted'] = bool(found)
    if found:
        result['changed'] = True
        if not module.check_mode:
            kubectl.check(delete_node_args(name), 'deleting Node %s' % name)


def run_module(module):
    params = module.params
    result = dict(changed=False, node_deleted=False, removed={})
    short = [prefix for prefix in params['chain_prefixes'] if len(prefix.strip()) < 3]
    if short:
        module.fail_json(msg='chain_prefixes %s are too short: a prefix selects every chain whose '
                             'name starts with it; use names like KUBE- or FLANNEL-' % short)
    if params['delete_node']:
        if not params['node_name']:
            module.fail_json(msg='delete_node=true needs node_name, the Node object to delete')
        local_names = (socket.gethostname().lower(), socket.getfqdn().lower())
        if params['cleanup_local'] and params['node_name'] not in local_names:
            module.fail_json(
                msg='delete_node runs where the admin kubeconfig is (a control-plane node), and '
                    'cleanup_local=true would reset that machine too, not %s. Use two tasks: '
                    'delete_node=true with cleanup_local=false delegated to the control plane, '
                    'then the cleanup on the node itself' % params['node_name'])
        _delete_node(module, result)
    if not params['cleanup_local']:
        return result
    which = _which(module)
    cleaner = CLEANER(module_runner(module), which, kubeadm=_kubeadm(module, which),
                      cri_socket=params['cri_socket'], paths=params['paths'],
                      etcd_data_dir=params['etcd_data_dir'] or None,
                      interfaces=params['interfaces'], chain_prefixes=params['chain_prefixes'])
    plan = cleaner.gather()
    result['removed'] = plan.report()
    if plan.empty:
        return result
    result['changed'] = True
    if module._diff:
        result['diff'] = dict(before=plan.report(), after={})
    if module.check_mode:
        return result
    if params['kubeadm'] and not cleaner.kubeadm:
        module.warn('kubeadm (%s) not found; cleaning without kubeadm reset' % params['kubeadm'])
    cleaner.execute(plan)
    residue = cleaner.gather()
    if not residue.empty:
        module.fail_json(
            msg='the node is not clean after the reset; still present: %s. Problems met: %s'
                % (residue.report(), '; '.join(cleaner.warnings) or 'none reported'),
            removed=plan.report(), remaining=residue.report())
    for warning in cleaner.warnings:
        module.warn(warning)
    return result


def main():
    argument_spec = dict(
        cleanup_local=dict(type='bool', default=True),
        delete_node=dict(type='bool', default=False),
        node_name=dict(type='str'),
        paths=dict(type='list', elements='path', default=list(DEFAULT_PATHS)),
        etcd_data_dir=dict(type='path', default=DEFAULT_ETCD_DATA_DIR),
        interfaces=dict(type='list', elements='str', default=list(DEFAULT_INTERFACES)),
        chain_prefixes=dict(type='list', elements='str', default=list(DEFAULT_CHAIN_PREFIXES)),
    )
    argument_spec.update(KUBEADM_COMMON_ARGS)
    argument_spec.update(KUBECTL_COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    exit_module(module, run_module)


if __name__ == '__main__':
    main()
