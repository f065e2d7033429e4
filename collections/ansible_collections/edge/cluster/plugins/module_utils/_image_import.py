# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""Import image archives into containerd, skipping what is already there by digest.

One `ctr images ls` tells what the node holds; only archives whose image is absent (or present
with another digest) are checked and imported. Every archive to import is checked (sha256 when
the bundle's SHA256SUMS lists it, else a full read of its tar structure) before the first import,
so a corrupt archive fails the run with the node unchanged. Plain, gzip and zstd archives are
recognised by their first bytes and streamed through the decompressor into `ctr images import -`
(containerd 1.6's ctr reads plain tar only).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
import time
import zlib

from ansible_collections.edge.cluster.plugins.module_utils._hashing import sha256_file

GZIP_MAGIC = b'\x1f\x8b'
ZSTD_MAGIC = b'\x28\xb5\x2f\xfd'
_CHUNK = 1024 * 1024
_DIGEST_RE = re.compile(r'^sha256:[0-9a-f]{64}$')


class ImageError(Exception):
    """The images cannot be imported or are not all there; the message says which and how to fix it."""


def detect_format(head):
    """'gzip', 'zstd' or 'tar' from an archive's first 512 bytes; None when it is none of them."""
    if head[:2] == GZIP_MAGIC:
        return 'gzip'
    if head[:4] == ZSTD_MAGIC:
        return 'zstd'
    if len(head) >= 262 and head[257:262] == b'ustar':
        return 'tar'
    return None


def load_manifest(text, where):
    """The entries of a bundle's images/manifest.json: [{name, file, digest}], validated."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ImageError('%s is not valid JSON (%s)' % (where, exc))
    if not isinstance(data, list):
        raise ImageError('%s must be a JSON list of {"name", "file", "digest"} objects' % where)
    entries, names = [], set()
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not item.get('name') or not item.get('file'):
            raise ImageError('%s entry %d needs "name" and "file": %r' % (where, index, item))
        digest = item.get('digest')
        if digest is not None and not _DIGEST_RE.match(digest):
            raise ImageError('%s entry %s has digest %r: expected sha256:<64 hex digits>' % (where, item['name'], digest))
        if item['name'] in names:
            raise ImageError('%s lists %s twice' % (where, item['name']))
        names.add(item['name'])
        entries.append(dict(name=item['name'], file=item['file'], digest=digest, sha256=item.get('sha256')))
    return entries


def parse_images_ls(stdout):
    """{image name: manifest digest} from `ctr images ls` output.

    CRI adds a second name for every image, its config digest (sha256:...); those are skipped.
    """
    images = {}
    for line in stdout.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[0] == 'REF' or fields[0].startswith('sha256:'):
            continue
        if _DIGEST_RE.match(fields[2]):
            images[fields[0]] = fields[2]
    return images


def parse_kubeadm_images(stdout):
    """Image names from `kubeadm config images list` (one per line; other lines are warnings)."""
    names = []
    for line in stdout.splitlines():
        line = line.strip()
        if line and ' ' not in line and ':' in line and '/' in line:
            names.append(line)
    return names


class Ctr:
    """argv builders for ctr; never a shell string."""

    def __init__(self, binary, address, namespace):
        self.binary = binary
        self.address = address
        self.namespace = namespace

    def argv(self, *args):
        return [self.binary, '--address', self.address, '--namespace', self.namespace] + list(args)

    def list_argv(self):
        return self.argv('images', 'ls')

    def import_argv(self, source):
        return self.argv('images', 'import', source)


def kubeadm_images_argv(kubeadm, version, repository):
    return [kubeadm, 'config', 'images', 'list', '--kubernetes-version', version, '--image-repository', repository]


def decompressor_argv(fmt, path, tools):
    """argv that writes the plain tar of path to stdout; tools maps gzip/zstd to binaries or None."""
    binary = tools.get(fmt)
    if not binary:
        raise ImageError('%s is %s-compressed and this node has no %s binary: install it (Debian package %s) or '
                         'ship the archive uncompressed' % (path, fmt, fmt, fmt))
    return [binary, '-dc', path]


def _read_head(path):
    with open(path, 'rb') as handle:
        return handle.read(512)


def _check_tar_stream(stream, where):
    """Read a whole image archive as tar; it must be an OCI layout or a docker save archive."""
    names = set()
    try:
        with tarfile.open(fileobj=stream, mode='r|') as archive:
            for info in archive:
                names.add(info.name.lstrip('./'))
                if info.isfile():
                    handle = archive.extractfile(info)
                    while handle.read(_CHUNK):
                        pass
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ImageError('%s is truncated or corrupt (%s): rebuild or re-copy it' % (where, exc))
    if 'index.json' not in names and 'manifest.json' not in names:
        raise ImageError('%s is a tar archive but not an image archive (no index.json or manifest.json)' % where)


def check_archive(path, sha256, tools):
    """Check one archive before anything is imported; return its format (tar, gzip, zstd)."""
    if not os.path.isfile(path):
        raise ImageError('image archive %s does not exist' % path)
    head = _read_head(path)
    fmt = detect_format(head)
    if fmt is None:
        raise ImageError('%s is not an image archive: it is neither tar nor gzip nor zstd (first bytes %s)'
                         % (path, head[:8].hex()))
    if sha256:
        actual = sha256_file(path)
        if actual != sha256:
            raise ImageError('image archive %s is corrupt: sha256 %s, SHA256SUMS says %s' % (path, actual, sha256))
        return fmt
    # Nothing vouches for the bytes: read the whole archive (decompressed) as tar.
    if fmt == 'tar':
        with open(path, 'rb') as handle:
            _check_tar_stream(handle, path)
    elif fmt == 'gzip':
        import gzip
        with gzip.open(path, 'rb') as handle:
            _check_tar_stream(handle, path)
    else:
        argv = decompressor_argv(fmt, path, tools)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            _check_tar_stream(proc.stdout, path)
        finally:
            proc.stdout.close()
            err = proc.stderr.read().decode('utf-8', 'replace')
            proc.stderr.close()
            rc = proc.wait()
        if rc != 0:
            raise ImageError('%s is truncated or corrupt (%s -dc: %s)' % (path, fmt, err.strip() or 'rc=%d' % rc))
    return fmt


def run_pipeline(first, second):
    """first | second, without a shell; (rc, stdout, stderr) with both stderrs and the failing rc."""
    producer = subprocess.Popen(first, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        consumer = subprocess.Popen(second, stdin=producer.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError:
        producer.kill()
        producer.wait()
        raise
    producer.stdout.close()  # the consumer holds it now; lets the producer see SIGPIPE
    out, err = consumer.communicate()
    perr = producer.stderr.read()
    producer.stderr.close()
    prc = producer.wait()
    rc = consumer.returncode or prc
    return rc, out.decode('utf-8', 'replace'), (perr + err).decode('utf-8', 'replace')


class Request:
    """The module's options as plain values (see plugins/modules/image_import.py)."""

    def __init__(self, entries, base_dir, sums=None, required=(), kubernetes_version=None,
                 image_repository='registry.k8s.io', ctr=None, kubeadm=None, check_mode=False, diff=False,
                 files_on_controller=False):
        self.entries = entries
        self.base_dir = base_dir
        self.sums = sums or {}
        self.required = list(required)
        self.kubernetes_version = kubernetes_version
        self.image_repository = image_repository
        self.ctr = ctr
        self.kubeadm = kubeadm
        self.check_mode = check_mode
        self.diff = diff
        self.files_on_controller = files_on_controller


def _check(run, argv, action, hint=''):
    rc, out, err = run(argv)
    if rc != 0:
        raise ImageError('%s failed (rc=%s): %s%s' % (action, rc, (err or out).strip() or 'no output', hint))
    return out


def import_images(request, run, pipeline=run_pipeline, tools=None, clock=time.monotonic):
    """One module run: list, plan, check, import, verify. Returns the result dict."""
    tools = tools or {}
    ctr = request.ctr
    started = clock()
    hint = ('; is containerd running with its socket at %s? (edge.cluster.container_runtime sets it up)'
            % ctr.address)
    present = parse_images_ls(_check(run, ctr.list_argv(), 'listing images in containerd namespace %s'
                                     % ctr.namespace, hint))
    required = list(request.required)
    if request.kubernetes_version:
        out = _check(run, kubeadm_images_argv(request.kubeadm, request.kubernetes_version, request.image_repository),
                     'kubeadm config images list')
        required += parse_kubeadm_images(out)
    required += [e['name'] for e in request.entries]
    required = sorted(set(required))

    to_import = [e for e in request.entries
                 if present.get(e['name']) is None or (e['digest'] and present[e['name']] != e['digest'])]
    available = set(present) | set(e['name'] for e in request.entries)
    unavailable = [name for name in required if name not in available]
    if unavailable:
        raise ImageError('image(s) %s are needed (kubeadm %s with repository %s, or listed in the bundle) but are '
                         'neither in containerd namespace %s nor in the bundle: rebuild the bundle with them (or with '
                         '--image-repository %s), or correct the version/repository; nothing was imported'
                         % (', '.join(unavailable), request.kubernetes_version or '-', request.image_repository,
                            ctr.namespace, request.image_repository))
    result = dict(changed=bool(to_import), imported=[], present=sorted(n for n in required if n in present),
                  required=required, seconds={})
    if request.diff:
        before = ''.join('%s %s\n' % (n, present[n]) for n in sorted(present) if n in required)
        after_map = dict((n, present[n]) for n in present if n in required)
        after_map.update((e['name'], e['digest'] or 'new') for e in to_import)
        result['diff'] = dict(before_header='containerd namespace %s' % ctr.namespace,
                              after_header='containerd namespace %s' % ctr.namespace, before=before,
                              after=''.join('%s %s\n' % (n, after_map[n]) for n in sorted(after_map)))
    if not to_import:
        result['seconds']['total'] = round(clock() - started, 3)
        return result
    if request.check_mode:
        result['imported'] = [e['name'] for e in to_import]
        return result
    if request.files_on_controller:
        result.update(changed=False, transfer_required=[e['file'] for e in to_import])
        return result

    # Every archive is checked before the first import: a bad one leaves the node unchanged.
    check_started = clock()
    formats = {}
    for entry in to_import:
        path = os.path.join(request.base_dir, entry['file'])
        sha256 = entry.get('sha256') or request.sums.get(entry['file'])
        formats[entry['name']] = check_archive(path, sha256, tools)
        if formats[entry['name']] != 'tar':
            decompressor_argv(formats[entry['name']], path, tools)  # the decompressor is there
    result['seconds']['check'] = round(clock() - check_started, 3)

    import_started = clock()
    for entry in to_import:
        path = os.path.join(request.base_dir, entry['file'])
        fmt = formats[entry['name']]
        if fmt == 'tar':
            rc, out, err = run(ctr.import_argv(path))
        else:
            rc, out, err = pipeline(decompressor_argv(fmt, path, tools), ctr.import_argv('-'))
        if rc != 0:
            raise ImageError('importing %s (%s) failed (rc=%s): %s; imported before it: %s'
                             % (path, entry['name'], rc, (err or out).strip() or 'no output',
                                ', '.join(result['imported']) or 'none'))
        result['imported'].append(entry['name'])
    result['seconds']['import'] = round(clock() - import_started, 3)

    after = parse_images_ls(_check(run, ctr.list_argv(), 'listing images after the import'))
    wrong = ['%s is %s, bundle says %s' % (e['name'], after.get(e['name'], 'absent'), e['digest'])
             for e in to_import if e['digest'] and after.get(e['name']) != e['digest']]
    if wrong:
        raise ImageError('imported archives do not hold the images the bundle manifest names: %s' % '; '.join(wrong))
    absent = [name for name in required if name not in after]
    if absent:
        raise ImageError('after the import, containerd namespace %s still lacks %s' % (ctr.namespace, ', '.join(absent)))
    result['present'] = required
    result['seconds']['total'] = round(clock() - started, 3)
    return result
