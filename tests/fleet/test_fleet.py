"""Issue 7, end to end with real kubeadm: a control plane with no edge nodes (site.yml), then
playbooks/fleet_join.yml over 10 edge hosts - 7 on the main network, 3 on an isolated site that
only the proxy node reaches - where one host is unreachable (its container stopped) and one has a
corrupt package copy:

- exactly those two fail, each with its reason in the table and the JSON report; rc is non-zero;
  every other host joined under a <prefix>-<6 random> name recorded on the node, Ready, with the
  edge labels, the run's batch label and its inventory record; the site's nodes got the package
  from the proxy's HTTP server (one download each, one copy to the site); the token is gone, and
  it is nowhere in the output or the JSON report (watchers on the edge nodes record it);
- fixed, a re-run joins exactly those two and contacts no member;
- a reinstall keeps a node's name; another, with a new name asked for, changes it and the old Node
  is gone;
- a final re-run over the whole fleet changes nothing and touches only the control plane;
- bad settings (a site proxy not in the inventory, a run id that is no label value) fail before
  any edge host is contacted and before a token exists, naming the setting.

Tests run in file order against one lab (conftest.py). Logs: $EDGE_CLUSTER_CACHE/logs/fleet-*.log."""

from __future__ import annotations

import base64
import json
import re
import shutil
import time

import yaml

import pytest
from edge_testlib import leaked_secrets, start_secret_watchers, stop_secret_watchers
from edge_fleet import (CORRUPT, CP, EDGE_LABELS, EDGES, INVENTORY_KEY, LABEL_KEY, NAME_PREFIX, PROXY, REPO,
                        SITE_NODES, STOPPED, DIRECT_NODES, fleet_tokens, nodes, progress, tcp_open)

pytestmark = pytest.mark.slow

PLAYBOOK = 'playbooks/fleet_join.yml'
BATCH = 5
STATE = {}
NAME_RE = re.compile(r'^%s-[a-z0-9]{6}$' % NAME_PREFIX)


def corrupt_package(lab):
    """A copy of the bundle's package with bytes flipped in the middle, beside the bundle's
    SHA256SUMS (which static_package checks it against)."""
    folder = lab.workdir / 'corrupt'
    folder.mkdir(exist_ok=True)
    bundle = REPO / 'artifacts' / 'bundle'
    package = folder / 'kube-linux-amd64-v1.34.12.tar.gz'
    shutil.copyfile(bundle / package.name, package)
    shutil.copyfile(bundle / 'SHA256SUMS', folder / 'SHA256SUMS')
    with open(package, 'r+b') as handle:
        handle.seek(package.stat().st_size // 2)
        handle.write(b'\0corrupt\0' * 64)
    return package


class _ScriptOnStdin:
    """The lab, for edge_testlib's secret watchers: they send the watcher script on stdin, which
    FleetLab.ssh (edge_fleet.py) does not take, so it goes base64-encoded in the command instead."""

    def __init__(self, lab):
        self._lab = lab

    def ssh(self, host, script, check=True, timeout=300, stdin=None):
        if stdin is not None:
            script = 'echo %s | base64 -d | { %s; }' % (base64.b64encode(stdin.encode('utf-8')).decode('ascii'), script)
        return self._lab.ssh(host, script, check=check, timeout=timeout)


def node_name_files(lab, hosts):
    return {host: lab.ssh(host, 'cat /etc/edge-cluster/node-name; stat -c %a /etc/edge-cluster/node-name')
            .stdout.split() for host in hosts}


def check_members(lab, rows, run_id_of):
    """Every given host's Node: Ready, edge labels, the batch label of the run that joined it, its
    inventory record; names unique and Penetrator-shaped."""
    live = nodes(lab)
    for host, run_id in run_id_of.items():
        name = rows[host]['node_name']
        assert name in live, (host, name, sorted(live))
        labels = live[name]['labels']
        assert live[name]['ready'], name
        assert {k: labels.get(k) for k in EDGE_LABELS} == EDGE_LABELS, (name, labels)
        assert labels.get(LABEL_KEY) == run_id, (name, labels)
        assert labels.get(INVENTORY_KEY) == host, (name, labels)
    return live


def test_site_nodes_reachable_only_through_the_proxy(lab):
    assert tcp_open(lab.ip(PROXY)), 'the proxy answers SSH on the main network'
    for host in SITE_NODES:
        direct = lab.ssh(host, 'hostname', check=False, direct=True, connect_timeout=5)
        assert direct.returncode != 0, '%s must not be reachable from the controller directly' % host
    assert lab.ssh(SITE_NODES[0], 'hostname').stdout.strip() == SITE_NODES[0]


def test_first_run_two_broken_hosts_fail_the_others_join(lab, control_plane, figures):
    assert set(nodes(lab)) == {CP}, 'the cluster starts with no edge node'
    lab.podman('stop', '--time', '2', STOPPED)
    inventory = lab.write_inventory('run1', {CORRUPT: {'edge_cluster_install_pkg_path': str(corrupt_package(lab))}})
    STATE['inventory1'] = inventory
    # the watchers record the join token kubeadm is handed on every reachable edge node
    watched = [h for h in EDGES if h != STOPPED]
    start_secret_watchers(_ScriptOnStdin(lab), watched)
    try:
        done = lab.playbook(PLAYBOOK, inventory, '-e', 'fleet_join_batch_size=%d' % BATCH, log_name='run1')
    finally:
        found = stop_secret_watchers(_ScriptOnStdin(lab), watched)
    figures['first run (10 hosts, 2 broken)'] = done.seconds
    assert done.rc != 0, 'a run with failed hosts exits non-zero'
    assert done.report, 'the JSON report is written even when hosts failed'
    rows = done.rows()
    assert set(rows) == set(EDGES)
    failed = {h for h, r in rows.items() if r['result'] == 'failed'}
    assert failed == {STOPPED, CORRUPT}, done.failure()
    assert rows[STOPPED]['step'] == 'reach' and 'unreachable' in rows[STOPPED]['reason'], rows[STOPPED]
    assert rows[CORRUPT]['step'] == 'package', rows[CORRUPT]
    assert re.search(r'sha256|checksum', rows[CORRUPT]['reason'], re.I), rows[CORRUPT]
    joined = sorted(set(EDGES) - failed)
    assert all(rows[h]['result'] == 'joined' and rows[h]['duration'] > 0 for h in joined), rows
    assert done.report['summary'] == {'joined': 8, 'failed': 2, 'already a member': 0, 'reinstalled': 0,
                                      'skipped': 0}
    run_id = done.report['run_id']
    assert done.report['batch_label'] == '%s=%s' % (LABEL_KEY, run_id)
    # the readable table is in the output, one line per host, with the reasons
    assert re.search(r'^.*HOST\s+NODE\s+RESULT\s+SECONDS\s+REASON', done.output, re.M)
    assert re.search(r'%s\s+\S+\s+failed\s+[\d.]+\s+\[package\]' % CORRUPT, done.output)
    assert 'fleet join %s: 10 hosts - 8 joined, 2 failed' % run_id in done.output
    names = [rows[h]['node_name'] for h in joined]
    assert all(NAME_RE.match(n) for n in names) and len(set(names)) == len(names), names
    check_members(lab, rows, {h: run_id for h in joined})
    assert fleet_tokens(lab) == [], 'the run deleted its token'
    # the run's token never reaches the output or the report
    assert found['join_tokens'], 'the watchers saw no join token: nothing to look for'
    leaked = leaked_secrets(found, done.output + json.dumps(done.report))
    assert not leaked, 'found in the output or the JSON report (%s): %s' % (done.log, leaked)
    progress('output (%d characters) and JSON report hold none of the %d token(s) the watchers saw'
             % (len(done.output), len(found['join_tokens'])))
    recorded = node_name_files(lab, joined)
    assert recorded == {h: [rows[h]['node_name'], '644'] for h in joined}
    # the site's package went once to the proxy and each site node downloaded it from there
    gets = lab.ssh(PROXY, 'journalctl -u edge-cluster-fleet-http --no-pager -o cat | grep -c "GET /kube-linux" || true')
    assert int(gets.stdout.strip()) == len(SITE_NODES), gets.stdout
    assert not lab.ssh(PROXY, 'systemctl is-active edge-cluster-fleet-http', check=False).returncode == 0
    STATE['rows1'] = rows
    STATE['run1'] = run_id


def test_rerun_after_fixing_joins_only_the_two(lab, figures):
    if 'rows1' not in STATE:
        pytest.skip('needs the first run')
    lab.podman('start', STOPPED)
    deadline = time.monotonic() + 60
    while not tcp_open(lab.ip(STOPPED)) and time.monotonic() < deadline:
        time.sleep(1)
    inventory = lab.write_inventory('run2')
    done = lab.playbook(PLAYBOOK, inventory, '-e', 'fleet_join_batch_size=%d' % BATCH, log_name='run2')
    figures['re-run joining the 2 fixed hosts'] = done.seconds
    assert done.rc == 0, done.failure()
    rows = done.rows()
    assert {h for h, r in rows.items() if r['result'] == 'joined'} == {STOPPED, CORRUPT}
    assert {h for h, r in rows.items() if r['result'] == 'already a member'} == set(EDGES) - {STOPPED, CORRUPT}
    for host, row in rows.items():
        if row['result'] == 'already a member':
            assert row['node_name'] == STATE['rows1'][host]['node_name']
    # members were never contacted: they are not in the recap at all
    assert set(done.recap) <= {'localhost', CP, STOPPED, CORRUPT}, done.recap
    run_ids = dict({h: STATE['run1'] for h in EDGES}, **{STOPPED: done.report['run_id'], CORRUPT: done.report['run_id']})
    check_members(lab, rows, run_ids)
    assert fleet_tokens(lab) == []
    STATE['rows2'] = rows
    STATE['run_ids'] = run_ids


def test_reinstall_keeps_or_changes_the_name(lab, figures):
    if 'rows2' not in STATE:
        pytest.skip('needs the re-run')
    keep, rename = SITE_NODES[0], DIRECT_NODES[0]
    old_keep, old_rename = STATE['rows2'][keep]['node_name'], STATE['rows2'][rename]['node_name']
    # one chosen on the command line, one by host variables with the new name (nodeNamesOverride)
    inventory = lab.write_inventory('run3', {rename: {'fleet_join_reinstall': True,
                                                      'fleet_join_node_name': NAME_PREFIX + '-renamed'}})
    done = lab.playbook(PLAYBOOK, inventory, '-e', '{"fleet_join_reinstall_hosts": ["%s"]}' % keep,
                        log_name='reinstall')
    figures['reinstall of 2 hosts'] = done.seconds
    assert done.rc == 0, done.failure()
    rows = done.rows()
    assert rows[keep]['result'] == 'reinstalled' and rows[keep]['node_name'] == old_keep
    assert rows[rename]['result'] == 'reinstalled' and rows[rename]['node_name'] == NAME_PREFIX + '-renamed'
    assert {h for h, r in rows.items() if r['result'] == 'already a member'} == set(EDGES) - {keep, rename}
    run_ids = dict(STATE['run_ids'], **{keep: done.report['run_id'], rename: done.report['run_id']})
    live = check_members(lab, rows, run_ids)
    assert old_rename not in live, 'the old Node of the renamed host is gone'
    assert len(live) == 1 + len(EDGES)
    assert node_name_files(lab, [keep, rename]) == {keep: [old_keep, '644'], rename: [NAME_PREFIX + '-renamed', '644']}
    assert fleet_tokens(lab) == []
    STATE['reinstalled'] = True


def test_noop_rerun_changes_nothing_and_contacts_no_edge_host(lab, figures):
    if 'rows2' not in STATE:
        pytest.skip('needs the fleet joined')
    inventory = lab.write_inventory('noop')
    done = lab.playbook(PLAYBOOK, inventory, log_name='no-op')
    figures['no-op re-run over 10 members'] = done.seconds
    assert done.rc == 0, done.failure()
    assert {r['result'] for r in done.report['hosts']} == {'already a member'}
    assert set(done.recap) <= {'localhost', CP}, done.recap
    assert all(r['changed'] == 0 for r in done.recap.values()), done.recap
    assert fleet_tokens(lab) == []
    progress('no-op re-run over %d members: %.1fs' % (len(EDGES), done.seconds))


@pytest.mark.parametrize('name, host_vars, extra, message', [
    ('bad-proxy', {SITE_NODES[0]: {'fleet_join_proxy': 'no-such-proxy'}}, {},
     'fleet_join_proxy must name an inventory host (the site\'s proxy): no-such-proxy named by %s' % SITE_NODES[0]),
    ('bad-run-id', {}, {'fleet_join_run_id': 'wave/7'},
     "fleet_join_run_id is 'wave/7', not a usable Kubernetes label value"),
])
def test_bad_settings_fail_before_any_edge_host_or_token(lab, name, host_vars, extra, message):
    if 'rows2' not in STATE:
        pytest.skip('needs the fleet joined')
    inventory = lab.write_inventory(name, host_vars)
    done = lab.playbook(PLAYBOOK, inventory, '-e', json.dumps(extra), log_name=name)
    assert done.rc != 0, 'bad settings fail the run'
    assert message in ' '.join(done.output.split()), done.failure()
    assert set(done.recap) <= {'localhost', CP}, done.recap
    assert done.report is None, 'no report: nothing was planned'
    assert fleet_tokens(lab) == []


def test_edge_mode_with_several_control_planes_is_refused(lab, control_plane):
    """Fleet join sets up no node-local balancer, which edge nodes of a cluster with several control
    planes need (site.yml's): such a run stops in the plan, before any host or token."""
    inventory = lab.write_inventory('two-control-planes')
    doc = yaml.safe_load(inventory.read_text())
    doc['all']['children']['control_plane']['hosts']['edge-fleet-cp-2'] = {'ansible_host': '10.213.10.12'}
    inventory.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
    done = lab.playbook(PLAYBOOK, inventory, log_name='two-control-planes')
    assert done.rc != 0
    assert 'Fleet join does not support an edge-mode cluster with several control planes yet' in \
        ' '.join(done.output.split()), done.failure()
    assert set(done.recap) <= {'localhost'}, done.recap
    assert fleet_tokens(lab) == []
