#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_init
short_description: Initialise the first control-plane node with kubeadm, once
version_added: 0.1.0
description:
  - Renders a kubeadm configuration (C(InitConfiguration), C(ClusterConfiguration), C(KubeletConfiguration) and,
    when given, C(KubeProxyConfiguration)) from options named after C(edgeadm init) / C(kubeadm init) flags, writes
    it with mode 0600 and runs C(kubeadm init --config).
  - The configuration is C(kubeadm.k8s.io/v1beta4) for Kubernetes 1.31 and newer and C(kubeadm.k8s.io/v1beta3) for
    1.22 to 1.30 (flag maps such as C(extraArgs) are lists of C({name, value}) in v1beta4 and maps in v1beta3).
  - "Security defaults, which edgeadm did not set: kubelet C(cgroupDriver: systemd), C(rotateCertificates: true),
    anonymous kubelet authentication off, webhook authorization, and the C(NodeRestriction) admission plugin (kept
    even when O(config) lists other plugins)."
  - The bootstrap token and the certificate key reach kubeadm only through the 0600 file, never on its command line
    (which C(ps) and C(-vvv) show). After kubeadm ran the file is rewritten without them.
  - Idempotent. When C(admin.conf) exists and the API server answers C(/readyz) through it, nothing is run; the live
    C(ClusterConfiguration) (ConfigMap C(kube-system/kubeadm-config)) is compared with the requested one, and any
    difference is returned in RV(drift) and warned about, never applied.
  - An unhealthy existing control plane, or leftovers of an earlier attempt, make the module fail before anything
    changes, with the advice to clean the node with M(edge.cluster.kubeadm_reset).
  - When kubeadm fails, the message carries its error, the failed phase, the preflight errors and what to do next;
    by default the node is then cleaned with C(kubeadm reset --force) so nothing half-done stays behind.
extends_documentation_fragment:
  - edge.cluster._attributes
  - edge.cluster._attributes.ACTIONGROUP_KUBEADM
attributes:
  check_mode:
    support: full
    details:
      - Validates everything, reads the node and the live cluster, and reports whether kubeadm init would run.
  diff_mode:
    support: full
    details:
      - Shows the configuration file written to O(config_path), without its secrets.
  idempotent:
    support: full
    details:
      - A node with a healthy control plane is never initialised again.
options:
  kubernetes_version:
    description:
      - Kubernetes version to deploy (C(--kubernetes-version)), e.g. C(v1.34.12).
      - Defaults to the version of the kubeadm binary. kubeadm deploys its own minor version or the one before.
    type: str
  image_repository:
    description: Registry and path of the control-plane images (C(--image-repository)).
    type: str
  service_cidr:
    description: Service network (C(--service-cidr)); kubeadm's default is C(10.96.0.0/12).
    type: str
  pod_network_cidr:
    description:
      - Pod network (C(--pod-network-cidr)). Required by flannel, which reads node pod CIDRs allocated from it.
    type: str
  service_dns_domain:
    description: Cluster DNS domain (C(--service-dns-domain)).
    type: str
  apiserver_cert_extra_sans:
    description: Extra names and addresses in the API server certificate (C(--apiserver-cert-extra-sans)).
    type: list
    elements: str
    default: []
  apiserver_advertise_address:
    description: Address the API server advertises (C(--apiserver-advertise-address)); kubeadm picks the default
      route's address when unset.
    type: str
  apiserver_bind_port:
    description: Port of the API server (C(--apiserver-bind-port)).
    type: int
    default: 6443
  control_plane_endpoint:
    description:
      - Shared endpoint of the control plane, C(host) or C(host:port) (C(--control-plane-endpoint)), e.g. a VIP.
      - Needed to add control-plane nodes later.
    type: str
  upload_certs:
    description: Upload the control-plane certificates, encrypted with O(certificate_key), for control-plane joins
      (C(--upload-certs)). kubeadm deletes them after two hours.
    type: bool
    default: false
  certificate_key:
    description:
      - Key (64 hex characters) encrypting the uploaded certificates. Generated when O(upload_certs=true) and unset.
      - Never logged; passed to kubeadm through the configuration file.
    type: str
  token:
    description:
      - Bootstrap token C(<6 of [a-z0-9]>.<16 of [a-z0-9]>) created by init. Generated when unset.
      - Never logged; passed to kubeadm through the configuration file.
    type: str
  token_ttl:
    description: Lifetime of that token (kubeadm durations, C(1h), C(30m)). Join tokens should be short-lived;
      make further ones with M(edge.cluster.bootstrap_token).
    type: str
    default: 1h
  node_name:
    description: Name of the Node object (C(--node-name)); the host name when unset.
    type: str
  skip_phases:
    description: kubeadm init phases to skip (C(--skip-phases)), e.g. C(addon/kube-proxy).
    type: list
    elements: str
    default: []
  ignore_preflight_errors:
    description: Preflight checks whose errors become warnings (C(--ignore-preflight-errors)).
    type: list
    elements: str
    default: []
  edge_mode:
    description:
      - The API server of an edge cluster (edgeadm's C(--enable-edge)), with upstream Konnectivity in place of
        SuperEdge's tunnel.
      - The API server sends what it dials into the cluster (kubelets for logs, exec and port-forward, pods,
        services) through the konnectivity server on its own control plane, over the Unix socket in
        C(/etc/kubernetes/konnectivity) named by C(egress-selector-configuration.yaml) there, which the
        P(edge.cluster.edge_mode#role) role writes before kubeadm runs. Nodes behind NAT are reached through the agents
        they run.
      - A node's C(InternalIP) goes first among the kubelet addresses; the PodTolerationRestriction admission
        plugin is on (edge namespaces carry their tolerated outage); C(127.0.0.1) and C(localhost) are added to
        the API certificate (node-local load balancers).
    type: bool
    default: false
  default_toleration_seconds:
    description:
      - Seconds a pod stays on a NotReady or unreachable node before it is evicted, for pods that do not say
        (the API server's C(--default-not-ready-toleration-seconds) and C(--default-unreachable-toleration-seconds)).
      - Unset keeps Kubernetes' 300.
    type: int
  node_monitor_grace_period:
    description:
      - How long a node may go without reporting before it is marked unreachable (the controller manager's
        C(--node-monitor-grace-period)), a duration such as C(40s). Unset keeps Kubernetes' default.
    type: str
  kubelet_server_tls_bootstrap:
    description:
      - Have kubelets request their serving certificate from the cluster CA (C(serverTLSBootstrap)).
      - Off by default because kubeadm installs no approver for those requests, and without one C(kubectl logs)
        and C(exec) stop working.
    type: bool
    default: false
  config:
    description:
      - Extra kubeadm configuration, a dict of documents keyed by kind (C(InitConfiguration),
        C(ClusterConfiguration), C(KubeletConfiguration), C(KubeProxyConfiguration)), deep-merged over the generated
        ones (dicts merge, other values replace).
      - Flag maps (C(extraArgs), C(kubeletExtraArgs)) may be written as maps or as C({name, value}) lists; they are
        rendered as the configuration version wants.
      - Secret fields (C(bootstrapTokens), C(certificateKey)) are refused here because this option is logged; use
        O(token) and O(certificate_key).
    type: dict
    default: {}
  config_path:
    description:
      - Where the rendered configuration is written (mode 0600). It holds the secrets only while kubeadm runs and
        is then rewritten without them.
    type: path
    default: /etc/kubernetes/kubeadm-init.yaml
  kubeadm:
    description: The kubeadm binary, a name looked up in C(PATH) or a path.
    type: path
    default: kubeadm
  cri_socket:
    description: CRI endpoint of the container runtime (C(--cri-socket)).
    type: str
    default: unix:///run/containerd/containerd.sock
  kubectl:
    description: The kubectl binary used to check an existing control plane.
    type: path
    default: kubectl
  kubeconfig:
    description: The admin kubeconfig kubeadm writes; its presence marks an initialised control plane.
    type: path
    default: /etc/kubernetes/admin.conf
  wait_timeout:
    description: Seconds to wait for an existing control plane's API server to answer before failing.
    type: int
    default: 120
  reset_on_failure:
    description: After a failed kubeadm init, run C(kubeadm reset --force) so the node is clean for the next try.
      Set to V(false) to keep the state for debugging.
    type: bool
    default: true
requirements:
  - Python 3.8 or newer on the node; no Python library beyond the standard one.
  - kubeadm, kubelet and kubectl (the static package), a running container runtime, and the control-plane images.
notes:
  - Register the result only from a task with C(no_log=true) or read just the non-secret fields; RV(token) and
    RV(certificate_key) are secrets.
seealso:
  - module: edge.cluster.kubeadm_join
  - module: edge.cluster.kubeadm_reset
  - module: edge.cluster.bootstrap_token
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: First control-plane node of an edge cluster
  edge.cluster.kubeadm_init:
    kubernetes_version: v1.34.12
    pod_network_cidr: 10.244.0.0/16
    apiserver_advertise_address: "{{ ansible_default_ipv4.address }}"
    apiserver_cert_extra_sans: [cp.edge.example]
    edge_mode: true
  register: edge_cluster_init
  no_log: true
  become: true

- name: Pass kubelet and API server settings through
  edge.cluster.kubeadm_init:
    pod_network_cidr: 10.244.0.0/16
    config:
      ClusterConfiguration:
        apiServer:
          extraArgs:
            audit-log-maxage: "7"
      KubeletConfiguration:
        maxPods: 60
  become: true
"""

RETURN = r"""
initialized:
  description: V(true) when kubeadm init ran (or would run, in check mode).
  returned: always
  type: bool
endpoint:
  description: C(host:port) joins use (from the admin kubeconfig), or the expected one in check mode.
  returned: when known
  type: str
  sample: 10.213.0.10:6443
ca_cert_hash:
  description: C(sha256:) hash of the cluster CA for C(kubeadm join).
  returned: when the CA exists
  type: str
token:
  description: The bootstrap token created by this init, in clear. V(null) when nothing was initialised (use
    M(edge.cluster.bootstrap_token) then) and in check mode.
  returned: always
  type: str
certificate_key:
  description: The key of the uploaded certificates, in clear, when O(upload_certs=true) and init ran.
  returned: always
  type: str
kubeadm_config:
  description: The rendered documents keyed by kind, with secrets replaced by C(<hidden>).
  returned: always
  type: dict
api_version:
  description: The kubeadm configuration version used.
  returned: always
  type: str
  sample: kubeadm.k8s.io/v1beta4
drift:
  description: Settings of the requested ClusterConfiguration that differ from the running cluster's; not applied.
  returned: always
  type: list
  elements: dict
  sample: [{path: networking.podSubnet, requested: 10.245.0.0/16, live: 10.244.0.0/16}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._command import exit_module
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_init import (
    ARGUMENT_SPEC,
    KubeadmInit,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    exit_module(module, lambda started: KubeadmInit(started)())


if __name__ == '__main__':
    main()
