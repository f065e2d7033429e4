# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""kubeadm configuration files, built as data and rendered as YAML: the documents
`kubeadm init --config` and `kubeadm join --config` read, the security defaults of this
collection, the passthrough merge, the sanitised copy that may be shown or kept on disk, and
the drift between a requested ClusterConfiguration and the one the cluster stores.

Pure functions on dicts. Standard library only: nodes run a bare python3 (no PyYAML), so the
YAML writer is here too (a small emitter for JSON-like data; kubeadm reads any YAML).
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re

KUBEADM_V1BETA3 = 'kubeadm.k8s.io/v1beta3'
KUBEADM_V1BETA4 = 'kubeadm.k8s.io/v1beta4'
KUBELET_API = 'kubelet.config.k8s.io/v1beta1'
KUBE_PROXY_API = 'kubeproxy.config.k8s.io/v1alpha1'

INIT_KINDS = ('InitConfiguration', 'ClusterConfiguration', 'KubeletConfiguration',
              'KubeProxyConfiguration')
# kubeadm join reads only its JoinConfiguration; kubelet and kube-proxy settings come from the
# cluster (the kubelet-config and kube-proxy ConfigMaps made at init).
JOIN_KINDS = ('JoinConfiguration',)
KUBEADM_KINDS = ('InitConfiguration', 'ClusterConfiguration', 'JoinConfiguration')

# v1beta3 arrived with kubeadm 1.22; v1beta4 is the default from 1.31 (extraArgs became lists).
MIN_VERSION = (1, 22)
V1BETA4_FROM = (1, 31)

DEFAULT_CRI_SOCKET = 'unix:///run/containerd/containerd.sock'
DEFAULT_BIND_PORT = 6443
HIDDEN = '<hidden>'

TOKEN_USAGES = ['signing', 'authentication']
TOKEN_GROUPS = ['system:bootstrappers:kubeadm:default-node-token']

# Where kubeadm keeps flag maps (extraArgs): a map in v1beta3, a list of {name, value} in
# v1beta4. Inside this module they are always dicts; render() converts.
EXTRA_ARGS_PATHS = {
    'ClusterConfiguration': (('apiServer', 'extraArgs'), ('controllerManager', 'extraArgs'),
                             ('scheduler', 'extraArgs'), ('etcd', 'local', 'extraArgs')),
    'InitConfiguration': (('nodeRegistration', 'kubeletExtraArgs'),),
    'JoinConfiguration': (('nodeRegistration', 'kubeletExtraArgs'),),
}

# Secret fields: never accepted through the (logged) passthrough, masked when shown.
SECRET_PATHS = {
    'InitConfiguration': (('bootstrapTokens',), ('certificateKey',)),
    'JoinConfiguration': (('discovery', 'bootstrapToken', 'token'), ('discovery', 'tlsBootstrapToken'),
                          ('controlPlane', 'certificateKey')),
}

NODE_RESTRICTION = 'NodeRestriction'

# Edge mode without SuperEdge's tunnel. edgeadm sets kubelet-preferred-address-types=Hostname
# because tunnel-cloud answers for node hostnames; without the tunnel the API server dials
# kubelets directly and edge hostnames rarely resolve from the cloud, so the node's own
# InternalIP goes first. egress-selector and enable-aggregator-routing are left out: both only
# make sense with tunnel-cloud in the path. The unreachable toleration is raised so a WAN
# blip of a few minutes does not evict every pod of an edge site (they could not be rescheduled
# anywhere useful anyway); not-ready stays at the default, so a broken kubelet still evicts.
EDGE_APISERVER_ARGS = {
    'kubelet-preferred-address-types': 'InternalIP,ExternalIP,Hostname',
    'default-unreachable-toleration-seconds': '900',
}

_VERSION_RE = re.compile(r'^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?\Z')
_DNS1123_SUBDOMAIN_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z')
_DNS_NAME_RE = re.compile(r'^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*\Z')
_HASH_RE = re.compile(r'^sha256:[0-9a-f]{64}\Z')


class KubeadmConfigError(ValueError):
    """Bad input for a kubeadm configuration; the message names the value and the fix."""


# ---------------------------------------------------------------- versions

def parse_version(text, name='kubernetes_version'):
    """(major, minor, patch) of "v1.34.12", "1.34", "v1.35.0-rc.1"."""
    match = _VERSION_RE.match(str(text or '').strip())
    if not match:
        raise KubeadmConfigError('%s %r is not a Kubernetes version: write it like v1.34.12'
                                 % (name, text))
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def normalize_version(text, name='kubernetes_version'):
    """'1.34.12' -> 'v1.34.12' (kubeadm accepts both; the cluster stores what it was given)."""
    parse_version(text, name)
    text = str(text).strip()
    return text if text.startswith('v') else 'v' + text


def api_version_for(version):
    """kubeadm config apiVersion for a kubeadm/Kubernetes version (tuple or text)."""
    if not isinstance(version, tuple):
        version = parse_version(version)
    if version[:2] < MIN_VERSION:
        raise KubeadmConfigError(
            'Kubernetes %d.%d is older than this collection supports (kubeadm config v1beta3, '
            'from 1.22 on); use v1.22 or newer' % version[:2])
    return KUBEADM_V1BETA4 if version[:2] >= V1BETA4_FROM else KUBEADM_V1BETA3


# ---------------------------------------------------------------- validation helpers

def validate_node_name(name):
    if name is None:
        return None
    if len(name) > 253 or not _DNS1123_SUBDOMAIN_RE.match(name):
        raise KubeadmConfigError(
            'node_name %r is not a valid Node name: lower-case letters, digits, "-" and ".", '
            'starting and ending with a letter or digit (RFC 1123), e.g. edge-01' % (name,))
    return name


def validate_cidr(value, name):
    if value is None:
        return None
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise KubeadmConfigError('%s %r is not a network in CIDR form (%s); write it like '
                                 '10.96.0.0/12' % (name, value, exc))
    return value


def validate_cidrs(value, name):
    """A single CIDR or a dual-stack pair "v4,v6", as kubeadm accepts."""
    if value is None:
        return None
    for part in str(value).split(','):
        validate_cidr(part.strip(), name)
    return value


def validate_ip(value, name):
    if value is None:
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise KubeadmConfigError('%s %r is not an IP address; give the address the API server '
                                 'listens on, e.g. 10.213.0.10' % (name, value))
    return value


def validate_san(value):
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if not isinstance(value, str) or len(value) > 253 or not _DNS_NAME_RE.match(value):
        raise KubeadmConfigError(
            'apiserver_cert_extra_sans entry %r is neither an IP address nor a DNS name' % (value,))
    return value


def split_endpoint(value, name='endpoint', default_port=None):
    """("host", port) of "host:port", "[v6]:port", or a bare host when default_port is set."""
    if not isinstance(value, str) or not value.strip():
        raise KubeadmConfigError('%s must be "host:port", got %r' % (name, value))
    text = value.strip()
    if '://' in text:
        raise KubeadmConfigError('%s %r must be host:port without a scheme, e.g. 10.213.0.10:6443'
                                 % (name, value))
    host, port = text, None
    if text.startswith('['):
        close = text.find(']')
        if close < 0:
            raise KubeadmConfigError('%s %r: unclosed "[" around an IPv6 address' % (name, value))
        host, rest = text[1:close], text[close + 1:]
        if rest:
            if not rest.startswith(':'):
                raise KubeadmConfigError('%s %r: expected ":port" after "]"' % (name, value))
            port = rest[1:]
    elif text.count(':') == 1:
        host, port = text.split(':')
    elif text.count(':') > 1:
        raise KubeadmConfigError('%s %r: put an IPv6 address in brackets, e.g. [fd00::1]:6443'
                                 % (name, value))
    if port is None:
        if default_port is None:
            raise KubeadmConfigError('%s %r has no port; write host:port, e.g. 10.213.0.10:6443'
                                     % (name, value))
        port = default_port
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = -1
    if not 0 < port < 65536:
        raise KubeadmConfigError('%s %r: the port must be a number from 1 to 65535' % (name, value))
    if not host:
        raise KubeadmConfigError('%s %r has no host' % (name, value))
    if any(char.isspace() for char in host):
        raise KubeadmConfigError('%s %r: the host must not contain spaces' % (name, value))
    return host, port


def join_endpoint(host, port):
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


def validate_ca_cert_hash(value):
    text = (value or '').strip().lower()
    if not _HASH_RE.match(text):
        raise KubeadmConfigError(
            'ca_cert_hashes entry %r is not a CA certificate hash: expected "sha256:" and 64 '
            'hex digits, as edge.cluster.ca_cert_hash or kubeadm init print it' % (value,))
    return text


# ---------------------------------------------------------------- dict helpers

def deep_merge(base, override):
    """A new dict: override's keys win; dicts merge recursively, anything else is replaced."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _get(doc, path):
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def _set(doc, path, value):
    for key in path[:-1]:
        doc = doc.setdefault(key, {})
    doc[path[-1]] = value


def _delete(doc, path):
    for key in path[:-1]:
        if not isinstance(doc, dict) or key not in doc:
            return
        doc = doc[key]
    if isinstance(doc, dict):
        doc.pop(path[-1], None)


def extra_args_to_dict(value, where):
    """A flag map from either kubeadm form: {name: value} or [{name, value}, ...]."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict((str(k), _flag_value(v, where, k)) for k, v in value.items())
    if isinstance(value, list):
        result = {}
        for item in value:
            if not isinstance(item, dict) or 'name' not in item:
                raise KubeadmConfigError(
                    '%s: each list entry must be {name: ..., value: ...}, got %r' % (where, item))
            name = str(item['name'])
            if name in result:
                raise KubeadmConfigError(
                    '%s: flag %s is given twice; give it once (join several values with ",")'
                    % (where, name))
            result[name] = _flag_value(item.get('value', ''), where, name)
        return result
    raise KubeadmConfigError('%s must be a map of flag names to values or a list of '
                             '{name, value}, got %s' % (where, type(value).__name__))


def _flag_value(value, where, name):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (dict, list)):
        raise KubeadmConfigError('%s: the value of flag %s must be a string, got %r'
                                 % (where, name, value))
    return '' if value is None else str(value)


def extra_args_for(api_version, args):
    """The flag map in the form api_version wants (sorted, so files are stable)."""
    if api_version == KUBEADM_V1BETA4:
        return [{'name': name, 'value': args[name]} for name in sorted(args)]
    return dict((name, args[name]) for name in sorted(args))


def _normalize_extra_args(doc, kind):
    """Turn every flag map of doc (either form) into a dict, in place."""
    for path in EXTRA_ARGS_PATHS.get(kind, ()):
        value = _get(doc, path)
        if value is not None:
            _set(doc, path, extra_args_to_dict(value, '%s.%s' % (kind, '.'.join(path))))
    return doc


# ---------------------------------------------------------------- passthrough

def passthrough_secrets(config):
    """Secret values a user put in the (logged) passthrough, so the module can mask them in
    its own output before refusing them."""
    found = []
    if not isinstance(config, dict):
        return found
    for kind, doc in config.items():
        for path in SECRET_PATHS.get(kind, ()):
            value = _get(doc, path) if isinstance(doc, dict) else None
            if path == ('bootstrapTokens',) and isinstance(value, list):
                found.extend(str(item.get('token')) for item in value
                             if isinstance(item, dict) and item.get('token'))
            elif isinstance(value, (str, int)) and str(value):
                found.append(str(value))
    return found


def validate_passthrough(config, kinds):
    """config: {Kind: {...}} from the user. Returns a normalised deep copy or raises."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise KubeadmConfigError('config must be a dict of documents keyed by kind, e.g. '
                                 '{ClusterConfiguration: {apiServer: {...}}}')
    result = {}
    for kind, doc in config.items():
        if kind not in kinds:
            raise KubeadmConfigError('config has a document of kind %r; allowed kinds: %s'
                                     % (kind, ', '.join(kinds)))
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise KubeadmConfigError('config.%s must be a dict, got %s' % (kind, type(doc).__name__))
        doc = copy.deepcopy(doc)
        doc.pop('apiVersion', None)  # chosen from the kubeadm version, not by the user
        doc.pop('kind', None)
        for path in SECRET_PATHS.get(kind, ()):
            if _get(doc, path) is not None:
                raise KubeadmConfigError(
                    'config.%s.%s holds a secret and config is not a secret option (it would be '
                    'logged); use the module options token / certificate_key instead'
                    % (kind, '.'.join(path)))
        result[kind] = _normalize_extra_args(doc, kind)
    return result


# ---------------------------------------------------------------- building documents

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
    endpoint = {}
    if opts.get('apiserver_advertise_address'):
        endpoint['advertiseAddress'] = opts['apiserver_advertise_address']
    if opts.get('apiserver_bind_port'):
        endpoint['bindPort'] = int(opts['apiserver_bind_port'])
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
    apiserver_args = {'enable-admission-plugins': NODE_RESTRICTION}
    if opts.get('edge_mode'):
        apiserver_args.update(EDGE_APISERVER_ARGS)
    cluster['apiServer'] = {'extraArgs': apiserver_args}
    if opts.get('apiserver_cert_extra_sans'):
        cluster['apiServer']['certSANs'] = list(opts['apiserver_cert_extra_sans'])

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
        endpoint = {}
        if opts.get('apiserver_advertise_address'):
            endpoint['advertiseAddress'] = opts['apiserver_advertise_address']
        if opts.get('apiserver_bind_port'):
            endpoint['bindPort'] = int(opts['apiserver_bind_port'])
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
        args = extra_args_to_dict(_get(cluster, ('apiServer', 'extraArgs')),
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
        _set(cluster, ('apiServer', 'extraArgs'), args)
    return docs


def warnings_for(docs):
    """Human warnings for settings the passthrough weakened."""
    found = []
    kubelet = docs.get('KubeletConfiguration') or {}
    if _get(kubelet, ('authentication', 'anonymous', 'enabled')):
        found.append('config.KubeletConfiguration enables anonymous kubelet authentication: '
                     'anyone reaching port 10250 may read pod data')
    if _get(kubelet, ('authorization', 'mode')) not in (None, 'Webhook'):
        found.append('config.KubeletConfiguration sets authorization.mode to %s instead of '
                     'Webhook' % _get(kubelet, ('authorization', 'mode')))
    driver = kubelet.get('cgroupDriver')
    if driver not in (None, 'systemd'):
        found.append('config.KubeletConfiguration sets cgroupDriver %s; containerd from the '
                     'container_runtime role uses the systemd driver, and both must match' % driver)
    return found


# ---------------------------------------------------------------- rendering

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
            value = _get(doc, path)
            if value is not None:
                _set(doc, path, extra_args_for(
                    api_version, extra_args_to_dict(value, '%s.%s' % (kind, '.'.join(path)))))
        header = _header(kind) or {'apiVersion': api_version, 'kind': kind}
        full = dict(header)
        for key in sorted(doc):
            if key not in full:
                full[key] = doc[key]
        result.append(full)
    return result


def sanitize(documents):
    """A copy of finalised documents with every secret replaced by HIDDEN."""
    clean = copy.deepcopy(documents)
    for doc in clean:
        for path in SECRET_PATHS.get(doc.get('kind'), ()):
            value = _get(doc, path)
            if value is None:
                continue
            if path == ('bootstrapTokens',):
                for token in value:
                    if isinstance(token, dict) and 'token' in token:
                        token['token'] = HIDDEN
            else:
                _set(doc, path, HIDDEN)
    return clean


def strip_secrets(documents):
    """A copy without the secret fields at all: what stays on disk after kubeadm ran."""
    clean = copy.deepcopy(documents)
    for doc in clean:
        for path in SECRET_PATHS.get(doc.get('kind'), ()):
            _delete(doc, path)
    return clean


def by_kind(documents):
    return dict((doc['kind'], doc) for doc in documents)


_PLAIN_KEY_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_./-]*\Z')
_YAML_SPECIAL = frozenset(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null', '~'])


def _yaml_key(key):
    key = str(key)
    if _PLAIN_KEY_RE.match(key) and key.lower() not in _YAML_SPECIAL:
        return key
    return json.dumps(key)


def _yaml_scalar(value):
    # Strings are always double-quoted: JSON's escapes are valid YAML, and "0600", "true" or
    # "1.30" can never be read back as numbers or booleans.
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value))


def _yaml_lines(value, indent):
    pad = ' ' * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item:
                lines.append('%s%s:' % (pad, _yaml_key(key)))
                lines.extend(_yaml_lines(item, indent + 2))
            elif isinstance(item, list) and item:
                lines.append('%s%s:' % (pad, _yaml_key(key)))
                lines.extend(_yaml_lines(item, indent))
            else:
                lines.append('%s%s: %s' % (pad, _yaml_key(key), _yaml_inline(item)))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = _yaml_lines(item, indent + 2)
                lines.append('%s- %s' % (pad, inner[0].lstrip()))
                lines.extend(inner[1:])
            else:
                lines.append('%s- %s' % (pad, _yaml_inline(item)))
    else:
        lines.append(pad + _yaml_scalar(value))
    return lines


def _yaml_inline(value):
    if isinstance(value, dict):
        return '{}'
    if isinstance(value, list):
        return '[]'
    return _yaml_scalar(value)


def to_yaml(documents, header=None):
    """Multi-document YAML text of finalised documents, stable for equal input."""
    parts = []
    if header:
        parts.extend('# ' + line if line else '#' for line in header.splitlines())
    for index, doc in enumerate(documents):
        # No "---" before the first document: kubeadm would read the header comment as an
        # empty document and reject it for lacking apiVersion and kind.
        if index:
            parts.append('---')
        parts.extend(_yaml_lines(doc, 0))
    return '\n'.join(parts) + '\n'


# ---------------------------------------------------------------- drift

def _comparable(value):
    if isinstance(value, list) and all(not isinstance(item, (dict, list)) for item in value):
        return sorted(str(item) for item in value)
    return value


def _walk(requested, live, path, found):
    for key in sorted(requested):
        want = requested[key]
        have = live.get(key) if isinstance(live, dict) else None
        where = path + (key,)
        if isinstance(want, dict) and want:
            _walk(want, have if isinstance(have, dict) else {}, where, found)
            continue
        if key == 'kubernetesVersion' and have is not None:
            same = normalize_version(want) == normalize_version(have)
        else:
            same = _comparable(want) == _comparable(have)
        if not same:
            found.append({'path': '.'.join(where), 'requested': want, 'live': have})


def cluster_config_drift(requested, live):
    """Differences between the requested ClusterConfiguration and the live one.

    Only what was requested is compared (the live document also holds kubeadm's defaults).
    Flag maps compare by flag whatever their form; lists of scalars compare as sets (SAN order
    does not matter). Returns a list of {path, requested, live}, sorted by path.
    """
    want = _normalize_extra_args(copy.deepcopy(requested or {}), 'ClusterConfiguration')
    have = _normalize_extra_args(copy.deepcopy(live or {}), 'ClusterConfiguration')
    for doc in (want, have):
        doc.pop('apiVersion', None)
        doc.pop('kind', None)
    found = []
    _walk(want, have, (), found)
    return sorted(found, key=lambda item: item['path'])
