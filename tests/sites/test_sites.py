"""An edge site that works as one (issue 12), on a real cluster: the site's two nodes sit behind
the proxy node's NAT, so the control plane cannot dial them; everything here is judged by what
runs on the nodes. kubectl logs/exec/port-forward reach the site's pods through Konnectivity, the
site resolves names and reaches Services inside itself (also while cut off), its pods outlive a
partition longer than twice the cloud eviction window while a cloud pod fails over, and with the
edge mode off the same cluster is a plain kubeadm one on which the same commands fail."""

from __future__ import annotations

import json
import time

import pytest

from edge_sites import (AGNHOST, BUSYBOX, CP, GRACE, IPS, NODES, SITE, SITE_NODES, TOLERATION, WORKER,
                        deployment, guard_counter, nodes, pods, progress, service, wait_for)

ZONE = 'topology.kubernetes.io/zone'


def test_every_node_ready_in_its_zone(lab, cluster):
    state = nodes(lab)
    assert set(state) == set(NODES) and all(n['ready'] for n in state.values()), state
    zones = {name: n['labels'].get(ZONE) for name, n in state.items()}
    assert zones == {CP: 'cloud', WORKER: 'cloud', SITE_NODES[0]: SITE, SITE_NODES[1]: SITE}
    for name in SITE_NODES:
        assert state[name]['labels'].get('superedge.io/edge-node') == 'enable'


def test_konnectivity_server_and_agents_run_where_they_belong(lab, cluster):
    servers = pods(lab, 'kube-system', 'component=konnectivity-server')
    assert [(p['node'], p['ready']) for p in servers] == [(CP, True)], servers
    cloud = pods(lab, 'kube-system', 'edge.cluster/agent=cloud')
    edge = pods(lab, 'kube-system', 'edge.cluster/agent=edge')
    assert sorted(p['node'] for p in cloud) == sorted([CP, WORKER]) and all(p['ready'] for p in cloud), cloud
    assert sorted(p['node'] for p in edge) == sorted(SITE_NODES) and all(p['ready'] for p in edge), edge
    # CoreDNS: one replica in each zone
    dns = pods(lab, 'kube-system', 'k8s-app=kube-dns')
    state = nodes(lab)
    assert sorted(state[p['node']]['labels'][ZONE] for p in dns if p['ready']) == sorted(['cloud', SITE]), dns


def test_second_run_changes_nothing(lab, cluster, figures):
    done = lab.playbook('site.yml', log_name='site-no-op')
    assert done.rc == 0, done.failure()
    assert not done.changed_hosts(), 'a second site.yml changed something: %s (log %s)' % (done.changed_hosts(), done.log)
    figures['no-op re-run, edge mode'] = done.seconds


def test_nothing_left_the_lab(lab, cluster):
    """Offline: the bring-up and the re-run sent nothing past the lab's networks."""
    assert guard_counter('lab egress') == 0


# ------------------------------------------------------------------ workloads in the site and the cloud

@pytest.fixture(scope='module')
def workloads(lab, cluster, kit_images):
    """In the edge namespace (made by the product, with the tolerated outage as its pods' default):
    web servers in the site and in the cloud behind one Service, and a client in the site (agnhost:
    curl and nslookup; the kit's busybox wget crashes on this Debian build). In the
    default namespace: a cloud app on the worker (it must fail over at the cloud window)."""
    site_selector = {ZONE: SITE}
    manifests = [
        deployment('web-site', 'edge', 2, site_selector, AGNHOST, ['netexec', '--http-port=8080'], labels={'tier': 'web'}),
        deployment('web-cloud', 'edge', 1, {ZONE: 'cloud'}, AGNHOST, ['netexec', '--http-port=8080'],
                   tolerate_control_plane=True, labels={'tier': 'web'}),
        service('web', 'edge', {'tier': 'web'}, 8080, 8080),
        deployment('client', 'edge', 1, {'kubernetes.io/hostname': SITE_NODES[0]}, AGNHOST, ['pause']),
        deployment('cloud-app', 'default', 1, {ZONE: 'cloud'}, BUSYBOX, ['sleep', '100000'], tolerate_control_plane=True,
                   affinity={'nodeAffinity': {'preferredDuringSchedulingIgnoredDuringExecution': [
                       {'weight': 100, 'preference': {'matchExpressions': [
                           {'key': 'kubernetes.io/hostname', 'operator': 'In', 'values': [WORKER]}]}}]}}),
    ]
    lab.apply('\n---\n'.join(manifests))
    for namespace, name in (('edge', 'web-site'), ('edge', 'web-cloud'), ('edge', 'client'), ('default', 'cloud-app')):
        lab.kubectl('--namespace %s rollout status deployment/%s --timeout=180s' % (namespace, name), timeout=200)
    cloud_app = pods(lab, 'default', 'app=cloud-app')
    assert [p['node'] for p in cloud_app] == [WORKER], cloud_app
    return {'client': pods(lab, 'edge', 'app=client')[0]['name']}


def site_exec(lab, workloads, command):
    return lab.kubectl('--namespace edge exec deploy/client -- %s' % command, check=False, timeout=60)


def test_logs_exec_and_port_forward_reach_a_pod_behind_the_nat(lab, workloads):
    web = [p for p in pods(lab, 'edge', 'app=web-site')]
    assert web and all(p['node'] in SITE_NODES for p in web), web
    logs = lab.kubectl('--namespace edge logs %s --request-timeout=30s' % web[0]['name'], check=False, timeout=60)
    assert logs.returncode == 0 and 'Started HTTP server' in logs.stdout, logs.stdout + logs.stderr
    done = site_exec(lab, workloads, 'echo through-the-tunnel')
    assert done.returncode == 0 and done.stdout.strip() == 'through-the-tunnel', done.stdout + done.stderr
    forwarded = lab.ssh(CP, (
        '%s --namespace edge port-forward pod/%s 18080:8080 >/tmp/pf.log 2>&1 & pf=$!; sleep 3; '
        'python3 -c "import urllib.request; print(urllib.request.urlopen(\'http://127.0.0.1:18080/hostname\', timeout=10).read().decode())"; '
        'rc=$?; kill $pf; exit $rc') % ('/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf', web[0]['name']),
        check=False, timeout=60)
    assert forwarded.returncode == 0 and forwarded.stdout.strip() == web[0]['name'], forwarded.stdout + forwarded.stderr


def lands_in_the_site(answers, site_pods):
    return answers and all(a in site_pods for a in answers)


def test_site_resolves_names_and_stays_in_the_site(lab, workloads):
    for name in ('kubernetes.default.svc.cluster.local', 'web.edge.svc.cluster.local'):
        done = site_exec(lab, workloads, 'nslookup %s' % name)
        assert done.returncode == 0 and 'Address' in done.stdout.split('Name:', 1)[-1], done.stdout + done.stderr
    site_pods = {p['name'] for p in pods(lab, 'edge', 'app=web-site')}
    done = site_exec(lab, workloads, 'sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -m 3 http://web:8080/hostname; echo; done"')
    answers = [line for line in done.stdout.split() if line]
    assert done.returncode == 0 and len(answers) == 10, done.stdout + done.stderr
    assert lands_in_the_site(answers, site_pods), 'answers from outside the site %s: %s' % (sorted(site_pods), answers)


# ------------------------------------------------------------------ partition

def crictl_exec(lab, node, command):
    """A command in the site client's container, on its node (the API cannot be asked while cut off)."""
    return lab.ssh(node, 'cid=$(crictl ps --name client -q | head -1); crictl exec "$cid" %s' % command,
                   check=False, timeout=60)


def test_partition_keeps_the_site_running_and_fails_the_cloud_over(lab, workloads, figures):
    window = GRACE + TOLERATION
    before = {p['name']: p for p in pods(lab, 'edge', '"app in (web-site,client)"')}
    assert len(before) == 3 and all(p['ready'] for p in before.values()), before
    cloud_before = pods(lab, 'default', 'app=cloud-app')
    progress('partition: the site cut off at the proxy, the worker from the control plane')
    lab.cut_site()
    lab.cut_worker()
    started = time.monotonic()
    try:
        # The cut is real: the control plane sees the site's nodes and the worker as not Ready.
        wait_for('site nodes and worker not Ready', lambda: all(
            not n['ready'] for name, n in nodes(lab).items() if name in SITE_NODES + (WORKER,)), timeout=120)
        # The cloud app is evicted at the cloud window and replaced elsewhere.
        def replaced():
            now = pods(lab, 'default', 'app=cloud-app')
            fresh = [p for p in now if p['uid'] not in {c['uid'] for c in cloud_before} and not p['deleting']]
            gone = all(p['deleting'] for p in now if p['uid'] in {c['uid'] for c in cloud_before})
            return gone and fresh and fresh[0]['node'] not in (WORKER,)
        wait_for('the cloud app evicted and rescheduled', replaced, timeout=4 * window)
        figures['cloud pod evicted after the cut (s; window %d s)' % window] = round(time.monotonic() - started)
        # While cut off: names resolve and the Service answers, from inside the site.
        done = crictl_exec(lab, SITE_NODES[0], 'nslookup web.edge.svc.cluster.local')
        assert done.returncode == 0 and 'Address' in done.stdout.split('Name:', 1)[-1], done.stdout + done.stderr
        done = crictl_exec(lab, SITE_NODES[0], 'sh -c "for i in 1 2 3 4 5; do curl -s -m 3 http://web:8080/hostname; echo; done"')
        answers = [line for line in done.stdout.split() if line]
        assert len(answers) == 5 and lands_in_the_site(answers, {n for n in before if n.startswith('web-site')}), \
            done.stdout + done.stderr
        rest = 2 * window + 10 - (time.monotonic() - started)
        if rest > 0:
            progress('partition: holding %ds more (twice the cloud window, %ds)' % (rest, 2 * window))
            time.sleep(rest)
        figures['partition held (s)'] = round(time.monotonic() - started)
    finally:
        lab.heal_site()
        lab.heal_worker()
    wait_for('every node Ready again', lambda: all(n['ready'] for n in nodes(lab).values()), timeout=180)

    def site_pods_back():
        now = {p['name']: p for p in pods(lab, 'edge', '"app in (web-site,client)"')}
        return now if set(now) == set(before) and all(p['ready'] and p['phase'] == 'Running' for p in now.values()) else None
    after = wait_for('the site pods Running and Ready after the heal', site_pods_back, timeout=120)
    assert {n: (p['uid'], p['restarts'], p['node']) for n, p in after.items()} == \
        {n: (p['uid'], p['restarts'], p['node']) for n, p in before.items()}


# ------------------------------------------------------------------ native mode

@pytest.fixture(scope='module')
def native(lab, workloads):
    """The same lab reset and deployed again with edge_cluster_enable_edge=false (edgeadm's native mode)."""
    done = lab.playbook('playbooks/reset.yml', log_name='reset')
    assert done.rc == 0, done.failure()
    done = lab.playbook('site.yml', '-e', 'edge_cluster_enable_edge=false', log_name='site-native')
    assert done.rc == 0, done.failure()
    return done


def test_native_mode_has_none_of_the_edge_mode(lab, native):
    state = nodes(lab)
    assert all(n['ready'] for n in state.values()), state
    assert not [name for name, n in state.items() if ZONE in n['labels'] or any(k.startswith('superedge.io') for k in n['labels'])]
    assert lab.kubectl_json('--namespace kube-system get pods --selector k8s-app=konnectivity-agent')['items'] == []
    assert lab.ssh(CP, 'test ! -e /etc/kubernetes/manifests/konnectivity-server.yaml && test ! -e /etc/kubernetes/konnectivity',
                   check=False).returncode == 0
    assert lab.kubectl('get namespace edge', check=False).returncode != 0
    manifest = lab.ssh(CP, 'cat /etc/kubernetes/manifests/kube-apiserver.yaml').stdout
    assert 'egress-selector' not in manifest and 'PodTolerationRestriction' not in manifest
    dns = lab.kubectl_json('--namespace kube-system get service kube-dns')
    assert 'trafficDistribution' not in dns['spec']


def test_native_mode_cannot_reach_a_pod_behind_the_nat(lab, native):
    """The same command as with the edge mode: without the tunnel the API server dials the site
    node's kubelet directly, and the NAT lets nothing in."""
    lab.apply(json.dumps({'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'behind-nat', 'namespace': 'default'},
                          'spec': {'nodeName': SITE_NODES[0], 'terminationGracePeriodSeconds': 1,
                                   'containers': [{'name': 'pause', 'image': 'registry.k8s.io/pause:3.10.1'}]}}))
    wait_for('the pod behind the NAT Running', lambda: lab.kubectl_json('--namespace default get pod behind-nat')
             ['status'].get('phase') == 'Running', timeout=120)
    done = lab.kubectl('--namespace default logs behind-nat --request-timeout=90s', check=False, timeout=120)
    # The API server's dial to the site node's kubelet times out (it cannot get through the NAT).
    assert done.returncode != 0 and '%s:10250' % IPS[SITE_NODES[0]] in done.stderr, done.stdout + done.stderr
