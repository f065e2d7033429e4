"""Every molecule scenario under molecule/, each as one `molecule test -s <name>` (destroy, syntax,
create, prepare, check, converge, idempotence, verify, destroy), on the lab's node image with the
offline bundle. Each scenario's full output goes to $EDGE_CLUSTER_CACHE/logs/molecule-<name>.log;
progress lines (which scenario, which step, time so far) go to the terminal.

Nothing is skipped: a missing node image or bundle is built (cached) first, and a scenario whose
sequence does not run every action to "Executed: Successful" fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_testlib import REPO, run, tool_env

SCENARIOS_DIR = REPO / 'molecule'
EXPECTED = {'node_prep', 'static_package', 'container_runtime', 'airgap_images', 'ha_loadbalancer'}
SEQUENCE = ['destroy', 'syntax', 'create', 'prepare', 'check', 'converge', 'idempotence', 'verify', 'destroy']
CACHE = Path(os.environ.get('EDGE_CLUSTER_CACHE', os.path.expanduser('~/.cache/edge-cluster')))
STEP_RE = re.compile(r'\[(?P<scenario>\w+) > (?P<action>\w+)\] (?P<what>Executing|Executed: .*)$')


def _scenarios():
    return sorted(p.parent.name for p in SCENARIOS_DIR.glob('*/molecule.yml'))


@pytest.fixture(scope='session')
def say(request):
    """Print a progress line to the terminal even while pytest captures output."""
    capture = request.config.pluginmanager.getplugin('capturemanager')

    def say(message):
        with capture.global_and_fixture_disabled():
            sys.stderr.write('[molecule] %s\n' % message)
            sys.stderr.flush()
    return say


@pytest.fixture(scope='session')
def prerequisites(say):
    """The node image and the offline bundle, built or reused from the cache (never skipped)."""
    if os.geteuid() != 0:
        pytest.fail('the molecule suite needs root (privileged podman containers)', pytrace=False)
    say('host packages, node image and offline bundle (cached when built before)')
    run([REPO / 'scripts' / 'setup-host'], timeout=900)
    run([REPO / 'scripts' / 'lab-image', 'node'], timeout=1800)
    run([REPO / 'scripts' / 'bundle'], timeout=4 * 3600)
    for needed in ('artifacts/bundle/SHA256SUMS', 'artifacts/bundle/images/manifest.json',
                   'artifacts/bundle/kube-linux-amd64-v1.34.12.tar.gz'):
        assert (REPO / needed).is_file(), '%s missing after scripts/bundle' % needed


def test_every_role_has_its_scenario():
    assert set(_scenarios()) == EXPECTED


@pytest.mark.slow
@pytest.mark.parametrize('scenario', _scenarios())
def test_molecule_scenario(scenario, prerequisites, say):
    log = CACHE / 'logs' / ('molecule-%s.log' % scenario)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = tool_env(ANSIBLE_CONFIG=None, NO_COLOR='1', PY_COLORS='0', ANSIBLE_FORCE_COLOR='0',
                   CONTAINERS_CONF=str(REPO / 'lab' / 'containers.conf'))
    started = time.monotonic()
    say('%s: molecule test (log: %s)' % (scenario, log))
    results = {}
    with open(log, 'w', encoding='utf-8') as out:
        proc = subprocess.Popen(['molecule', 'test', '-s', scenario], cwd=str(REPO), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            out.write(line)
            match = STEP_RE.search(line)
            if match and match.group('scenario') == scenario:
                action, what = match.group('action'), match.group('what')
                if what != 'Executing':
                    results.setdefault(action, []).append(what)
                say('%s: %s %s (+%ds)' % (scenario, action, what.lower(), time.monotonic() - started))
        rc = proc.wait(timeout=1800)
    elapsed = time.monotonic() - started
    say('%s: rc=%d in %.0fs' % (scenario, rc, elapsed))
    if rc != 0:
        tail = log.read_text(encoding='utf-8', errors='replace')[-8000:]
        pytest.fail('molecule test -s %s failed (rc=%d, %.0fs); log %s ends:\n%s'
                    % (scenario, rc, elapsed, log, tail), pytrace=False)
    ran = [(action, what) for action, whats in results.items() for what in whats]
    for action in set(SEQUENCE):
        outcomes = results.get(action, [])
        assert outcomes and all(what == 'Executed: Successful' for what in outcomes), (
            '%s: action %s did not run successfully: %s (all: %s)' % (scenario, action, outcomes, ran))
    assert len(results['destroy']) == 2, results
