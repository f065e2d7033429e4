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

import os
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._bootstrap_token import (
    BootstrapTokenError,
    parse_token,
)
from ansible_collections.edge.cluster.plugins.module_utils._certificate_key import (
    is_certificate_key,
)
from ansible_collections.edge.cluster.plugins.module_utils._command import (
    CommandError,
    exit_module,
    module_runner,
)
from ansible_collections.edge.cluster.plugins.module_utils._discovery import (
    DiscoveryError,
    discover_with_retry,
)
from ansible_collections.edge.cluster.plugins.module_utils._files import write_atomic
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_cli import (
    KUBEADM_COMMON_ARGS,
    KubePaths,
    KubeadmFailure,
    failure_message,
    find_binary,
    join_argv,
    kubelet_healthy,
    locate_binary,
    parse_kubeadm_version,
    reset_argv,
    version_argv,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_config import (
    JOIN_KINDS,
    build_join_documents,
    finalize,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_fields import (
    passthrough_secrets,
    validate_passthrough,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_values import (
    KubeadmConfigError,
    api_version_for,
    split_endpoint,
    validate_ca_cert_hash,
    validate_ip,
    validate_node_name,
)
from ansible_collections.edge.cluster.plugins.module_utils._reset import DEFAULT_PATHS, NodeCleaner
from ansible_collections.edge.cluster.plugins.module_utils._yaml import to_yaml

# Seams for the unit tests (a temporary tree, a local TLS server, a fake cleaner).
PATHS = KubePaths()
DISCOVER = discover_with_retry
KUBELET_HEALTHY = kubelet_healthy
CLEANER = NodeCleaner


def _validate(params):
    opts = dict(params)
    host, port = split_endpoint(params['api_server_endpoint'], 'api_server_endpoint')
    opts['host'], opts['port'] = host, port
    opts['token_id'], opts['token_secret'] = parse_token(params['token'])
    if not params['ca_cert_hashes']:
        raise KubeadmConfigError('ca_cert_hashes must list at least one sha256: hash of the '
                                 'cluster CA; joining without pinning the CA is not offered')
    opts['ca_cert_hashes'] = [validate_ca_cert_hash(item) for item in params['ca_cert_hashes']]
    opts['node_name'] = validate_node_name(params['node_name'] or socket.gethostname().lower())
    validate_ip(params['apiserver_advertise_address'], 'apiserver_advertise_address')
    if params['control_plane']:
        if not params['certificate_key']:
            raise KubeadmConfigError('control_plane=true needs certificate_key, the key printed by '
                                     'kubeadm init --upload-certs (kubeadm_init returns it)')
        if not is_certificate_key(params['certificate_key']):
            raise KubeadmConfigError('certificate_key must be 64 hex characters (value not shown)')
    elif params['certificate_key']:
        raise KubeadmConfigError('certificate_key is only used with control_plane=true')
    validate_passthrough(params['config'], JOIN_KINDS)
    if params['discovery_timeout'] <= 0:
        raise KubeadmConfigError('discovery_timeout must be a positive number of seconds')
    if params['discovery_wait'] < 0:
        raise KubeadmConfigError('discovery_wait must be 0 or more seconds')
    opts['registered'] = _registered_from(params['cluster_nodes'], opts['node_name'])
    return opts


def _registered_from(cluster_nodes, name):
    """(registered?, ready?) from cluster_nodes; (None, None) when not given."""
    if cluster_nodes is None:
        return None, None
    if isinstance(cluster_nodes, dict):
        if name not in cluster_nodes:
            return False, None
        info = cluster_nodes[name]
        return True, bool(info.get('ready')) if isinstance(info, dict) else None
    if isinstance(cluster_nodes, list):
        return name in [str(item) for item in cluster_nodes], None
    raise KubeadmConfigError('cluster_nodes must be the nodes dict of edge.cluster.node_info or '
                             'a list of node names, got %s' % type(cluster_nodes).__name__)


def _self_registered(module, run, params, name):
    """Whether the Node exists, asked with this node's own kubelet credentials (read only)."""
    kubectl = params['kubectl']
    if os.sep not in kubectl:
        kubectl = module.get_bin_path(kubectl, opt_dirs=['/usr/local/bin', '/usr/bin'])
    elif not os.access(kubectl, os.X_OK):
        kubectl = None
    if not kubectl:
        return None
    rc, stdout, stderr = run([kubectl, '--kubeconfig', PATHS.kubelet_conf, '--request-timeout',
                              '10s', 'get', 'node', name, '--output', 'name'])
    if rc == 0 and stdout.strip():
        return True
    if 'NotFound' in (stderr or '') or 'not found' in (stderr or ''):
        return False
    return None


def _decide(module, run, params, opts):
    """'member' (nothing to do), 'join', or 'rejoin' (reset the half-finished state first)."""
    name = opts['node_name']
    registered, ready = opts['registered']
    is_control_plane = os.path.exists(PATHS.apiserver_manifest)
    if os.path.exists(PATHS.kubelet_conf):
        if registered is None:
            registered = _self_registered(module, run, params, name)
        if registered is False:
            return 'rejoin', ('kubelet.conf exists but no Node %s is registered: a join that '
                              'did not finish' % name)
        healthy = KUBELET_HEALTHY(wait=params['kubelet_wait'])
        if not healthy and registered is None:
            module.fail_json(msg='this node has %s but its kubelet is not healthy and whether Node '
                                 '%s exists cannot be told (its credentials do not answer). Pass '
                                 'cluster_nodes from edge.cluster.node_info, or clean the node '
                                 'with edge.cluster.kubeadm_reset' % (PATHS.kubelet_conf, name))
        if not healthy:
            module.warn('node %s is registered but its kubelet does not report healthy on '
                        '127.0.0.1:10248; see journalctl -u kubelet' % name)
        if params['control_plane'] and not is_control_plane:
            module.fail_json(msg='node %s already joined as a worker; a worker cannot become a '
                                 'control-plane node in place: reset it (edge.cluster.kubeadm_reset '
                                 'with delete_node) and join again' % name)
        if not params['control_plane'] and is_control_plane:
            module.warn('node %s is a control-plane node; control_plane=false does not demote it'
                        % name)
        return 'member', None
    if registered:
        module.fail_json(
            msg='a Node named %s is already registered in the cluster (%s) but this machine has not '
                'joined (no %s): another machine uses that name, or this one was reset without '
                'deleting its Node. Delete the Node (edge.cluster.kubeadm_reset with '
                'delete_node=true and cleanup_local=false, delegated to the control plane) or '
                'choose another node_name' % (name, {True: 'Ready', False: 'NotReady'}.get(
                    ready, 'status unknown'), PATHS.kubelet_conf))
    leftovers = PATHS.leftovers()
    if leftovers:
        return 'rejoin', 'kubeadm state from an earlier attempt: %s' % ', '.join(leftovers)
    return 'join', None


def run_module(module):
    params = module.params
    # A secret put in the logged passthrough is refused below; mask it in this run's output.
    for secret in passthrough_secrets(params['config']):
        module.no_log_values.add(secret)
    try:
        opts = _validate(params)
    except (KubeadmConfigError, BootstrapTokenError) as exc:
        module.fail_json(msg=str(exc))
    run = module_runner(module)
    kubeadm = locate_binary(module, params['kubeadm'])
    api_version = None
    if kubeadm is None and module.check_mode:
        # Check mode on a fresh machine: the static package is not installed yet either.
        module.warn('kubeadm (%s) is not installed yet; check mode checks the join inputs only'
                    % params['kubeadm'])
    else:
        kubeadm = find_binary(module, params['kubeadm'], 'kubeadm')
        rc, stdout, stderr = run(version_argv(kubeadm))
        if rc != 0:
            raise CommandError('kubeadm version failed: %s' % (stderr or stdout).strip(),
                               version_argv(kubeadm), rc, stdout, stderr)
        try:
            api_version = api_version_for(parse_kubeadm_version(stdout))
        except KubeadmConfigError as exc:
            module.fail_json(msg=str(exc))

    result = dict(changed=False, joined=False, node_name=opts['node_name'],
                  reset_before_join=False, control_plane=params['control_plane'])
    action, reason = _decide(module, run, params, opts)
    if action == 'member':
        return result

    try:
        result['discovery'] = DISCOVER(opts['host'], opts['port'], opts['token_id'],
                                       opts['token_secret'], opts['ca_cert_hashes'],
                                       timeout=float(params['discovery_timeout']),
                                       wait=params['discovery_wait'])
    except DiscoveryError as exc:
        module.fail_json(msg='cannot join %s: %s. Nothing on this node was changed'
                             % (params['api_server_endpoint'], exc.msg), discovery_error=exc.kind)
    result.update(changed=True, joined=True, reset_before_join=action == 'rejoin')
    if reason:
        result['reason'] = reason
    if module.check_mode:
        return result

    documents = finalize(build_join_documents(opts), api_version, JOIN_KINDS)
    if action == 'rejoin':
        paths = [PATHS.etc, PATHS.kubelet] + [p for p in DEFAULT_PATHS
                                              if p not in ('/etc/kubernetes', '/var/lib/kubelet')]
        cleaner = CLEANER(run, module.get_bin_path, kubeadm=kubeadm,
                          cri_socket=params['cri_socket'], paths=paths,
                          etcd_data_dir=PATHS.etcd,
                          kubeadm_state_paths=[PATHS.etc, PATHS.kubelet])
        cleaner.execute(cleaner.gather())
        for warning in cleaner.warnings:
            module.warn('cleaning the half-finished join: %s' % warning)
    argv = join_argv(kubeadm, params['config_path'])
    write_atomic(params['config_path'], to_yaml(documents), make_dirs=True)
    try:
        rc, stdout, stderr = run(argv)
    finally:
        os.unlink(params['config_path'])
    if rc != 0:
        failure = KubeadmFailure(stdout, stderr, (params['token'], params['certificate_key']))
        reset_done = None
        if params['reset_on_failure']:
            reset_done = run(reset_argv(kubeadm, params['cri_socket']))[0] == 0
        module.fail_json(msg=failure_message('kubeadm join', failure, reset_done), rc=rc, cmd=argv,
                         error_tail=failure.tail(), preflight_errors=failure.preflight_errors,
                         phase=failure.phase)
    return result


def main():
    argument_spec = dict(
        api_server_endpoint=dict(type='str', required=True),
        token=dict(type='str', required=True, no_log=True),
        ca_cert_hashes=dict(type='list', elements='str', required=True),
        node_name=dict(type='str'),
        control_plane=dict(type='bool', default=False),
        certificate_key=dict(type='str', no_log=True),
        apiserver_advertise_address=dict(type='str'),
        apiserver_bind_port=dict(type='int', default=6443),
        ignore_preflight_errors=dict(type='list', elements='str', default=[]),
        skip_phases=dict(type='list', elements='str', default=[]),
        config=dict(type='dict', default={}),
        cluster_nodes=dict(type='raw'),
        discovery_timeout=dict(type='int', default=10),
        discovery_wait=dict(type='int', default=60),
        kubelet_wait=dict(type='int', default=30),
        config_path=dict(type='path', default='/etc/kubernetes/kubeadm-join.yaml'),
        kubectl=dict(type='path', default='kubectl'),
        reset_on_failure=dict(type='bool', default=True),
    )
    argument_spec.update(KUBEADM_COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    exit_module(module, run_module)


if __name__ == '__main__':
    main()
