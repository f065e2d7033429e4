# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""kubeadm on the command line: argv lists for init, join, reset and version (never a shell
string, never a secret: tokens and certificate keys travel in the 0600 config file), the
options the kubeadm_* modules share, and reading kubeadm's output when it fails: the error
lines, the failed phase, and what to do next.
"""

from __future__ import annotations

import http.client
import os
import re
import time
import urllib.error

from ansible.module_utils.urls import open_url

from ansible_collections.edge.cluster.plugins.module_utils._files import write_atomic
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_fields import passthrough_secrets
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_values import (
    DEFAULT_CRI_SOCKET,
    KubeadmConfigError,
    parse_version,
)

KUBEADM_COMMON_ARGS = dict(
    kubeadm=dict(type='path', default='kubeadm'),
    cri_socket=dict(type='str', default=DEFAULT_CRI_SOCKET),
)

KUBELET_HEALTHZ = 'http://127.0.0.1:10248/healthz'

TAIL_LINES = 25

_ERROR_LINE_RE = re.compile(r'^\s*\[ERROR ([^\]]+)\]:\s*(.*)$')
_PHASE_RE = re.compile(r'error execution phase ([A-Za-z0-9/_-]+)')
_SERVER_RE = re.compile(r'^\s*server:\s*["\']?([^"\'\s]+)["\']?\s*$', re.MULTILINE)
# klog prefixes (W1122 18:46:00.154661   11348 checks.go:1046]) say nothing to a reader.
_KLOG_RE = re.compile(r'^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [\w.-]+:\d+\] ')


class KubePaths(object):
    """Where kubeadm keeps its state; one object so tests can point it at a temporary tree."""

    def __init__(self, etc='/etc/kubernetes', etcd='/var/lib/etcd', kubelet='/var/lib/kubelet'):
        self.etc = etc
        self.etcd = etcd
        self.kubelet = kubelet
        self.admin_conf = os.path.join(etc, 'admin.conf')
        self.kubelet_conf = os.path.join(etc, 'kubelet.conf')
        self.bootstrap_kubelet_conf = os.path.join(etc, 'bootstrap-kubelet.conf')
        self.ca_cert = os.path.join(etc, 'pki', 'ca.crt')
        self.manifests = os.path.join(etc, 'manifests')
        self.apiserver_manifest = os.path.join(self.manifests, 'kube-apiserver.yaml')
        self.kubelet_config = os.path.join(kubelet, 'config.yaml')

    def leftovers(self):
        """kubeadm state present on the node (files a fresh init/join would trip over)."""
        found = []
        for path in (self.admin_conf, self.kubelet_conf, self.bootstrap_kubelet_conf,
                     self.ca_cert, self.kubelet_config):
            if os.path.exists(path):
                found.append(path)
        for directory in (self.manifests, self.etcd):
            try:
                if os.listdir(directory):
                    found.append(directory)
            except OSError:
                pass
        return found


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def kubectl_yaml_to_json_args():
    """kubectl args turning the YAML document on stdin into JSON without any API call: a
    local-only label operation prints the parsed object (its metadata is dropped after)."""
    return ['label', '--local', '--filename', '-', 'edge.cluster/parsed=true', '--output', 'json']


def kubelet_healthy(url=KUBELET_HEALTHZ, timeout=5.0, wait=0, sleep=time.sleep,
                    clock=time.monotonic, opener=None):
    """True when the kubelet's local healthz answers "ok" (retrying for up to wait seconds)."""
    opener = opener or open_url
    deadline = clock() + max(wait, 0)
    while True:
        try:
            response = opener(url, timeout=timeout)
            body = response.read(64).decode('ascii', 'replace').strip()
            if getattr(response, 'status', 200) == 200 and body == 'ok':
                return True
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError):
            pass
        if clock() >= deadline:
            return False
        sleep(2)


# ---------------------------------------------------------------- argv

def version_argv(kubeadm):
    return [kubeadm, 'version', '--output', 'short']


def init_argv(kubeadm, config_path, upload_certs=False):
    """kubeadm init with everything in the config file. --skip-token-print and
    --skip-certificate-key-print keep the secrets out of kubeadm's stdout (which Ansible
    would otherwise carry into results and logs)."""
    argv = [kubeadm, 'init', '--config', config_path, '--skip-token-print',
            '--skip-certificate-key-print']
    if upload_certs:
        argv.append('--upload-certs')
    return argv


def join_argv(kubeadm, config_path):
    return [kubeadm, 'join', '--config', config_path]


def reset_argv(kubeadm, cri_socket=None):
    argv = [kubeadm, 'reset', '--force']
    if cri_socket:
        argv += ['--cri-socket', cri_socket]
    return argv


def parse_kubeadm_version(stdout):
    """(major, minor, patch) from `kubeadm version -o short` ("v1.34.12")."""
    text = (stdout or '').strip().splitlines()
    if not text:
        raise KubeadmConfigError('kubeadm version printed nothing')
    return parse_version(text[-1].strip(), 'kubeadm version')


def check_version_skew(kubeadm_version, kubernetes_version):
    """kubeadm deploys its own minor version or the one before; refuse anything else up front."""
    have = '%d.%d.%d' % kubeadm_version
    major, minor = kubeadm_version[:2]
    wanted = kubernetes_version[:2]
    if wanted not in ((major, minor), (major, minor - 1)):
        raise KubeadmConfigError(
            'kubernetes_version %d.%d cannot be deployed by kubeadm %s on the node (it deploys '
            '%d.%d or %d.%d); install the static package of the version you want, or leave '
            'kubernetes_version unset to use kubeadm\'s own' % (wanted + (have, major, minor, major,
                                                                          minor - 1)))


def server_from_kubeconfig(text):
    """The first cluster's server URL in a kubeconfig kubeadm wrote, or None."""
    match = _SERVER_RE.search(text or '')
    return match.group(1) if match else None


def endpoint_from_server(url):
    """"https://10.213.0.10:6443" -> "10.213.0.10:6443"."""
    if not url:
        return None
    rest = url.split('://', 1)[-1]
    return rest.split('/', 1)[0]


# ---------------------------------------------------------------- failures

MASK = '********'


def scrub(text, secrets):
    """text with every secret (and a token's secret half on its own) replaced by MASK."""
    text = text or ''
    for secret in secrets:
        if not secret:
            continue
        parts = [secret] + ([secret.split('.', 1)[1]] if '.' in secret else [])
        for part in parts:
            text = text.replace(part, MASK)
    return text


class KubeadmFailure(object):
    """What a failed kubeadm run said: phase, [ERROR ...] checks, last error line, tail.

    secrets: values to mask in everything kept (kubeadm is told not to print them; this is
    the second line of defence, for messages that quote the configuration)."""

    def __init__(self, stdout, stderr, secrets=()):
        text = scrub((stdout or '') + '\n' + (stderr or ''), secrets)
        lines = [_KLOG_RE.sub('', line.rstrip()) for line in text.splitlines()]
        self.lines = [line for line in lines if line.strip()]
        self.preflight_errors = []
        self.phase = None
        self.error = None
        for line in self.lines:
            match = _ERROR_LINE_RE.match(line)
            if match:
                self.preflight_errors.append({'check': match.group(1), 'message': match.group(2)})
            phase = _PHASE_RE.search(line)
            if phase:
                self.phase = phase.group(1)
            if line.startswith('error:') or line.startswith('error execution phase'):
                self.error = line
        if self.error is None:
            errors = [line for line in self.lines if 'error' in line.lower()]
            self.error = errors[-1] if errors else (self.lines[-1] if self.lines else 'no output')

    def tail(self, count=TAIL_LINES):
        return self.lines[-count:]

    def advice(self, action):
        """What to do next, in words a user can act on."""
        text = '\n'.join(self.lines)
        hints = []
        checks = [item['check'] for item in self.preflight_errors]
        if any(check.startswith(('FileAvailable', 'DirAvailable', 'Port-')) for check in checks):
            hints.append('the node holds state from an earlier run (files or ports in use): clean '
                         'it with edge.cluster.kubeadm_reset (or playbooks/reset.yml) and run again')
        if any(check.startswith('KubeletVersion') for check in checks) or \
                'kubelet --version' in text:
            hints.append('kubelet is missing: install the static package first '
                         '(role edge.cluster.static_package)')
        if 'CRI' in text and ('connection error' in text or 'container runtime is not running'
                              in text or any(c.startswith('CRI') for c in checks)):
            hints.append('the container runtime does not answer on cri_socket: check '
                         '`systemctl status containerd` (role edge.cluster.container_runtime)')
        if any(check.startswith(('FileContent--proc-sys', 'Swap', 'Mem', 'NumCPU'))
               for check in checks):
            hints.append('host settings kubeadm needs are missing (sysctls, swap, memory): run '
                         'role edge.cluster.node_prep, or list the check in '
                         'ignore_preflight_errors if it is deliberate')
        if 'ImagePull' in text or any(c.startswith('ImagePull') for c in checks):
            hints.append('an image could not be pulled: load the offline images (role '
                         'edge.cluster.airgap_images) or check image_repository')
        if 'already exists in the cluster' in text:
            hints.append('a Node of that name is already registered: delete it '
                         '(edge.cluster.kubeadm_reset with delete_node=true against the control '
                         'plane) or choose another node_name')
        if self.phase in ('wait-control-plane',) or 'control plane' in text and \
                ('timed out' in text or 'context deadline exceeded' in text):
            hints.append('the control plane did not come up: see `journalctl -u kubelet` and '
                         '`crictl ps -a` on the node; a kubelet/containerd cgroup driver mismatch '
                         'or missing images are the usual causes')
        if self.phase and self.phase.startswith('kubelet') or 'kubelet-check' in text:
            hints.append('the kubelet did not become healthy: see `journalctl -u kubelet`')
        if 'couldn\'t validate the identity of the API Server' in text or \
                'token id' in text and 'invalid' in text:
            hints.append('discovery failed: check api_server_endpoint, the token (create a fresh '
                         'one with edge.cluster.bootstrap_token) and ca_cert_hashes')
        if not hints:
            hints.append('see the output above; fix the cause, then clean the node with '
                         'edge.cluster.kubeadm_reset before running %s again' % action)
        return hints


def validated_options(module, validate, errors):
    """validate(module.params) -> opts. Secrets put in the logged config passthrough are masked
    in this run's output first (validate refuses them); errors end the module with their message."""
    for secret in passthrough_secrets(module.params['config']):
        module.no_log_values.add(secret)
    try:
        return validate(module.params)
    except errors as exc:
        module.fail_json(msg=str(exc))


def run_with_config(run, argv, path, content, kept=None):
    """Run a kubeadm argv that reads its configuration (secrets inside) from path: the file is
    written 0600 just before, then removed, or rewritten as kept (the same without secrets)
    when given. Returns (rc, stdout, stderr)."""
    write_atomic(path, content, make_dirs=True)
    try:
        return run(argv)
    finally:
        if kept is None:
            os.unlink(path)
        else:
            write_atomic(path, kept, make_dirs=True)


def failure_message(action, failure, reset_done=None):
    """One message: what failed, kubeadm's error, what to do next."""
    parts = ['%s failed' % action]
    if failure.phase:
        parts[0] += ' in phase %s' % failure.phase
    parts[0] += ': %s' % failure.error
    if failure.preflight_errors:
        parts.append('preflight errors: ' + '; '.join(
            '%s: %s' % (item['check'], item['message']) for item in failure.preflight_errors))
    if reset_done is True:
        parts.append('the node was cleaned with `kubeadm reset --force` so that nothing '
                     'half-done is left behind')
    elif reset_done is False:
        parts.append('cleaning the node with `kubeadm reset --force` failed too; run '
                     'edge.cluster.kubeadm_reset before trying again')
    parts.append('next: ' + ' / '.join(failure.advice(action)))
    return '. '.join(parts)


def locate_binary(module, name_or_path):
    """Absolute path of an executable (a name looked up in PATH and the bin dirs, or a path), or
    None when there is none."""
    if os.sep in name_or_path:
        return name_or_path if os.path.isfile(name_or_path) and os.access(name_or_path, os.X_OK) \
            else None
    return module.get_bin_path(name_or_path, opt_dirs=['/usr/local/bin', '/usr/bin',
                                                       '/usr/local/sbin', '/usr/sbin'])


def find_binary(module, name_or_path, what):
    """Absolute path of a binary option (name looked up in PATH, or a path), or fail_json."""
    if os.sep in name_or_path:
        if os.path.isfile(name_or_path) and os.access(name_or_path, os.X_OK):
            return name_or_path
        module.fail_json(msg='%s=%s is not an executable file; set %s to the path of the %s '
                             'binary' % (what, name_or_path, what, what))
    found = module.get_bin_path(name_or_path, opt_dirs=['/usr/local/bin', '/usr/bin',
                                                        '/usr/local/sbin', '/usr/sbin'])
    if not found:
        module.fail_json(msg='%s not found in PATH; install it (the static package puts kubeadm, '
                             'kubelet and kubectl in /usr/bin) or set %s to its full path'
                             % (name_or_path, what))
    return found
