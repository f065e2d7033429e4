# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""Reading and verifying an edgeadm-style static package, before anything on the node changes.

The package (kube-linux-<arch>-<version>.tar.gz) holds one top folder (edge-install/) with
manifest.json, bin/<tools>, cni/<plugins>.tgz and container/containerd-<ver>-linux-<arch>.tar.gz.
The manifest lists every member with its sha256 and size, the package arch and the versions.
The whole archive (and its nested tarballs) is read once into a private staging folder while
every member is hashed; verify() then checks it all against the manifest and the node.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import zlib

from ansible_collections.edge.cluster.plugins.module_utils._hashing import parse_sha256

TOP_DIR = 'edge-install'
MANIFEST = 'manifest.json'
REQUIRED_BIN = ('kubeadm', 'kubelet')
RUNTIME_BINARIES = ('containerd', 'containerd-shim-runc-v2', 'ctr', 'runc')
# Members that are installed; anything else in the package (edgeadm's script/, conf/, docker
# tarball) is read, checked against the manifest when listed there, and ignored.
_CNI_RE = re.compile(r'^cni/[^/]+\.(tgz|tar\.gz)$')
_CONTAINERD_RE = re.compile(r'^container/containerd[^/]*\.(tgz|tar\.gz)$')
BIN_RE = re.compile(r'^bin/[^/]+$')
_CHUNK = 1024 * 1024
_MAX_MANIFEST = 1024 * 1024
# uname -m (and Go's own names) -> Go arch, the name packages use.
GOARCH_BY_MACHINE = {
    'x86_64': 'amd64', 'amd64': 'amd64',
    'aarch64': 'arm64', 'arm64': 'arm64',
    'armv7l': 'arm', 'armv6l': 'arm', 'arm': 'arm',
    'ppc64le': 'ppc64le', 's390x': 's390x', 'riscv64': 'riscv64',
}
# ELF e_machine -> Go arch (EM_X86_64, EM_AARCH64, EM_ARM, EM_PPC64, EM_S390, EM_RISCV).
_GOARCH_BY_ELF_MACHINE = {62: 'amd64', 183: 'arm64', 40: 'arm', 21: 'ppc64le', 22: 's390x', 243: 'riscv64'}


class PackageError(Exception):
    """The package cannot be installed; the message says what is wrong and how to fix it."""


def goarch(machine):
    """The Go arch name for a `uname -m` value, or raise PackageError."""
    try:
        return GOARCH_BY_MACHINE[machine]
    except KeyError:
        raise PackageError('node architecture %r is not one edge.cluster packages are built for (%s)'
                           % (machine, ', '.join(sorted(set(GOARCH_BY_MACHINE.values())))))


def elf_goarch(head):
    """Go arch of an ELF file from its first bytes; None when it is not ELF (e.g. a script)."""
    if len(head) < 20 or head[:4] != b'\x7fELF':
        return None
    byteorder = 'little' if head[5] == 1 else 'big'
    machine = int.from_bytes(head[18:20], byteorder)
    return _GOARCH_BY_ELF_MACHINE.get(machine, 'elf-machine-%d' % machine)


class Member:
    """One file read from the package: its hash, size, first bytes, and staged copy if any."""

    __slots__ = ('sha256', 'size', 'head', 'staged')

    def __init__(self, sha256, size, head=b'', staged=None):
        self.sha256 = sha256
        self.size = size
        self.head = head
        self.staged = staged


class _HashingReader:
    """File-like wrapper that hashes and counts what is read through it (for nested tarballs)."""

    def __init__(self, raw):
        self._raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size=-1):
        data = self._raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def drain(self):
        while self.read(_CHUNK):
            pass


def _copy_out(source, staged_path):
    """Copy a stream into staged_path (if given) while hashing; return a Member."""
    digest = hashlib.sha256()
    size = 0
    head = b''
    out = open(staged_path, 'wb') if staged_path else None
    try:
        while True:
            chunk = source.read(_CHUNK)
            if not chunk:
                break
            if size < 64:
                head += chunk[:64 - size]
            digest.update(chunk)
            size += len(chunk)
            if out:
                out.write(chunk)
    finally:
        if out:
            out.close()
    return Member(digest.hexdigest(), size, head, staged_path)


def _member_name(name, where):
    """Normalise a tar member name; refuse absolute paths and '..' (path traversal)."""
    parts = [p for p in name.split('/') if p not in ('', '.')]
    if name.startswith('/') or '..' in parts:
        raise PackageError('%s has an unsafe member name %r: refusing the package' % (where, name))
    return '/'.join(parts)


def _check_member_type(info, where):
    if not (info.isfile() or info.isdir()):
        raise PackageError('%s member %r is a %s, not a regular file: refusing the package'
                           % (where, info.name, 'link' if (info.issym() or info.islnk()) else 'special file'))


def _read_nested(fileobj, where, staging, prefix, flatten_under=None):
    """Read a nested .tgz; return ({basename: Member}, outer sha256, outer size).

    prefix/basename is the key used everywhere else (cni/bridge, container/containerd).
    flatten_under: the one folder a member may sit in (containerd's tarballs use bin/).
    """
    reader = _HashingReader(fileobj)
    files = {}
    try:
        with tarfile.open(fileobj=reader, mode='r|gz') as nested:
            for info in nested:
                _check_member_type(info, where)
                name = _member_name(info.name, where)
                if info.isdir() or not name:
                    continue
                folder, _sep, base = name.rpartition('/')
                if folder and folder != flatten_under:
                    raise PackageError('%s has %r in an unexpected folder: expected plain files%s'
                                       % (where, info.name, ' or %s/<file>' % flatten_under if flatten_under else ''))
                if base in files:
                    raise PackageError('%s holds %s twice' % (where, base))
                staged = os.path.join(staging, '%s-%s' % (prefix, base)) if staging else None
                files[base] = _copy_out(nested.extractfile(info), staged)
        reader.drain()
    except PackageError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise PackageError('%s is truncated or corrupt (%s): rebuild or re-download the package'
                           % (where, exc))
    return files, reader.digest.hexdigest(), reader.size


class PackageContents:
    """What read_package found: the manifest, every member's hash, and the nested files."""

    def __init__(self):
        self.manifest = None
        self.members = {}    # 'bin/kubeadm', 'cni/x.tgz', ... -> Member
        self.cni = {}        # plugin name -> Member
        self.cni_archive = None
        self.runtime = {}    # containerd, ctr, ... -> Member
        self.runtime_archive = None


def read_package(path, staging=None):
    """Read the whole package once, hashing every member (and staging it when staging is a dir).

    Raises PackageError for an archive that is not a tarball, truncated, corrupt, or unsafe.
    """
    label = os.path.basename(path)
    contents = PackageContents()
    top = None
    try:
        with tarfile.open(path, mode='r|*') as archive:
            for info in archive:
                _check_member_type(info, label)
                name = _member_name(info.name, label)
                if not name:
                    continue
                head, _sep, rel = name.partition('/')
                if top is None:
                    top = head
                elif head != top:
                    raise PackageError('%s has more than one top folder (%s, %s): expected everything under %s/'
                                       % (label, top, head, TOP_DIR))
                if info.isdir() or not rel:
                    continue
                where = '%s member %s' % (label, rel)
                if rel in contents.members:
                    raise PackageError('%s holds %s twice' % (label, rel))
                source = archive.extractfile(info)
                if rel == MANIFEST:
                    data = source.read(_MAX_MANIFEST + 1)
                    if len(data) > _MAX_MANIFEST:
                        raise PackageError('%s: manifest.json is larger than 1 MiB' % label)
                    contents.members[rel] = Member(hashlib.sha256(data).hexdigest(), len(data), data)
                elif BIN_RE.match(rel):
                    staged = os.path.join(staging, 'bin-' + rel[4:]) if staging else None
                    contents.members[rel] = _copy_out(source, staged)
                elif _CNI_RE.match(rel) or _CONTAINERD_RE.match(rel):
                    is_cni = rel.startswith('cni/')
                    if (contents.cni_archive if is_cni else contents.runtime_archive):
                        raise PackageError('%s has more than one %s tarball: expected exactly one'
                                           % (label, 'CNI plugins' if is_cni else 'containerd'))
                    files, digest, size = _read_nested(source, where, staging, 'cni' if is_cni else 'container',
                                                       None if is_cni else 'bin')
                    contents.members[rel] = Member(digest, size)
                    if is_cni:
                        contents.cni, contents.cni_archive = files, rel
                    else:
                        contents.runtime, contents.runtime_archive = files, rel
                else:
                    contents.members[rel] = _copy_out(source, None)
    except PackageError:
        raise
    except FileNotFoundError:
        raise PackageError('package %s does not exist' % path)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise PackageError('package %s is truncated or corrupt (%s): rebuild or re-download it' % (label, exc))
    if MANIFEST in contents.members:
        try:
            contents.manifest = json.loads(contents.members[MANIFEST].head.decode('utf-8'))
        except ValueError as exc:
            raise PackageError('%s: %s/manifest.json is not valid JSON (%s)' % (label, TOP_DIR, exc))
    return contents


def verify(contents, node_machine, label):
    """Check a read package against its manifest and the node; raise PackageError naming the problem."""
    manifest = contents.manifest
    if not isinstance(manifest, dict):
        raise PackageError('%s has no %s/manifest.json: it is not an edge.cluster static package, or it is '
                           'truncated' % (label, TOP_DIR))
    node_arch = goarch(node_machine)
    package_arch = manifest.get('arch')
    if package_arch != node_arch:
        raise PackageError('package is %s, node is %s/%s: use the kube-linux-%s-<version>.tar.gz package '
                           'for this node' % (package_arch, node_machine, node_arch, node_arch))
    listed = manifest.get('files')
    if not isinstance(listed, dict) or not listed:
        raise PackageError('%s: manifest.json lists no files with checksums, so the package cannot be '
                           'verified' % label)
    for rel, expected in sorted(listed.items()):
        member = contents.members.get(rel)
        if member is None:
            raise PackageError('%s: member %s, listed in manifest.json, is missing from the package '
                               '(truncated or repacked?)' % (label, rel))
        want = parse_sha256(str((expected or {}).get('sha256')), 'manifest.json sha256 of %s' % rel, PackageError)
        if member.sha256 != want or ('size' in expected and member.size != expected['size']):
            raise PackageError('%s: member %s is corrupt: sha256 %s (%d bytes), manifest.json says %s (%s bytes)'
                               % (label, rel, member.sha256, member.size, want, expected.get('size', '?')))
    for rel in sorted(contents.members):
        if (BIN_RE.match(rel) or rel in (contents.cni_archive, contents.runtime_archive)) and rel not in listed:
            raise PackageError('%s: member %s is not listed in manifest.json, so it cannot be verified: '
                               'refusing the package' % (label, rel))
    for name in REQUIRED_BIN:
        if 'bin/' + name not in contents.members:
            raise PackageError('%s: member bin/%s is missing: the package cannot set up a kubeadm node'
                               % (label, name))
    if not contents.cni_archive:
        raise PackageError('%s: no cni/<plugins>.tgz member: the package carries no CNI plugins' % label)
    if not contents.runtime_archive:
        raise PackageError('%s: no container/containerd-<version>-linux-<arch>.tar.gz member: the package '
                           'carries no container runtime' % label)
    missing = [name for name in RUNTIME_BINARIES if name not in contents.runtime]
    if missing:
        raise PackageError('%s: %s lacks %s' % (label, contents.runtime_archive, ', '.join(missing)))
    if not contents.cni:
        raise PackageError('%s: %s holds no plugins' % (label, contents.cni_archive))
    binaries = [('bin/' + rel[4:], m) for rel, m in contents.members.items() if BIN_RE.match(rel)]
    binaries += [('%s:%s' % (contents.cni_archive, n), m) for n, m in contents.cni.items()]
    binaries += [('%s:%s' % (contents.runtime_archive, n), m) for n, m in contents.runtime.items()]
    for where, member in sorted(binaries):
        built_for = elf_goarch(member.head)
        if built_for is not None and built_for != package_arch:
            raise PackageError('%s: %s is a %s binary but manifest.json says the package is %s (repacked?): '
                               'refusing it' % (label, where, built_for, package_arch))


def staged_paths(contents):
    staged = {}
    for rel, member in contents.members.items():
        if member.staged:
            staged[rel] = member.staged
    for name, member in contents.cni.items():
        staged['cni/' + name] = member.staged
    for name, member in contents.runtime.items():
        staged['container/' + name] = member.staged
    return staged
