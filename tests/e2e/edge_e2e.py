"""Helpers of the end-to-end suite (a unique module name: pytest imports every conftest.py as
"conftest"). The fixtures are in conftest.py next to this file.

The suite's lab has its own prefix and subnets (10.213.4.0/24, site 10.213.5.0/24), so a user's
`make lab` (10.213.0-1) and the lab suite (10.213.2-3) keep running. Test traffic goes only to
that lab's containers (SSH, and kubectl run on its control plane) and to podman on this host."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PREFIX = 'edge-e2e'
SUBNETS = ('10.213.4.0/24', '10.213.5.0/24')
NET = '10.213.4.'
# One control plane, two edge nodes, one cloud worker (the README's lab), and the services
# container (registry and HTTP server) for the online path.
COUNTS = {'lab_control_planes': 1, 'lab_edge_nodes': 2, 'lab_workers': 1, 'lab_site_nodes': 0}
CP = PREFIX + '-cp-1'
EDGES = (PREFIX + '-edge-1', PREFIX + '-edge-2')
WORKER = PREFIX + '-worker-1'
SERVICES = PREFIX + '-services'
NODES = (CP,) + EDGES + (WORKER,)
IPS = {CP: NET + '11', EDGES[0]: NET + '51', EDGES[1]: NET + '52', WORKER: NET + '21'}
REGISTRY = NET + '2:5000'
EDGE_LABELS = {'superedge.io/edge-node': 'enable', 'superedge.io/node-edge': 'enable'}
CLOUD_LABELS = {'superedge.io/node-cloud': 'enable'}
KUBECTL = '/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf'
CACHE = Path(os.environ.get('EDGE_CLUSTER_CACHE', os.path.expanduser('~/.cache/edge-cluster')))
LOGS = CACHE / 'logs'
_T0 = time.monotonic()
# pytest's capture manager, set by conftest.py, so progress lines get past output capturing.
CAPTURE = None


def progress(msg):
    """A live progress line: which step, how long the suite has run so far."""
    line = '[e2e +%4ds] %s' % (time.monotonic() - _T0, msg)
    if CAPTURE is None:
        print(line, file=sys.stderr, flush=True)
        return
    with CAPTURE.global_and_fixture_disabled():
        print(line, file=sys.stderr, flush=True)


def tool_env(**extra):
    env = dict(os.environ)
    env['PATH'] = '%s%s%s' % (Path(sys.executable).parent, os.pathsep, env.get('PATH', ''))
    env['ANSIBLE_CONFIG'] = str(REPO / 'ansible.cfg')
    env['CONTAINERS_CONF'] = str(REPO / 'lab' / 'containers.conf')
    env['ANSIBLE_NOCOLOR'] = '1'
    env.update(extra)
    return env


def run(argv, timeout=600, check=True, stdin=None):
    """Run argv; on an unexpected rc fail with the command and the end of its output."""
    argv = [str(a) for a in argv]
    try:
        done = subprocess.run(argv, cwd=str(REPO), env=tool_env(), capture_output=True, text=True,
                              timeout=timeout, check=False, input=stdin)
    except subprocess.TimeoutExpired as err:
        pytest.fail('timed out after %ss: %s\n%s' % (timeout, ' '.join(argv), (err.stdout or '')[-4000:]),
                    pytrace=False)
    if check and done.returncode != 0:
        pytest.fail('command failed (rc=%d): %s\n--- stdout\n%s\n--- stderr\n%s' % (
            done.returncode, ' '.join(argv), done.stdout[-6000:], done.stderr[-6000:]), pytrace=False)
    return done


def recap(output):
    """{host: {'ok', 'changed', 'unreachable', 'failed'}} from a PLAY RECAP."""
    found = {}
    for m in re.finditer(r'^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', output, re.M):
        found[m.group(1)] = dict(zip(('ok', 'changed', 'unreachable', 'failed'), map(int, m.groups()[1:])))
    return found


class Playbook:
    """The outcome of one ansible-playbook run: rc, full output, seconds, recap, log path."""

    def __init__(self, rc, output, seconds, log):
        self.rc, self.output, self.seconds, self.log = rc, output, seconds, log
        self.recap = recap(output)

    def failure(self):
        tail = self.output[-8000:]
        return 'ansible-playbook failed (rc=%d, full log %s):\n%s' % (self.rc, self.log, tail)


class Lab:
    """The suite's lab: the real scripts/lab with the suite's prefix, subnets and inventory."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.inventory = self.workdir / 'hosts.yml'
        # The lab's settings (containerd's restrict_oom_score_adj, kube-proxy conntrack, the
        # online switch) live in inventories/lab/group_vars, which Ansible reads beside an
        # inventory file: the suite's inventory gets them the same way as `make lab`'s.
        group_vars = self.workdir / 'group_vars'
        if not group_vars.exists():
            group_vars.symlink_to(REPO / 'inventories' / 'lab' / 'group_vars')
        self.extra = ['-e', 'lab_prefix=%s' % PREFIX, '-e', 'lab_inventory=%s' % self.inventory,
                      '-e', 'lab_subnet=%s' % SUBNETS[0], '-e', 'lab_site_subnet=%s' % SUBNETS[1],
                      '-e', 'lab_services=true']
        for key, value in COUNTS.items():
            self.extra += ['-e', '%s=%d' % (key, value)]
        self.key = REPO / '.lab' / PREFIX / 'id_ed25519'
        # SSH connections are shared per generation of nodes: a node made again is another machine.
        self.generation = 0
        LOGS.mkdir(parents=True, exist_ok=True)

    def up(self):
        self.generation += 1
        return run([REPO / 'scripts' / 'lab', 'up', '--no-cluster', *self.extra], timeout=1800)

    def down(self):
        return run([REPO / 'scripts' / 'lab', 'down', *self.extra], timeout=600, check=False)

    def playbook(self, name, *args, log_name, timeout=1800):
        """ansible-playbook <name> on the lab inventory; the output goes to a log file under
        $EDGE_CLUSTER_CACHE/logs, and each play's name to the progress lines."""
        log = LOGS / ('e2e-%s.log' % log_name)
        argv = ['ansible-playbook', str(REPO / name), '-i', str(self.inventory)] + [str(a) for a in args]
        progress('%s: %s (log %s)' % (log_name, ' '.join(argv[1:]).replace(str(REPO) + '/', ''), log))
        started = time.monotonic()
        lines = []
        with subprocess.Popen(argv, cwd=str(REPO), env=tool_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors='replace') as proc, \
                open(log, 'w', encoding='utf-8') as handle:
            for line in proc.stdout:
                lines.append(line)
                handle.write(line)
                if line.startswith('PLAY [') or line.startswith('PLAY RECAP'):
                    progress('  %s +%ds  %s' % (log_name, time.monotonic() - started,
                                                line.strip(' *\n')))
                if time.monotonic() - started > timeout:
                    proc.kill()
                    pytest.fail('%s: no end after %ss (log %s)' % (log_name, timeout, log), pytrace=False)
            rc = proc.wait()
        seconds = time.monotonic() - started
        progress('  %s: rc=%d in %.0fs' % (log_name, rc, seconds))
        return Playbook(rc, ''.join(lines), seconds, log)

    def ssh(self, host, script, check=True, timeout=300, stdin=None):
        """Run a shell script on a node as root over SSH (the lab's key, as Ansible does)."""
        argv = ['ssh', '-i', self.key, '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no',
                '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ControlMaster=auto',
                '-o', 'ControlPath=%s/ssh-%d-%%C' % (self.workdir, self.generation), '-o', 'ControlPersist=120',
                'root@%s' % IPS.get(host, host), script]
        return run(argv, timeout=timeout, check=check, stdin=stdin)

    def kubectl(self, args, check=True, timeout=300, stdin=None):
        """kubectl on the control plane with the admin kubeconfig; returns stdout."""
        return self.ssh(CP, '%s %s' % (KUBECTL, args), check=check, timeout=timeout, stdin=stdin).stdout

    def kubectl_json(self, args):
        return json.loads(self.kubectl(args + ' --output json'))


def nodes_state(lab):
    """{name: {'ready': bool, 'labels': {...}, 'pod_cidr': str}} as the API server has them."""
    state = {}
    for item in lab.kubectl_json('get nodes')['items']:
        ready = [c['status'] for c in item['status'].get('conditions', []) if c['type'] == 'Ready']
        state[item['metadata']['name']] = {'ready': ready == ['True'], 'labels': item['metadata'].get('labels', {}),
                                           'pod_cidr': item['spec'].get('podCIDR', '')}
    return state


def wait_all_ready(lab, timeout=300):
    """Every lab node registered and Ready (the flow waited already; this allows for the API's view)."""
    deadline = time.monotonic() + timeout
    while True:
        state = nodes_state(lab)
        if set(state) == set(NODES) and all(n['ready'] for n in state.values()):
            return state
        if time.monotonic() > deadline:
            pytest.fail('nodes not all Ready after %ss: %s' % (
                timeout, {k: v['ready'] for k, v in state.items()}), pytrace=False)
        time.sleep(3)


def superedge_labels(labels):
    return {k: v for k, v in labels.items() if k.startswith('superedge.io')}


def expected_labels(node):
    return EDGE_LABELS if node in EDGES else CLOUD_LABELS
