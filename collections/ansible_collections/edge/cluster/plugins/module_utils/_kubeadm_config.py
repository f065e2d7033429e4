# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""kubeadm configuration files, built as data: the documents `kubeadm init --config` and
`kubeadm join --config` read, with this collection's security defaults, the user's passthrough
merged in, and the invariants the passthrough cannot remove.

Pure functions on dicts, standard library only (nodes run a bare python3); _yaml.to_yaml
renders the result, _kubeadm_fields.sanitize makes the copy that may be shown.
"""

from __future__ import annotations

import copy

from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_fields import (
    EXTRA_ARGS_PATHS,
    deep_merge,
    extra_args_for,
    extra_args_to_dict,
    get_path,
    set_path,
    validate_passthrough,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_values import (
    DEFAULT_CRI_SOCKET,
    KubeadmConfigError,
)

KUBELET_API = 'kubelet.config.k8s.io/v1beta1'
KUBE_PROXY_API = 'kubeproxy.config.k8s.io/v1alpha1'
INIT_KINDS = ('InitConfiguration', 'ClusterConfiguration', 'KubeletConfiguration',
              'KubeProxyConfiguration')
# kubeadm join reads only its JoinConfiguration; kubelet and kube-proxy settings come from the
# cluster (the kubelet-config and kube-proxy ConfigMaps made at init).
JOIN_KINDS = ('JoinConfiguration',)
TOKEN_USAGES = ['signing', 'authentication']
TOKEN_GROUPS = ['system:bootstrappers:kubeadm:default-node-token']
NODE_RESTRICTION = 'NodeRestriction'
# Edge mode: SuperEdge's tunnel, done with upstream Konnectivity. The API server sends everything it
# dials into the cluster (kubelets for logs/exec/port-forward, pods, services) through the
# konnectivity server on its own control plane, over a Unix socket in KONNECTIVITY_DIR; the agents on
# the nodes dialled out to those servers, so nodes behind NAT are reached (edge.cluster.edge_mode
# writes the egress file before kubeadm runs and starts the server afterwards). A node's InternalIP
# goes first because the agents announce their node's address, which the tunnel matches; edge host
# names rarely resolve in the cloud. PodTolerationRestriction lets the edge namespaces carry the
# tolerated outage as their pods' default (no cluster-wide raise: cloud pods fail over at the normal
# window). 127.0.0.1 and localhost join the API certificate for the node-local load balancers and
# the konnectivity server's own API client.
KONNECTIVITY_DIR = '/etc/kubernetes/konnectivity'
EGRESS_SELECTOR_CONFIG = KONNECTIVITY_DIR + '/egress-selector-configuration.yaml'
EDGE_APISERVER_ARGS = {
    'kubelet-preferred-address-types': 'InternalIP,ExternalIP,Hostname',
    'egress-selector-config-file': EGRESS_SELECTOR_CONFIG,
}
EDGE_ADMISSION_PLUGINS = ('PodTolerationRestriction',)
EDGE_CERT_SANS = ('127.0.0.1', 'localhost')
EDGE_APISERVER_VOLUMES = [{
    'name': 'konnectivity',
    'hostPath': KONNECTIVITY_DIR,
    'mountPath': KONNECTIVITY_DIR,
    'readOnly': False,
    'pathType': 'DirectoryOrCreate',
}]


def _kubelet_defaults(server_tls_bootstrap):
    """Security defaults for every kubelet (edgeadm set none of them)."""
    return {
        # systemd owns the cgroups on these hosts; containerd is configured with SystemdCgroup
        # by the container_runtime role, and kubelet and runtime must agree.
        'cgroupDriver': 'systemd',
        # The client certificate renews itself instead of expiring after a year.
        'rotateCertificates': True,
        # Serving certificates from the cluster CA need a CSR approver, which kubeadm does not
        # install; without one `kubectl logs/exec` break. Off unless asked for.
        'serverTLSBootstrap': bool(server_tls_bootstrap),
        'authentication': {
            'anonymous': {'enabled': False},
            'webhook': {'enabled': True},
        },
        'authorization': {'mode': 'Webhook'},
    }


def _local_api_endpoint(opts):
    """The node's own API endpoint (advertise address, bind port) as kubeadm's localAPIEndpoint; {} for neither."""
    endpoint = {}
    if opts.get('apiserver_advertise_address'):
        endpoint['advertiseAddress'] = opts['apiserver_advertise_address']
    if opts.get('apiserver_bind_port'):
        endpoint['bindPort'] = int(opts['apiserver_bind_port'])
    return endpoint


def _apiserver(opts):
    """ClusterConfiguration.apiServer: admission, edge mode, the default eviction window, SANs."""
    plugins = [NODE_RESTRICTION]
    args = {}
    apiserver = {}
    sans = list(opts.get('apiserver_cert_extra_sans') or [])
    if opts.get('edge_mode'):
        plugins.extend(EDGE_ADMISSION_PLUGINS)
        args.update(EDGE_APISERVER_ARGS)
        apiserver['extraVolumes'] = copy.deepcopy(EDGE_APISERVER_VOLUMES)
        sans.extend(san for san in EDGE_CERT_SANS if san not in sans)
    if opts.get('default_toleration_seconds') is not None:
        # DefaultTolerationSeconds: how long a pod stays bound to a NotReady or unreachable node.
        for flag in ('default-not-ready-toleration-seconds', 'default-unreachable-toleration-seconds'):
            args[flag] = str(opts['default_toleration_seconds'])
    args['enable-admission-plugins'] = ','.join(plugins)
    apiserver['extraArgs'] = args
    if sans:
        apiserver['certSANs'] = sans
    return apiserver


def build_init_documents(opts):
    """Documents (dict kind -> dict, without apiVersion/kind) for kubeadm init.

    opts: dict with the module's options (see kubeadm_init); secrets included. Passthrough
    (opts['config']) is merged last, then the security invariants are enforced again.
    """
    init = {}
    node = {'criSocket': opts.get('cri_socket') or DEFAULT_CRI_SOCKET}
    if opts.get('node_name'):
        node['name'] = opts['node_name']
    if opts.get('ignore_preflight_errors'):
        node['ignorePreflightErrors'] = list(opts['ignore_preflight_errors'])
    init['nodeRegistration'] = node
    endpoint = _local_api_endpoint(opts)
    if endpoint:
        init['localAPIEndpoint'] = endpoint
    if opts.get('token'):
        init['bootstrapTokens'] = [{
            'token': opts['token'],
            'ttl': opts.get('token_ttl') or '24h0m0s',
            'usages': list(TOKEN_USAGES),
            'groups': list(TOKEN_GROUPS),
            'description': 'Created by edge.cluster.kubeadm_init',
        }]
    if opts.get('certificate_key'):
        init['certificateKey'] = opts['certificate_key']
    if opts.get('skip_phases'):
        init['skipPhases'] = list(opts['skip_phases'])

    cluster = {'kubernetesVersion': opts['kubernetes_version']}
    if opts.get('image_repository'):
        cluster['imageRepository'] = opts['image_repository']
    if opts.get('cluster_name'):
        cluster['clusterName'] = opts['cluster_name']
    if opts.get('control_plane_endpoint'):
        cluster['controlPlaneEndpoint'] = opts['control_plane_endpoint']
    networking = {}
    if opts.get('service_cidr'):
        networking['serviceSubnet'] = opts['service_cidr']
    if opts.get('pod_network_cidr'):
        networking['podSubnet'] = opts['pod_network_cidr']
    if opts.get('service_dns_domain'):
        networking['dnsDomain'] = opts['service_dns_domain']
    if networking:
        cluster['networking'] = networking
    cluster['apiServer'] = _apiserver(opts)
    if opts.get('node_monitor_grace_period'):
        cluster['controllerManager'] = {
            'extraArgs': {'node-monitor-grace-period': opts['node_monitor_grace_period']}}

    docs = {
        'InitConfiguration': init,
        'ClusterConfiguration': cluster,
        'KubeletConfiguration': _kubelet_defaults(opts.get('kubelet_server_tls_bootstrap')),
    }
    return _merge_passthrough(docs, opts.get('config'), INIT_KINDS)


def build_join_documents(opts):
    """Documents for kubeadm join: the JoinConfiguration.

    kubeadm join reads the cluster's KubeletConfiguration from the kubelet-config ConfigMap,
    so the init-time kubelet defaults reach joining nodes without being repeated here.
    """
    bootstrap = {
        'apiServerEndpoint': opts['api_server_endpoint'],
        'token': opts['token'],
        'caCertHashes': list(opts['ca_cert_hashes']),
        # Never true: the CA pin is what makes token discovery safe (kubespray's fallback).
        'unsafeSkipCAVerification': False,
    }
    join = {
        'discovery': {'bootstrapToken': bootstrap, 'tlsBootstrapToken': opts['token']},
        'nodeRegistration': {'criSocket': opts.get('cri_socket') or DEFAULT_CRI_SOCKET},
    }
    if opts.get('node_name'):
        join['nodeRegistration']['name'] = opts['node_name']
    if opts.get('ignore_preflight_errors'):
        join['nodeRegistration']['ignorePreflightErrors'] = list(opts['ignore_preflight_errors'])
    if opts.get('skip_phases'):
        join['skipPhases'] = list(opts['skip_phases'])
    if opts.get('control_plane'):
        control = {'certificateKey': opts['certificate_key']}
        endpoint = _local_api_endpoint(opts)
        if endpoint:
            control['localAPIEndpoint'] = endpoint
        join['controlPlane'] = control
    docs = {'JoinConfiguration': join}
    return _merge_passthrough(docs, opts.get('config'), JOIN_KINDS)


def _merge_passthrough(docs, config, kinds):
    passthrough = validate_passthrough(config, kinds)
    for kind in kinds:
        if kind in passthrough:
            docs[kind] = deep_merge(docs.get(kind, {}), passthrough[kind])
    return enforce_security(docs)


def enforce_security(docs):
    """Invariants the passthrough cannot remove: NodeRestriction stays among the admission
    plugins (it keeps kubelets from labelling other nodes or themselves into the control plane).
    Returns docs; other settings the passthrough weakened are reported by warnings_for().
    """
    cluster = docs.get('ClusterConfiguration')
    if cluster is not None:
        args = extra_args_to_dict(get_path(cluster, ('apiServer', 'extraArgs')),
                                  'ClusterConfiguration.apiServer.extraArgs')
        plugins = [p.strip() for p in args.get('enable-admission-plugins', '').split(',')
                   if p.strip()]
        if NODE_RESTRICTION not in plugins:
            plugins.append(NODE_RESTRICTION)
        args['enable-admission-plugins'] = ','.join(plugins)
        disabled = [p.strip() for p in args.get('disable-admission-plugins', '').split(',')]
        if NODE_RESTRICTION in disabled:
            raise KubeadmConfigError(
                'config disables the NodeRestriction admission plugin; this collection keeps it '
                'on (it stops a node from relabelling other nodes); remove it from '
                'disable-admission-plugins')
        set_path(cluster, ('apiServer', 'extraArgs'), args)
    return docs


def warnings_for(docs):
    """Human warnings for settings the passthrough weakened."""
    found = []
    kubelet = docs.get('KubeletConfiguration') or {}
    if get_path(kubelet, ('authentication', 'anonymous', 'enabled')):
        found.append('config.KubeletConfiguration enables anonymous kubelet authentication: '
                     'anyone reaching port 10250 may read pod data')
    if get_path(kubelet, ('authorization', 'mode')) not in (None, 'Webhook'):
        found.append('config.KubeletConfiguration sets authorization.mode to %s instead of '
                     'Webhook' % get_path(kubelet, ('authorization', 'mode')))
    driver = kubelet.get('cgroupDriver')
    if driver not in (None, 'systemd'):
        found.append('config.KubeletConfiguration sets cgroupDriver %s; containerd from the '
                     'container_runtime role uses the systemd driver, and both must match' % driver)
    return found


def _header(kind):
    if kind == 'KubeletConfiguration':
        return {'apiVersion': KUBELET_API, 'kind': kind}
    if kind == 'KubeProxyConfiguration':
        return {'apiVersion': KUBE_PROXY_API, 'kind': kind}
    return None


def finalize(docs, api_version, kinds):
    """Full documents (apiVersion/kind first, flag maps in api_version's form), in kind order."""
    result = []
    for kind in kinds:
        if kind not in docs:
            continue
        doc = copy.deepcopy(docs[kind])
        for path in EXTRA_ARGS_PATHS.get(kind, ()):
            value = get_path(doc, path)
            if value is not None:
                set_path(doc, path, extra_args_for(
                    api_version, extra_args_to_dict(value, '%s.%s' % (kind, '.'.join(path)))))
        header = _header(kind) or {'apiVersion': api_version, 'kind': kind}
        full = dict(header)
        for key in sorted(doc):
            if key not in full:
                full[key] = doc[key]
        result.append(full)
    return result


def by_kind(documents):
    return dict((doc['kind'], doc) for doc in documents)
