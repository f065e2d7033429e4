"""Fixtures of the lab suite: a small lab brought up once per session with the real scripts
(scripts/lab up --no-cluster), under its own prefix and inventory path, and taken down at the end
(test_lab.py's last test checks that `down`)."""

from __future__ import annotations

import json
import time

import pytest

import edge_labtest
from edge_labtest import LABEL, PREFIX, REPO, Lab, foreign_lab_networks, podman_state, progress, run


@pytest.fixture(scope='session', autouse=True)
def _lab_progress(request):
    edge_labtest.CAPTURE = request.config.pluginmanager.getplugin('capturemanager')


@pytest.fixture(scope='module')
def lab_before(tmp_path_factory):
    """podman state before the lab, with two bystanders that the lab must not touch: a volume and
    a container whose names start like the lab's, one of them labelled for another lab."""
    if run(['id', '-u']).stdout.strip() != '0':
        pytest.fail('the lab suite needs root (podman runs privileged containers)', pytrace=False)
    clash = foreign_lab_networks()
    if clash:
        pytest.fail('another lab holds the lab subnets: %s. The lab suite needs them; take that lab '
                    'down first (make lab-down, or scripts/lab down -e lab_prefix=<its prefix>).'
                    % ', '.join(clash), pytrace=False)
    progress('host prerequisites and the node image (cached)')
    run([REPO / 'scripts' / 'setup-host'], timeout=900)
    run([REPO / 'scripts' / 'lab-image', 'node'], timeout=1800)
    run(['podman', 'volume', 'create', '--label', '%s=someone-else' % LABEL, PREFIX + '-bystander'])
    run(['podman', 'create', '--name', PREFIX + '-bystander', '--network', 'none',
         '--label', '%s=someone-else' % LABEL, 'localhost/edge-lab-node:latest', '/bin/true'])
    state = podman_state()
    yield state
    run(['podman', 'rm', '--force', PREFIX + '-bystander'], check=False)
    run(['podman', 'volume', 'rm', '--force', PREFIX + '-bystander'], check=False)


@pytest.fixture(scope='module')
def lab(lab_before, tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp('lab'))
    progress('bringing the lab up: scripts/lab up --no-cluster %s' % ' '.join(lab.extra[1::2]))
    started = time.monotonic()
    done = lab.up()
    lab.up_output = done.stdout + done.stderr
    progress('lab up in %ds' % (time.monotonic() - started))
    for name in lab.hosts:
        mounts = json.loads(run(['podman', 'inspect', name, '--format', '{{json .Mounts}}']).stdout)
        lab.anonymous_volumes |= {m['Name'] for m in mounts if m.get('Type') == 'volume'
                                  and not m['Name'].startswith(PREFIX)}
    yield lab
    if lab.inventory.exists():
        progress('taking the lab down (session teardown)')
        lab.down()
