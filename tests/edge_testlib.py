"""Functions shared by the suites under tests/ (import them: `from edge_testlib import run`):
repository paths, a subprocess runner that shows the output when a command fails, CA
certificates made with the openssl CLI (independent of the collection's own code), and what the
suites that deploy into a lab of their own share (SuiteLab: scripts/lab under the suite's prefix,
ansible-playbook with progress lines, SSH to the nodes; the secret watchers)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COLLECTION = REPO / 'collections' / 'ansible_collections' / 'edge' / 'cluster'
VENV_BIN = Path(sys.executable).parent
CACHE = Path(os.environ.get('EDGE_CLUSTER_CACHE', os.path.expanduser('~/.cache/edge-cluster')))
LOGS = CACHE / 'logs'
_T0 = time.monotonic()
# pytest's capture manager, set by a suite's conftest.py (capture_progress), so progress lines
# get past output capturing.
CAPTURE = None


def tool_env(**extra):
    """os.environ with this interpreter's bin directory first on PATH (ansible-*, the venv's)
    and the repository's ansible.cfg, plus extra (a value of None removes the variable)."""
    env = dict(os.environ)
    env['PATH'] = '%s%s%s' % (VENV_BIN, os.pathsep, env.get('PATH', ''))
    env['ANSIBLE_CONFIG'] = str(REPO / 'ansible.cfg')
    env.setdefault('ANSIBLE_NOCOLOR', '1')
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def lab_env(**extra):
    """tool_env for commands that drive the lab: the project's podman settings too."""
    return tool_env(CONTAINERS_CONF=str(REPO / 'lab' / 'containers.conf'), ANSIBLE_NOCOLOR='1', **extra)


def run(argv, cwd=REPO, env=None, timeout=600, check=True, stdin=None):
    """Run argv (a list); on an unexpected rc or a timeout fail the test with the command and
    its output."""
    try:
        done = subprocess.run([str(arg) for arg in argv], cwd=str(cwd), env=env or tool_env(),
                              input=stdin, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired as err:
        pytest.fail('timed out after %ss: %s\n%s' % (timeout, ' '.join(str(arg) for arg in argv),
                                                     str(err.stdout or '')[-4000:]), pytrace=False)
    if check and done.returncode != 0:
        pytest.fail('command failed (rc=%d): %s\n--- stdout (last 6000 chars)\n%s\n'
                    '--- stderr (last 6000 chars)\n%s' % (
                        done.returncode, ' '.join(str(arg) for arg in argv),
                        done.stdout[-6000:], done.stderr[-6000:]), pytrace=False)
    return done


OPENSSL_KEYS = {
    'rsa2048': ['-newkey', 'rsa:2048'],
    'p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    'p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
}


def openssl_certificate(directory, name, key='p256', ca=True, common_name=None):
    """Self-signed certificate made by `openssl req -x509`; returns its path."""
    directory = Path(directory)
    cert = directory / ('%s.crt' % name)
    constraints = 'basicConstraints=critical,CA:%s' % ('TRUE' if ca else 'FALSE')
    run(['openssl', 'req', '-x509', '-nodes', '-days', '1', '-subj',
         '/CN=%s' % (common_name or name), '-addext', constraints,
         '-keyout', directory / ('%s.key' % name), '-out', cert] + OPENSSL_KEYS[key])
    return cert


def openssl_ca_hash(cert):
    """kubeadm's documented recipe: sha256 of the DER public key, via openssl and sha256sum."""
    done = run(['bash', '-c', 'set -o pipefail; openssl x509 -pubkey -noout -in "$1" | '
                'openssl pkey -pubin -outform DER | sha256sum', 'hash', cert])
    return 'sha256:' + done.stdout.split()[0]


# ------------------------------------------------------------------ suites with a lab of their own

def capture_progress(request):
    """Call from a session fixture of a suite's conftest.py: progress lines then show live."""
    global CAPTURE  # pylint: disable=global-statement
    CAPTURE = request.config.pluginmanager.getplugin('capturemanager')


def progress(tag, msg):
    """A live progress line: which suite, which step, how long the suite has run so far."""
    line = '[%s +%4ds] %s' % (tag, time.monotonic() - _T0, msg)
    if CAPTURE is None:
        print(line, file=sys.stderr, flush=True)
        return
    with CAPTURE.global_and_fixture_disabled():
        print(line, file=sys.stderr, flush=True)


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

    def changed_hosts(self):
        return {host: r['changed'] for host, r in self.recap.items() if r['changed']}


class SuiteLab:
    """A suite's lab: the real scripts/lab with the suite's prefix, subnets, node counts and
    inventory (in workdir), ansible-playbook on it, SSH to its nodes (ips: {node: address})."""

    def __init__(self, workdir, tag, prefix, subnets, counts, ips, services=False, group_vars=None):
        self.workdir = Path(workdir)
        self.tag = tag
        self.ips = dict(ips)
        self.inventory = self.workdir / 'hosts.yml'
        # The lab's settings (containerd's restrict_oom_score_adj, kube-proxy conntrack, the
        # online switch) live in inventories/lab/group_vars, which Ansible reads beside an
        # inventory file: the suite's inventory gets them the same way as `make lab`'s, and
        # group_vars ({file name: YAML text}) adds the suite's own.
        lab_group_vars = REPO / 'inventories' / 'lab' / 'group_vars'
        directory = self.workdir / 'group_vars'
        if not group_vars:
            if not directory.exists():
                directory.symlink_to(lab_group_vars)
        else:
            directory.mkdir(exist_ok=True)
            for source in lab_group_vars.iterdir():
                if not (directory / source.name).exists():
                    (directory / source.name).symlink_to(source)
            for name, text in group_vars.items():
                (directory / name).write_text(text)
        self.extra = ['-e', 'lab_prefix=%s' % prefix, '-e', 'lab_inventory=%s' % self.inventory,
                      '-e', 'lab_subnet=%s' % subnets[0], '-e', 'lab_site_subnet=%s' % subnets[1],
                      '-e', 'lab_services=%s' % ('true' if services else 'false')]
        for key, value in counts.items():
            self.extra += ['-e', '%s=%d' % (key, value)]
        self.key = REPO / '.lab' / prefix / 'id_ed25519'
        # SSH connections are shared per generation of nodes: a node made again is another machine.
        self.generation = 0
        LOGS.mkdir(parents=True, exist_ok=True)

    def progress(self, msg):
        progress(self.tag, msg)

    def up(self):
        self.generation += 1
        return run([REPO / 'scripts' / 'lab', 'up', '--no-cluster', *self.extra], env=lab_env(), timeout=1800)

    def down(self):
        return run([REPO / 'scripts' / 'lab', 'down', *self.extra], env=lab_env(), timeout=600, check=False)

    def playbook(self, name, *args, log_name, timeout=1800, inventory=None, markers=()):
        """ansible-playbook <name> on the lab inventory (or another one); the output goes to a log
        file under $EDGE_CLUSTER_CACHE/logs, and each play's name (and each line holding one of
        markers) to the progress lines."""
        log = LOGS / ('%s-%s.log' % (self.tag, log_name))
        argv = ['ansible-playbook', str(REPO / name), '-i', str(inventory or self.inventory)] + [str(a) for a in args]
        self.progress('%s: %s (log %s)' % (log_name, ' '.join(argv[1:]).replace(str(REPO) + '/', ''), log))
        started = time.monotonic()
        lines = []
        with subprocess.Popen(argv, cwd=str(REPO), env=lab_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors='replace') as proc, \
                open(log, 'w', encoding='utf-8') as handle:
            for line in proc.stdout:
                lines.append(line)
                handle.write(line)
                if line.startswith('PLAY [') or line.startswith('PLAY RECAP') or any(m in line for m in markers):
                    self.progress('  %s +%ds  %s' % (log_name, time.monotonic() - started, line.strip(' *\n')))
                if time.monotonic() - started > timeout:
                    proc.kill()
                    pytest.fail('%s: no end after %ss (log %s)' % (log_name, timeout, log), pytrace=False)
            rc = proc.wait()
        seconds = time.monotonic() - started
        self.progress('  %s: rc=%d in %.0fs' % (log_name, rc, seconds))
        return Playbook(rc, ''.join(lines), seconds, log)

    def ssh(self, host, script, check=True, timeout=300, stdin=None):
        """Run a shell script on a node as root over SSH (the lab's key, as Ansible does)."""
        argv = ['ssh', '-i', self.key, '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no',
                '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', '-o', 'ControlMaster=auto',
                '-o', 'ControlPath=%s/ssh-%d-%%C' % (self.workdir, self.generation), '-o', 'ControlPersist=120',
                'root@%s' % self.ips.get(host, host), script]
        return run(argv, env=lab_env(), timeout=timeout, check=check, stdin=stdin)


def nodes(lab):
    """{name: {'ready', 'labels'}} of the cluster's Nodes, as lab.kubectl_json(args) returns them."""
    out = {}
    for item in lab.kubectl_json('get nodes')['items']:
        ready = [c['status'] for c in item['status'].get('conditions', []) if c['type'] == 'Ready']
        out[item['metadata']['name']] = {'ready': ready == ['True'], 'labels': item['metadata'].get('labels', {})}
    return out


@contextlib.contextmanager
def suite_lab(lab, what):
    """The body of a suite's session lab fixture: the host, the offline bundle and the lab
    images (cached when built before), then the lab up (leftovers of an interrupted earlier
    session under the same prefix removed first) for the session, and down at the end, failed
    or not. what: the nodes, for the progress line."""
    if os.geteuid() != 0:
        pytest.fail('the %s suite needs root (podman runs privileged containers)' % lab.tag, pytrace=False)
    lab.progress('host prerequisites, offline bundle and lab images (cached when built before)')
    run([REPO / 'scripts' / 'setup-host'], env=lab_env(), timeout=900)
    run([REPO / 'scripts' / 'bundle'], env=lab_env(), timeout=4 * 3600)
    run([REPO / 'scripts' / 'lab-image'], env=lab_env(), timeout=1800)
    # podman under load can fail a removal once; a lab left over must be gone before the new one.
    for attempt in (1, 2):
        done = lab.down()
        if done.returncode == 0:
            break
        lab.progress('scripts/lab down failed (rc=%d, attempt %d): %s' % (done.returncode, attempt, (done.stdout + done.stderr)[-1500:]))
    else:
        pytest.fail('could not remove the earlier %s lab: scripts/lab down failed twice' % lab.tag, pytrace=False)
    try:
        lab.progress('lab up: %s (scripts/lab up --no-cluster)' % what)
        lab.up()
        lab.progress('lab up')
        yield lab
    finally:
        lab.progress('taking the lab down (scripts/lab down)')
        done = lab.down()
        if done.returncode != 0:
            lab.progress('scripts/lab down failed (rc=%d): %s' % (done.returncode, done.stderr[-2000:]))


def report_figures(tag, figures):
    """The progress line with a suite's figures ({what: seconds}) at the end of its session."""
    if figures:
        progress(tag, 'figures: ' + ', '.join('%s %.0fs' % item for item in figures.items()))


# ------------------------------------------------------------------ secrets in the output

# tests/e2e/secret_watch.py, run on the nodes while a playbook runs: it records the bootstrap
# tokens and certificate keys kubeadm is handed, so a test can search the output for them.
SECRET_WATCH = REPO / 'tests' / 'e2e' / 'secret_watch.py'
_WATCH_DIR = '/root/.edge-secret-watch'


def start_secret_watchers(lab, nodes):
    script = SECRET_WATCH.read_text()
    for node in nodes:
        lab.ssh(node, 'umask 077 && rm -rf %s && mkdir -p %s && cat > %s/watch.py' % (_WATCH_DIR, _WATCH_DIR, _WATCH_DIR),
                stdin=script)
        # a transient systemd unit: outlives this SSH session, and is gone when it exits
        lab.ssh(node, 'systemd-run --quiet --collect --unit edge-secret-watch --working-directory %s '
                      'python3 watch.py found.json stop 1800' % _WATCH_DIR)


def stop_secret_watchers(lab, nodes):
    """{'init_tokens', 'join_tokens', 'certificate_keys'}: sets of what the watchers saw."""
    found = {'init_tokens': set(), 'join_tokens': set(), 'certificate_keys': set()}
    for node in nodes:
        out = lab.ssh(node, 'touch %s/stop; sleep 0.5; systemctl stop edge-secret-watch 2>/dev/null; '
                            'cat %s/found.json 2>/dev/null; rm -rf %s' % (_WATCH_DIR, _WATCH_DIR, _WATCH_DIR)).stdout
        for kind, values in (json.loads(out) if out.strip() else {}).items():
            found[kind] |= set(values)
    return found


def leaked_secrets(secrets, output):
    """The kinds of secret found in output: a whole value, or a token's part after its id (the
    id alone is not secret)."""
    return sorted({kind for kind, values in secrets.items() for value in values
                   if value in output or value.split('.')[-1] in output})
