"""Issue 6, end to end with real kubeadm, HAProxy and Keepalived: site.yml picks the HA flow for
the suite's lab (3 control planes, 2 edge nodes, VIP 10.213.8.10 with a vaulted Keepalived
password) and deploys it from the offline bundle, and then

- all 5 nodes are Ready, etcd has 3 healthy members, and the API is served through the VIP
  (the joins and kubeconfigs point at VIP:8443);
- the -vvv --diff output of that run holds neither the Keepalived password nor the certificate
  key (nor a bootstrap token), taken from the nodes while kubeadm ran;
- the edge nodes need no VIP (edge mode, issue 12 item 5): their kubelets go through the node-local
  HAProxy on 127.0.0.1, and with Keepalived stopped on every control plane (no VIP at all) they stay
  Ready past the node-monitor grace period, a new pod starts on one and its logs come through the
  konnectivity tunnel; then Keepalived is started again;
- a second site.yml reports changed=0;
- HAProxy stopped on the VIP holder: the VIP moves and the API answers through it;
- the VIP holder's container stopped: the API keeps answering through the VIP; started again,
  the node is Ready and etcd has 3 healthy members again;
- a control plane reset and joined again after the uploaded certificates are gone (kubeadm
  deletes them after two hours): the flow uploads them again and the join succeeds.

Tests run in file order against one lab (conftest.py). Full playbook output goes to
$EDGE_CLUSTER_CACHE/logs/ha-*.log."""

from __future__ import annotations

import json
import time

import pytest
from edge_ha import (CPS, EDGES, NODES, PORT, VIP, etcd_health, local_kubectl, nodes_ready, podman, progress,
                     through_vip, vip_holders, wait_for)
from edge_testlib import leaked_secrets

pytestmark = pytest.mark.slow

SERVER = 'https://%s:%d' % (VIP, PORT)
LOCAL_SERVER = 'https://127.0.0.1:6443'
GRACE = 75  # s, past the node-monitor grace period (40-50 s by default)


def all_ready(lab, node=CPS[0]):
    state = nodes_ready(lab, node=node)
    return set(state) == set(NODES) and all(state.values()), state


def etcd_all_healthy(lab, node=CPS[0]):
    members, health = etcd_health(lab, node=node)
    return sorted(members) == sorted(CPS) and len(health) == 3 and all(health.values()), (members, health)


def one_holder(lab):
    holders = vip_holders(lab)
    return len(holders) == 1, holders


# ------------------------------------------------------------------ the bring-up

def test_site_brings_all_five_nodes_ready(lab, cluster):
    assert set(cluster.recap) >= set(NODES)
    assert all(r['failed'] == 0 and r['unreachable'] == 0 for r in cluster.recap.values()), cluster.recap
    state = wait_for('all 5 nodes Ready', lambda: all_ready(lab), 60)
    progress('all %d nodes Ready; HA bring-up took %.0fs' % (len(state), cluster.seconds))


def test_etcd_has_three_healthy_members(lab, cluster):
    members, health = wait_for('etcd: 3 healthy members', lambda: etcd_all_healthy(lab), 60)
    progress('etcd members %s, health %s' % (sorted(members), health))


def test_api_is_served_through_the_vip(lab, cluster):
    # kubeadm init got the VIP as control-plane endpoint: the admin kubeconfigs use it. The edge
    # nodes' kubelets go through their node-local balancer instead (edge mode, several control planes).
    for node in NODES:
        kubeconfig = '/etc/kubernetes/%s' % ('admin.conf' if node in CPS else 'kubelet.conf')
        server = lab.kubectl('config view --minify --output jsonpath={.clusters[0].cluster.server}', node=node,
                             kubeconfig=kubeconfig)
        wanted = SERVER if node in CPS else LOCAL_SERVER
        assert server == wanted, '%s: %s points at %s, not %s' % (node, kubeconfig, server, wanted)
    holders = wait_for('exactly one VIP holder', lambda: one_holder(lab), 30)
    ok, text = through_vip(lab)
    assert ok, 'GET %s/healthz from %s: %s' % (SERVER, EDGES[0], text)
    # The edge node's own kubelet credentials, through the VIP: it sees its Node.
    name = lab.kubectl('get node %s --output jsonpath={.metadata.name}' % EDGES[0], node=EDGES[0],
                       kubeconfig='/etc/kubernetes/kubelet.conf')
    assert name == EDGES[0]
    progress('API through %s (VIP on %s)' % (SERVER, holders[0]))


def test_output_holds_no_password_no_certificate_key_no_token(lab, cluster, auth_pass):
    output, found = cluster.output, cluster.secrets
    # The password is Keepalived's on every control plane, so the search below looks for a value
    # the run really handled.
    for node in CPS:
        done = lab.ssh(node, 'grep -rqF -f /dev/stdin /etc/keepalived/', stdin=auth_pass + '\n', check=False)
        assert done.returncode == 0, '%s: the Keepalived configuration does not hold the inventory password' % node
    # kubeadm init uploaded the certificates with the key, and both joining control planes used
    # the same one; the watchers also saw the bootstrap tokens.
    assert len(found['certificate_keys']) == 1, 'expected one certificate key, saw %d' % len(found['certificate_keys'])
    assert found['init_tokens'] and found['join_tokens'], 'the watchers saw no token: nothing to look for'
    assert len(output) > 100000, 'the -vvv output is suspiciously short (%d characters)' % len(output)
    assert auth_pass not in output, 'the Keepalived password is in the -vvv --diff output (%s)' % cluster.log
    leaked = leaked_secrets(found, output)
    assert not leaked, 'found in the -vvv --diff output (%s): %s' % (cluster.log, leaked)
    progress('-vvv --diff output (%d characters) holds neither the Keepalived password, nor the certificate '
             'key, nor the %d token(s)' % (len(output), len(found['init_tokens'] | found['join_tokens'])))


# ------------------------------------------------------------------ edge nodes without a VIP

def edge_leases(lab):
    """{edge node: its Lease's renewTime}: the kubelet's heartbeat (every 10 s; the Node's status
    itself is rewritten only on a change or every 5 min)."""
    return {node: local_kubectl(lab, '--namespace kube-node-lease get lease %s --output jsonpath={.spec.renewTime}'
                                % node).stdout.strip() for node in EDGES}


def test_edge_nodes_need_no_vip(lab, cluster):
    for node in EDGES:
        cfg = lab.ssh(node, 'cat /etc/haproxy/haproxy.cfg').stdout
        binds = [line.split()[1] for line in cfg.splitlines() if line.strip().startswith('bind ')]
        assert binds and all(b.startswith('127.0.0.1:') for b in binds), '%s: HAProxy binds %s' % (node, binds)
        assert {'127.0.0.1:6443', '127.0.0.1:8132'} <= set(binds), binds
        assert lab.ssh(node, 'systemctl is-active keepalived', check=False).stdout.strip() != 'active'
    proxy = local_kubectl(lab, "--namespace kube-system get configmap kube-proxy "
                               "--output 'jsonpath={.data.kubeconfig\\.conf}'").stdout
    assert 'server: %s' % LOCAL_SERVER in proxy, proxy
    progress('stopping Keepalived on every control plane: no VIP at all')
    for node in CPS:
        lab.ssh(node, 'systemctl stop keepalived')
    try:
        stopped = time.monotonic()
        wait_for('the VIP gone', lambda: (not vip_holders(lab), vip_holders(lab)), 30)
        ok, text = through_vip(lab)
        assert not ok, 'the VIP still answers: %s' % text
        before = edge_leases(lab)
        marker = 'edge-no-vip-%d' % int(stopped)
        pod = {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'no-vip', 'namespace': 'default'},
               'spec': {'nodeSelector': {'kubernetes.io/hostname': EDGES[0]}, 'terminationGracePeriodSeconds': 1,
                        'containers': [{'name': 'c', 'image': 'registry.k8s.io/flannel:v0.27.4',
                                        'imagePullPolicy': 'IfNotPresent', 'command': [
                                            '/bin/busybox', 'sh', '-c', 'echo %s; exec /bin/busybox sleep 3600' % marker]}]}}
        local_kubectl(lab, 'apply --filename -', stdin=json.dumps(pod))
        def running():
            phase = local_kubectl(lab, 'get pod no-vip --output jsonpath={.status.phase}', check=False).stdout
            return phase == 'Running', phase

        def logged():
            done = local_kubectl(lab, 'logs no-vip', check=False)
            return marker in done.stdout, (done.stdout + done.stderr)[-300:]
        wait_for('the new pod Running on %s' % EDGES[0], running, 120)
        wait_for('its logs through the tunnel', logged, 60)
        progress('pod Running on %s; kubectl logs through konnectivity printed %s' % (EDGES[0], marker))
        time.sleep(max(0, GRACE - (time.monotonic() - stopped)))
        state = {name: ready for name, ready in nodes_ready(lab, node=CPS[0], server=LOCAL_SERVER).items()
                 if name in EDGES}
        assert state == dict.fromkeys(EDGES, True), 'after %ds without a VIP: %s' % (GRACE, state)
        after = edge_leases(lab)
        assert all(after[n] > before[n] for n in EDGES), 'leases not renewed: %s -> %s' % (before, after)
        progress('%ds without a VIP: edge nodes Ready, leases renewed (%s -> %s)' % (GRACE, before, after))
    finally:
        local_kubectl(lab, 'delete pod no-vip --ignore-not-found --wait=false', check=False)
        for node in CPS:
            lab.ssh(node, 'systemctl start keepalived')
    wait_for('one VIP holder again', lambda: one_holder(lab), 60)
    wait_for('the API through the VIP again', lambda: through_vip(lab), 60)


def test_second_run_changes_nothing(lab, cluster, figures):
    done = lab.playbook('site.yml', log_name='site-no-op')
    assert done.rc == 0, done.failure()
    assert not done.changed_hosts(), 'a second site.yml changed something: %s (log %s)' % (
        done.changed_hosts(), done.log)
    figures['no-op re-run'] = done.seconds


# ------------------------------------------------------------------ failures

def test_vip_moves_when_haproxy_stops_on_the_holder(lab, cluster):
    holder = wait_for('exactly one VIP holder', lambda: one_holder(lab), 30)[0]
    progress('stopping HAProxy on the VIP holder %s' % holder)
    lab.ssh(holder, 'systemctl stop haproxy')
    try:
        def moved():
            holders = vip_holders(lab)
            return len(holders) == 1 and holders[0] != holder, holders
        new = wait_for('the VIP leaves %s' % holder, moved, 60)[0]
        text = wait_for('the API through the VIP on %s' % new, lambda: through_vip(lab), 60)
        assert text == 'ok'
        progress('VIP moved to %s; the API answers through it' % new)
    finally:
        lab.ssh(holder, 'systemctl start haproxy')
    wait_for('one VIP holder again', lambda: one_holder(lab), 60)


def test_api_keeps_answering_when_the_holder_stops(lab, cluster):
    holder = wait_for('exactly one VIP holder', lambda: one_holder(lab), 30)[0]
    survivor = [node for node in CPS if node != holder][0]
    progress('stopping the VIP holder\'s container %s' % holder)
    podman('stop', '--time', '5', holder)
    try:
        text = wait_for('the API through the VIP without %s' % holder, lambda: through_vip(lab), 90)
        assert text == 'ok'
        # The admin kubeconfig of a surviving control plane points at the VIP too: the API serves
        # reads and writes with two of three etcd members.
        lab.kubectl('--namespace default create configmap ha-survivor --from-literal=by=%s' % survivor,
                    node=survivor)
        lab.kubectl('--namespace default delete configmap ha-survivor', node=survivor)
        progress('API answered through the VIP (now on %s) with %s stopped' % (vip_holders(lab, [n for n in CPS if n != holder]), holder))
    finally:
        podman('start', holder)
        lab.restarted()
    wait_for('%s Ready again, every node Ready' % holder, lambda: all_ready(lab, node=survivor), 300, interval=5)
    wait_for('etcd: 3 healthy members again', lambda: etcd_all_healthy(lab, node=survivor), 180, interval=5)
    progress('%s is Ready again and etcd has 3 healthy members' % holder)


# ------------------------------------------------------------------ a late control-plane join

def test_control_plane_joins_after_the_certificates_are_gone(lab, cluster, figures):
    node = CPS[2]
    done = lab.playbook('playbooks/reset.yml', '--limit', node, log_name='reset-cp-3')
    assert done.rc == 0, done.failure()
    lab.kubectl('delete node %s --ignore-not-found' % node)
    # What kubeadm does two hours after the upload.
    lab.kubectl('--namespace kube-system delete secret kubeadm-certs --ignore-not-found')
    members, dummy = etcd_health(lab)
    assert node not in members, 'reset left %s in etcd: %s' % (node, members)
    done = lab.playbook('site.yml', log_name='site-late-control-plane')
    assert done.rc == 0, done.failure()
    assert done.recap[node]['changed'] > 0
    lab.kubectl('--namespace kube-system get secret kubeadm-certs')
    wait_for('all 5 nodes Ready', lambda: all_ready(lab), 180, interval=5)
    wait_for('etcd: 3 healthy members', lambda: etcd_all_healthy(lab), 120, interval=5)
    figures['late control-plane join (site.yml)'] = done.seconds
    progress('%s joined again with the certificates uploaded again' % node)
