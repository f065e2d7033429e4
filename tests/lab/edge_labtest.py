"""Helpers of the lab suite (a unique module name: pytest imports every conftest.py as
"conftest"). The fixtures are in conftest.py next to this file.

Test traffic goes only to the lab's own containers on 10.213.2.0/24 and 10.213.3.0/24 (and to
podman/nft on this host); the one exception is the bounded negative egress check in
test_lab.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PREFIX = 'edge-lab-test'
LABEL = 'io.edge-cluster.lab'
BUNDLE = REPO / 'artifacts' / 'bundle'
# Small counts: one of each kind of node, plus the proxy and (with a bundle) the services.
COUNTS = {'lab_control_planes': 1, 'lab_workers': 0, 'lab_edge_nodes': 1, 'lab_site_nodes': 1}
# The lab suite's own subnets: a user's `make lab` (10.213.0.0/24, 10.213.1.0/24) keeps running.
SUBNETS = ('10.213.2.0/24', '10.213.3.0/24')
_T0 = time.monotonic()
# pytest's capture manager, set by conftest.py, so progress lines get past output capturing.
CAPTURE = None


def progress(msg):
    """A live progress line: which step, how long the suite has run so far."""
    line = '\n[lab tests +%4ds] %s' % (time.monotonic() - _T0, msg)
    if CAPTURE is None:
        print(line, file=sys.stderr)
        return
    with CAPTURE.global_and_fixture_disabled():
        print(line, file=sys.stderr, flush=True)


def tool_env():
    env = dict(os.environ)
    env['PATH'] = '%s%s%s' % (Path(sys.executable).parent, os.pathsep, env.get('PATH', ''))
    env['ANSIBLE_CONFIG'] = str(REPO / 'ansible.cfg')
    env['CONTAINERS_CONF'] = str(REPO / 'lab' / 'containers.conf')
    env.setdefault('ANSIBLE_NOCOLOR', '1')
    return env


def run(argv, timeout=300, check=True, cwd=REPO):
    """Run argv; on an unexpected rc fail with the command and the end of its output."""
    argv = [str(a) for a in argv]
    try:
        done = subprocess.run(argv, cwd=str(cwd), env=tool_env(), capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        pytest.fail('timed out after %ss: %s\n%s' % (timeout, ' '.join(argv),
                                                    (err.stdout or b'')[-4000:]), pytrace=False)
    if check and done.returncode != 0:
        pytest.fail('command failed (rc=%d): %s\n--- stdout\n%s\n--- stderr\n%s' % (
            done.returncode, ' '.join(argv), done.stdout[-6000:], done.stderr[-6000:]),
            pytrace=False)
    return done


def podman_state():
    """Names of every podman container, volume and network, plus the lab's host-side traces
    (nft tables, CNI files)."""
    def lines(*argv):
        return set(run(['podman', *argv]).stdout.split())
    return {
        'containers': lines('ps', '-a', '--format', '{{.Names}}'),
        'volumes': lines('volume', 'ls', '--format', '{{.Name}}'),
        'networks': lines('network', 'ls', '--format', '{{.Name}}'),
        'nft_tables': set(run(['nft', 'list', 'tables']).stdout.splitlines()),
        'cni_files': set(os.listdir('/etc/cni/net.d')) if os.path.isdir('/etc/cni/net.d') else set(),
        'cni_state': set(os.listdir('/var/lib/cni/networks')) if os.path.isdir('/var/lib/cni/networks') else set(),
    }


class Lab:
    """The session's lab: its inventory, extra vars and the hosts it should have."""

    def __init__(self, tmp):
        self.inventory = tmp / 'hosts.yml'
        self.services = (BUNDLE / 'images' / 'manifest.json').is_file()
        self.extra = ['-e', 'lab_prefix=%s' % PREFIX, '-e', 'lab_inventory=%s' % self.inventory,
                      '-e', 'lab_services=%s' % str(self.services).lower(),
                      '-e', 'lab_subnet=%s' % SUBNETS[0], '-e', 'lab_site_subnet=%s' % SUBNETS[1]]
        for key, value in COUNTS.items():
            self.extra += ['-e', '%s=%d' % (key, value)]
        self.hosts = {'%s-cp-1' % PREFIX: '10.213.2.11', '%s-edge-1' % PREFIX: '10.213.2.51',
                      '%s-site-1' % PREFIX: '10.213.3.11', '%s-proxy' % PREFIX: '10.213.2.3'}
        if self.services:
            self.hosts['%s-services' % PREFIX] = '10.213.2.2'
        self.key = REPO / '.lab' / PREFIX / 'id_ed25519'
        self.anonymous_volumes = set()

    def up(self):
        return run([REPO / 'scripts' / 'lab', 'up', '--no-cluster', *self.extra], timeout=1800)

    def down(self):
        return run([REPO / 'scripts' / 'lab', 'down', *self.extra], timeout=300)

    def playbook(self, state='present'):
        return run(['ansible-playbook', REPO / 'playbooks' / 'lab.yml', '-e', 'lab_state=%s' % state,
                    *self.extra], timeout=600)

    def ansible(self, pattern, module, args=None, check=True, timeout=120):
        argv = ['ansible', pattern, '-i', self.inventory, '-m', module]
        if args is not None:
            argv += ['-a', args]
        return run(argv, timeout=timeout, check=check)

    def shell(self, host, script, check=True, timeout=120):
        """Run a shell script on one lab host over SSH (the generated inventory); returns stdout."""
        done = run(['ansible', host, '-i', self.inventory, '-m', 'ansible.builtin.shell', '-a', script,
                    '-o'], timeout=timeout, check=False)
        if check and done.returncode != 0:
            pytest.fail('on %s: %s\nrc=%d\n%s\n%s' % (host, script, done.returncode,
                                                     done.stdout[-4000:], done.stderr[-2000:]),
                        pytrace=False)
        # oneline output: "host | CHANGED | rc=0 | (stdout) text with \n escapes"
        out = done.stdout.split('(stdout) ', 1)[1] if '(stdout) ' in done.stdout else ''
        return out.replace('\\n', '\n').strip() if done.returncode == 0 else done


def foreign_lab_networks():
    """podman networks of another lab (or anything else) holding the lab subnets."""
    nets = json.loads(run(['podman', 'network', 'ls', '--format', 'json']).stdout or '[]')
    return ['%s (%s)' % (n['name'], ', '.join(s['subnet'] for s in n.get('subnets') or []))
            for n in nets
            if (n.get('labels') or {}).get(LABEL) != PREFIX
            and any(s.get('subnet') in SUBNETS for s in n.get('subnets') or [])]
