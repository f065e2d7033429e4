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
      - Settings for a control plane whose workers sit behind WAN links, without SuperEdge's tunnel.
      - The API server prefers a node's C(InternalIP) over its host name to reach kubelets (edge host names rarely
        resolve from the cloud), and pods tolerate an unreachable node for 15 minutes instead of 5, so a short WAN
        outage does not evict an edge site's workloads.
      - edgeadm's egress selector and aggregator routing are not set, because both need tunnel-cloud.
    type: bool
    default: false
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

import json
import os

from ansible.module_utils.basic import AnsibleModule

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
    exit_module,
    module_runner,
)
from ansible_collections.edge.cluster.plugins.module_utils._duration import (
    DurationError,
    format_duration,
    parse_duration,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_cli import (
    KUBEADM_COMMON_ARGS,
    KubeadmFailure,
    KubePaths,
    endpoint_from_server,
    failure_message,
    find_binary,
    init_argv,
    kubectl_yaml_to_json_args,
    locate_binary,
    load_yaml_document,
    parse_kubeadm_version,
    read_text,
    reset_argv,
    server_from_kubeconfig,
    version_argv,
    check_version_skew,
    write_private_file,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_config import (
    INIT_KINDS,
    KubeadmConfigError,
    api_version_for,
    passthrough_secrets,
    build_init_documents,
    by_kind,
    cluster_config_drift,
    finalize,
    join_endpoint,
    normalize_version,
    parse_version,
    sanitize,
    split_endpoint,
    strip_secrets,
    to_yaml,
    validate_cidrs,
    validate_ip,
    validate_node_name,
    validate_passthrough,
    validate_san,
    warnings_for,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubectl import Kubectl

PATHS = KubePaths()
FILE_HEADER = ('kubeadm configuration rendered by edge.cluster.kubeadm_init.\n'
               'Secrets (bootstrap token, certificate key) were removed after kubeadm ran.')


def _validate(params):
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
    validate_passthrough(params['config'], INIT_KINDS)
    return opts


def _kubeadm_version(module, run, kubeadm):
    rc, stdout, stderr = run(version_argv(kubeadm))
    if rc != 0:
        raise CommandError('kubeadm version failed (rc=%s): %s' % (rc, (stderr or stdout).strip()),
                           version_argv(kubeadm), rc, stdout, stderr)
    return parse_kubeadm_version(stdout)


def _endpoint_guess(params):
    if params['control_plane_endpoint']:
        host, port = split_endpoint(params['control_plane_endpoint'], 'control_plane_endpoint',
                                    default_port=params['apiserver_bind_port'])
        return join_endpoint(host, port)
    if params['apiserver_advertise_address']:
        return join_endpoint(params['apiserver_advertise_address'], params['apiserver_bind_port'])
    return None


def _ca_hash():
    pem = read_text(PATHS.ca_cert)
    if pem is None:
        return None
    try:
        return compute_ca_cert_hash(pem).hash
    except CACertHashError:
        return None


def _live_cluster_configuration(module, kubectl):
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


def _existing(module, run, params, documents, result):
    """admin.conf is there: a healthy control plane is reported on, never re-initialised."""
    kubectl = Kubectl(run, find_binary(module, params['kubectl'], 'kubectl'), params['kubeconfig'])
    try:
        kubectl.wait_ready(params['wait_timeout'])
    except CommandError as exc:
        exc.msg = ('%s exists but the API server does not answer through it, so this node was '
                   'initialised before and its control plane is broken: %s. Repair it, or clean '
                   'the node with edge.cluster.kubeadm_reset and run again'
                   % (params['kubeconfig'], exc.msg))
        raise
    try:
        live = _live_cluster_configuration(module, kubectl)
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
                  ca_cert_hash=_ca_hash())
    return result


def _init(module, run, params, kubeadm, documents, result):
    leftovers = PATHS.leftovers()
    if leftovers:
        module.fail_json(
            msg='this node holds kubeadm state from an earlier attempt (%s) but no working control '
                'plane; clean it with edge.cluster.kubeadm_reset (or playbooks/reset.yml), then run '
                'again' % ', '.join(leftovers), leftovers=leftovers)
    content = to_yaml(documents, FILE_HEADER)
    kept = to_yaml(strip_secrets(documents), FILE_HEADER)
    result['initialized'] = True
    result['changed'] = True
    result['endpoint'] = _endpoint_guess(params)
    if module._diff:
        result['diff'] = dict(before_header=params['config_path'], after_header=params['config_path'],
                              before=read_text(params['config_path']) or '', after=kept)
    if module.check_mode:
        return result
    argv = init_argv(kubeadm, params['config_path'], params['upload_certs'])
    write_private_file(params['config_path'], content)
    try:
        rc, stdout, stderr = run(argv)
    finally:
        write_private_file(params['config_path'], kept)
    if rc != 0:
        failure = KubeadmFailure(stdout, stderr, (params['token'], params['certificate_key']))
        kubelet_log = _kubelet_log(module, run)
        reset_done = None
        if params['reset_on_failure']:
            reset_rc = run(reset_argv(kubeadm, params['cri_socket']))[0]
            reset_done = reset_rc == 0
        module.fail_json(msg=failure_message('kubeadm init', failure, reset_done), rc=rc, cmd=argv,
                         error_tail=failure.tail(), preflight_errors=failure.preflight_errors,
                         phase=failure.phase, kubelet_log_tail=kubelet_log)
    server = server_from_kubeconfig(read_text(params['kubeconfig']) or
                                    read_text(PATHS.admin_conf))
    result['endpoint'] = endpoint_from_server(server) or result['endpoint']
    result['ca_cert_hash'] = _ca_hash()
    result['token'] = params['token']
    result['certificate_key'] = params['certificate_key']
    return result


def _kubelet_log(module, run):
    journalctl = module.get_bin_path('journalctl')
    if not journalctl:
        return []
    rc, stdout, dummy = run([journalctl, '--unit', 'kubelet', '--lines', '20', '--no-pager',
                             '--output', 'cat'])
    return (stdout or '').splitlines()[-20:] if rc == 0 else []


def run_module(module):
    params = module.params
    # A secret put in the logged passthrough is refused below; mask it in this run's output.
    for secret in passthrough_secrets(params['config']):
        module.no_log_values.add(secret)
    try:
        opts = _validate(params)
    except (KubeadmConfigError, DurationError, BootstrapTokenError) as exc:
        module.fail_json(msg=str(exc))
    run = module_runner(module)
    kubeadm = locate_binary(module, params['kubeadm'])
    if kubeadm is None and module.check_mode and opts['kubernetes_version']:
        # A check-mode run of a whole flow on fresh machines: the static package that brings
        # kubeadm is not installed yet either. Judge by the requested version alone.
        module.warn('kubeadm (%s) is not installed yet; check mode assumes it will match '
                    'kubernetes_version %s' % (params['kubeadm'], opts['kubernetes_version']))
        kubeadm_version = parse_version(opts['kubernetes_version'])
    else:
        kubeadm = find_binary(module, params['kubeadm'], 'kubeadm')
        kubeadm_version = _kubeadm_version(module, run, kubeadm)
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
        return _existing(module, run, params, documents, result)
    # In check mode _init returns before the secrets are put into the result.
    params = dict(params, token=opts['token'], certificate_key=opts['certificate_key'])
    return _init(module, run, params, kubeadm, documents, result)


def main():
    argument_spec = dict(
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
        kubelet_server_tls_bootstrap=dict(type='bool', default=False),
        config=dict(type='dict', default={}),
        config_path=dict(type='path', default='/etc/kubernetes/kubeadm-init.yaml'),
        kubectl=dict(type='path', default='kubectl'),
        kubeconfig=dict(type='path', default='/etc/kubernetes/admin.conf'),
        wait_timeout=dict(type='int', default=120),
        reset_on_failure=dict(type='bool', default=True),
    )
    argument_spec.update(KUBEADM_COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    exit_module(module, run_module)


if __name__ == '__main__':
    main()
