# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_image_import with small real OCI archives and a fake ctr that imports what the archive holds.

The fake reads index.json of whatever it is fed (a path, or the decompressed stream for '-'), so a
wrong archive shows up as a wrong digest exactly as with the real ctr. Real containerd is the
molecule suite's job.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import _image_import as ii
from ansible_collections.edge.cluster.tests.unit.plugins.module_utils.package_factory import (
    image_in_archive,
    oci_archive,
)

KUBEADM = ('registry.k8s.io/kube-apiserver:v1.34.12', 'registry.k8s.io/pause:3.10.1')
ZSTD = shutil.which('zstd')


class FakeNode:
    """ctr and kubeadm as the module calls them; images maps name -> digest."""

    def __init__(self, kubeadm_images=KUBEADM):
        self.images = {}
        self.calls = []
        self.kubeadm_images = list(kubeadm_images)
        self.ctr = ii.Ctr('/usr/local/bin/ctr', '/run/containerd/containerd.sock', 'k8s.io')
        self.ls_fails = False

    def run(self, argv):
        self.calls.append(list(argv))
        if argv[0] == 'kubeadm':
            return 0, 'W1122 some warning line\n' + '\n'.join(self.kubeadm_images) + '\n', ''
        assert argv[:5] == ['/usr/local/bin/ctr', '--address', '/run/containerd/containerd.sock',
                            '--namespace', 'k8s.io'], argv
        if argv[5:] == ['images', 'ls']:
            if self.ls_fails:
                return 1, '', 'ctr: failed to dial "/run/containerd/containerd.sock": connection refused'
            lines = ['REF TYPE DIGEST SIZE PLATFORMS LABELS']
            for name, digest in sorted(self.images.items()):
                lines.append('%s application/vnd.oci.image.manifest.v1+json %s 1.0 KiB linux/amd64 '
                             'io.cri-containerd.image=managed' % (name, digest))
                lines.append('sha256:%s application/vnd.oci.image.manifest.v1+json %s 1.0 KiB linux/amd64 '
                             'io.cri-containerd.image=managed' % ('0' * 64, digest))
            return 0, '\n'.join(lines) + '\n', ''
        assert argv[5:7] == ['images', 'import'], argv
        with open(argv[7], 'rb') as handle:
            return self._import(handle.read())

    def pipeline(self, first, second):
        self.calls.append(('pipe', list(first), list(second)))
        assert second[5:] == ['images', 'import', '-'], second
        done = subprocess.run(first, capture_output=True, check=False)
        if done.returncode != 0:
            return done.returncode, '', done.stderr.decode()
        return self._import(done.stdout)

    def _import(self, data):
        try:
            name, digest = image_in_archive(data)
        except Exception as exc:  # what ctr says about a bad stream
            return 1, '', 'ctr: %s' % exc
        self.images[name] = digest
        return 0, 'unpacking %s (%s)...done\n' % (name, digest), ''

    def imports(self):
        return [c for c in self.calls if c[0] == 'pipe' or (len(c) > 6 and c[6] == 'import')]


class Bundle:
    def __init__(self, root):
        self.root = root
        (root / 'images').mkdir(parents=True)
        self.entries = []
        self.sums = {}

    def add(self, name, fmt='tar', payload=None, listed_digest=None, sums=True):
        data, digest = oci_archive(name, payload or name)
        rel = 'images/%s.tar' % name.replace('/', '_').replace(':', '_')
        if fmt == 'gzip':
            data, rel = gzip.compress(data), rel + '.gz'
        elif fmt == 'zstd':
            data = subprocess.run([ZSTD, '-q', '-c'], input=data, capture_output=True, check=True).stdout
            rel += '.zst'
        (self.root / rel).write_bytes(data)
        if sums:
            self.sums[rel] = hashlib.sha256(data).hexdigest()
        self.entries.append(dict(name=name, file=rel, digest=listed_digest or digest, sha256=None))
        return self.root / rel, digest

    def request(self, **kwargs):
        kwargs.setdefault('kubernetes_version', 'v1.34.12')
        kwargs.setdefault('kubeadm', 'kubeadm')
        return ii.Request([dict(e) for e in self.entries], str(self.root), sums=dict(self.sums), **kwargs)


@pytest.fixture
def node():
    return FakeNode()


@pytest.fixture
def bundle(tmp_path):
    bundle = Bundle(tmp_path / 'bundle')
    bundle.add('registry.k8s.io/kube-apiserver:v1.34.12')
    bundle.add('registry.k8s.io/pause:3.10.1')
    bundle.add('registry.k8s.io/flannel:v0.27.4')
    return bundle


def run(node, request):
    request.ctr = node.ctr
    return ii.import_images(request, node.run, pipeline=node.pipeline, tools=dict(gzip=shutil.which('gzip'), zstd=ZSTD))


# --- parsers ---------------------------------------------------------------------------------

@pytest.mark.parametrize('head, fmt', [
    (b'\x1f\x8b\x08\x00' + b'\0' * 508, 'gzip'),
    (b'\x28\xb5\x2f\xfd' + b'\0' * 508, 'zstd'),
    (b'\0' * 257 + b'ustar\x0000' + b'\0' * 247, 'tar'),
    (b'\0' * 257 + b'ustar  \x00' + b'\0' * 247, 'tar'),
    (b'<html>' + b'\0' * 506, None),
    (b'', None),
])
def test_detect_format(head, fmt):
    assert ii.detect_format(head) == fmt


def test_parse_images_ls_skips_header_and_cri_ids():
    out = ('REF TYPE DIGEST SIZE PLATFORMS LABELS\n'
           'registry.k8s.io/pause:3.10.1 application/vnd.oci.image.manifest.v1+json sha256:%s 300.1 KiB linux/amd64 '
           'io.cri-containerd.image=managed\n'
           'sha256:%s application/vnd.oci.image.manifest.v1+json sha256:%s 300.1 KiB linux/amd64 -\n'
           % ('a' * 64, 'b' * 64, 'a' * 64))
    assert ii.parse_images_ls(out) == {'registry.k8s.io/pause:3.10.1': 'sha256:' + 'a' * 64}


def test_parse_kubeadm_images_ignores_warnings():
    out = ('W1122 18:52:34.1 12 version.go:104] could not fetch a Kubernetes version from the internet\n'
           'registry.k8s.io/kube-apiserver:v1.34.12\n\nregistry.k8s.io/coredns/coredns:v1.12.1\n')
    assert ii.parse_kubeadm_images(out) == ['registry.k8s.io/kube-apiserver:v1.34.12',
                                            'registry.k8s.io/coredns/coredns:v1.12.1']


@pytest.mark.parametrize('text, match', [
    ('{', 'not valid JSON'),
    ('{"name": "x"}', 'JSON list'),
    ('[{"name": "x"}]', 'needs "name" and "file"'),
    ('[{"name": "x", "file": "f", "digest": "md5:1"}]', 'expected sha256:'),
    ('[{"name": "x", "file": "f"}, {"name": "x", "file": "g"}]', 'lists x twice'),
])
def test_load_manifest_refuses(text, match):
    with pytest.raises(ii.ImageError, match=match):
        ii.load_manifest(text, 'images/manifest.json')


def test_imports_everything_then_nothing(node, bundle):
    result = run(node, bundle.request())
    assert result['changed'] is True
    assert result['imported'] == [e['name'] for e in bundle.entries]
    assert set(result['present']) == set(KUBEADM) | {'registry.k8s.io/flannel:v0.27.4'}
    node.calls.clear()
    again = run(node, bundle.request())
    assert again['changed'] is False and again['imported'] == []
    # The no-op run: one listing, one kubeadm call, no import, no archive read.
    assert [c[0] if c[0] == 'kubeadm' else ' '.join(c[5:]) for c in node.calls] == ['images ls', 'kubeadm']


def test_only_missing_or_different_images_are_imported(node, bundle):
    run(node, bundle.request())
    node.images.pop('registry.k8s.io/pause:3.10.1')
    node.images['registry.k8s.io/flannel:v0.27.4'] = 'sha256:' + 'f' * 64   # same tag, other image
    node.calls.clear()
    result = run(node, bundle.request())
    assert result['imported'] == ['registry.k8s.io/pause:3.10.1', 'registry.k8s.io/flannel:v0.27.4']
    assert len(node.imports()) == 2


@pytest.mark.parametrize('fmt', ['gzip', pytest.param('zstd', marks=pytest.mark.skipif(
    not ZSTD, reason='zstd binary missing: scripts/setup-host installs it'))])
def test_compressed_archives_are_streamed_into_ctr(node, tmp_path, fmt):
    bundle = Bundle(tmp_path / 'b')
    path, digest = bundle.add('registry.k8s.io/pause:3.10.1', fmt=fmt)
    result = run(node, bundle.request(kubernetes_version=None))
    assert result['imported'] == ['registry.k8s.io/pause:3.10.1']
    pipe = node.imports()[0]
    assert pipe[0] == 'pipe' and pipe[1][1:] == ['-dc', str(path)]
    assert node.images['registry.k8s.io/pause:3.10.1'] == digest


@pytest.mark.parametrize('fmt', ['tar', 'gzip'])
def test_compressed_and_plain_archives_without_sums_are_read_fully_first(node, tmp_path, fmt):
    bundle = Bundle(tmp_path / 'b')
    bundle.add('registry.k8s.io/pause:3.10.1', fmt=fmt, sums=False)
    assert run(node, bundle.request(kubernetes_version=None))['changed'] is True


def test_zstd_without_the_zstd_binary_says_what_to_install(node, tmp_path):
    if not ZSTD:
        pytest.skip('zstd binary missing: scripts/setup-host installs it')
    bundle = Bundle(tmp_path / 'b')
    bundle.add('registry.k8s.io/kube-apiserver:v1.34.12', fmt='gzip')
    bundle.add('registry.k8s.io/pause:3.10.1', fmt='zstd')
    request = bundle.request(kubernetes_version=None, ctr=node.ctr)
    with pytest.raises(ii.ImageError, match='zstd-compressed and this node has no zstd binary'):
        ii.import_images(request, node.run, pipeline=node.pipeline,
                         tools=dict(gzip='gzip', zstd=None))
    assert node.imports() == []


def test_missing_image_fails_before_any_import(node, bundle):
    node.kubeadm_images = list(KUBEADM) + ['registry.k8s.io/etcd:3.6.5-0', 'registry.k8s.io/coredns/coredns:v1.12.1']
    with pytest.raises(ii.ImageError) as raised:
        run(node, bundle.request())
    message = str(raised.value)
    assert 'registry.k8s.io/coredns/coredns:v1.12.1, registry.k8s.io/etcd:3.6.5-0' in message
    assert 'kubeadm v1.34.12 with repository registry.k8s.io' in message and 'nothing was imported' in message
    assert node.imports() == [] and node.images == {}


def test_required_images_already_present_need_no_bundle_entry(node, bundle):
    node.images['registry.k8s.io/etcd:3.6.5-0'] = 'sha256:' + 'e' * 64
    node.kubeadm_images = list(KUBEADM) + ['registry.k8s.io/etcd:3.6.5-0']
    assert 'registry.k8s.io/etcd:3.6.5-0' in run(node, bundle.request())['present']


def test_corrupt_archive_is_named_and_nothing_is_imported(node, bundle):
    path = bundle.root / bundle.entries[2]['file']
    data = bytearray(path.read_bytes())
    data[600] ^= 0xff
    path.write_bytes(bytes(data))
    with pytest.raises(ii.ImageError, match='image archive .*flannel_v0.27.4.tar is corrupt: sha256'):
        run(node, bundle.request())
    assert node.imports() == [] and node.images == {}


def test_truncated_archive_without_sums_is_caught_before_import(node, tmp_path):
    bundle = Bundle(tmp_path / 'b')
    bundle.add('registry.k8s.io/pause:3.10.1')
    path, _digest = bundle.add('registry.k8s.io/kube-apiserver:v1.34.12', fmt='gzip', sums=False)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ii.ImageError, match='kube-apiserver_v1.34.12.tar.gz is truncated or corrupt'):
        run(node, bundle.request())
    assert node.imports() == []


def test_not_an_archive(node, tmp_path):
    bundle = Bundle(tmp_path / 'b')
    path, _digest = bundle.add('registry.k8s.io/pause:3.10.1', sums=False)
    path.write_bytes(b'<html>not found</html>')
    with pytest.raises(ii.ImageError, match='neither tar nor gzip nor zstd'):
        run(node, bundle.request(kubernetes_version=None))


def test_archive_missing_on_node(node, bundle):
    (bundle.root / bundle.entries[0]['file']).unlink()
    with pytest.raises(ii.ImageError, match='kube-apiserver_v1.34.12.tar does not exist'):
        run(node, bundle.request())
    assert node.imports() == []


def test_archive_holding_another_image_than_the_manifest_says(node, tmp_path):
    bundle = Bundle(tmp_path / 'b')
    bundle.add('registry.k8s.io/pause:3.10.1', listed_digest='sha256:' + 'c' * 64)
    with pytest.raises(ii.ImageError, match=r'pause:3.10.1 is sha256:[0-9a-f]{64}, bundle says sha256:c{64}'):
        run(node, bundle.request(kubernetes_version=None))


def test_check_mode_imports_nothing(node, bundle):
    result = run(node, bundle.request(check_mode=True, diff=True))
    assert result['changed'] is True and len(result['imported']) == 3
    assert node.imports() == [] and node.images == {}
    assert 'registry.k8s.io/pause:3.10.1' in result['diff']['after'] and result['diff']['before'] == ''


def test_files_on_the_controller_ask_for_only_the_missing_ones(node, bundle):
    node.images['registry.k8s.io/pause:3.10.1'] = bundle.entries[1]['digest']
    result = run(node, bundle.request(files_on_controller=True))
    assert result['transfer_required'] == [bundle.entries[0]['file'], bundle.entries[2]['file']]
    assert node.imports() == []


def test_containerd_not_running_is_explained(node, bundle):
    node.ls_fails = True
    with pytest.raises(ii.ImageError, match='connection refused; is containerd running'):
        run(node, bundle.request())


# --- the real pipe ---------------------------------------------------------------------------

def test_run_pipeline_streams_and_reports_both_sides(tmp_path):
    data = b'edge' * 100000
    path = tmp_path / 'x.gz'
    path.write_bytes(gzip.compress(data))
    rc, out, _err = ii.run_pipeline(['gzip', '-dc', str(path)], ['sha256sum'])
    assert rc == 0 and out.split()[0] == hashlib.sha256(data).hexdigest()
    path.write_bytes(gzip.compress(data)[:-30])
    rc, _out, err = ii.run_pipeline(['gzip', '-dc', str(path)], ['sha256sum'])
    assert rc != 0 and 'unexpected end of file' in err
