# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""The backend of edge.cluster.kubeadm_join: its argument spec and the procedure, in order:
check every option, find kubeadm, decide whether this node is a member already, must join, or
must be cleaned of a half-finished join first, discover the cluster (CA pinned), then run
kubeadm join once with the 0600 config file.
"""

from __future__ import annotations

import os
import socket

from ansible_collections.edge.cluster.plugins.module_utils._bootstrap_token import (
    BootstrapTokenError,
    parse_token,
)
from ansible_collections.edge.cluster.plugins.module_utils._certificate_key import (
    is_certificate_key,
)
from ansible_collections.edge.cluster.plugins.module_utils._command import (
    CommandError,
    module_runner,
)
from ansible_collections.edge.cluster.plugins.module_utils._discovery import (
    DiscoveryError,
    discover_with_retry,
)
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
    run_with_config,
    validated_options,
    version_argv,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_config import (
    JOIN_KINDS,
    build_join_documents,
    finalize,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_fields import (
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

ARGUMENT_SPEC = dict(
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
ARGUMENT_SPEC.update(KUBEADM_COMMON_ARGS)

# Seams for the unit tests (a temporary tree, a local TLS server, a fake cleaner).
PATHS = KubePaths()
DISCOVER = discover_with_retry
KUBELET_HEALTHY = kubelet_healthy
CLEANER = NodeCleaner


def validate(params):
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
    opts['registered'] = registered_from(params['cluster_nodes'], opts['node_name'])
    return opts


def registered_from(cluster_nodes, name):
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


class KubeadmJoin:
    """One run of the module: the result dict, or the module ends with fail_json."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.run = module_runner(module)

    def self_registered(self, name):
        """Whether the Node exists, asked with this node's own kubelet credentials (read only)."""
        module, params, run = self.module, self.params, self.run
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

    def decide(self, opts):
        """'member' (nothing to do), 'join', or 'rejoin' (reset the half-finished state first)."""
        module, params = self.module, self.params
        name = opts['node_name']
        registered, ready = opts['registered']
        is_control_plane = os.path.exists(PATHS.apiserver_manifest)
        if os.path.exists(PATHS.kubelet_conf):
            if registered is None:
                registered = self.self_registered(name)
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

    def kubeadm(self):
        """(kubeadm path or None, kubeadm API version or None); check mode may run before
        kubeadm is installed, and then checks the join inputs only."""
        module, params, run = self.module, self.params, self.run
        kubeadm = locate_binary(module, params['kubeadm'])
        if kubeadm is None and module.check_mode:
            # Check mode on a fresh machine: the static package is not installed yet either.
            module.warn('kubeadm (%s) is not installed yet; check mode checks the join inputs only'
                        % params['kubeadm'])
            return None, None
        kubeadm = find_binary(module, params['kubeadm'], 'kubeadm')
        rc, stdout, stderr = run(version_argv(kubeadm))
        if rc != 0:
            raise CommandError('kubeadm version failed: %s' % (stderr or stdout).strip(),
                               version_argv(kubeadm), rc, stdout, stderr)
        try:
            return kubeadm, api_version_for(parse_kubeadm_version(stdout))
        except KubeadmConfigError as exc:
            module.fail_json(msg=str(exc))

    def discover(self, opts):
        """cluster-info from the API server, its CA pinned; fails before anything changed."""
        params = self.params
        try:
            return DISCOVER(opts['host'], opts['port'], opts['token_id'], opts['token_secret'],
                            opts['ca_cert_hashes'], timeout=float(params['discovery_timeout']),
                            wait=params['discovery_wait'])
        except DiscoveryError as exc:
            self.module.fail_json(msg='cannot join %s: %s. Nothing on this node was changed'
                                      % (params['api_server_endpoint'], exc.msg), discovery_error=exc.kind)

    def clean_half_join(self, kubeadm):
        """Remove what a join that did not finish left behind (kubeadm reset and more)."""
        paths = [PATHS.etc, PATHS.kubelet] + [p for p in DEFAULT_PATHS
                                              if p not in ('/etc/kubernetes', '/var/lib/kubelet')]
        cleaner = CLEANER(self.run, self.module.get_bin_path, kubeadm=kubeadm,
                          cri_socket=self.params['cri_socket'], paths=paths, etcd_data_dir=PATHS.etcd,
                          kubeadm_state_paths=[PATHS.etc, PATHS.kubelet])
        cleaner.execute(cleaner.gather())
        for warning in cleaner.warnings:
            self.module.warn('cleaning the half-finished join: %s' % warning)

    def join(self, kubeadm, documents):
        """kubeadm join with the 0600 config file, removed afterwards; fails with kubeadm's error."""
        params, run = self.params, self.run
        argv = join_argv(kubeadm, params['config_path'])
        rc, stdout, stderr = run_with_config(run, argv, params['config_path'], to_yaml(documents))
        if rc != 0:
            failure = KubeadmFailure(stdout, stderr, (params['token'], params['certificate_key']))
            reset_done = None
            if params['reset_on_failure']:
                reset_done = run(reset_argv(kubeadm, params['cri_socket']))[0] == 0
            self.module.fail_json(msg=failure_message('kubeadm join', failure, reset_done), rc=rc, cmd=argv,
                                  error_tail=failure.tail(), preflight_errors=failure.preflight_errors,
                                  phase=failure.phase)

    def __call__(self):
        module, params = self.module, self.params
        opts = validated_options(module, validate, (KubeadmConfigError, BootstrapTokenError))
        kubeadm, api_version = self.kubeadm()
        result = dict(changed=False, joined=False, node_name=opts['node_name'],
                      reset_before_join=False, control_plane=params['control_plane'])
        action, reason = self.decide(opts)
        if action == 'member':
            return result
        result['discovery'] = self.discover(opts)
        result.update(changed=True, joined=True, reset_before_join=action == 'rejoin')
        if reason:
            result['reason'] = reason
        if module.check_mode:
            return result
        documents = finalize(build_join_documents(opts), api_version, JOIN_KINDS)
        if action == 'rejoin':
            self.clean_half_join(kubeadm)
        self.join(kubeadm, documents)
        return result
