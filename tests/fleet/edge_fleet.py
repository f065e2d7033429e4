"""Helpers of the fleet suite (a unique module name: pytest imports every conftest.py as
"conftest"); the fixtures are in conftest.py next to this file.

The suite's lab has its own prefix and subnets (edge-fleet, 10.213.10.0/24, site 10.213.11.0/24):
one control plane, direct edge nodes, and site nodes on the isolated site network that only the
proxy node reaches. Test traffic goes only to that lab's containers and to podman on this host."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest
import yaml

import edge_testlib
from edge_testlib import REPO, lab_env as env, nodes, run  # noqa: F401 (nodes: for the tests)

PREFIX = 'edge-fleet'
SUBNETS = ('10.213.10.0/24', '10.213.11.0/24')
DIRECT = 7          # edge nodes on the main network
SITE = 3            # site nodes behind the proxy
CP = PREFIX + '-cp-1'
PROXY = PREFIX + '-proxy'
DIRECT_NODES = tuple('%s-edge-%d' % (PREFIX, i) for i in range(1, DIRECT + 1))
SITE_NODES = tuple('%s-site-%d' % (PREFIX, i) for i in range(1, SITE + 1))
EDGES = DIRECT_NODES + SITE_NODES
STOPPED = DIRECT_NODES[-1]   # unreachable in the first run: its container is stopped
CORRUPT = DIRECT_NODES[-2]   # its package copy is corrupt in the first run
NAME_PREFIX = 'fleet'
KUBECTL = '/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf'
LABEL_KEY = 'app.superedge.io/node-label'
INVENTORY_KEY = 'edge.cluster/inventory-host'
EDGE_LABELS = {'superedge.io/edge-node': 'enable', 'superedge.io/node-edge': 'enable'}


def progress(msg):
    """A live progress line (edge_testlib's, tagged for this suite)."""
    edge_testlib.progress('fleet', msg)


class Playbook(edge_testlib.Playbook):
    """edge_testlib's Playbook plus the run's JSON report."""

    def __init__(self, rc, output, seconds, log, report=None):
        super().__init__(rc, output, seconds, log)
        self.report = report

    def rows(self):
        return {row['host']: row for row in self.report['hosts']}


class FleetLab(edge_testlib.SuiteLab):
    """The suite's lab through the real scripts/lab, and inventories written from its hosts.yml."""

    def __init__(self, workdir):
        super().__init__(workdir, 'fleet', PREFIX, SUBNETS,
                         {'lab_control_planes': 1, 'lab_workers': 0, 'lab_edge_nodes': DIRECT, 'lab_site_nodes': SITE},
                         ips={})
        self.lab_inventory = self.inventory

    def hosts(self):
        return yaml.safe_load(self.lab_inventory.read_text())

    def write_inventory(self, name, edge_host_vars=None, with_edges=True):
        """The fleet inventory: the lab's, with the site nodes naming their proxy, the proxy's site
        address, the name prefix, and per-host extras (edge_host_vars: {host: {var: value}})."""
        doc = self.hosts()
        # this 2-core machine may be loaded by other labs: SSH gets longer to answer
        doc['all']['vars']['ansible_timeout'] = 60
        groups = doc['all']['children']
        groups['edge_nodes']['vars'] = {'fleet_join_node_name_prefix': NAME_PREFIX}
        proxy = groups['lab_proxies']['hosts'][PROXY]
        proxy['fleet_join_proxy_address'] = SUBNETS[1].replace('0/24', '3')
        for host in groups['edge_site']['hosts'].values():
            host['fleet_join_proxy'] = PROXY
        for host, extra in (edge_host_vars or {}).items():
            group = 'edge_site' if host in SITE_NODES else 'edge_nodes'
            groups[group]['hosts'][host].update(extra)
        if not with_edges:
            groups['edge_nodes']['hosts'] = {}
            groups['edge_site']['hosts'] = {}
        path = self.workdir / ('%s.yml' % name)
        path.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
        return path

    def ip(self, host):
        doc = self.hosts()['all']['children']
        for group in doc.values():
            if host in (group.get('hosts') or {}):
                return group['hosts'][host]['ansible_host']
        raise KeyError(host)

    def playbook(self, name, inventory, *args, log_name, timeout=1200):
        """SuiteLab.playbook on the given inventory, with each batch's line as progress; a
        fleet_join run's JSON report is read back."""
        report = self.workdir / ('report-%s.json' % log_name)
        if report.exists():
            report.unlink()
        if 'fleet_join' in name:
            args += ('-e', 'fleet_join_report_path=%s' % report)
        done = super().playbook(name, *args, log_name=log_name, timeout=timeout, inventory=inventory,
                                markers=('    msg: batch of ',))
        data = json.loads(report.read_text()) if report.exists() else None
        return Playbook(done.rc, done.output, done.seconds, done.log, data)

    def ssh(self, host, script, check=True, timeout=300, direct=False, connect_timeout=60):
        """A shell script on a node as root (site nodes through the proxy, as Ansible goes, unless
        direct). A connection that fails (rc 255: sshd slow to answer on a loaded machine) is tried
        again twice."""
        opts = ['-i', str(self.key), '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no',
                '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=%d' % connect_timeout]
        argv = ['ssh'] + opts
        if host in SITE_NODES and not direct:
            argv += ['-o', 'ProxyCommand=ssh %s -W %%h:%%p root@%s' % (' '.join(opts), self.ip(PROXY))]
        argv += ['root@%s' % self.ip(host), script]
        for attempt in range(3 if not direct else 1):
            done = run(argv, env=env(), timeout=timeout, check=False)
            if done.returncode != 255:
                break
            time.sleep(5)
        if check and done.returncode != 0:
            pytest.fail('ssh %s failed (rc=%d): %s\n%s' % (host, done.returncode, script, done.stderr[-3000:]),
                        pytrace=False)
        return done

    def kubectl_json(self, args):
        return json.loads(self.ssh(CP, '%s %s --output json' % (KUBECTL, args)).stdout)

    def podman(self, *args):
        return run(['podman'] + list(args), env=env(), timeout=300)


def fleet_tokens(lab):
    """Bootstrap tokens a fleet run made (their description names fleet_join) that still exist."""
    items = lab.kubectl_json('--namespace kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token')
    return [s['metadata']['name'] for s in items['items']
            if 'fleet_join' in base64.b64decode(s.get('data', {}).get('description', '')).decode('utf-8', 'replace')]


def tcp_open(address, port=22, timeout=2.0):
    try:
        with socket.create_connection((address, port), timeout):
            return True
    except OSError:
        return False
