#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_join
short_description: Join a node to a kubeadm cluster, after checking every join input
version_added: 0.1.0
description:
  - Joins this node as a worker (edge or cloud) or, with O(control_plane=true), as another control-plane node,
    through a C(JoinConfiguration) file written with mode 0600 and removed afterwards. The token and certificate
    key never appear on kubeadm's command line.
  - "Before anything on the node changes it makes kubeadm's own discovery checks, so mistakes fail early and
    clearly: the endpoint accepts TCP and TLS within O(discovery_timeout); the anonymous C(kube-public/cluster-info)
    ConfigMap carries a signature for the token id (none means the token is unknown or expired); that HS256 JWS
    verifies with the token secret; the cluster CA matches O(ca_cert_hashes); a second request verified against
    that CA returns the same data."
  - With O(cluster_nodes) (the RV(edge.cluster.node_info#module:nodes) result of M(edge.cluster.node_info), run on
    the control plane), it also refuses a O(node_name) already registered by another machine, Ready or not. The
    module runs on the joining node, which has no credentials to ask the API itself; this is why the lookup is a
    separate, read-only step on the control plane.
  - Idempotent. A node with C(/etc/kubernetes/kubelet.conf) whose Node object exists (per O(cluster_nodes), else as
    its own kubelet credentials see it) and whose kubelet is healthy is left alone.
  - A half-finished join (kubelet.conf or other kubeadm files present but no Node object) is recovered. The node
    is reset (as M(edge.cluster.kubeadm_reset) does) and joined again.
  - When kubeadm fails, the message carries its error and what to do next; by default the node is then cleaned
    with C(kubeadm reset --force).
extends_documentation_fragment:
  - edge.cluster._attributes
  - edge.cluster._attributes.ACTIONGROUP_KUBEADM
attributes:
  check_mode:
    support: full
    details:
      - Makes all the discovery checks (read-only network requests) and reports whether the node would join.
  diff_mode:
    support: none
    details:
      - The only file written holds secrets and is removed after the join.
  idempotent:
    support: full
options:
  api_server_endpoint:
    description: C(host:port) of the API server or control-plane endpoint, as RV(edge.cluster.kubeadm_init#module:endpoint).
    type: str
    required: true
  token:
    description: Bootstrap token C(<id>.<secret>). Never logged.
    type: str
    required: true
  ca_cert_hashes:
    description: Accepted C(sha256:) hashes of the cluster CA (C(--discovery-token-ca-cert-hash)). There is no way to
      skip the CA check.
    type: list
    elements: str
    required: true
  node_name:
    description: Name of the Node object; the lower-cased host name when unset (as kubeadm).
    type: str
  control_plane:
    description: Join as a control-plane node (C(--control-plane)); needs O(certificate_key).
    type: bool
    default: false
  certificate_key:
    description: Key of the certificates uploaded by C(kubeadm init --upload-certs). Never logged.
    type: str
  apiserver_advertise_address:
    description: Address this control-plane node's API server advertises.
    type: str
  apiserver_bind_port:
    description: Port of this control-plane node's API server.
    type: int
    default: 6443
  ignore_preflight_errors:
    description: Preflight checks whose errors become warnings.
    type: list
    elements: str
    default: []
  skip_phases:
    description: kubeadm join phases to skip.
    type: list
    elements: str
    default: []
  config:
    description:
      - "Extra C(JoinConfiguration) settings, deep-merged over the generated document, as C({JoinConfiguration:
        {...}}). Kubelet settings come from the cluster (C(kubelet-config) ConfigMap): set them at init."
      - Secret fields are refused here; use O(token) and O(certificate_key).
    type: dict
    default: {}
  cluster_nodes:
    description:
      - The Nodes registered in the cluster, as M(edge.cluster.node_info) returns them (a dict keyed by node name) or
        a plain list of names. Enables the duplicate-name check and the half-finished-join detection without
        credentials on this node.
    type: raw
  discovery_timeout:
    description: Seconds allowed for the TCP connection and TLS handshake of each discovery request.
    type: int
    default: 10
  discovery_wait:
    description:
      - Seconds the discovery checks are retried while the endpoint is unreachable or cluster-info carries no
        signature for the token yet (the control plane signs a new token a few seconds after it is made).
      - A wrong CA hash or token secret fails at once.
    type: int
    default: 60
  kubelet_wait:
    description: Seconds to wait for the kubelet of an already joined node to report healthy.
    type: int
    default: 30
  config_path:
    description: Where the JoinConfiguration is written (mode 0600) while kubeadm runs; removed afterwards.
    type: path
    default: /etc/kubernetes/kubeadm-join.yaml
  kubeadm:
    description: The kubeadm binary, a name looked up in C(PATH) or a path.
    type: path
    default: kubeadm
  kubectl:
    description: kubectl, used with the node's own kubelet credentials to see whether its Node exists when
      O(cluster_nodes) is not given.
    type: path
    default: kubectl
  cri_socket:
    description: CRI endpoint of the container runtime.
    type: str
    default: unix:///run/containerd/containerd.sock
  reset_on_failure:
    description: After a failed join, clean the node with C(kubeadm reset --force).
    type: bool
    default: true
requirements:
  - Python 3.8 or newer on the node; no Python library beyond the standard one.
seealso:
  - module: edge.cluster.node_info
  - module: edge.cluster.kubeadm_init
  - module: edge.cluster.bootstrap_token
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Nodes already in the cluster (read on the control plane)
  edge.cluster.node_info:
  delegate_to: "{{ groups['control_plane'][0] }}"
  run_once: true
  register: edge_cluster_nodes
  become: true

- name: Join an edge worker
  edge.cluster.kubeadm_join:
    api_server_endpoint: 10.213.0.10:6443
    token: "{{ edge_cluster_join_token }}"
    ca_cert_hashes: ["{{ edge_cluster_ca_cert_hash }}"]
    cluster_nodes: "{{ edge_cluster_nodes.nodes }}"
  become: true
"""

RETURN = r"""
joined:
  description: V(true) when kubeadm join ran (or would run in check mode).
  returned: always
  type: bool
node_name:
  description: Name of the Node.
  returned: always
  type: str
reset_before_join:
  description: V(true) when a half-finished join was cleaned up first.
  returned: always
  type: bool
discovery:
  description: What the discovery checks found (the matching CA hash, the server in cluster-info).
  returned: when the checks ran
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._command import exit_module
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_join import ARGUMENT_SPEC, KubeadmJoin


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    exit_module(module, lambda started: KubeadmJoin(started)())


if __name__ == '__main__':
    main()
