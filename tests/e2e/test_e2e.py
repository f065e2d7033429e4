"""Issue 5, end to end with real kubeadm: site.yml deploys the edge cluster into the suite's lab
(1 control plane, 2 edge nodes, 1 cloud worker) from the offline bundle, and then

- every node is Ready and carries exactly SuperEdge's labels for its role;
- a pod with the edge nodeSelector runs on an edge node and reaches a pod on another node
  (flannel, pod to pod), and a Service by its DNS name (CoreDNS, kube-proxy);
- a second site.yml reports changed=0;
- kubeadm_join refuses a wrong CA hash, an unknown or expired token, an unreachable endpoint
  and a duplicate node name before it touches the node, and the node then joins again;
- reset.yml, then site.yml again (-vvv --diff, with uploaded certificates) brings the cluster
  back, and that output holds neither the bootstrap tokens nor the certificate key, taken from
  the nodes' kubeadm configuration files while kubeadm ran;
- the online path on fresh nodes: the static package by URL from the lab's HTTP server and
  every image pulled from the lab's registry;
- the upstream conformance specs of DNS, Services and Pods (the offline kit) pass.

Tests run in file order against one lab (conftest.py); the cluster is reused from one to the
next. Full playbook output goes to $EDGE_CLUSTER_CACHE/logs/e2e-*.log."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import time
import uuid

import pytest
from edge_testlib import lab_env, leaked_secrets, start_secret_watchers, stop_secret_watchers
from edge_e2e import (CP, EDGES, IPS, NET, NODES, REGISTRY, REPO, SERVICES, WORKER, expected_labels, nodes_state,
                      progress, run, superedge_labels, wait_all_ready)

pytestmark = pytest.mark.slow

NAMESPACE = 'e2e-net'
IMAGE_NAME = 'flannel:v0.27.4'  # the bundle's flannel image carries busybox (sh, httpd, wget)


def net_manifest(marker, image):
    """A web server pod on the cloud worker (busybox httpd serving the marker), a Service in front
    of it, and a client pod with SuperEdge's edge nodeSelector."""
    server_script = ('mkdir -p /www && echo %s > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www'
                     % marker)
    docs = [
        {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': NAMESPACE}},
        {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'web', 'namespace': NAMESPACE, 'labels': {'app': 'web'}},
         'spec': {'nodeSelector': {'kubernetes.io/hostname': WORKER},
                  'containers': [{'name': 'web', 'image': image, 'imagePullPolicy': 'IfNotPresent',
                                  'command': ['/bin/busybox', 'sh', '-c', server_script],
                                  'ports': [{'containerPort': 8080}]}]}},
        {'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': 'web', 'namespace': NAMESPACE},
         'spec': {'selector': {'app': 'web'}, 'ports': [{'port': 80, 'targetPort': 8080}]}},
        {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'edge-client', 'namespace': NAMESPACE},
         'spec': {'nodeSelector': {'superedge.io/edge-node': 'enable'},
                  'containers': [{'name': 'client', 'image': image, 'imagePullPolicy': 'IfNotPresent',
                                  'command': ['/bin/busybox', 'sleep', '3600']}]}},
    ]
    return '\n---\n'.join(json.dumps(doc) for doc in docs)


def fetch(lab, url):
    """GET url from the edge client pod (busybox wget; its own -T option crashes, so `timeout`)."""
    return lab.kubectl('--namespace %s exec edge-client -- /bin/busybox timeout 10 /bin/busybox wget -q -O - %s'
                       % (NAMESPACE, url), check=False)


def check_pod_network(lab, image):
    """The edge client reaches the web pod on the worker by pod IP, and through the Service by name."""
    marker = 'e2e-%s' % uuid.uuid4().hex[:12]
    lab.kubectl('delete namespace %s --ignore-not-found --wait=true' % NAMESPACE, timeout=180)
    lab.kubectl('apply --filename -', stdin=net_manifest(marker, image))
    lab.kubectl('--namespace %s wait --for=condition=Ready pod/web pod/edge-client --timeout=180s' % NAMESPACE,
                timeout=240)
    pods = {p['metadata']['name']: p for p in lab.kubectl_json('--namespace %s get pods' % NAMESPACE)['items']}
    client, web = pods['edge-client'], pods['web']
    assert client['spec']['nodeName'] in EDGES, 'the edge nodeSelector placed the client on %s' % client['spec']['nodeName']
    assert web['spec']['nodeName'] == WORKER
    client_ip, web_ip = client['status']['podIP'], web['status']['podIP']
    state = nodes_state(lab)
    for pod_ip, node in ((client_ip, client['spec']['nodeName']), (web_ip, WORKER)):
        assert ipaddress.ip_address(pod_ip) in ipaddress.ip_network(state[node]['pod_cidr']), (pod_ip, node, state[node])
    assert state[client['spec']['nodeName']]['pod_cidr'] != state[WORKER]['pod_cidr']

    deadline = time.monotonic() + 60
    while True:
        direct = fetch(lab, 'http://%s:8080/' % web_ip)
        by_name = fetch(lab, 'http://web.%s.svc.cluster.local/' % NAMESPACE)
        if direct.strip() == marker and by_name.strip() == marker or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert direct.strip() == marker, 'pod %s on %s could not fetch from pod %s on %s: %r' % (
        client_ip, client['spec']['nodeName'], web_ip, WORKER, direct)
    assert by_name.strip() == marker, 'Service web.%s by DNS name from the edge pod: %r' % (NAMESPACE, by_name)
    progress('pod %s on %s fetched %s from pod %s on %s, and through the Service by name'
             % (client_ip, client['spec']['nodeName'], marker, web_ip, WORKER))
    lab.kubectl('delete namespace %s --wait=false' % NAMESPACE)


def check_ready_and_labelled(lab):
    state = wait_all_ready(lab)
    for node in NODES:
        assert superedge_labels(state[node]['labels']) == expected_labels(node), (node, state[node]['labels'])


# ------------------------------------------------------------------ the first bring-up

def test_site_brings_every_node_ready(lab, cluster):
    assert set(cluster.recap) >= set(NODES)
    assert all(r['failed'] == 0 and r['unreachable'] == 0 for r in cluster.recap.values()), cluster.recap
    state = wait_all_ready(lab, timeout=60)
    assert sorted(state) == sorted(NODES)
    progress('all %d nodes Ready, bring-up took %.0fs' % (len(state), cluster.seconds))


def test_labels_are_exactly_superedges(lab, cluster):
    state = nodes_state(lab)
    for node in NODES:
        assert superedge_labels(state[node]['labels']) == expected_labels(node), (node, state[node]['labels'])
    assert 'node-role.kubernetes.io/control-plane' in state[CP]['labels']


def test_edge_pod_reaches_a_pod_on_another_node(lab, cluster):
    check_pod_network(lab, 'registry.k8s.io/' + IMAGE_NAME)


def test_join_tokens_are_gone_after_the_run(lab, cluster):
    tokens = lab.kubectl('--namespace kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token '
                         '--output name')
    assert tokens.strip() == '', 'bootstrap tokens left in the cluster: %s' % tokens


def test_second_run_changes_nothing(lab, cluster, figures):
    done = lab.playbook('site.yml', log_name='site-no-op')
    assert done.rc == 0, done.failure()
    changed = {host: r['changed'] for host, r in done.recap.items() if r['changed']}
    assert not changed, 'a second site.yml changed something: %s (log %s)' % (changed, done.log)
    figures['no-op re-run'] = done.seconds


def test_dry_run_on_the_converged_cluster_predicts_no_change(lab, cluster):
    """The roles skip work on what their one probe read: --check --diff must agree that nothing
    would change (and fail nowhere) on the cluster the second run left."""
    done = lab.playbook('site.yml', '--check', '--diff', log_name='site-check')
    assert done.rc == 0, done.failure()
    assert not done.changed_hosts(), 'a dry run predicts changes on a converged cluster: %s (log %s)' % (
        done.changed_hosts(), done.log)


# ------------------------------------------------------------------ joins that must be refused

@pytest.fixture(scope='module')
def refusals(lab, cluster, tmp_path_factory):
    """reset.yml on the second edge node (its Node deleted through the control plane), then
    tests/e2e/join_refusals.yml against it: {case: result}."""
    node = EDGES[1]
    done = lab.playbook('playbooks/reset.yml', '--limit', node, log_name='reset-one-node')
    assert done.rc == 0, done.failure()
    assert node not in nodes_state(lab), '%s still registered after its reset' % node
    results = tmp_path_factory.mktemp('refusals') / 'results.json'
    done = lab.playbook('tests/e2e/join_refusals.yml', '-e', 'e2e_node=%s' % node, '-e', 'e2e_control_plane=%s' % CP,
                        '-e', 'e2e_results=%s' % results, '-e', 'e2e_unreachable=%s250:6443' % NET,
                        '-e', 'e2e_duplicate_name=%s' % EDGES[0], log_name='join-refusals')
    assert done.rc == 0, done.failure()
    return {r['case']: r for r in json.loads(results.read_text())}


def test_join_with_valid_inputs_passes_the_checks(refusals):
    """The control case: with nothing wrong, check mode passes every discovery check."""
    result = refusals['valid_inputs_check_mode']
    assert not result['failed'], result['msg']
    assert result['joined'] is True and result['changed'] is True
    assert result['before'] == result['after']


@pytest.mark.parametrize('case, expected_error, message', [
    ('wrong_ca_hash', 'ca_mismatch', 'the cluster CA does not match ca_cert_hashes'),
    ('unknown_token', 'unknown_token', 'is unknown to the cluster or has expired'),
    ('expired_token', 'unknown_token', 'is unknown to the cluster or has expired'),
    ('unreachable_endpoint', 'unreachable', '%s250:6443' % NET),
    ('duplicate_node_name', None, 'a Node named %s is already registered' % EDGES[0]),
])
def test_join_refuses_before_touching_the_node(refusals, case, expected_error, message):
    result = refusals[case]
    assert result['failed'], '%s was not refused: %s' % (case, result)
    assert result['discovery_error'] == expected_error, result
    assert message in result['msg'], result['msg']
    if expected_error:
        assert 'Nothing on this node was changed' in result['msg']
    assert result['before'] == result['after'], '/etc/kubernetes changed:\n%s\n---\n%s' % (
        result['before'], result['after'])


def test_reset_node_joins_again(lab, refusals):
    done = lab.playbook('site.yml', log_name='site-rejoin')
    assert done.rc == 0, done.failure()
    check_ready_and_labelled(lab)


# ------------------------------------------------------------------ reset, then site.yml again

@pytest.fixture(scope='module')
def rebuilt(lab, cluster, figures):
    """reset.yml on the whole cluster, then site.yml -vvv --diff with uploaded certificates (a
    certificate key), while watchers on the nodes record the real token and key values."""
    done = lab.playbook('playbooks/reset.yml', log_name='reset')
    assert done.rc == 0, done.failure()
    leftovers = {}
    for node in NODES:
        out = lab.ssh(node, 'ls -A /etc/kubernetes /etc/cni/net.d /var/lib/etcd 2>/dev/null; '
                            'ip -o link | grep -E "flannel|cni0" || true; iptables-save | grep -E "^:(KUBE|FLANNEL)" || true;'
                            'crictl ps -a -q 2>/dev/null').stdout
        left = [line for line in out.splitlines() if line.strip() and not line.endswith(':')]
        if left:
            leftovers[node] = left
    start_secret_watchers(lab, NODES)
    try:
        site = lab.playbook('site.yml', '-vvv', '--diff', '-e', 'control_plane_upload_certs=true', log_name='site-after-reset-vvv')
    finally:
        secrets = stop_secret_watchers(lab, NODES)
    figures['reset.yml'] = done.seconds
    figures['site.yml after reset (-vvv)'] = site.seconds
    return {'reset': done, 'leftovers': leftovers, 'site': site, 'secrets': secrets}


def test_reset_leaves_nothing_of_kubernetes(rebuilt):
    assert not rebuilt['leftovers'], rebuilt['leftovers']


def test_site_after_reset_brings_the_cluster_back(lab, rebuilt):
    assert rebuilt['site'].rc == 0, rebuilt['site'].failure()
    check_ready_and_labelled(lab)
    check_pod_network(lab, 'registry.k8s.io/' + IMAGE_NAME)


def test_verbose_output_holds_no_token_and_no_certificate_key(rebuilt):
    secrets, output = rebuilt['secrets'], rebuilt['site'].output
    # The run gave kubeadm init a token and a certificate key (uploaded certificates), and the
    # joins a token (node_join reuses init's while it has enough life left): the watchers must
    # have seen each, or this test would prove nothing.
    for kind in ('init_tokens', 'join_tokens', 'certificate_keys'):
        assert secrets[kind], 'the watchers saw no %s: nothing to look for' % kind.replace('_', ' ')
    assert len(secrets['certificate_keys']) == 1, 'expected one certificate key, saw %d' % len(secrets['certificate_keys'])
    assert len(output) > 100000, 'the -vvv output is suspiciously short (%d characters)' % len(output)
    # They are this run's: the token ids (not secret) show where the tokens are deleted.
    for token in secrets['init_tokens'] | secrets['join_tokens']:
        assert '"token_id": "%s"' % token.split('.')[0] in output, 'token id %s not in the output' % token.split('.')[0]
    # The whole value, and the part after the token id (the id alone is not secret).
    leaked = leaked_secrets(secrets, output)
    assert not leaked, 'found in the -vvv --diff output (%s): %s' % (rebuilt['site'].log, leaked)
    progress('-vvv --diff output (%d characters) holds none of the %d token(s) and the certificate key'
             % (len(output), len(secrets['init_tokens'] | secrets['join_tokens'])))


# ------------------------------------------------------------------ the online path

@pytest.fixture(scope='module')
def online(lab, figures):
    """Fresh nodes (the lab's node containers made again), then site.yml with edge_lab_online:
    the static package by URL from the services container, images from its registry."""
    progress('fresh nodes for the online path: scripts/lab down, then up')
    lab.down()
    lab.up()
    done = lab.playbook('site.yml', '-e', 'edge_lab_online=true', log_name='site-online')
    figures['online bring-up'] = done.seconds
    return done


def test_online_site_brings_every_node_ready(lab, online):
    assert online.rc == 0, online.failure()
    check_ready_and_labelled(lab)


def test_online_nodes_downloaded_the_package_over_http(lab, online):
    log = run(['podman', 'exec', SERVICES, 'journalctl', '--unit', 'edge-lab-http', '--no-pager', '--output', 'cat']).stdout
    for node in NODES:
        assert re.search(r'^%s - - \[.*\] "GET /kube-linux-amd64-v1\.34\.12\.tar\.gz HTTP/1\.1" 200'
                         % re.escape(IPS[node]), log, re.M), 'no package download from %s in:\n%s' % (node, log[-3000:])


def test_online_images_all_come_from_the_lab_registry(lab, online):
    for node in NODES:
        images = json.loads(lab.ssh(node, 'crictl images --output json').stdout)['images']
        tags = [tag for image in images for tag in image.get('repoTags') or []]
        assert tags, 'no images on %s' % node
        assert all(tag.startswith(REGISTRY + '/') for tag in tags), (node, tags)
    pods = lab.kubectl_json('get pods --all-namespaces')['items']
    images = {c['image'] for pod in pods for c in pod['spec']['containers']}
    assert images and all(image.startswith(REGISTRY + '/') for image in images), images


def test_online_edge_pod_reaches_a_pod_on_another_node(lab, online):
    check_pod_network(lab, '%s/%s' % (REGISTRY, IMAGE_NAME))


def test_online_second_run_changes_nothing(lab, online):
    done = lab.playbook('site.yml', '-e', 'edge_lab_online=true', log_name='site-online-no-op')
    assert done.rc == 0, done.failure()
    changed = {host: r['changed'] for host, r in done.recap.items() if r['changed']}
    assert not changed, 'a second online site.yml changed something: %s (log %s)' % (changed, done.log)


# ------------------------------------------------------------------ upstream conformance (issue 16)

def test_conformance_ci_subset_passes(lab, cluster, tmp_path):
    """The Kubernetes project's own conformance specs for DNS, Services and Pods (scripts/conformance
    --ci: the offline kit's images imported on every node, e2e.test run in parallel) pass on the
    suite's cluster; a spec the run skips is one the skip list names, with its reason."""
    kubeconfig = tmp_path / 'admin.conf'
    kubeconfig.write_text(lab.ssh(CP, 'cat /etc/kubernetes/admin.conf').stdout)
    kubeconfig.chmod(0o600)
    results = tmp_path / 'results'
    argv = [str(REPO / 'scripts' / 'conformance'), '--ci', '-i', str(lab.inventory), '--kubeconfig', str(kubeconfig),
            '--results', str(results)]
    progress('conformance CI subset: %s' % ' '.join(argv[1:]))
    with subprocess.Popen(argv, cwd=str(REPO), env=lab_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors='replace') as proc:
        output = []
        for line in proc.stdout:
            output.append(line)
            if line.startswith('[conformance'):
                progress(line.rstrip())
        rc = proc.wait(timeout=60)
    summary_path = results / 'summary.json'
    assert summary_path.exists(), 'scripts/conformance wrote no summary (rc=%d):\n%s' % (rc, ''.join(output)[-4000:])
    summary = json.loads(summary_path.read_text())
    assert summary['failed'] == 0, ''.join(output)[-6000:]
    assert rc == 0, ''.join(output)[-4000:]
    assert summary['total'] >= 30 and summary['passed'] >= 25, summary
    skip_names = [entry['test'] for entry in summary['skip_list']]
    silent = [name for name in summary['skipped_names'] if not any(skip in name for skip in skip_names)]
    assert not silent, 'skipped without an entry in the skip list: %s' % silent
