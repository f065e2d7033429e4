# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kubeadm argv lists, version handling, output parsing of recorded kubeadm failures, and the
small file helpers kubeadm_init/join use."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import _kubeadm_cli as cli
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_values import KubeadmConfigError

# Recorded from kubeadm v1.34.12 (`kubeadm join phase preflight` on a host without kubelet,
# with an unreachable CRI socket): stdout, then stderr.
PREFLIGHT_STDOUT = '[preflight] Running pre-flight checks\n'
PREFLIGHT_STDERR = (
    "W1122 18:46:00.154661   11348 checks.go:1046] [preflight] WARNING: Couldn't create the int"
    'erface used for talking to the container runtime: failed to create new CRI runtime service'
    ': validate service connection: validate CRI v1 runtime API for endpoint "unix:///run/nonex'
    'istent/containerd.sock": rpc error: code = Unavailable desc = connection error: desc = "tr'
    'ansport: Error while dialing: dial unix /run/nonexistent/containerd.sock: connect: no such'
    ' file or directory"\n'
    '\t[WARNING SystemVerification]: cgroups v1 support is in maintenance mode, please migrate '
    'to cgroups v2\n'
    '\t[WARNING Hostname]: hostname "probe-node" could not be reached\n'
    "\t[WARNING Service-Kubelet]: kubelet service is not enabled, please run 'systemctl enable "
    "kubelet.service'\n"
    '[preflight] Some fatal errors occurred:\n'
    "\t[ERROR KubeletVersion]: couldn't get kubelet version: cannot execute 'kubelet --version'"
    ': executable file not found in $PATH\n'
    '[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-'
    'preflight-errors=...`\n'
    'error: error execution phase preflight: preflight checks failed\n'
    'To see the stack trace of this error execute with --v=5 or higher\n'
)

# Modelled on kubeadm 1.34's preflight output for a node initialised before (same line format
# as the recording above).
LEFTOVER_STDERR = '''\
[preflight] Some fatal errors occurred:
\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists
\t[ERROR Port-6443]: Port 6443 is in use
\t[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty
[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`
error: error execution phase preflight: preflight checks failed
To see the stack trace of this error execute with --v=5 or higher
'''

# Modelled on kubeadm 1.34's wait-control-plane failure (the phase and error line format as above).
WAIT_CONTROL_PLANE_STDOUT = '''\
[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests"
[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s
[kubelet-check] The kubelet is healthy after 1.5s
[control-plane-check] Waiting for healthy control plane components. This can take up to 4m0s
[control-plane-check] kube-apiserver is not healthy after 4m0.000s
'''
WAIT_CONTROL_PLANE_STDERR = '''\
A control plane component may have crashed or exited when started by the container runtime.
To troubleshoot, list all containers using your preferred container runtimes CLI.
error: error execution phase wait-control-plane: failed while waiting for the control plane to \
start: kube-apiserver check failed at https://10.213.0.10:6443/livez: context deadline exceeded
To see the stack trace of this error execute with --v=5 or higher
'''


def test_argv_never_carries_secrets_and_is_a_list():
    assert cli.init_argv('/usr/bin/kubeadm', '/etc/kubernetes/kubeadm-init.yaml') == [
        '/usr/bin/kubeadm', 'init', '--config', '/etc/kubernetes/kubeadm-init.yaml',
        '--skip-token-print', '--skip-certificate-key-print']
    assert cli.init_argv('kubeadm', '/c.yaml', upload_certs=True)[-1] == '--upload-certs'
    assert cli.join_argv('kubeadm', '/j.yaml') == ['kubeadm', 'join', '--config', '/j.yaml']
    assert cli.reset_argv('kubeadm', 'unix:///run/containerd/containerd.sock') == [
        'kubeadm', 'reset', '--force', '--cri-socket', 'unix:///run/containerd/containerd.sock']
    assert cli.version_argv('kubeadm') == ['kubeadm', 'version', '--output', 'short']


@pytest.mark.parametrize('stdout, expected', [
    ('v1.34.12\n', (1, 34, 12)),
    ('W0101 warning line\nv1.30.2\n', (1, 30, 2)),
])
def test_kubeadm_version(stdout, expected):
    assert cli.parse_kubeadm_version(stdout) == expected


def test_kubeadm_version_errors():
    with pytest.raises(KubeadmConfigError, match='printed nothing'):
        cli.parse_kubeadm_version('')


@pytest.mark.parametrize('kubeadm, wanted, ok', [
    ((1, 34, 12), (1, 34, 12), True),
    ((1, 34, 12), (1, 33, 5), True),
    ((1, 34, 12), (1, 35, 0), False),
    ((1, 34, 12), (1, 32, 0), False),
    ((1, 34, 12), (2, 34, 0), False),
])
def test_version_skew(kubeadm, wanted, ok):
    if ok:
        cli.check_version_skew(kubeadm, wanted)
    else:
        with pytest.raises(KubeadmConfigError, match='cannot be deployed by kubeadm 1.34.12'):
            cli.check_version_skew(kubeadm, wanted)


def test_server_and_endpoint_from_a_kubeconfig():
    text = ('apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: AAAA\n'
            '    server: https://10.213.0.10:6443\n  name: kubernetes\n')
    assert cli.server_from_kubeconfig(text) == 'https://10.213.0.10:6443'
    assert cli.endpoint_from_server('https://10.213.0.10:6443') == '10.213.0.10:6443'
    assert cli.endpoint_from_server('https://[fd00::1]:6443/') == '[fd00::1]:6443'
    assert cli.server_from_kubeconfig('') is None and cli.endpoint_from_server(None) is None


def test_preflight_failure_is_read():
    failure = cli.KubeadmFailure(PREFLIGHT_STDOUT, PREFLIGHT_STDERR)
    assert failure.phase == 'preflight'
    assert failure.error == 'error: error execution phase preflight: preflight checks failed'
    assert failure.preflight_errors == [{
        'check': 'KubeletVersion',
        'message': "couldn't get kubelet version: cannot execute 'kubelet --version': executable "
                   "file not found in $PATH"}]
    advice = ' '.join(failure.advice('kubeadm join'))
    assert 'static_package' in advice and 'container runtime' in advice
    # klog prefixes are stripped from the tail
    assert not any(line.startswith('W1122') for line in failure.tail())
    assert failure.tail(2) == ['error: error execution phase preflight: preflight checks failed',
                               'To see the stack trace of this error execute with --v=5 or higher']


def test_leftover_failure_points_to_reset():
    failure = cli.KubeadmFailure('', LEFTOVER_STDERR)
    assert [item['check'] for item in failure.preflight_errors] == [
        'FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml', 'Port-6443',
        'DirAvailable--var-lib-etcd']
    message = cli.failure_message('kubeadm init', failure, reset_done=None)
    assert message.startswith('kubeadm init failed in phase preflight: error: error execution')
    assert 'Port-6443: Port 6443 is in use' in message
    assert 'edge.cluster.kubeadm_reset' in message


def test_control_plane_timeout_advice():
    failure = cli.KubeadmFailure(WAIT_CONTROL_PLANE_STDOUT, WAIT_CONTROL_PLANE_STDERR)
    assert failure.phase == 'wait-control-plane'
    assert 'context deadline exceeded' in failure.error
    message = cli.failure_message('kubeadm init', failure, reset_done=True)
    assert 'journalctl -u kubelet' in message and 'crictl ps -a' in message
    assert 'cleaned with `kubeadm reset --force`' in message
    assert 'failed too' in cli.failure_message('kubeadm init', failure, reset_done=False)


def test_unknown_failure_still_says_something():
    failure = cli.KubeadmFailure('', 'something odd happened\n')
    assert failure.error == 'something odd happened'
    assert failure.phase is None
    assert 'kubeadm_reset' in failure.advice('kubeadm join')[0]
    assert cli.KubeadmFailure('', '').error == 'no output'


def test_kube_paths_leftovers(tmp_path):
    paths = cli.KubePaths(etc=str(tmp_path / 'etc'), etcd=str(tmp_path / 'etcd'),
                          kubelet=str(tmp_path / 'kubelet'))
    assert paths.leftovers() == []
    os.makedirs(paths.manifests)
    os.makedirs(paths.etcd)
    assert paths.leftovers() == []  # empty directories are what a prepared node has
    open(os.path.join(paths.manifests, 'kube-apiserver.yaml'), 'w').close()
    open(os.path.join(paths.etcd, 'member'), 'w').close()
    os.makedirs(os.path.dirname(paths.ca_cert))
    open(paths.ca_cert, 'w').close()
    assert paths.leftovers() == [paths.ca_cert, paths.manifests, paths.etcd]


def test_kubectl_yaml_to_json_args_reads_stdin_locally():
    assert cli.kubectl_yaml_to_json_args()[:3] == ['label', '--local', '--filename']


class FakeResponse:
    def __init__(self, body, status=200):
        self.body, self.status = body, status

    def read(self, size):
        return self.body[:size]


def test_kubelet_healthy_retries_until_ok():
    answers = [OSError('refused'), FakeResponse(b'not yet', 500), FakeResponse(b'ok')]
    clock = [0.0]

    def opener(url, timeout):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def sleep(seconds):
        clock[0] += seconds

    assert cli.kubelet_healthy(wait=30, opener=opener, sleep=sleep, clock=lambda: clock[0])
    assert clock[0] == 4


def test_kubelet_unhealthy_gives_up():
    clock = [0.0]

    def opener(url, timeout):
        raise OSError('refused')

    def sleep(seconds):
        clock[0] += seconds

    assert not cli.kubelet_healthy(wait=5, opener=opener, sleep=sleep, clock=lambda: clock[0])
    assert clock[0] == 6


def test_secrets_are_scrubbed_from_kubeadm_output():
    stdout = ('[bootstrap-token] Using token: abcdef.0123456789abcdef\n'
              'secret half 0123456789abcdef alone\n')
    stderr = 'error: certificate key %s is wrong\n' % ('c' * 64)
    failure = cli.KubeadmFailure(stdout, stderr, ('abcdef.0123456789abcdef', 'c' * 64, None))
    text = '\n'.join(failure.lines)
    assert '0123456789abcdef' not in text and 'c' * 64 not in text
    assert '[bootstrap-token] Using token: ********' in text
    assert cli.scrub('nothing to hide', ()) == 'nothing to hide'


# ---------------------------------------------------------------- the real kubectl

@pytest.fixture(scope='session')
def real_kubectl(tmp_path_factory):
    """kubectl from the offline bundle, extracted once; skipped when the bundle is not built."""
    import tarfile
    from pathlib import Path

    bundle = Path(__file__).resolve().parents[8] / 'artifacts' / 'bundle'
    packages = sorted(bundle.glob('kube-linux-*.tar.gz')) if bundle.exists() else []
    if not packages:
        pytest.skip('offline bundle not built (make bundle): the real kubectl is not available')
    target = tmp_path_factory.mktemp('kubectl')
    with tarfile.open(packages[0]) as archive:
        member = archive.getmember('edge-install/bin/kubectl')
        member.name = 'kubectl'
        archive.extract(member, target, filter='data')
    os.chmod(target / 'kubectl', 0o755)
    return str(target / 'kubectl')


def test_real_kubectl_converts_the_stored_configuration_offline(real_kubectl, tmp_path):
    """The no-PyYAML path kubeadm_init takes on a node, with the pinned kubectl and no cluster
    (the kubeconfig names no server: nothing is contacted)."""
    import subprocess

    from ansible_collections.edge.cluster.plugins.module_utils._command import run_checked
    from ansible_collections.edge.cluster.plugins.module_utils._kubectl import Kubectl

    kubeconfig = tmp_path / 'admin.conf'
    kubeconfig.write_text('apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n')

    def run(argv, data=None):
        done = subprocess.run(argv, input=data, capture_output=True, text=True, timeout=60,
                              check=False)
        return done.returncode, done.stdout, done.stderr

    kubectl = Kubectl(run, real_kubectl, str(kubeconfig))
    stored = ('apiServer:\n  certSANs:\n  - 10.213.0.100\n  extraArgs:\n  - name: enable-admission-plugins\n'
              '    value: NodeRestriction\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n'
              'kubernetesVersion: v1.34.12\nnetworking:\n  podSubnet: 10.244.0.0/16\n')
    text = run_checked(run, kubectl.argv(cli.kubectl_yaml_to_json_args()), 'convert', data=stored)
    data = json.loads(text)
    assert data.pop('metadata') == {'labels': {'edge.cluster/parsed': 'true'}}
    assert data == {
        'apiServer': {'certSANs': ['10.213.0.100'],
                      'extraArgs': [{'name': 'enable-admission-plugins', 'value': 'NodeRestriction'}]},
        'apiVersion': 'kubeadm.k8s.io/v1beta4', 'kind': 'ClusterConfiguration',
        'kubernetesVersion': 'v1.34.12', 'networking': {'podSubnet': '10.244.0.0/16'}}


@pytest.mark.parametrize('kept', [None, 'kind: InitConfiguration\n'])
@pytest.mark.parametrize('rc', [0, 1])
def test_run_with_config_shows_the_secret_file_to_kubeadm_only(tmp_path, kept, rc):
    path = tmp_path / 'etc' / 'kubeadm.yaml'
    seen = []

    def run(argv, data=None):
        seen.append((argv, path.read_text(), stat.S_IMODE(os.stat(path).st_mode)))
        return rc, 'out', 'err'

    assert cli.run_with_config(run, ['kubeadm', 'join'], str(path), 'token: secret\n', kept) == (rc, 'out', 'err')
    assert seen == [(['kubeadm', 'join'], 'token: secret\n', 0o600)]
    if kept is None:
        assert not path.exists()
    else:
        assert path.read_text() == kept and stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_run_with_config_cleans_up_when_kubeadm_cannot_start(tmp_path):
    path = tmp_path / 'kubeadm.yaml'

    def run(argv, data=None):
        raise OSError('exec format error')

    with pytest.raises(OSError):
        cli.run_with_config(run, ['kubeadm'], str(path), 'token: secret\n')
    assert list(tmp_path.iterdir()) == []


class Ended(Exception):
    pass


class OptionsModule:
    def __init__(self, config):
        self.params = dict(config=config)
        self.no_log_values = set()

    def fail_json(self, **result):
        raise Ended(result)


@pytest.mark.parametrize('config, masked', [
    ({}, set()),
    ({'InitConfiguration': {'certificateKey': 'k' * 64}}, {'k' * 64}),
    ({'JoinConfiguration': {'discovery': {'tlsBootstrapToken': 'abcdef.0123456789abcdef'}}},
     {'abcdef.0123456789abcdef'}),
])
def test_validated_options_masks_passthrough_secrets_before_validating(config, masked):
    module = OptionsModule(config)

    def validate(params):
        assert module.no_log_values == masked  # masked before anything can print them
        raise ValueError('config holds a secret')

    with pytest.raises(Ended) as ended:
        cli.validated_options(module, validate, (ValueError,))
    assert ended.value.args[0] == dict(msg='config holds a secret')


def test_validated_options_returns_the_options():
    assert cli.validated_options(OptionsModule({}), lambda params: dict(params, ok=True), (ValueError,)) == {
        'config': {}, 'ok': True}
