"""Helpers of the edge-site suite (a unique module name: pytest imports every conftest.py as
"conftest"); the fixtures are in conftest.py next to this file.

The suite's lab has its own prefix and subnets (edge-sites, 10.213.12.0/24, site
10.213.13.0/24): one control plane and one cloud worker on the main network, and the site's
nodes on the isolated site network behind the proxy node's NAT, as a real edge site sits. The
eviction windows are shortened through the product's own settings (group_vars), so a partition
longer than twice the cloud window fits in a few minutes. Test traffic goes only to that lab's
containers and to podman on this host."""

from __future__ import annotations

import json
import re
import time

import pytest

import edge_testlib
from edge_testlib import REPO, lab_env, nodes, run  # noqa: F401 (nodes: for the tests)

PREFIX = 'edge-sites'
SUBNETS = ('10.213.12.0/24', '10.213.13.0/24')
NET, SITE_NET = '10.213.12.', '10.213.13.'
SITE = 'lab-site'
CP = PREFIX + '-cp-1'
WORKER = PREFIX + '-worker-1'
PROXY = PREFIX + '-proxy'
SITE_NODES = (PREFIX + '-site-1', PREFIX + '-site-2')
NODES = (CP, WORKER) + SITE_NODES
IPS = {CP: NET + '11', WORKER: NET + '21', PROXY: NET + '3', SITE_NODES[0]: SITE_NET + '11',
       SITE_NODES[1]: SITE_NET + '12'}
COUNTS = {'lab_control_planes': 1, 'lab_workers': 1, 'lab_edge_nodes': 0, 'lab_site_nodes': len(SITE_NODES)}
# The cloud window: a silent node is unreachable after GRACE s, its pods go TOLERATION s later.
GRACE, TOLERATION = 20, 30
SETTINGS = ('edge_cluster_node_monitor_grace_period: %ds\n'
            'edge_cluster_default_toleration_seconds: %d\n' % (GRACE, TOLERATION))
KUBECTL = '/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf'
# The conformance kit's test images (imported on every node by the suite's kit fixture).
AGNHOST = 'edge-cluster.invalid/e2e-test-images/agnhost:2.56'
BUSYBOX = 'edge-cluster.invalid/e2e-test-images/busybox:1.37.0-1'


def progress(msg):
    edge_testlib.progress('sites', msg)


class SitesLab(edge_testlib.SuiteLab):
    """The suite's lab; SSH reaches the site nodes through the proxy node, as Ansible does."""

    def __init__(self, workdir):
        super().__init__(workdir, 'sites', PREFIX, SUBNETS, COUNTS, IPS,
                         group_vars={'control_plane.yml': SETTINGS})

    def ssh(self, host, script, check=True, timeout=300, stdin=None):
        opts = ['-i', str(self.key), '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no',
                '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=20']
        argv = ['ssh'] + opts
        if host in SITE_NODES:
            argv += ['-o', 'ProxyCommand=ssh %s -W %%h:%%p root@%s' % (' '.join(opts), IPS[PROXY])]
        argv += ['root@%s' % IPS.get(host, host), script]
        for _ in range(3):
            done = run(argv, env=lab_env(), timeout=timeout, check=False, stdin=stdin)
            if done.returncode != 255:
                break
            time.sleep(3)
        if check and done.returncode != 0:
            pytest.fail('ssh %s failed (rc=%d): %s\n%s%s' % (host, done.returncode, script, done.stdout[-2000:],
                                                            done.stderr[-2000:]), pytrace=False)
        return done

    def kubectl(self, args, check=True, timeout=120, stdin=None):
        return self.ssh(CP, '%s %s' % (KUBECTL, args), check=check, timeout=timeout, stdin=stdin)

    def kubectl_json(self, args):
        return json.loads(self.kubectl(args + ' --output json').stdout)

    def apply(self, manifest):
        return self.kubectl('apply -f -', stdin=manifest)

    def proxy(self, script):
        """A shell script in the proxy node (the site's NAT router), through podman."""
        return run(['podman', 'exec', PROXY, 'sh', '-c', script], env=lab_env(), timeout=60)

    def cut_site(self):
        """The site loses its link to the cloud: the proxy forwards nothing between the networks."""
        self.proxy('iptables -I FORWARD 1 -s {0} -d {1} -j DROP && iptables -I FORWARD 1 -s {1} -d {0} -j DROP'
                   .format(SUBNETS[1], SUBNETS[0]))

    def heal_site(self):
        self.proxy('while iptables -D FORWARD -s {0} -d {1} -j DROP 2>/dev/null; do :; done; '
                   'while iptables -D FORWARD -s {1} -d {0} -j DROP 2>/dev/null; do :; done'
                   .format(SUBNETS[1], SUBNETS[0]))

    def cut_worker(self):
        """The cloud worker loses its link to the control plane (both ways, on the worker)."""
        self.ssh(WORKER, 'iptables -I INPUT 1 -s {0} -j DROP && iptables -I OUTPUT 1 -d {0} -j DROP'.format(IPS[CP]))

    def heal_worker(self):
        self.ssh(WORKER, 'while iptables -D INPUT -s {0} -j DROP 2>/dev/null; do :; done; '
                         'while iptables -D OUTPUT -d {0} -j DROP 2>/dev/null; do :; done'.format(IPS[CP]))


def pods(lab, namespace, selector):
    """[{'name', 'uid', 'node', 'phase', 'ready', 'restarts', 'deleting'}] of the selected pods."""
    out = []
    for item in lab.kubectl_json('--namespace %s get pods --selector %s' % (namespace, selector))['items']:
        statuses = item['status'].get('containerStatuses') or []
        out.append({'name': item['metadata']['name'], 'uid': item['metadata']['uid'],
                    'node': item['spec'].get('nodeName', ''), 'phase': item['status'].get('phase'),
                    'ready': bool(statuses) and all(s.get('ready') for s in statuses),
                    'restarts': sum(s.get('restartCount', 0) for s in statuses),
                    'deleting': bool(item['metadata'].get('deletionTimestamp'))})
    return out


def wait_for(what, check, timeout=180, every=3):
    """check() until it returns something true; its last value, or a failure naming what."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail('%s: not after %ss' % (what, timeout), pytrace=False)
        time.sleep(every)


def deployment(name, namespace, replicas, node_selector, image, args, tolerate_control_plane=False, affinity=None,
               labels=None):
    """A Deployment manifest (JSON is YAML) of the kit's images; its pods carry app=<name> and labels."""
    spec = {'nodeSelector': node_selector, 'terminationGracePeriodSeconds': 1,
            'containers': [{'name': name, 'image': image, 'imagePullPolicy': 'Never', 'args': args}]}
    if tolerate_control_plane:
        spec['tolerations'] = [{'key': 'node-role.kubernetes.io/control-plane', 'effect': 'NoSchedule'}]
    if affinity:
        spec['affinity'] = affinity
    return json.dumps({
        'apiVersion': 'apps/v1', 'kind': 'Deployment',
        'metadata': {'name': name, 'namespace': namespace},
        'spec': {'replicas': replicas, 'selector': {'matchLabels': {'app': name}},
                 'template': {'metadata': {'labels': dict(labels or {}, app=name)}, 'spec': spec}}})


def service(name, namespace, selector, port, target, prefer_close=True):
    spec = {'selector': selector, 'ports': [{'port': port, 'targetPort': target}]}
    if prefer_close:
        spec['trafficDistribution'] = 'PreferClose'
    return json.dumps({'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': name, 'namespace': namespace},
                       'spec': spec})


def kit_dir():
    """The conformance kit (scripts/bundle --conformance: built, or reused from the cache)."""
    done = run([REPO / 'scripts' / 'bundle', '--conformance'], env=lab_env(), timeout=4 * 3600)
    return done.stdout.strip().splitlines()[-1]


def guard_counter(comment):
    """Packets the lab's egress guard (nft table on this host) rejected under the rule with this comment."""
    table = run(['nft', 'list', 'table', 'inet', PREFIX.replace('-', '_')], env=lab_env()).stdout
    match = re.search(r'counter packets (\d+) bytes \d+ .*comment "%s"' % re.escape(comment), table)
    assert match, 'rule "%s" not found in the guard:\n%s' % (comment, table)
    return int(match.group(1))
