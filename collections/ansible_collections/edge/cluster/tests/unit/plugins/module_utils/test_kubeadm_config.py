# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kubeadm configuration rendering: versions, security defaults, passthrough merge, secrets,
YAML output (read back with PyYAML and, when the offline bundle is built, validated by the real
kubeadm's strict `kubeadm config validate`), and drift."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from ansible_collections.edge.cluster.plugins.module_utils import (
    _kubeadm_config as kc,
    _kubeadm_fields as kf,
    _kubeadm_values as kv,
    _yaml as ky,
)

TOKEN = 'abcdef.0123456789abcdef'
CERT_KEY = 'f' * 64
HASH = 'sha256:' + 'ab' * 32
REPO = Path(__file__).resolve().parents[8]
BUNDLE = REPO / 'artifacts' / 'bundle'


def init_opts(**extra):
    opts = dict(kubernetes_version='v1.34.12', pod_network_cidr='10.244.0.0/16',
                service_cidr='10.96.0.0/12', apiserver_advertise_address='10.213.0.10',
                apiserver_bind_port=6443, apiserver_cert_extra_sans=['cp.edge.test', '10.213.0.100'],
                token=TOKEN, token_ttl='1h', node_name='cp-01', config={})
    opts.update(extra)
    return opts


def render_init(**extra):
    opts = init_opts(**extra)
    api = kv.api_version_for(opts['kubernetes_version'])
    return kc.finalize(kc.build_init_documents(opts), api, kc.INIT_KINDS)


def join_opts(**extra):
    opts = dict(api_server_endpoint='10.213.0.10:6443', token=TOKEN, ca_cert_hashes=[HASH],
                node_name='edge-01', config={})
    opts.update(extra)
    return opts


# ---------------------------------------------------------------- flag maps

@pytest.mark.parametrize('version, expected', [
    ('v1.34.12', [{'name': 'audit-log-maxage', 'value': '7'},
                  {'name': 'enable-admission-plugins', 'value': 'NodeRestriction'}]),
    ('v1.30.2', {'audit-log-maxage': '7', 'enable-admission-plugins': 'NodeRestriction'}),
])
@pytest.mark.parametrize('passthrough', [
    {'audit-log-maxage': 7},
    [{'name': 'audit-log-maxage', 'value': '7'}],
], ids=['map', 'list'])
def test_extra_args_take_the_form_of_the_config_version(version, expected, passthrough):
    docs = kc.by_kind(render_init(kubernetes_version=version, config={
        'ClusterConfiguration': {'apiServer': {'extraArgs': passthrough}}}))
    assert docs['ClusterConfiguration']['apiServer']['extraArgs'] == expected


def test_kubelet_extra_args_are_converted_too():
    docs = kc.by_kind(render_init(config={'InitConfiguration': {'nodeRegistration': {
        'kubeletExtraArgs': {'node-ip': '10.213.0.10'}}}}))
    assert docs['InitConfiguration']['nodeRegistration']['kubeletExtraArgs'] == [
        {'name': 'node-ip', 'value': '10.213.0.10'}]
    old = kc.by_kind(render_init(kubernetes_version='v1.29.0', config={'InitConfiguration': {
        'nodeRegistration': {'kubeletExtraArgs': [{'name': 'node-ip', 'value': '10.213.0.10'}]}}}))
    assert old['InitConfiguration']['nodeRegistration']['kubeletExtraArgs'] == {
        'node-ip': '10.213.0.10'}


@pytest.mark.parametrize('bad, message', [
    ([{'name': 'a', 'value': '1'}, {'name': 'a', 'value': '2'}], 'given twice'),
    ([{'value': '1'}], 'each list entry must be'),
    ('profiling=false', 'must be a map of flag names'),
    ({'a': {'b': 1}}, 'must be a string'),
])
def test_bad_flag_maps_are_refused(bad, message):
    with pytest.raises(kv.KubeadmConfigError, match=message):
        render_init(config={'ClusterConfiguration': {'apiServer': {'extraArgs': bad}}})


def test_boolean_flag_values_become_kubeadm_strings():
    docs = kc.by_kind(render_init(kubernetes_version='v1.30.0', config={
        'ClusterConfiguration': {'controllerManager': {'extraArgs': {'profiling': False}}}}))
    assert docs['ClusterConfiguration']['controllerManager']['extraArgs'] == {'profiling': 'false'}


# ---------------------------------------------------------------- security defaults

def test_security_defaults():
    docs = kc.by_kind(render_init())
    kubelet = docs['KubeletConfiguration']
    assert kubelet['apiVersion'] == 'kubelet.config.k8s.io/v1beta1'
    assert kubelet['cgroupDriver'] == 'systemd'
    assert kubelet['rotateCertificates'] is True
    assert kubelet['serverTLSBootstrap'] is False
    assert kubelet['authentication']['anonymous'] == {'enabled': False}
    assert kubelet['authentication']['webhook'] == {'enabled': True}
    assert kubelet['authorization'] == {'mode': 'Webhook'}
    args = kf.extra_args_to_dict(docs['ClusterConfiguration']['apiServer']['extraArgs'], 'x')
    assert args['enable-admission-plugins'] == 'NodeRestriction'
    assert docs['InitConfiguration']['nodeRegistration']['criSocket'] == \
        'unix:///run/containerd/containerd.sock'
    assert 'KubeProxyConfiguration' not in docs


def test_server_tls_bootstrap_is_an_option():
    docs = kc.by_kind(render_init(kubelet_server_tls_bootstrap=True))
    assert docs['KubeletConfiguration']['serverTLSBootstrap'] is True


@pytest.mark.parametrize('plugins, expected', [
    ('PodSecurity', 'PodSecurity,NodeRestriction'),
    ('NodeRestriction,PodSecurity', 'NodeRestriction,PodSecurity'),
    ('', 'NodeRestriction'),
])
def test_node_restriction_survives_the_passthrough(plugins, expected):
    docs = kc.by_kind(render_init(config={'ClusterConfiguration': {'apiServer': {'extraArgs': {
        'enable-admission-plugins': plugins}}}}))
    args = kf.extra_args_to_dict(docs['ClusterConfiguration']['apiServer']['extraArgs'], 'x')
    assert args['enable-admission-plugins'] == expected


def test_disabling_node_restriction_is_refused():
    with pytest.raises(kv.KubeadmConfigError, match='NodeRestriction'):
        render_init(config={'ClusterConfiguration': {'apiServer': {'extraArgs': {
            'disable-admission-plugins': 'NodeRestriction'}}}})


def test_weakened_kubelet_settings_are_warned_about():
    docs = kc.by_kind(render_init(config={'KubeletConfiguration': {
        'authentication': {'anonymous': {'enabled': True}}, 'authorization': {'mode': 'AlwaysAllow'},
        'cgroupDriver': 'cgroupfs'}}))
    warnings = kc.warnings_for(docs)
    assert len(warnings) == 3
    assert kc.warnings_for(kc.by_kind(render_init())) == []


@pytest.mark.parametrize('edge_mode', [True, False])
def test_edge_mode_apiserver_settings(edge_mode):
    docs = kc.by_kind(render_init(edge_mode=edge_mode, apiserver_cert_extra_sans=['api.edge.test', 'localhost']))
    apiserver = docs['ClusterConfiguration']['apiServer']
    args = kf.extra_args_to_dict(apiserver['extraArgs'], 'x')
    if edge_mode:
        assert args['kubelet-preferred-address-types'] == 'InternalIP,ExternalIP,Hostname'
        # the tunnel: everything the API server dials into the cluster goes through konnectivity
        assert args['egress-selector-config-file'] == '/etc/kubernetes/konnectivity/egress-selector-configuration.yaml'
        assert [v['hostPath'] for v in apiserver['extraVolumes']] == ['/etc/kubernetes/konnectivity']
        assert args['enable-admission-plugins'] == 'NodeRestriction,PodTolerationRestriction'
        # the node-local load balancers' address, once each, after the user's
        assert apiserver['certSANs'] == ['api.edge.test', 'localhost', '127.0.0.1']
    else:
        assert set(args) == {'enable-admission-plugins'}
        assert 'extraVolumes' not in apiserver
        assert apiserver['certSANs'] == ['api.edge.test', 'localhost']
    # no cluster-wide raise of the eviction window: cloud pods fail over at the normal one
    assert 'default-unreachable-toleration-seconds' not in args
    assert 'enable-aggregator-routing' not in args


def test_eviction_window_settings_reach_apiserver_and_controller_manager():
    docs = kc.by_kind(render_init(default_toleration_seconds=30, node_monitor_grace_period='20s'))
    cluster = docs['ClusterConfiguration']
    args = kf.extra_args_to_dict(cluster['apiServer']['extraArgs'], 'x')
    assert args['default-unreachable-toleration-seconds'] == '30'
    assert args['default-not-ready-toleration-seconds'] == '30'
    assert kf.extra_args_to_dict(cluster['controllerManager']['extraArgs'], 'x') == {
        'node-monitor-grace-period': '20s'}
    assert 'controllerManager' not in kc.by_kind(render_init())['ClusterConfiguration']


# ---------------------------------------------------------------- options and passthrough

def test_options_land_where_kubeadm_reads_them():
    docs = kc.by_kind(render_init(image_repository='registry.lab:5000/k8s',
                                  control_plane_endpoint='cp.edge.test:6443', certificate_key=CERT_KEY,
                                  skip_phases=['addon/kube-proxy'], ignore_preflight_errors=['Swap'],
                                  service_dns_domain='edge.local'))
    init, cluster = docs['InitConfiguration'], docs['ClusterConfiguration']
    assert init['bootstrapTokens'] == [{
        'token': TOKEN, 'ttl': '1h', 'usages': ['signing', 'authentication'],
        'groups': ['system:bootstrappers:kubeadm:default-node-token'],
        'description': 'Created by edge.cluster.kubeadm_init'}]
    assert init['certificateKey'] == CERT_KEY
    assert init['localAPIEndpoint'] == {'advertiseAddress': '10.213.0.10', 'bindPort': 6443}
    assert init['nodeRegistration']['name'] == 'cp-01'
    assert init['nodeRegistration']['ignorePreflightErrors'] == ['Swap']
    assert init['skipPhases'] == ['addon/kube-proxy']
    assert cluster['kubernetesVersion'] == 'v1.34.12'
    assert cluster['imageRepository'] == 'registry.lab:5000/k8s'
    assert cluster['controlPlaneEndpoint'] == 'cp.edge.test:6443'
    assert cluster['networking'] == {'serviceSubnet': '10.96.0.0/12', 'podSubnet': '10.244.0.0/16',
                                     'dnsDomain': 'edge.local'}
    assert cluster['apiServer']['certSANs'] == ['cp.edge.test', '10.213.0.100']


def test_passthrough_deep_merges_and_wins():
    docs = kc.by_kind(render_init(config={
        'ClusterConfiguration': {'networking': {'podSubnet': '10.245.0.0/16'},
                                 'apiServer': {'certSANs': ['only.this']}},
        'KubeletConfiguration': {'maxPods': 60, 'authentication': {'x509': {'clientCAFile': '/ca'}}},
        'KubeProxyConfiguration': {'mode': 'ipvs'},
    }))
    cluster = docs['ClusterConfiguration']
    assert cluster['networking'] == {'serviceSubnet': '10.96.0.0/12', 'podSubnet': '10.245.0.0/16'}
    assert cluster['apiServer']['certSANs'] == ['only.this']  # lists are replaced
    kubelet = docs['KubeletConfiguration']
    assert kubelet['maxPods'] == 60
    assert kubelet['authentication'] == {'anonymous': {'enabled': False}, 'webhook': {'enabled': True},
                                         'x509': {'clientCAFile': '/ca'}}
    proxy = docs['KubeProxyConfiguration']
    assert proxy == {'apiVersion': 'kubeproxy.config.k8s.io/v1alpha1',
                     'kind': 'KubeProxyConfiguration', 'mode': 'ipvs'}


def test_passthrough_cannot_choose_the_api_version():
    docs = kc.by_kind(render_init(config={'ClusterConfiguration': {
        'apiVersion': 'kubeadm.k8s.io/v1beta3', 'kind': 'Nonsense'}}))
    assert docs['ClusterConfiguration']['apiVersion'] == kv.KUBEADM_V1BETA4


@pytest.mark.parametrize('config, message', [
    ({'JoinConfiguration': {}}, 'allowed kinds'),
    ({'ClusterConfiguration': []}, 'must be a dict'),
    ({'InitConfiguration': {'bootstrapTokens': [{'token': TOKEN}]}}, 'holds a secret'),
    ({'InitConfiguration': {'certificateKey': CERT_KEY}}, 'holds a secret'),
    ('ClusterConfiguration', 'dict of documents'),
])
def test_bad_passthrough_is_refused(config, message):
    with pytest.raises(kv.KubeadmConfigError, match=message):
        kf.validate_passthrough(config, kc.INIT_KINDS)


def test_the_passthrough_is_not_modified():
    config = {'ClusterConfiguration': {'apiServer': {'extraArgs': {'a': 'b'}}}}
    render_init(config=config)
    assert config == {'ClusterConfiguration': {'apiServer': {'extraArgs': {'a': 'b'}}}}


# ---------------------------------------------------------------- join

@pytest.mark.parametrize('control_plane', [False, True])
def test_join_configuration(control_plane):
    extra = {}
    if control_plane:
        extra = dict(control_plane=True, certificate_key=CERT_KEY,
                     apiserver_advertise_address='10.213.0.11', apiserver_bind_port=6443)
    docs = kc.finalize(kc.build_join_documents(join_opts(**extra)), kv.KUBEADM_V1BETA4,
                       kc.JOIN_KINDS)
    assert [doc['kind'] for doc in docs] == ['JoinConfiguration']
    join = docs[0]
    assert join['discovery'] == {
        'bootstrapToken': {'apiServerEndpoint': '10.213.0.10:6443', 'token': TOKEN,
                           'caCertHashes': [HASH], 'unsafeSkipCAVerification': False},
        'tlsBootstrapToken': TOKEN}
    assert join['nodeRegistration'] == {'criSocket': 'unix:///run/containerd/containerd.sock',
                                        'name': 'edge-01'}
    if control_plane:
        assert join['controlPlane'] == {'certificateKey': CERT_KEY, 'localAPIEndpoint': {
            'advertiseAddress': '10.213.0.11', 'bindPort': 6443}}
    else:
        assert 'controlPlane' not in join


def test_join_passthrough_cannot_unpin_the_ca_silently():
    docs = kc.finalize(kc.build_join_documents(join_opts(config={'JoinConfiguration': {
        'nodeRegistration': {'taints': [{'key': 'edge', 'effect': 'NoSchedule'}]}}})),
        kv.KUBEADM_V1BETA3, kc.JOIN_KINDS)
    assert docs[0]['nodeRegistration']['taints'] == [{'key': 'edge', 'effect': 'NoSchedule'}]
    with pytest.raises(kv.KubeadmConfigError, match='holds a secret'):
        kc.build_join_documents(join_opts(config={'JoinConfiguration': {
            'discovery': {'bootstrapToken': {'token': TOKEN}}}}))
    with pytest.raises(kv.KubeadmConfigError, match='allowed kinds'):
        kc.build_join_documents(join_opts(config={'KubeletConfiguration': {}}))


# ---------------------------------------------------------------- secrets

def test_sanitize_and_strip_remove_every_secret():
    docs = render_init(certificate_key=CERT_KEY)
    join = kc.finalize(kc.build_join_documents(join_opts(control_plane=True,
                                                         certificate_key=CERT_KEY)),
                       kv.KUBEADM_V1BETA4, kc.JOIN_KINDS)
    for documents in (docs, join):
        for clean in (kf.sanitize(documents), kf.strip_secrets(documents)):
            text = ky.to_yaml(clean)
            assert TOKEN not in text and '0123456789abcdef' not in text and CERT_KEY not in text
    shown = kc.by_kind(kf.sanitize(docs))['InitConfiguration']
    assert shown['bootstrapTokens'][0]['token'] == kf.HIDDEN
    assert shown['bootstrapTokens'][0]['ttl'] == '1h'
    assert shown['certificateKey'] == kf.HIDDEN
    kept = kc.by_kind(kf.strip_secrets(docs))['InitConfiguration']
    assert 'bootstrapTokens' not in kept and 'certificateKey' not in kept
    # the originals are untouched
    assert kc.by_kind(docs)['InitConfiguration']['certificateKey'] == CERT_KEY


# ---------------------------------------------------------------- YAML

def test_yaml_of_several_documents():
    docs = render_init(certificate_key=CERT_KEY, config={'KubeProxyConfiguration': {'mode': 'ipvs'}})
    text = ky.to_yaml(docs, header='rendered by a test')
    assert list(yaml.safe_load_all(text)) == docs
    assert text.count('\n---\n') == len(docs) - 1
    again = render_init(certificate_key=CERT_KEY, config={'KubeProxyConfiguration': {'mode': 'ipvs'}})
    assert ky.to_yaml(again) == ky.to_yaml(docs)  # same input, same bytes


# ---------------------------------------------------------------- the real kubeadm

@pytest.fixture(scope='session')
def real_kubeadm(tmp_path_factory):
    """kubeadm from the offline bundle (the pinned release), extracted once; skipped when the
    bundle has not been built on this machine yet."""
    bundle = sorted(BUNDLE.glob('kube-linux-*.tar.gz')) if BUNDLE.exists() else []
    if not bundle:
        pytest.skip('offline bundle not built (make bundle): the real kubeadm is not available')
    target = tmp_path_factory.mktemp('kubeadm')
    with tarfile.open(bundle[0]) as archive:
        member = archive.getmember('edge-install/bin/kubeadm')
        member.name = 'kubeadm'
        archive.extract(member, target, filter='data')
    path = target / 'kubeadm'
    os.chmod(path, 0o755)
    return str(path)


def _validate(kubeadm, tmp_path, documents):
    config = tmp_path / 'kubeadm.yaml'
    config.write_text(ky.to_yaml(documents, header='validated by a unit test'))
    return subprocess.run([kubeadm, 'config', 'validate', '--config', str(config)],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize('api', [kv.KUBEADM_V1BETA4, kv.KUBEADM_V1BETA3])
@pytest.mark.parametrize('edge_mode', [False, True])
def test_real_kubeadm_accepts_the_init_configuration(real_kubeadm, tmp_path, api, edge_mode):
    docs = kc.finalize(kc.build_init_documents(init_opts(
        edge_mode=edge_mode, certificate_key=CERT_KEY, control_plane_endpoint='cp.edge.test:6443',
        skip_phases=['addon/kube-proxy'], ignore_preflight_errors=['Swap'],
        config={'ClusterConfiguration': {'apiServer': {'extraArgs': {'audit-log-maxage': 7}},
                                         'controllerManager': {'extraArgs': {'profiling': False}}},
                'InitConfiguration': {'nodeRegistration': {'kubeletExtraArgs': {'v': '2'}}},
                'KubeletConfiguration': {'maxPods': 60},
                'KubeProxyConfiguration': {'mode': 'iptables'}})), api, kc.INIT_KINDS)
    done = _validate(real_kubeadm, tmp_path, docs)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'ok'


@pytest.mark.parametrize('api', [kv.KUBEADM_V1BETA4, kv.KUBEADM_V1BETA3])
@pytest.mark.parametrize('control_plane', [False, True])
def test_real_kubeadm_accepts_the_join_configuration(real_kubeadm, tmp_path, api, control_plane):
    extra = dict(control_plane=True, certificate_key=CERT_KEY,
                 apiserver_advertise_address='10.213.0.11') if control_plane else {}
    docs = kc.finalize(kc.build_join_documents(join_opts(config={'JoinConfiguration': {
        'nodeRegistration': {'kubeletExtraArgs': {'node-ip': '10.213.0.21'}}}}, **extra)),
        api, kc.JOIN_KINDS)
    done = _validate(real_kubeadm, tmp_path, docs)
    assert done.returncode == 0, done.stderr


def test_real_kubeadm_rejects_the_wrong_flag_form(real_kubeadm, tmp_path):
    """The check above can fail: v1beta4-style lists in a v1beta3 document are refused."""
    docs = render_init(kubernetes_version='v1.30.0')
    cluster = kc.by_kind(docs)['ClusterConfiguration']
    cluster['kubernetesVersion'] = 'v1.34.12'
    cluster['apiServer']['extraArgs'] = [{'name': 'a', 'value': 'b'}]
    done = _validate(real_kubeadm, tmp_path, docs)
    assert done.returncode != 0
    assert 'extraArgs' in done.stderr


# ---------------------------------------------------------------- drift

LIVE = {
    'apiVersion': 'kubeadm.k8s.io/v1beta4', 'kind': 'ClusterConfiguration',
    'kubernetesVersion': 'v1.34.12', 'imageRepository': 'registry.k8s.io',
    'networking': {'dnsDomain': 'cluster.local', 'podSubnet': '10.244.0.0/16',
                   'serviceSubnet': '10.96.0.0/12'},
    'apiServer': {'certSANs': ['10.213.0.100', 'cp.edge.test'],
                  'extraArgs': [{'name': 'enable-admission-plugins', 'value': 'NodeRestriction'}]},
    'etcd': {'local': {'dataDir': '/var/lib/etcd'}},
}


def test_no_drift_when_the_cluster_matches():
    requested = kc.by_kind(render_init())['ClusterConfiguration']
    assert kf.cluster_config_drift(requested, LIVE) == []


def test_no_drift_across_flag_forms_and_version_spelling():
    requested = kc.by_kind(render_init(kubernetes_version='v1.30.0'))['ClusterConfiguration']
    live = dict(LIVE, kubernetesVersion='1.30.0',
                apiServer=dict(LIVE['apiServer'], extraArgs={
                    'enable-admission-plugins': 'NodeRestriction'}))
    assert kf.cluster_config_drift(requested, live) == []


def test_drift_lists_what_differs():
    requested = kc.by_kind(render_init(pod_network_cidr='10.245.0.0/16', edge_mode=True,
                                       apiserver_cert_extra_sans=['cp.edge.test', 'new.edge.test'],
                                       kubernetes_version='v1.34.13'))['ClusterConfiguration']
    drift = kf.cluster_config_drift(requested, LIVE)
    assert [d['path'] for d in drift] == [
        'apiServer.certSANs',
        'apiServer.extraArgs.egress-selector-config-file',
        'apiServer.extraArgs.enable-admission-plugins',
        'apiServer.extraArgs.kubelet-preferred-address-types',
        'apiServer.extraVolumes',
        'kubernetesVersion',
        'networking.podSubnet',
    ]
    assert drift[0] == {'path': 'apiServer.certSANs',
                        'requested': ['cp.edge.test', 'new.edge.test', '127.0.0.1', 'localhost'],
                        'live': ['10.213.0.100', 'cp.edge.test']}
    assert drift[2] == {'path': 'apiServer.extraArgs.enable-admission-plugins',
                        'requested': 'NodeRestriction,PodTolerationRestriction', 'live': 'NodeRestriction'}
    assert drift[-1] == {'path': 'networking.podSubnet', 'requested': '10.245.0.0/16', 'live': '10.244.0.0/16'}


def test_drift_against_a_missing_section():
    requested = kc.by_kind(render_init(control_plane_endpoint='vip.edge.test:6443'))[
        'ClusterConfiguration']
    drift = kf.cluster_config_drift(requested, LIVE)
    assert drift == [{'path': 'controlPlaneEndpoint', 'requested': 'vip.edge.test:6443',
                      'live': None}]


# ---------------------------------------------------------------- masking

def test_passthrough_secrets_are_found_for_masking():
    config = {'InitConfiguration': {'bootstrapTokens': [{'token': TOKEN}, {'ttl': '1h'}],
                                    'certificateKey': CERT_KEY},
              'JoinConfiguration': {'discovery': {'tlsBootstrapToken': 'x' * 23}},
              'ClusterConfiguration': {'clusterName': 'not-a-secret'}}
    assert kf.passthrough_secrets(config) == [TOKEN, CERT_KEY, 'x' * 23]
    assert kf.passthrough_secrets(None) == [] and kf.passthrough_secrets({'X': 'y'}) == []
