"""Helpers of the HA end-to-end suite (a unique module name: pytest imports every conftest.py as
"conftest"). The fixtures are in conftest.py next to this file; what the lab suites share is in
tests/edge_testlib.py.

The suite's lab has its own prefix and subnets (10.213.8.0/24, site 10.213.9.0/24, unused): three
control planes (.11-.13) behind the VIP 10.213.8.10, two edge nodes (.51, .52). Test traffic goes
only to that lab's containers (SSH, and commands run on them) and to podman on this host."""

from __future__ import annotations

import json
import secrets
import string
import time

import edge_testlib
import pytest
from edge_testlib import REPO, SuiteLab, lab_env
from edge_testlib import run as _run

PREFIX = 'edge-ha'
SUBNETS = ('10.213.8.0/24', '10.213.9.0/24')
NET = '10.213.8.'
VIP = NET + '10'
PORT = 8443
COUNTS = {'lab_control_planes': 3, 'lab_edge_nodes': 2, 'lab_workers': 0, 'lab_site_nodes': 0}
CPS = tuple('%s-cp-%d' % (PREFIX, i) for i in (1, 2, 3))
EDGES = (PREFIX + '-edge-1', PREFIX + '-edge-2')
NODES = CPS + EDGES
IPS = dict(zip(NODES, (NET + '11', NET + '12', NET + '13', NET + '51', NET + '52')))
KUBECTL = '/usr/local/bin/kubectl'
# etcdctl inside the etcd container, with the certificates kubeadm made for its health checks.
ETCDCTL = ('crictl exec "$(crictl ps --name "^etcd$" --state running --quiet | head -n 1)" etcdctl '
           '--endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt '
           '--cert /etc/kubernetes/pki/etcd/healthcheck-client.crt '
           '--key /etc/kubernetes/pki/etcd/healthcheck-client.key')


def run(argv, timeout=600, check=True, stdin=None):
    """edge_testlib.run with the lab's podman settings."""
    return _run(argv, env=lab_env(), timeout=timeout, check=check, stdin=stdin)


def progress(msg):
    edge_testlib.progress('ha', msg)


def new_auth_pass():
    """A Keepalived password for this session: 8 characters (VRRP's limit), letters and digits."""
    return ''.join(secrets.choice(string.ascii_letters + string.digits) for _ in range(8))


def vaulted(name, value, password_file):
    """`name: !vault |...` for a group_vars file, as ansible-vault encrypt_string writes it."""
    # The value goes through stdin, not argv (which ps shows).
    return run(['ansible-vault', 'encrypt_string', '--vault-password-file', password_file, '--stdin-name', name],
               stdin=value).stdout


class HaLab(SuiteLab):
    """The suite's lab, its HA settings (the password vaulted in group_vars/control_plane.yml),
    and the views of the cluster the tests need."""

    def __init__(self, workdir, auth_pass):
        workdir = edge_testlib.Path(workdir)
        self.vault_password_file = workdir / 'vault-password'
        self.vault_password_file.write_text(secrets.token_hex(16))
        self.vault_password_file.chmod(0o600)
        settings = ('# The HA flow: VIP and Keepalived password (vaulted), the default interface and port.\n'
                    'edge_cluster_ha_vip: %s\n%s' % (VIP, vaulted('edge_cluster_ha_auth_pass', auth_pass,
                                                                   self.vault_password_file)))
        super().__init__(workdir, 'ha', PREFIX, SUBNETS, COUNTS, IPS, group_vars={'control_plane.yml': settings})

    def playbook(self, name, *args, log_name, timeout=1800):
        return super().playbook(name, '--vault-password-file', self.vault_password_file, *args,
                                log_name=log_name, timeout=timeout)

    def kubectl(self, args, node=CPS[0], kubeconfig='/etc/kubernetes/admin.conf', check=True, timeout=120):
        return self.ssh(node, '%s --kubeconfig %s %s' % (KUBECTL, kubeconfig, args), check=check,
                        timeout=timeout).stdout

    def kubectl_json(self, args, **kwargs):
        return json.loads(self.kubectl(args + ' --output json', **kwargs))

    def restarted(self):
        """After a node container restarts its SSH master connections are stale: start afresh."""
        self.generation += 1


def vip_holders(lab, nodes=CPS):
    """The control planes that have the VIP on an interface (one, when VRRP works)."""
    holders = []
    for node in nodes:
        out = lab.ssh(node, 'ip -o -4 addr show', check=False).stdout
        if ' %s/' % VIP in out:
            holders.append(node)
    return holders


def through_vip(lab, node=EDGES[0]):
    """GET /healthz through the VIP with the edge node's kubelet credentials: (ok, text). (Its
    kubelet itself goes through its node-local balancer, so the VIP is named here.)"""
    done = lab.ssh(node, '%s --kubeconfig /etc/kubernetes/kubelet.conf --server https://%s:%d --request-timeout 5s '
                   'get --raw /healthz' % (KUBECTL, VIP, PORT), check=False, timeout=60)
    return done.returncode == 0 and done.stdout.strip() == 'ok', (done.stdout + done.stderr).strip()[-300:]


def local_kubectl(lab, args, node=CPS[0], check=True, stdin=None):
    """kubectl with a control plane's admin credentials against its own API server (127.0.0.1,
    a SAN in edge mode): works with no VIP."""
    return lab.ssh(node, '%s --kubeconfig /etc/kubernetes/admin.conf --server https://127.0.0.1:6443 '
                   '--request-timeout 10s %s' % (KUBECTL, args), check=check, stdin=stdin, timeout=120)


def wait_for(what, probe, timeout, interval=2):
    """Poll probe() -> (done, detail) until done; fail with the last detail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        done, detail = probe()
        if done:
            return detail
        if time.monotonic() > deadline:
            pytest.fail('%s: not after %ss (last: %s)' % (what, timeout, detail), pytrace=False)
        time.sleep(interval)


def nodes_ready(lab, node=CPS[0], server=None):
    """{name: Ready?} as the API server has them (through the admin kubeconfig's, or server)."""
    state = {}
    for item in lab.kubectl_json('get nodes' + (' --server %s' % server if server else ''), node=node)['items']:
        ready = [c['status'] for c in item['status'].get('conditions', []) if c['type'] == 'Ready']
        state[item['metadata']['name']] = ready == ['True']
    return state


def etcd_health(lab, node=CPS[0]):
    """(members {name: peer URL}, health {endpoint: bool}) from etcdctl in node's etcd container."""
    members = json.loads(lab.ssh(node, ETCDCTL + ' member list --write-out json', timeout=60).stdout)
    done = lab.ssh(node, ETCDCTL + ' endpoint health --cluster --write-out json', check=False, timeout=60)
    try:
        health = {item['endpoint']: item['health'] for item in json.loads(done.stdout)}
    except ValueError:
        health = {}
    return ({m.get('name', ''): (m.get('peerURLs') or [''])[0] for m in members.get('members', [])}, health)


def podman(*args, check=True):
    return run(['podman'] + list(args), check=check, timeout=180)
