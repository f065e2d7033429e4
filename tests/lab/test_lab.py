"""The lab, end to end through the real scripts: nodes reached over SSH from the generated
inventory, idempotence, the isolated site behind its proxy, zero egress, the online services,
a node that really runs containerd and kubelet, and a clean `down`.

Tests run in file order against one lab (conftest.py); the last one takes it down."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import stat
import urllib.request
from pathlib import Path

import pytest
import yaml

from edge_labtest import BUNDLE, LABEL, PREFIX, REPO, podman_state, progress, run

pytestmark = pytest.mark.slow

CP, EDGE, SITE, PROXY, SERVICES = (PREFIX + s for s in ('-cp-1', '-edge-1', '-site-1', '-proxy', '-services'))


def recap_changed(output):
    match = re.search(r'^localhost\s+:\s+ok=\d+\s+changed=(\d+)', output, re.M)
    assert match, 'no PLAY RECAP for localhost in:\n' + output[-3000:]
    return int(match.group(1))


def guard_counter(comment):
    """Packets the lab's egress guard has rejected under the rule with this comment."""
    table = run(['nft', 'list', 'table', 'inet', PREFIX.replace('-', '_')]).stdout
    match = re.search(r'counter packets (\d+) bytes \d+ .*comment "%s"' % re.escape(comment), table)
    assert match, 'rule "%s" not found in the guard:\n%s' % (comment, table)
    return int(match.group(1))


def debian_mirror_host():
    """The Debian mirror host this machine's apt uses (what the node image is built from)."""
    for path in sorted(Path('/etc/apt/sources.list.d').glob('*.sources')) + [Path('/etc/apt/sources.list')]:
        if path.is_file():
            match = re.search(r'(?:URIs:\s*|^deb\s+(?:\[[^]]*\]\s+)?)https?://([^/\s]+)/debian\b',
                              path.read_text(), re.M)
            if match:
                return match.group(1)
    pytest.skip('no Debian mirror configured in /etc/apt: nothing to check egress against')


def test_inventory_has_the_groups_and_a_private_key(lab):
    inv = yaml.safe_load(lab.inventory.read_text())['all']
    groups = inv['children']
    assert set(groups) == {'control_plane', 'edge_nodes', 'edge_site', 'nodes', 'lab_proxies', 'lab_services'}
    assert list(groups['control_plane']['hosts']) == [CP]
    assert list(groups['edge_nodes']['hosts']) == [EDGE]
    assert 'edge_site' in groups['edge_nodes']['children']
    assert list(groups['edge_site']['hosts']) == [SITE]
    assert groups['nodes']['hosts'] == {}
    assert list(groups['lab_proxies']['hosts']) == [PROXY]
    assert list(groups['lab_services']['hosts']) == ([SERVICES] if lab.services else [])
    assert 'ProxyCommand' in groups['edge_site']['hosts'][SITE]['ansible_ssh_common_args']
    assert 'root@10.213.2.3' in groups['edge_site']['hosts'][SITE]['ansible_ssh_common_args']
    assert inv['vars']['ansible_user'] == 'root'
    assert inv['vars']['ansible_ssh_private_key_file'] == str(lab.key)
    assert stat.S_IMODE(lab.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(lab.key.parent.stat().st_mode) == 0o700
    assert 'PRIVATE KEY' not in lab.up_output and lab.key.read_text().strip() not in lab.up_output


def test_every_node_answers_ansible_ping_over_ssh(lab):
    done = lab.ansible('all', 'ansible.builtin.ping', timeout=180)
    for host in lab.hosts:
        assert re.search(r'^%s \| SUCCESS' % re.escape(host), done.stdout, re.M), done.stdout


def test_nodes_are_distinct_fresh_machines(lab):
    """Own hostname, machine-id, SSH host key and MAC; systemd running as PID 1 in its own cgroup
    tree; / shared for mount propagation; a default route through the lab gateway."""
    script = ('echo "$(hostname) $(cat /etc/machine-id) '
              '$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2) '
              '$(cat /sys/class/net/eth0/address) $(findmnt -no PROPAGATION /) '
              '$(systemctl is-system-running) $(ps -o comm= -p 1) $(cut -d: -f3 /proc/1/cgroup | sort -u | tr "\\n" ,)"')
    rows = {}
    for host in [CP, EDGE, SITE]:
        name, machine_id, hostkey, mac, propagation, state, pid1, cgroups = lab.shell(host, script).split()
        assert name == host
        assert re.fullmatch(r'[0-9a-f]{32}', machine_id)
        assert propagation == 'shared'
        assert state == 'running', '%s: systemd is %s' % (host, state)
        assert pid1 == 'systemd'
        assert set(cgroups.strip(',').split(',')) <= {'/', '/init.scope'}, cgroups
        rows[host] = (machine_id, hostkey, mac)
    for column in range(3):
        values = [row[column] for row in rows.values()]
        assert len(set(values)) == len(values), rows
    assert lab.shell(CP, 'ip route show default') .startswith('default via 10.213.2.1 ')
    assert lab.shell(SITE, 'ip route show default').startswith('default via 10.213.3.3 ')


def test_second_present_reports_no_change(lab):
    done = lab.playbook('present')
    assert recap_changed(done.stdout) == 0, done.stdout[-4000:]


def test_site_node_is_reached_only_through_the_proxy(lab):
    # Over SSH through the proxy, as the generated inventory says.
    lab.ansible(SITE, 'ansible.builtin.ping')
    # The host has no way in: no address on the site subnet, and its route to a site node is not
    # a lab bridge (checked with `ip route get`, which sends nothing).
    site_bridge = run(['podman', 'network', 'inspect', PREFIX + '-site', '--format',
                       '{{.NetworkInterface}}']).stdout.strip()
    assert site_bridge
    addresses = run(['ip', '-o', '-4', 'addr', 'show']).stdout
    assert ' 10.213.3.' not in addresses, addresses
    route = run(['ip', '-o', 'route', 'get', '10.213.3.11'], check=False).stdout
    assert 'dev %s ' % site_bridge not in route and 'dev %s\n' % site_bridge not in route, route
    # The site reaches the main network (the API server's side) through the proxy's NAT.
    banner = lab.shell(SITE, "timeout 5 bash -c 'exec 3<>/dev/tcp/10.213.2.11/22; head -c 7 <&3'")
    assert banner == 'SSH-2.0'


def test_nodes_have_no_egress(lab):
    mirror = debian_mirror_host()
    # Names outside the lab do not resolve: the lab's nameserver (its gateway) answers nothing.
    out = lab.shell(CP, 'getent hosts %s >/dev/null; echo rc=$?' % mirror)
    assert out == 'rc=2', out
    # One bounded attempt at the mirror's real address (resolved here, on the host): the guard
    # rejects it where it would leave the host, and counts it.
    try:
        address = socket.getaddrinfo(mirror, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except OSError:
        pytest.skip('this host cannot resolve %s, so the forward path cannot be exercised' % mirror)
    before = guard_counter('lab egress')
    progress('egress check: one 5 s attempt from %s to %s (%s), expected to fail' % (CP, mirror, address))
    out = lab.shell(CP, 'curl -sS -m 5 -o /dev/null --resolve %s:80:%s http://%s/debian/ 2>&1; echo rc=$?'
                    % (mirror, address, mirror), timeout=60)
    assert not out.endswith('rc=0'), out
    assert guard_counter('lab egress') > before, 'the packet was not stopped by the lab guard: ' + out


def _get(url, method='GET', headers=None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.headers, resp.read()


def test_services_serve_the_bundle_and_its_images(lab):
    if not lab.services:
        pytest.skip('artifacts/bundle does not exist yet: build it with scripts/bundle')
    sums = dict(reversed(line.split(None, 1)) for line in (BUNDLE / 'SHA256SUMS').read_text().splitlines())
    package = json.loads((BUNDLE / 'bundle.json').read_text())['package']
    _, body = _get('http://10.213.2.2:8080/' + package)
    assert hashlib.sha256(body).hexdigest() == sums[package]

    images = json.loads((BUNDLE / 'images' / 'manifest.json').read_text())
    _, body = _get('http://10.213.2.2:5000/v2/_catalog?n=1000')
    catalog = set(json.loads(body)['repositories'])
    accept = {'Accept': 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'}
    for image in images:
        repo, tag = image['name'].split('/', 1)[1].rsplit(':', 1)
        assert repo in catalog, (repo, catalog)
        headers, _ = _get('http://10.213.2.2:5000/v2/%s/manifests/%s' % (repo, tag), 'HEAD', accept)
        assert headers['Docker-Content-Digest'] == image['digest'], image['name']
    # Nodes use the services over the lab network, like a site-local mirror.
    out = lab.shell(EDGE, 'curl -fsS -m 10 http://10.213.2.2:5000/v2/_catalog')
    assert set(json.loads(out)['repositories']) == catalog


def test_a_node_runs_containerd_and_kubelet(lab):
    """The key de-risk: the bundle's containerd runs a container inside a node, and kubelet
    (systemd cgroup driver, cgroup v1) starts and runs a static pod in the node's kubepods.slice."""
    if not lab.services:
        pytest.skip('artifacts/bundle does not exist yet: build it with scripts/bundle')
    progress('node probe on %s: containerd, ctr run, kubelet with a static pod' % EDGE)
    done = run(['ansible', EDGE, '-i', lab.inventory, '-m', 'ansible.builtin.script',
                '-a', '%s 10.213.2.2' % (REPO / 'tests' / 'lab' / 'node_probe.sh')], timeout=400, check=False)
    assert 'probe: ok' in done.stdout, done.stdout[-6000:]
    # issue 3's proof: the bundle's images import with the package's containerd, and kubeadm's
    # preflight passes with the bundle's binaries
    assert 'probe: imported every bundle image; all 7 images kubeadm' in done.stdout
    assert 'probe: kubeadm init phase preflight passed' in done.stdout
    for line in re.findall(r'probe: .*', done.stdout):
        progress(line)


def test_down_removes_everything_the_lab_made_and_nothing_else(lab, lab_before):
    done = lab.down()
    assert recap_changed(done.stdout) > 0
    after = podman_state()
    for kind, argv in (('containers', ['ps', '-a']), ('volumes', ['volume', 'ls']), ('networks', ['network', 'ls'])):
        left = run(['podman', *argv, '--filter', 'label=%s=%s' % (LABEL, PREFIX), '--format', '{{.ID}}']).stdout
        assert left.strip() == '', '%s left behind: %s' % (kind, left)
        new = {name for name in after[kind] - lab_before[kind] if PREFIX in name}
        assert not new, '%s left behind: %s' % (kind, new)
    assert not lab.anonymous_volumes & after['volumes'], lab.anonymous_volumes & after['volumes']
    # Its own egress guard is gone; every table that was there before (another lab's included) stays.
    assert 'table inet %s' % PREFIX.replace('-', '_') not in after['nft_tables']
    assert lab_before['nft_tables'] <= after['nft_tables']
    assert not {f for f in after['cni_files'] - lab_before['cni_files'] if PREFIX in f}
    assert not {d for d in after['cni_state'] - lab_before['cni_state'] if PREFIX in d}
    assert not (REPO / '.lab' / PREFIX).exists()
    assert not lab.inventory.exists()
    # The bystanders (named like the lab's objects, labelled for another lab) are untouched.
    assert PREFIX + '-bystander' in after['containers']
    assert PREFIX + '-bystander' in after['volumes']
    # And a second `down` has nothing left to do.
    assert recap_changed(lab.down().stdout) == 0
