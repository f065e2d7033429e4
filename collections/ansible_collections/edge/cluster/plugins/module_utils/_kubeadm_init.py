# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""The backend of edge.cluster.kubeadm_init: its argument spec and the procedure, in order:
check every option, find kubeadm and its version, build the documents, then either report on
the existing control plane (drift, never a change) or run kubeadm init once.
"""

from __future__ import annotations

import json
import os

from ansible_collections.edge.cluster.plugins.module_utils._bootstrap_token import (
    BootstrapTokenError,
    generate_token,
    parse_token,
)
from ansible_collections.edge.cluster.plugins.module_utils._ca_cert_hash import (
    CACertHashError,
    compute_ca_cert_hash,
)
from ansible_collections.edge.cluster.plugins.module_utils._certificate_key import (
    generate_certificate_key,
    is_certificate_key,
)
from ansible_collections.edge.cluster.plugins.module_utils._command import (
    CommandError,
    module_runner,
    run_checked,
)
from ansible_collections.edge.cluster.plugins.module_utils._duration import (
    DurationError,
    format_duration,
    parse_duration,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_cli import (
    KUBEADM_COMMON_ARGS,
    KubePaths,
    KubeadmFailure,
    check_version_skew,
    endpoint_from_server,
    failure_message,
    find_binary,
    init_argv,
    kubectl_yaml_to_json_args,
    locate_binary,
    parse_kubeadm_version,
    read_text,
    reset_argv,
    run_with_config,
    server_from_kubeconfig,
    validated_options,
    version_argv,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_config import (
    INIT_KINDS,
    build_init_documents,
    by_kind,
    finalize,
    warnings_for,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_fields import (
    cluster_config_drift,
    sanitize,
    strip_secrets,
    validate_passthrough,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_values import (
    KubeadmConfigError,
    api_version_for,
    join_endpoint,
    normalize_version,
    parse_version,
    split_endpoint,
    validate_cidrs,
    validate_ip,
    validate_node_name,
    validate_san,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubectl import (
    KUBECTL_COMMON_ARGS,
    Kubectl,
)
from ansible_collections.edge.cluster.plugins.module_utils._yaml import load_yaml_document, to_yaml

ARGUMENT_SPEC = dict(
    kubernetes_version=dict(type='str'),
    image_repository=dict(type='str'),
    service_cidr=dict(type='str'),
    pod_network_cidr=dict(type='str'),
    service_dns_domain=dict(type='str'),
    apiserver_cert_extra_sans=dict(type='list', elements='str', default=[]),
    apiserver_advertise_address=dict(type='str'),
    apiserver_bind_port=dict(type='int', default=6443),
    control_plane_endpoint=dict(type='str'),
    upload_certs=dict(type='bool', default=False),
    certificate_key=dict(type='str', no_log=True),
    token=dict(type='str', no_log=True),
    token_ttl=dict(type='str', default='1h', no_log=False),
    node_name=dict(type='str'),
    skip_phases=dict(type='list', elements='str', default=[]),
    ignore_preflight_errors=dict(type='list', elements='str', default=[]),
    edge_mode=dict(type='bool', default=False),
    default_toleration_seconds=dict(type='int'),
    node_monitor_grace_period=dict(type='str'),
    kubelet_server_tls_bootstrap=dict(type='bool', default=False),
    config=dict(type='dict', default={}),
    config_path=dict(type='path', default='/etc/kubernetes/kubeadm-init.yaml'),
    reset_on_failure=dict(type='bool', default=True),
)
ARGUMENT_SPEC.update(KUBECTL_COMMON_ARGS)
ARGUMENT_SPEC.update(KUBEADM_COMMON_ARGS)

PATHS = KubePaths()
FILE_HEADER = ('kubeadm configuration rendered by edge.cluster.kubeadm_init.\n'
               'Secrets (bootstrap token, certificate key) were removed after kubeadm ran.')


def validate(params):
    """Every option checked before the node is read or touched; returns normalised opts."""
    opts = dict(params)
    if params['kubernetes_version']:
        opts['kubernetes_version'] = normalize_version(params['kubernetes_version'])
    validate_cidrs(params['service_cidr'], 'service_cidr')
    validate_cidrs(params['pod_network_cidr'], 'pod_network_cidr')
    validate_ip(params['apiserver_advertise_address'], 'apiserver_advertise_address')
    for san in params['apiserver_cert_extra_sans']:
        validate_san(san)
    validate_node_name(params['node_name'])
    if params['control_plane_endpoint']:
        split_endpoint(params['control_plane_endpoint'], 'control_plane_endpoint',
                       default_port=params['apiserver_bind_port'])
    if not 0 < params['apiserver_bind_port'] < 65536:
        raise KubeadmConfigError('apiserver_bind_port must be 1-65535, got %d'
                                 % params['apiserver_bind_port'])
    if params['token'] is not None:
        parse_token(params['token'])
    ttl = parse_duration(params['token_ttl'], 'token_ttl')
    if not ttl:
        raise KubeadmConfigError('token_ttl 0 would make a join token that never expires; give a '
                                 'short lifetime such as 1h')
    opts['token_ttl'] = format_duration(ttl)
    if params['certificate_key'] is not None:
        if not params['upload_certs']:
            raise KubeadmConfigError('certificate_key is only used with upload_certs=true')
        if not is_certificate_key(params['certificate_key']):
            raise KubeadmConfigError('certificate_key must be 64 hex characters (32 bytes), as the '
                                     'edge.cluster.certificate_key lookup makes (value not shown)')
    if params['default_toleration_seconds'] is not None and params['default_toleration_seconds'] < 0:
        raise KubeadmConfigError('default_toleration_seconds must be 0 or more seconds, got %d'
                                 % params['default_toleration_seconds'])
    if params['node_monitor_grace_period'] is not None:
        grace = parse_duration(params['node_monitor_grace_period'], 'node_monitor_grace_period')
        if not grace:
            raise KubeadmConfigError('node_monitor_grace_period must be a positive duration such as 40s, '
                                     'got %r' % params['node_monitor_grace_period'])
        opts['node_monitor_grace_period'] = format_duration(grace)
    validate_passthrough(params['config'], INIT_KINDS)
    return opts


def endpoint_guess(params):
    """host:port the cluster will answer on, from the options alone (before kubeadm ran)."""
    if params['control_plane_endpoint']:
        host, port = split_endpoint(params['control_plane_endpoint'], 'control_plane_endpoint',
                                    default_port=params['apiserver_bind_port'])
        return join_endpoint(host, port)
    if params['apiserver_advertise_address']:
        return join_endpoint(params['apiserver_advertise_address'], params['apiserver_bind_port'])
    return None


class KubeadmInit:
    """One run of the module: run() returns the result dict or ends the module with fail_json."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.run = module_runner(module)

    def ca_hash(self):
        pem = read_text(PATHS.ca_cert)
        if pem is None:
            return None
        try:
            return compute_ca_cert_hash(pem).hash
        except CACertHashError:
            return None

    def kubeadm_version(self, opts):
        """(kubeadm path or None, its version as a tuple); check mode may run before kubeadm is
        installed, and then trusts kubernetes_version."""
        params = self.params
        kubeadm = locate_binary(self.module, params['kubeadm'])
        if kubeadm is None and self.module.check_mode and opts['kubernetes_version']:
            # A check-mode run of a whole flow on fresh machines: the static package that brings
            # kubeadm is not installed yet either. Judge by the requested version alone.
            self.module.warn('kubeadm (%s) is not installed yet; check mode assumes it will match '
                             'kubernetes_version %s' % (params['kubeadm'], opts['kubernetes_version']))
            return kubeadm, parse_version(opts['kubernetes_version'])
        kubeadm = find_binary(self.module, params['kubeadm'], 'kubeadm')
        stdout = run_checked(self.run, version_argv(kubeadm), 'kubeadm version')
        return kubeadm, parse_kubeadm_version(stdout)

    def live_cluster_configuration(self, kubectl):
        """The ClusterConfiguration stored in kube-system/kubeadm-config, as data."""
        stdout = kubectl.check(['--namespace', 'kube-system', 'get', 'configmap', 'kubeadm-config',
                                '--output', 'json'], 'reading ConfigMap kube-system/kubeadm-config')
        text = (json.loads(stdout).get('data') or {}).get('ClusterConfiguration')
        if not text:
            return None

        def convert(yaml_text):
            return kubectl.check(kubectl_yaml_to_json_args(), 'parsing ClusterConfiguration',
                                 data=yaml_text)

        return load_yaml_document(text, convert)

    def existing(self, documents, result):
        """admin.conf is there: a healthy control plane is reported on, never re-initialised."""
        module, params = self.module, self.params
        kubectl = Kubectl(self.run, find_binary(module, params['kubectl'], 'kubectl'), params['kubeconfig'])
        try:
            kubectl.wait_ready(params['wait_timeout'])
        except CommandError as exc:
            exc.msg = ('%s exists but the API server does not answer through it, so this node was '
                       'initialised before and its control plane is broken: %s. Repair it, or clean '
                       'the node with edge.cluster.kubeadm_reset and run again'
                       % (params['kubeconfig'], exc.msg))
            raise
        try:
            live = self.live_cluster_configuration(kubectl)
        except (CommandError, ValueError) as exc:
            # The comparison is a report; not being able to make it must not fail a healthy cluster.
            module.warn('could not read the live ClusterConfiguration to compare it with the requested '
                        'one (%s); drift is not reported' % getattr(exc, 'msg', exc))
            live = None
        requested = by_kind(documents)['ClusterConfiguration']
        drift = cluster_config_drift(requested, live) if live is not None else []
        if drift:
            module.warn(
                'the running cluster differs from the requested ClusterConfiguration in %d '
                'setting(s): %s. kubeadm_init never changes a running control plane; use kubeadm '
                'upgrade, or reset and init again, to apply them'
                % (len(drift), '; '.join('%s: requested %s, live %s' % (
                    item['path'], json.dumps(item['requested']), json.dumps(item['live']))
                    for item in drift)))
        server = server_from_kubeconfig(read_text(params['kubeconfig']))
        result.update(initialized=False, drift=drift, endpoint=endpoint_from_server(server),
                      ca_cert_hash=self.ca_hash())
        return result

    def init(self, params, kubeadm, documents, result):
        """kubeadm init with the 0600 config file; params carry the secrets to use."""
        module = self.module
        leftovers = PATHS.leftovers()
        if leftovers:
            module.fail_json(
                msg='this node holds kubeadm state from an earlier attempt (%s) but no working control '
                    'plane; clean it with edge.cluster.kubeadm_reset (or playbooks/reset.yml), then run '
                    'again' % ', '.join(leftovers), leftovers=leftovers)
        content = to_yaml(documents, FILE_HEADER)
        kept = to_yaml(strip_secrets(documents), FILE_HEADER)
        result.update(initialized=True, changed=True, endpoint=endpoint_guess(params))
        if module._diff:
            result['diff'] = dict(before_header=params['config_path'], after_header=params['config_path'],
                                  before=read_text(params['config_path']) or '', after=kept)
        if module.check_mode:
            return result
        argv = init_argv(kubeadm, params['config_path'], params['upload_certs'])
        rc, stdout, stderr = run_with_config(self.run, argv, params['config_path'], content, kept)
        if rc != 0:
            failure = KubeadmFailure(stdout, stderr, (params['token'], params['certificate_key']))
            kubelet_log = self.kubelet_log()
            reset_done = None
            if params['reset_on_failure']:
                reset_rc = self.run(reset_argv(kubeadm, params['cri_socket']))[0]
                reset_done = reset_rc == 0
            module.fail_json(msg=failure_message('kubeadm init', failure, reset_done), rc=rc, cmd=argv,
                             error_tail=failure.tail(), preflight_errors=failure.preflight_errors,
                             phase=failure.phase, kubelet_log_tail=kubelet_log)
        server = server_from_kubeconfig(read_text(params['kubeconfig']) or read_text(PATHS.admin_conf))
        result['endpoint'] = endpoint_from_server(server) or result['endpoint']
        result.update(ca_cert_hash=self.ca_hash(), token=params['token'],
                      certificate_key=params['certificate_key'])
        return result

    def kubelet_log(self):
        journalctl = self.module.get_bin_path('journalctl')
        if not journalctl:
            return []
        rc, stdout, dummy = self.run([journalctl, '--unit', 'kubelet', '--lines', '20', '--no-pager',
                                      '--output', 'cat'])
        return (stdout or '').splitlines()[-20:] if rc == 0 else []

    def __call__(self):
        module, params = self.module, self.params
        opts = validated_options(module, validate, (KubeadmConfigError, DurationError, BootstrapTokenError))
        kubeadm, kubeadm_version = self.kubeadm_version(opts)
        if not opts['kubernetes_version']:
            opts['kubernetes_version'] = 'v%d.%d.%d' % kubeadm_version
        try:
            check_version_skew(kubeadm_version, parse_version(opts['kubernetes_version']))
            api_version = api_version_for(opts['kubernetes_version'])
        except KubeadmConfigError as exc:
            module.fail_json(msg=str(exc))

        existing = os.path.exists(params['kubeconfig'])
        if not existing:
            # Secrets are made only for a real init. Generated ones are returned in clear (the task
            # must use no_log, as documented): kubeadm is told not to print them (--skip-*-print).
            if not opts['token']:
                opts['token'] = generate_token()
            if opts['upload_certs'] and not opts['certificate_key']:
                opts['certificate_key'] = generate_certificate_key()
        else:
            opts['token'] = opts['certificate_key'] = None
        try:
            documents = finalize(build_init_documents(opts), api_version, INIT_KINDS)
        except KubeadmConfigError as exc:
            module.fail_json(msg=str(exc))
        for warning in warnings_for(by_kind(documents)):
            module.warn(warning)
        result = dict(changed=False, initialized=False, token=None, certificate_key=None,
                      endpoint=None, ca_cert_hash=None, drift=[], api_version=api_version,
                      kubeadm_config=by_kind(sanitize(documents)))
        if existing:
            return self.existing(documents, result)
        # In check mode init() returns before the secrets are put into the result.
        return self.init(dict(params, token=opts['token'], certificate_key=opts['certificate_key']),
                         kubeadm, documents, result)
