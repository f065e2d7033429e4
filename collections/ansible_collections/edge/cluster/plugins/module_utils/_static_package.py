# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""Reading, verifying and installing an edgeadm-style static package.

The package (kube-linux-<arch>-<version>.tar.gz) holds one top folder (edge-install/) with
manifest.json, bin/<tools>, cni/<plugins>.tgz and container/containerd-<ver>-linux-<arch>.tar.gz.
The manifest lists every member with its sha256 and size, the package arch and the versions.

The order is what keeps a node untouched by a bad package: the whole archive is read (and its
nested tarballs) into a private staging folder, everything is checked, and only then are files
renamed into place. A record of what was installed (the manifest plus the sha256 of every file
taken from the nested tarballs) lets the next run compare the installed files with it without
opening the package at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tarfile
import tempfile
import time
import zlib

TOP_DIR = 'edge-install'
MANIFEST = 'manifest.json'
STATE_FORMAT = 1
REQUIRED_BIN = ('kubeadm', 'kubelet')
RUNTIME_BINARIES = ('containerd', 'containerd-shim-runc-v2', 'ctr', 'runc')
# Members that are installed; anything else in the package (edgeadm's script/, conf/, docker
# tarball) is read, checked against the manifest when listed there, and ignored.
_CNI_RE = re.compile(r'^cni/[^/]+\.(tgz|tar\.gz)$')
_CONTAINERD_RE = re.compile(r'^container/containerd[^/]*\.(tgz|tar\.gz)$')
_BIN_RE = re.compile(r'^bin/[^/]+$')
_SHA256_RE = re.compile(r'^(sha256:)?([0-9a-fA-F]{64})$')
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


def parse_sha256(value, what='checksum'):
    """Lowercase hex from 'sha256:<hex>' or '<hex>'; raise PackageError on anything else."""
    match = _SHA256_RE.match((value or '').strip())
    if not match:
        raise PackageError('%s %r is not a sha256: give 64 hex digits, optionally prefixed with "sha256:"'
                           % (what, value))
    return match.group(2).lower()


def checksum_from_sums(text, filename):
    """The sha256 that a SHA256SUMS text (sha256sum output) gives for filename, or None.

    Entries may carry a path ("images/x.tar", "./x.tar") or the binary marker ("*x.tar");
    they are matched on the file's base name.
    """
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) != 2 or not _SHA256_RE.match(parts[0]):
            continue
        name = parts[1].lstrip('*')
        if name == filename or os.path.basename(name) == filename:
            return parts[0].lower()
    return None


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


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
                elif _BIN_RE.match(rel):
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
        want = parse_sha256(str((expected or {}).get('sha256')), 'manifest.json sha256 of %s' % rel)
        if member.sha256 != want or ('size' in expected and member.size != expected['size']):
            raise PackageError('%s: member %s is corrupt: sha256 %s (%d bytes), manifest.json says %s (%s bytes)'
                               % (label, rel, member.sha256, member.size, want, expected.get('size', '?')))
    for rel in sorted(contents.members):
        if (_BIN_RE.match(rel) or rel in (contents.cni_archive, contents.runtime_archive)) and rel not in listed:
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
    binaries = [('bin/' + rel[4:], m) for rel, m in contents.members.items() if _BIN_RE.match(rel)]
    binaries += [('%s:%s' % (contents.cni_archive, n), m) for n, m in contents.cni.items()]
    binaries += [('%s:%s' % (contents.runtime_archive, n), m) for n, m in contents.runtime.items()]
    for where, member in sorted(binaries):
        built_for = elf_goarch(member.head)
        if built_for is not None and built_for != package_arch:
            raise PackageError('%s: %s is a %s binary but manifest.json says the package is %s (repacked?): '
                               'refusing it' % (label, where, built_for, package_arch))


# --- what goes where -------------------------------------------------------------------------

KUBELET_UNIT = """\
# Installed by edge.cluster.static_package (kubeadm's standard kubelet unit).
[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart={bin_dir}/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
"""

KUBEADM_DROPIN = """\
# Installed by edge.cluster.static_package (kubeadm's standard drop-in).
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf \
--kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# Written by "kubeadm init" and "kubeadm join": KUBELET_KUBEADM_ARGS.
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# The administrator's last-resort overrides: KUBELET_EXTRA_ARGS.
EnvironmentFile=-{kubelet_env_file}
ExecStart=
ExecStart={bin_dir}/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
"""

# containerd's upstream unit, minus LimitNOFILE (Go raises its soft limit itself, and hosts or
# containers without CAP_SYS_RESOURCE cannot raise the hard one).
CONTAINERD_UNIT = """\
# Installed by edge.cluster.static_package (containerd's upstream unit).
[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target dbus.service

[Service]
Environment="PATH={path}"
ExecStartPre=-/sbin/modprobe overlay
ExecStart={runtime_bin_dir}/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
"""

KUBELET_ENV_DEFAULT = 'KUBELET_EXTRA_ARGS=\n'
_DEFAULT_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']


def default_kubelet_env_file(root='/'):
    """/etc/default/kubelet on Debian-like systems, /etc/sysconfig/kubelet on Red Hat-like ones.

    edgeadm always used /etc/sysconfig/kubelet, which Debian and Ubuntu never read.
    """
    if os.path.exists(os.path.join(root, 'etc/debian_version')) or not os.path.isdir(
            os.path.join(root, 'etc/sysconfig')):
        return '/etc/default/kubelet'
    return '/etc/sysconfig/kubelet'


class Options:
    """Where things are installed (module options, already validated)."""

    def __init__(self, bin_dir='/usr/local/bin', cni_bin_dir='/opt/cni/bin', runtime_bin_dir='/usr/local/bin',
                 systemd_dir='/etc/systemd/system', kubelet_env_file='/etc/default/kubelet', install_units=True):
        self.bin_dir = bin_dir
        self.cni_bin_dir = cni_bin_dir
        self.runtime_bin_dir = runtime_bin_dir
        self.systemd_dir = systemd_dir
        self.kubelet_env_file = kubelet_env_file
        self.install_units = install_units


class Desired:
    """A file that should exist: its path, mode, and either a sha256 (binary) or text content."""

    __slots__ = ('path', 'mode', 'sha256', 'size', 'content', 'key', 'create_only', 'kind')

    def __init__(self, path, mode, kind, sha256=None, size=None, content=None, key=None, create_only=False):
        self.path = path
        self.mode = mode
        self.kind = kind          # bin | cni | runtime | unit | config
        self.sha256 = sha256
        self.size = size
        self.content = content
        self.key = key            # staged member key: bin/kubeadm, cni/bridge, container/containerd
        self.create_only = create_only

    @property
    def want_sha256(self):
        if self.content is not None:
            return hashlib.sha256(self.content.encode('utf-8')).hexdigest()
        return self.sha256

    @property
    def want_size(self):
        if self.content is not None:
            return len(self.content.encode('utf-8'))
        return self.size


def record_from_contents(contents, package_sha256, package_name):
    """The state record kept on the node after an install (no staged paths, no heads)."""
    files = {}
    for rel, member in contents.members.items():
        if _BIN_RE.match(rel):
            files[rel] = dict(sha256=member.sha256, size=member.size)
    for name, member in contents.cni.items():
        files['cni/' + name] = dict(sha256=member.sha256, size=member.size)
    for name, member in contents.runtime.items():
        if name in RUNTIME_BINARIES:
            files['container/' + name] = dict(sha256=member.sha256, size=member.size)
    manifest = contents.manifest
    return {
        'format': STATE_FORMAT,
        'package': {
            'name': manifest.get('name') or package_name,
            'file': package_name,
            'sha256': package_sha256,
            'arch': manifest.get('arch'),
            'kubernetes_version': manifest.get('kubernetes_version'),
            'versions': manifest.get('versions') or {},
        },
        'files': files,
    }


def desired_files(record, opts):
    """Every file the package puts on the node, with its wanted sha256 or content."""
    wanted = []
    for key, member in sorted(record['files'].items()):
        group, _sep, name = key.partition('/')
        folder = {'bin': opts.bin_dir, 'cni': opts.cni_bin_dir, 'container': opts.runtime_bin_dir}[group]
        kind = {'bin': 'bin', 'cni': 'cni', 'container': 'runtime'}[group]
        wanted.append(Desired(os.path.join(folder, name), 0o755, kind, sha256=member['sha256'],
                              size=member.get('size'), key=key))
    if opts.install_units:
        path = ':'.join([opts.runtime_bin_dir] + [p for p in _DEFAULT_PATH if p != opts.runtime_bin_dir])
        wanted.append(Desired(os.path.join(opts.systemd_dir, 'kubelet.service'), 0o644, 'unit',
                              content=KUBELET_UNIT.format(bin_dir=opts.bin_dir)))
        wanted.append(Desired(os.path.join(opts.systemd_dir, 'kubelet.service.d', '10-kubeadm.conf'), 0o644, 'unit',
                              content=KUBEADM_DROPIN.format(bin_dir=opts.bin_dir,
                                                            kubelet_env_file=opts.kubelet_env_file)))
        wanted.append(Desired(os.path.join(opts.systemd_dir, 'containerd.service'), 0o644, 'unit',
                              content=CONTAINERD_UNIT.format(runtime_bin_dir=opts.runtime_bin_dir, path=path)))
        wanted.append(Desired(opts.kubelet_env_file, 0o644, 'config', content=KUBELET_ENV_DEFAULT,
                              create_only=True))
    seen = {}
    for item in wanted:
        if item.path in seen:
            raise PackageError('%s would be installed twice (from %s and %s): give bin_dir, cni_bin_dir and '
                               'runtime_bin_dir folders where names do not collide'
                               % (item.path, seen[item.path], item.key or item.kind))
        seen[item.path] = item.key or item.kind
    return wanted


class Change:
    """What differs for one Desired file: action is create, update or attributes."""

    __slots__ = ('desired', 'action', 'before')

    def __init__(self, desired, action, before):
        self.desired = desired
        self.action = action
        self.before = before      # 'absent', 'sha256:<hex> mode 0755', ...


def _describe(st, content):
    return '%s mode %04o owner %d:%d' % (content, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def fingerprint(st, sha256):
    """What identifies an installed file's bytes without reading them: its sha256 when last verified
    plus size, mtime, ctime, inode and device. Any write, rename or chmod changes ctime, which
    user space cannot set back, so an unchanged fingerprint means unchanged bytes."""
    return [sha256, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def plan(wanted, hash_file=None, verified=None):
    """The changes needed to make the node match wanted; [] when it already does.

    Installed files are compared by sha256 (a size mismatch alone settles it, without reading).
    verified ({path: fingerprint}, from the last run's record) spares re-reading binaries whose
    fingerprint is unchanged: a no-op run then reads no large file at all.
    """
    hash_file = hash_file or sha256_file  # looked up per call, so tests can watch it
    verified = verified or {}
    changes = []
    for item in wanted:
        try:
            st = os.lstat(item.path)
        except FileNotFoundError:
            changes.append(Change(item, 'create', 'absent'))
            continue
        if item.create_only:
            continue
        if not stat.S_ISREG(st.st_mode):
            changes.append(Change(item, 'update', 'not a regular file'))
            continue
        if item.want_size is not None and st.st_size != item.want_size:
            changes.append(Change(item, 'update', _describe(st, 'size %d' % st.st_size)))
            continue
        if item.content is None and verified.get(item.path) == fingerprint(st, item.want_sha256):
            digest = item.want_sha256
        else:
            digest = hash_file(item.path)
        if digest != item.want_sha256:
            changes.append(Change(item, 'update', _describe(st, 'sha256:' + digest)))
        elif stat.S_IMODE(st.st_mode) != item.mode or st.st_uid != 0 or st.st_gid != 0:
            changes.append(Change(item, 'attributes', _describe(st, 'sha256:' + digest)))
    return changes


def diff_for(changes):
    """Ansible diff entries: one listing of binaries, and one full-text entry per text file."""
    entries = []
    binaries = [c for c in changes if c.desired.content is None or c.action == 'attributes']
    if binaries:
        before = ''.join('%s: %s\n' % (c.desired.path, c.before) for c in binaries)
        after = ''.join('%s: sha256:%s mode %04o owner 0:0\n' % (c.desired.path, c.desired.want_sha256, c.desired.mode)
                        for c in binaries)
        entries.append(dict(before_header='installed files (before)', after_header='installed files (after)',
                            before=before, after=after))
    for change in changes:
        item = change.desired
        if item.content is None or change.action == 'attributes':
            continue
        before = ''
        if change.action == 'update':
            try:
                with open(item.path, 'r', encoding='utf-8', errors='replace') as handle:
                    before = handle.read()
            except OSError:
                before = ''
        entries.append(dict(before_header=item.path, after_header=item.path, before=before, after=item.content))
    return entries


def load_state(path):
    """The record of the last install, or None when there is none or it is unreadable."""
    try:
        with open(path, 'r', encoding='utf-8') as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get('format') != STATE_FORMAT:
        return None
    if not isinstance(record.get('files'), dict) or not isinstance(record.get('package'), dict):
        return None
    return record


def _write_atomic(path, data, mode):
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.edge-cluster-tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_state(path, record):
    _makedirs(os.path.dirname(path), [])
    _write_atomic(path, (json.dumps(record, indent=2, sort_keys=True) + '\n').encode('utf-8'), 0o644)


def _makedirs(folder, created):
    if not folder or os.path.isdir(folder):
        return
    _makedirs(os.path.dirname(folder), created)
    os.mkdir(folder, 0o755)
    os.chmod(folder, 0o755)
    created.append(folder)


def apply(changes, staged):
    """Make the changes: every new file is written next to its target first, then all are renamed.

    staged maps member keys (bin/kubeadm, ...) to staged file paths. If anything fails before the
    renames, the temporary files (and folders made for them) are removed and the node is as before.
    Returns the list of paths written or fixed.
    """
    pending = []      # (tmp, final)
    created_dirs = []
    try:
        for change in changes:
            item = change.desired
            if change.action == 'attributes':
                continue
            folder = os.path.dirname(item.path)
            _makedirs(folder, created_dirs)
            fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(item.path), suffix='.edge-cluster-tmp',
                                       dir=folder)
            pending.append((tmp, item.path))
            with os.fdopen(fd, 'wb') as out:
                if item.content is not None:
                    out.write(item.content.encode('utf-8'))
                else:
                    with open(staged[item.key], 'rb') as source:
                        shutil.copyfileobj(source, out, _CHUNK)
            os.chown(tmp, 0, 0)
            os.chmod(tmp, item.mode)
    except BaseException:
        for tmp, _final in pending:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for folder in reversed(created_dirs):
            try:
                os.rmdir(folder)
            except OSError:
                pass
        raise
    done = []
    for tmp, final in pending:
        os.rename(tmp, final)
        done.append(final)
    for change in changes:
        if change.action == 'attributes':
            os.chown(change.desired.path, 0, 0)
            os.chmod(change.desired.path, change.desired.mode)
            done.append(change.desired.path)
    return done


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


def summary(record):
    """What the module returns about the package: name, arch, versions."""
    package = record['package']
    versions = dict(package.get('versions') or {})
    return dict(name=package.get('name'), file=package.get('file'), sha256=package.get('sha256'),
                arch=package.get('arch'), kubernetes_version=package.get('kubernetes_version'),
                versions=versions)


# --- one module run --------------------------------------------------------------------------

_NEEDS_PACKAGE = ('bin', 'cni', 'runtime')


class Request:
    """The module's options, as plain values (see plugins/modules/static_package.py)."""

    def __init__(self, src=None, url=None, checksum=None, options=None, state_file='/var/lib/edge-cluster/static-package.json',
                 cache_dir='/var/cache/edge-cluster', cache_as=None, transfer=False, daemon_reload=True,
                 enable_kubelet=True, check_mode=False, diff=False):
        self.src = src
        self.url = url
        self.checksum = checksum
        self.options = options or Options()
        self.state_file = state_file
        self.cache_dir = cache_dir
        self.cache_as = cache_as        # move a verified transfer here (set by the action plugin)
        self.transfer = transfer        # the action plugin can send the package: ask instead of failing
        self.daemon_reload = daemon_reload
        self.enable_kubelet = enable_kubelet
        self.check_mode = check_mode
        self.diff = diff


def _needs_package(changes):
    return [c for c in changes if c.desired.kind in _NEEDS_PACKAGE and c.action != 'attributes']


def _expected_checksum(request, path):
    """(sha256, where it came from) from the checksum option or a SHA256SUMS beside path."""
    if request.checksum:
        return parse_sha256(request.checksum), 'the checksum option'
    if path:
        sums = os.path.join(os.path.dirname(path), 'SHA256SUMS')
        try:
            with open(sums, 'r', encoding='utf-8') as handle:
                found = checksum_from_sums(handle.read(), os.path.basename(path))
        except OSError:
            found = None
        if found:
            return found, sums
    return None, None


def _scratch_dir(request):
    """A private folder for staging that leaves no trace: the cache dir if it exists, else /var/tmp."""
    base = request.cache_dir if os.path.isdir(request.cache_dir) else '/var/tmp'
    return tempfile.mkdtemp(prefix='edge-cluster-static-package.', dir=base)


def _services(run, changes, request):
    """systemd work after the files are in place; returns (changed, restart_needed)."""
    changed = False
    kinds = set(c.desired.kind for c in changes)
    if request.daemon_reload and 'unit' in kinds and not request.check_mode:
        _systemctl(run, ['daemon-reload'], 'systemctl daemon-reload')
    if request.enable_kubelet:
        rc, out, _err = run(['systemctl', 'is-enabled', 'kubelet.service'])
        if out.strip() not in ('enabled', 'enabled-runtime', 'alias', 'static'):
            changed = True
            if not request.check_mode:
                _systemctl(run, ['enable', 'kubelet.service'], 'systemctl enable kubelet')
    restart = []
    touched = set(c.desired.key for c in changes if c.action != 'attributes')
    for service, keys in (('containerd', ['container/' + n for n in RUNTIME_BINARIES]), ('kubelet', ['bin/kubelet'])):
        if touched.intersection(keys) or (service + '.service') in set(
                os.path.basename(c.desired.path) for c in changes if c.desired.kind == 'unit'):
            rc, out, _err = run(['systemctl', 'is-active', service + '.service'])
            if out.strip() == 'active':
                restart.append(service)
    return changed, restart


def _systemctl(run, args, action):
    rc, out, err = run(['systemctl'] + args)
    if rc != 0:
        raise PackageError('%s failed (rc=%s): %s' % (action, rc, (err or out).strip() or 'no output'))


def install(request, machine, run, download=None):
    """Do one module run; returns the result dict (changed, package, installed, diff, ...).

    run(argv) -> (rc, stdout, stderr) runs systemctl; download(url, path) fetches a URL into path.
    Raises PackageError before anything on the node changes when the package is not acceptable.
    """
    opts = request.options
    record = load_state(request.state_file)
    expected, expected_from = _expected_checksum(request, None if request.url else request.src)
    result = dict(changed=False, installed=[], restart_needed=[])

    # Cheapest path: the node already holds what this checksum installed.
    if record and expected and record['package'].get('sha256') == expected:
        changes = plan(desired_files(record, opts), verified=record.get('verified'))
        if not _needs_package(changes):
            return _finish(request, run, result, record, changes, {})

    scratch = None
    try:
        source = request.src
        if request.url:
            scratch = _scratch_dir(request)
            source = os.path.join(scratch, os.path.basename(request.url.split('?')[0]) or 'package.tar.gz')
            download(request.url, source)
        elif not source or not os.path.isfile(source):
            if request.transfer:
                result['transfer_required'] = True
                return result
            raise PackageError('package %s does not exist on the node: copy it there, or give the controller '
                               'path (remote_src: false) or a url' % source)
        actual = sha256_file(source)
        if expected and actual != expected:
            if request.transfer and not request.cache_as:
                # A stale cached copy from an earlier version: ask for the right one.
                result['transfer_required'] = True
                return result
            raise PackageError('package %s has sha256 %s, but %s says %s: the file is corrupt or not the '
                               'package you meant; nothing was changed'
                               % (request.url or source, actual, expected_from, expected))
        if record and record['package'].get('sha256') == actual:
            changes = plan(desired_files(record, opts), verified=record.get('verified'))
            if not _needs_package(changes):
                _keep_in_cache(request, source)
                return _finish(request, run, result, record, changes, {})

        staging = None
        if not request.check_mode:
            staging = scratch or _scratch_dir(request)
            scratch = staging
        label = os.path.basename(request.url.split('?')[0]) if request.url else os.path.basename(source)
        if request.cache_as:
            label = os.path.basename(request.cache_as)
        contents = read_package(source, staging)
        verify(contents, machine, label)
        new_record = record_from_contents(contents, actual, label)
        changes = plan(desired_files(new_record, opts), verified=(record or {}).get('verified'))
        staged = staged_paths(contents) if staging else {}
        _keep_in_cache(request, source)
        return _finish(request, run, result, new_record, changes, staged)
    finally:
        if scratch and os.path.isdir(scratch):
            shutil.rmtree(scratch, ignore_errors=True)


def _keep_in_cache(request, source):
    """Keep a verified transferred/downloaded package in the node's cache for later runs."""
    if request.check_mode:
        return
    target = request.cache_as
    if request.url and not target:
        target = os.path.join(request.cache_dir, os.path.basename(source))
    if not target or os.path.abspath(target) == os.path.abspath(source):
        return
    _makedirs(os.path.dirname(target), [])
    os.chmod(os.path.dirname(target), 0o700)
    shutil.copyfile(source, target + '.edge-cluster-tmp')
    os.chmod(target + '.edge-cluster-tmp', 0o600)
    os.rename(target + '.edge-cluster-tmp', target)


# Kernels before 6.13 move ctime/mtime once per clock tick (up to 10 ms): a file rewritten within
# the tick it was fingerprinted in would keep its fingerprint. Like git's "racy clean" rule, a
# file changed this recently is not fingerprinted; the next run hashes it and records it then.
FINGERPRINT_SETTLE_NS = 2 * 10 ** 9


def verified_fingerprints(wanted, now_ns=None):
    """{path: fingerprint} of the binaries of wanted, read after they were installed or checked;
    files changed in the last FINGERPRINT_SETTLE_NS are left out."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    found = {}
    for item in wanted:
        if item.content is None:
            try:
                st = os.lstat(item.path)
            except OSError:
                continue
            if now_ns - max(st.st_ctime_ns, st.st_mtime_ns) >= FINGERPRINT_SETTLE_NS:
                found[item.path] = fingerprint(st, item.want_sha256)
    return found


def _finish(request, run, result, record, changes, staged):
    if changes and not request.check_mode:
        result['installed'] = apply(changes, staged)
    elif changes:
        result['installed'] = [c.desired.path for c in changes]
    if not request.check_mode:
        # Every binary is now as the record says: remember how each looks, for the next plan().
        record = dict(record, verified=verified_fingerprints(desired_files(record, request.options)))
        if changes or load_state(request.state_file) != record:
            save_state(request.state_file, record)
    enabled_changed, restart = _services(run, changes, request)
    result['changed'] = bool(changes) or enabled_changed
    result['restart_needed'] = restart
    result['package'] = summary(record)
    result['versions'] = dict(record['package'].get('versions') or {})
    result['kubernetes_version'] = record['package'].get('kubernetes_version')
    if request.diff:
        diff = diff_for(changes)
        if enabled_changed:
            diff.append(dict(before_header='kubelet.service', after_header='kubelet.service',
                             before='disabled\n', after='enabled\n'))
        result['diff'] = diff
    return result
