# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_static_package against small synthetic packages installed into a temporary 'node' folder.

Real systemd is replaced by a recorder of systemctl argv (the molecule suite runs the real one).
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import os
import stat
import tarfile
import threading
import time

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import (
    _hashing as hashing,
    _static_package as sp,
    _static_package_archive as spa,
    _static_package_files as spf,
)
from ansible_collections.edge.cluster.tests.unit.plugins.module_utils.package_factory import (
    elf,
    manifest_for,
    package_members,
    tgz,
    tree_snapshot,
    write_package,
)


class FakeSystemctl:
    """Records systemctl calls; is-enabled/is-active answer from the sets below."""

    def __init__(self):
        self.calls = []
        self.enabled = set()
        self.active = set()

    def __call__(self, argv):
        self.calls.append(list(argv))
        assert argv[0] == 'systemctl', argv
        verb, rest = argv[1], argv[2:]
        if verb == 'is-enabled':
            return (0, 'enabled\n', '') if rest[0] in self.enabled else (1, 'disabled\n', '')
        if verb == 'is-active':
            return (0, 'active\n', '') if rest[0] in self.active else (3, 'inactive\n', '')
        if verb == 'enable':
            self.enabled.add(rest[0])
            return 0, '', ''
        if verb == 'daemon-reload':
            return 0, '', ''
        raise AssertionError('unexpected systemctl call %r' % argv)

    def verbs(self):
        return [c[1] for c in self.calls]


class Node:
    """A temporary folder standing in for the node's file system."""

    def __init__(self, root):
        self.root = root
        self.cache_dir = root / 'var/cache/edge-cluster'
        self.cache_dir.mkdir(parents=True)
        self.options = spf.Options(
            bin_dir=str(root / 'usr/local/bin'), cni_bin_dir=str(root / 'opt/cni/bin'),
            runtime_bin_dir=str(root / 'usr/local/bin'), systemd_dir=str(root / 'etc/systemd/system'),
            kubelet_env_file=str(root / 'etc/default/kubelet'))
        self.state_file = str(root / 'var/lib/edge-cluster/static-package.json')
        self.systemctl = FakeSystemctl()

    def request(self, **kwargs):
        kwargs.setdefault('options', self.options)
        kwargs.setdefault('state_file', self.state_file)
        kwargs.setdefault('cache_dir', str(self.cache_dir))
        return sp.Request(**kwargs)

    def install(self, machine='x86_64', download=None, **kwargs):
        return sp.install(self.request(**kwargs), machine, self.systemctl, download)

    def path(self, rel):
        return self.root / rel

    def snapshot(self):
        return tree_snapshot(str(self.root))


@pytest.fixture
def node(tmp_path):
    root = tmp_path / 'node'
    root.mkdir()
    return Node(root)


@pytest.fixture
def package(tmp_path):
    path = tmp_path / 'pkg' / 'kube-linux-amd64-v1.34.12.tar.gz'
    path.parent.mkdir()
    digest = write_package(str(path))
    return path, digest


def _sha(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


# --- small helpers ---------------------------------------------------------------------------

@pytest.mark.parametrize('machine, arch', [('x86_64', 'amd64'), ('aarch64', 'arm64'), ('armv7l', 'arm'),
                                           ('ppc64le', 'ppc64le'), ('s390x', 's390x')])
def test_goarch(machine, arch):
    assert spa.goarch(machine) == arch


def test_goarch_unknown_names_supported():
    with pytest.raises(spa.PackageError, match="'mips'.*amd64"):
        spa.goarch('mips')


@pytest.mark.parametrize('data, arch', [
    (elf('amd64', 'x'), 'amd64'), (elf('arm64', 'x'), 'arm64'), (b'#!/bin/sh\necho hi\n' * 4, None), (b'\x7fEL', None)])
def test_elf_goarch(data, arch):
    assert spa.elf_goarch(data[:64]) == arch


# --- a good package --------------------------------------------------------------------------

def test_install_puts_every_file_in_place(node, package):
    path, digest = package
    result = node.install(src=str(path))
    assert result['changed'] is True
    members = package_members()
    for name in ('kubeadm', 'kubelet', 'kubectl', 'crictl', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'runc'):
        target = node.path('usr/local/bin/' + name)
        st = target.stat()
        assert stat.S_IMODE(st.st_mode) == 0o755 and st.st_uid == 0 and st.st_gid == 0, name
    assert node.path('usr/local/bin/kubelet').read_bytes() == members['bin/kubelet']
    assert sorted(os.listdir(node.path('opt/cni/bin'))) == ['bridge', 'host-local', 'loopback']
    unit = node.path('etc/systemd/system/kubelet.service').read_text()
    assert 'ExecStart=%s/kubelet' % node.options.bin_dir in unit
    dropin = node.path('etc/systemd/system/kubelet.service.d/10-kubeadm.conf').read_text()
    assert 'EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env' in dropin
    assert 'EnvironmentFile=-%s' % node.options.kubelet_env_file in dropin
    assert '/etc/sysconfig' not in dropin
    assert '$KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS' in dropin
    containerd_unit = node.path('etc/systemd/system/containerd.service').read_text()
    assert 'ExecStart=%s/containerd' % node.options.runtime_bin_dir in containerd_unit
    assert 'Delegate=yes' in containerd_unit and 'KillMode=process' in containerd_unit
    assert node.path('etc/default/kubelet').read_text() == 'KUBELET_EXTRA_ARGS=\n'
    assert result['versions']['kubernetes'] == 'v1.34.12'
    assert result['kubernetes_version'] == 'v1.34.12'
    assert result['package']['sha256'] == digest and result['package']['arch'] == 'amd64'
    assert [v for v in node.systemctl.verbs() if v != 'is-active'] == ['daemon-reload', 'is-enabled', 'enable']
    assert result['restart_needed'] == []  # nothing was running
    state = json.loads(open(node.state_file).read())
    assert state['package']['sha256'] == digest
    assert state['files']['container/runc']['sha256'] == _sha(node.path('usr/local/bin/runc'))
    # Nothing left behind in the cache (no staging folders, no temporary files).
    assert os.listdir(node.cache_dir) == []
    assert not [p for p in node.snapshot() if p.endswith('.edge-cluster-tmp')]


def test_second_run_is_unchanged_and_does_not_open_the_package(node, package, monkeypatch):
    path, digest = package
    node.install(src=str(path))
    before = node.snapshot()

    def refuse(*args, **kwargs):
        raise AssertionError('the package was opened on a no-op run')

    monkeypatch.setattr(sp, 'read_package', refuse)
    # The checksum comes from SHA256SUMS beside the package: the package file is not even hashed.
    monkeypatch.setattr(hashing, 'sha256_file', lambda p, real=hashing.sha256_file: (
        refuse() if p == str(path) else real(p)))
    result = node.install(src=str(path))
    assert result['changed'] is False and result['installed'] == []
    assert result['versions']['kubernetes'] == 'v1.34.12'
    assert node.snapshot() == before


def test_second_run_without_any_checksum_hashes_but_does_not_unpack(node, tmp_path, monkeypatch):
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), sums=False)
    node.install(src=str(path))
    monkeypatch.setattr(sp, 'read_package', lambda *a, **k: pytest.fail('package unpacked on a no-op run'))
    assert node.install(src=str(path))['changed'] is False


@pytest.fixture
def settled(monkeypatch):
    """The clock as it is a minute later: files just written count as settled for fingerprints."""
    real = time.time_ns
    monkeypatch.setattr(time, 'time_ns', lambda: real() + 60 * 10 ** 9)


def test_a_binary_written_moments_ago_is_not_fingerprinted(node, package, monkeypatch):
    """Within a coarse clock tick a rewrite keeps size, mtime and ctime: a file this fresh gets no
    fingerprint, so the next run hashes it (and records it, unchanged)."""
    path, _digest = package
    node.install(src=str(path))
    hashed = []
    monkeypatch.setattr(hashing, 'sha256_file', lambda p, real=hashing.sha256_file: hashed.append(p) or real(p))
    assert node.install(src=str(path))['changed'] is False
    assert str(node.path('usr/local/bin/kubeadm')) in hashed


def test_no_op_run_reads_no_installed_binary(node, package, monkeypatch, settled):
    """The install record keeps each binary's fingerprint: a no-op run hashes none of them."""
    path, _digest = package
    node.install(src=str(path))
    installed = (str(node.path('usr/local/bin')), str(node.path('opt/cni/bin')))
    monkeypatch.setattr(hashing, 'sha256_file', lambda p, real=hashing.sha256_file: (
        pytest.fail('%s re-hashed on a no-op run' % p) if p.startswith(installed) else real(p)))
    result = node.install(src=str(path))
    assert result['changed'] is False and result['installed'] == []


def test_a_binary_rewritten_with_its_old_size_and_mtime_is_still_put_back(node, package, settled):
    """The fingerprint holds ctime, which a rewrite changes and user space cannot set back."""
    path, _digest = package
    node.install(src=str(path))
    kubeadm = node.path('usr/local/bin/kubeadm')
    original, st = kubeadm.read_bytes(), kubeadm.stat()
    kubeadm.write_bytes(original[:-1] + b'Y')
    os.utime(kubeadm, ns=(st.st_atime_ns, st.st_mtime_ns))
    result = node.install(src=str(path))
    assert result['changed'] is True and result['installed'] == [str(kubeadm)]
    assert kubeadm.read_bytes() == original
    assert node.install(src=str(path))['changed'] is False


def test_a_changed_installed_file_is_put_back(node, package):
    path, _digest = package
    node.install(src=str(path))
    kubelet = node.path('usr/local/bin/kubelet')
    original = kubelet.read_bytes()
    kubelet.write_bytes(original[:-1] + b'X')  # same size, other content
    os.chmod(node.path('usr/local/bin/ctr'), 0o777)
    node.path('opt/cni/bin/bridge').unlink()
    node.systemctl.active.add('kubelet.service')
    result = node.install(src=str(path), diff=True)
    assert result['changed'] is True
    assert sorted(result['installed']) == sorted([str(kubelet), str(node.path('opt/cni/bin/bridge')),
                                                  str(node.path('usr/local/bin/ctr'))])
    assert kubelet.read_bytes() == original
    assert stat.S_IMODE(node.path('usr/local/bin/ctr').stat().st_mode) == 0o755
    assert result['restart_needed'] == ['kubelet']
    listing = result['diff'][0]
    assert '%s: sha256:' % kubelet in listing['before'] and 'opt/cni/bin/bridge: absent' in listing['before']
    assert 'usr/local/bin/ctr: sha256:' in listing['before'] and 'mode 0777' in listing['before']


def test_check_mode_changes_nothing_and_lists_what_would_change(node, package):
    path, _digest = package
    before = node.snapshot()
    result = node.install(src=str(path), check_mode=True, diff=True)
    assert result['changed'] is True
    assert str(node.path('usr/local/bin/kubeadm')) in result['installed']
    assert node.snapshot() == before
    listing = result['diff'][0]
    assert '/usr/local/bin/kubeadm: absent' in listing['before']
    assert '/usr/local/bin/kubeadm: sha256:' in listing['after']
    units = [d for d in result['diff'][1:] if d['after_header'].endswith('kubelet.service')]
    assert units and 'ExecStart=' in units[0]['after']
    assert 'daemon-reload' not in node.systemctl.verbs() and 'enable' not in node.systemctl.verbs()


def test_check_mode_after_install_reports_no_change(node, package):
    path, _digest = package
    node.install(src=str(path))
    assert node.install(src=str(path), check_mode=True)['changed'] is False


def test_a_new_package_version_replaces_only_what_differs(node, tmp_path):
    first = tmp_path / 'v1' / 'kube-linux-amd64-v1.34.12.tar.gz'
    first.parent.mkdir()
    write_package(str(first))
    node.install(src=str(first))
    members = package_members()
    members['bin/kubelet'] = elf('amd64', 'kubelet v1.34.12 rebuilt')
    second = tmp_path / 'v2' / 'kube-linux-amd64-v1.34.12.tar.gz'
    second.parent.mkdir()
    write_package(str(second), members=members)
    node.systemctl.active.update(['kubelet.service', 'containerd.service'])
    result = node.install(src=str(second))
    assert result['installed'] == [str(node.path('usr/local/bin/kubelet'))]
    assert result['restart_needed'] == ['kubelet']
    assert node.path('usr/local/bin/kubelet').read_bytes() == members['bin/kubelet']


def test_kubelet_env_file_is_never_overwritten(node, package):
    path, _digest = package
    env = node.path('etc/default/kubelet')
    env.parent.mkdir(parents=True)
    env.write_text('KUBELET_EXTRA_ARGS=--v=4\n')
    node.install(src=str(path))
    assert env.read_text() == 'KUBELET_EXTRA_ARGS=--v=4\n'


@pytest.mark.parametrize('files, expected', [(['etc/debian_version'], '/etc/default/kubelet'),
                                             (['etc/sysconfig/network'], '/etc/sysconfig/kubelet'),
                                             ([], '/etc/default/kubelet')])
def test_default_kubelet_env_file_follows_the_distribution(tmp_path, files, expected):
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text('x')
    assert spf.default_kubelet_env_file(str(tmp_path)) == expected


def test_colliding_targets_are_refused(node, package):
    path, _digest = package
    node.options.cni_bin_dir = node.options.bin_dir
    members = package_members()
    members['cni/cni-plugins-linux-amd64-v1.9.1.tgz'] = tgz({'./kubelet': elf('amd64', 'x')})
    clash = path.parent / 'clash.tar.gz'
    write_package(str(clash), members=members)
    with pytest.raises(spa.PackageError, match='installed twice'):
        node.install(src=str(clash))


# --- bad packages leave the node untouched ---------------------------------------------------

def _assert_refused(node, match, **kwargs):
    node.path('usr/local/bin').mkdir(parents=True, exist_ok=True)
    node.path('usr/local/bin/kubectl').write_bytes(b'an older kubectl')
    before = node.snapshot()
    with pytest.raises(spa.PackageError, match=match) as raised:
        node.install(**kwargs)
    assert node.snapshot() == before, 'the node changed although the package was refused'
    assert node.systemctl.calls == []
    return str(raised.value)


def test_wrong_arch_package_is_refused_naming_both(node, tmp_path):
    path = tmp_path / 'kube-linux-arm64-v1.34.12.tar.gz'
    write_package(str(path), members=package_members('arm64'), arch='arm64')
    message = _assert_refused(node, 'package is arm64, node is x86_64/amd64', src=str(path))
    assert 'kube-linux-amd64' in message


def test_package_for_amd64_on_arm64_node(node, package):
    path, _digest = package
    _assert_refused(node, 'package is amd64, node is aarch64/arm64', src=str(path), machine='aarch64')


def test_manifest_rewritten_to_the_node_arch_is_caught_by_the_binaries(node, tmp_path):
    path = tmp_path / 'relabelled.tar.gz'
    members = package_members('amd64', binary_arch='arm64')
    write_package(str(path), members=members, manifest=manifest_for(members, 'amd64'))
    _assert_refused(node, r'bin/.* is a arm64 binary but manifest.json says the package is amd64', src=str(path))


@pytest.mark.parametrize('offset', [0.5, 0.9])
def test_one_flipped_byte_fails_the_checksum(node, package, offset):
    path, _digest = package
    data = bytearray(path.read_bytes())
    data[int(len(data) * offset)] ^= 0x01
    path.write_bytes(bytes(data))
    message = _assert_refused(node, 'has sha256 .* but .*SHA256SUMS says', src=str(path))
    assert 'nothing was changed' in message


def test_one_flipped_byte_without_checksum_is_caught_as_corrupt(node, tmp_path):
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), sums=False)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    _assert_refused(node, 'truncated or corrupt|is corrupt', src=str(path))


def test_truncated_package_is_refused(node, tmp_path):
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), sums=False)
    path.write_bytes(path.read_bytes()[:-200])
    _assert_refused(node, 'truncated or corrupt', src=str(path))


def test_not_a_tarball(node, tmp_path):
    path = tmp_path / 'k.tar.gz'
    path.write_bytes(b'<html>404 not found</html>')
    _assert_refused(node, 'truncated or corrupt', src=str(path))


def test_member_listed_in_the_manifest_but_missing(node, tmp_path):
    members = package_members()
    manifest = manifest_for(members)
    del members['bin/kubelet']
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), members=members, manifest=manifest)
    _assert_refused(node, 'member bin/kubelet, listed in manifest.json, is missing', src=str(path))


def test_required_member_missing_from_package_and_manifest(node, tmp_path):
    members = package_members()
    del members['bin/kubeadm']
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), members=members)
    _assert_refused(node, 'bin/kubeadm is missing', src=str(path))


def test_runtime_tarball_without_runc(node, tmp_path):
    members = package_members()
    members['container/containerd-1.6.20-linux-amd64.tar.gz'] = tgz({
        'bin/containerd': elf('amd64', 'c'), 'bin/containerd-shim-runc-v2': elf('amd64', 's'),
        'bin/ctr': elf('amd64', 'ctr')})
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), members=members)
    _assert_refused(node, 'lacks runc', src=str(path))


def test_member_corrupt_inside_a_good_archive(node, tmp_path):
    members = package_members()
    manifest = manifest_for(members)
    members['bin/kubectl'] = members['bin/kubectl'][:-1] + b'!'
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), members=members, manifest=manifest)
    _assert_refused(node, 'member bin/kubectl is corrupt: sha256 [0-9a-f]{64}', src=str(path))


def test_member_not_in_the_manifest(node, tmp_path):
    members = package_members()
    manifest = manifest_for(members)
    members['bin/extra-tool'] = elf('amd64', 'extra')
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), members=members, manifest=manifest)
    _assert_refused(node, 'bin/extra-tool is not listed in manifest.json', src=str(path))


def test_symlink_member_is_refused(node, tmp_path):
    link = tarfile.TarInfo('edge-install/bin/sh')
    link.type = tarfile.SYMTYPE
    link.linkname = '/bin/sh'
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), extra=[(link, None)])
    _assert_refused(node, "'edge-install/bin/sh' is a link", src=str(path))


def test_path_traversal_is_refused(node, tmp_path):
    evil = tarfile.TarInfo('edge-install/../../etc/passwd')
    evil.size = 4
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), extra=[(evil, b'root')])
    _assert_refused(node, 'unsafe member name', src=str(path))


def test_no_manifest_at_all(node, tmp_path):
    path = tmp_path / 'k.tar.gz'
    with tarfile.open(str(path), 'w:gz') as tar:
        data = elf('amd64', 'kubeadm')
        info = tarfile.TarInfo('edge-install/bin/kubeadm')
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    _assert_refused(node, 'has no edge-install/manifest.json', src=str(path))


def test_wrong_checksum_option(node, package):
    path, _digest = package
    _assert_refused(node, 'the checksum option says ' + 'f' * 64, src=str(path), checksum='f' * 64)


def test_missing_source_on_node(node, tmp_path):
    _assert_refused(node, 'does not exist on the node', src=str(tmp_path / 'absent.tar.gz'))


def test_missing_source_asks_for_a_transfer_when_allowed(node, tmp_path):
    result = node.install(src=str(tmp_path / 'absent.tar.gz'), transfer=True, checksum='a' * 64)
    assert result['transfer_required'] is True and result['changed'] is False


def test_stale_cached_copy_asks_for_a_transfer(node, tmp_path, package):
    path, digest = package
    cached = node.cache_dir / path.name
    cached.write_bytes(b'an older package')
    result = node.install(src=str(cached), transfer=True, checksum=digest)
    assert result.get('transfer_required') is True


def test_transferred_copy_is_kept_in_the_cache_after_verification(node, package, tmp_path):
    path, digest = package
    cached = node.cache_dir / path.name
    result = node.install(src=str(path), checksum=digest, cache_as=str(cached))
    assert result['changed'] is True
    assert _sha(cached) == digest
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600


def test_refused_transfer_is_not_kept(node, tmp_path):
    path = tmp_path / 'kube-linux-arm64-v1.34.12.tar.gz'
    write_package(str(path), members=package_members('arm64'), arch='arm64', sums=False)
    cached = node.cache_dir / path.name
    with pytest.raises(spa.PackageError):
        node.install(src=str(path), cache_as=str(cached))
    assert not cached.exists()


def test_failure_while_writing_removes_every_temporary_file(node, package, monkeypatch):
    path, _digest = package
    real_chown = os.chown
    calls = []

    def flaky_chown(target, uid, gid):
        calls.append(target)
        if len(calls) == 5:
            raise OSError(28, 'No space left on device')
        return real_chown(target, uid, gid)

    monkeypatch.setattr(os, 'chown', flaky_chown)
    before = node.snapshot()
    with pytest.raises(OSError, match='No space left'):
        node.install(src=str(path))
    assert node.snapshot() == before
    assert not os.path.exists(node.state_file)


# --- URL -------------------------------------------------------------------------------------

@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / 'www'
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, 'http://127.0.0.1:%d' % server.server_address[1]
    server.shutdown()


def _urllib_download(url, path):
    import shutil
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as response, open(path, 'wb') as out:
        shutil.copyfileobj(response, out)


def test_url_with_checksum_installs_and_then_skips_the_download(node, http_server):
    root, base = http_server
    digest = write_package(str(root / 'kube-linux-amd64-v1.34.12.tar.gz'))
    url = base + '/kube-linux-amd64-v1.34.12.tar.gz'
    assert node.install(url=url, checksum=digest, download=_urllib_download)['changed'] is True
    assert _sha(node.cache_dir / 'kube-linux-amd64-v1.34.12.tar.gz') == digest

    def no_download(url, path):
        raise AssertionError('downloaded again although the checksum matches the installed package')

    assert node.install(url=url, checksum=digest, download=no_download)['changed'] is False


def test_url_without_checksum_relies_on_the_manifest(node, http_server):
    root, base = http_server
    write_package(str(root / 'k.tar.gz'), sums=False)
    assert node.install(url=base + '/k.tar.gz', download=_urllib_download)['changed'] is True
    assert node.install(url=base + '/k.tar.gz', download=_urllib_download)['changed'] is False


def test_url_with_wrong_checksum_changes_nothing(node, http_server):
    root, base = http_server
    write_package(str(root / 'k.tar.gz'))
    before = node.snapshot()
    with pytest.raises(spa.PackageError, match='has sha256'):
        node.install(url=base + '/k.tar.gz', checksum='0' * 64, download=_urllib_download)
    assert node.snapshot() == before


def test_url_serving_a_corrupt_file(node, http_server):
    root, base = http_server
    (root / 'k.tar.gz').write_bytes(gzip.compress(b'not a tar at all' * 100))
    before = node.snapshot()
    with pytest.raises(spa.PackageError, match='truncated or corrupt|no edge-install/manifest.json'):
        node.install(url=base + '/k.tar.gz', download=_urllib_download)
    assert node.snapshot() == before


# --- the real bundle's layout ----------------------------------------------------------------

def test_manifest_first_or_last_makes_no_difference(node, tmp_path):
    path = tmp_path / 'k.tar.gz'
    write_package(str(path), manifest_first=True, sums=False)
    assert node.install(src=str(path))['changed'] is True
