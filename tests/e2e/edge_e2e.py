"""Helpers of the end-to-end suite (a unique module name: pytest imports every conftest.py as
"conftest"). The fixtures are in conftest.py next to this file.

The suite's lab has its own prefix and subnets (10.213.4.0/24, site 10.213.5.0/24), so a user's
`make lab` (10.213.0-1) and the lab suite (10.213.2-3) keep running. Test traffic goes only to
that lab's containers (SSH, and kubectl run on its control plane) and to podman on this host."""

from __future__ import annotations

import json
import time

import edge_testlib
import pytest
from edge_testlib import REPO, SuiteLab, lab_env
from edge_testlib import run as _run

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


def run(argv, timeout=600, check=True, stdin=None):
    """edge_testlib.run with the lab's podman settings."""
    return _run(argv, env=lab_env(), timeout=timeout, check=check, stdin=stdin)


def progress(msg):
    """A live progress line: which step, how long the suite has run so far."""
    edge_testlib.progress('e2e', msg)


class Lab(SuiteLab):
    """The suite's lab (edge_testlib.SuiteLab), and kubectl on its control plane."""

    def __init__(self, workdir):
        super().__init__(workdir, 'e2e', PREFIX, SUBNETS, COUNTS, IPS, services=True)

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
