# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""What a static package puts where on the node, and how the node differs from that: the
systemd units, the wanted files (binaries by sha256, text by content), the plan of changes
(with fingerprints that spare re-reading unchanged binaries) and the diff shown for it.
"""

from __future__ import annotations

import os
import stat
import time

from ansible_collections.edge.cluster.plugins.module_utils import _hashing
from ansible_collections.edge.cluster.plugins.module_utils._static_package_archive import (
    PackageError,
)

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
            return _hashing.sha256_text(self.content)
        return self.sha256

    @property
    def want_size(self):
        if self.content is not None:
            return len(self.content.encode('utf-8'))
        return self.size


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
    hash_file = hash_file or _hashing.sha256_file  # looked up per call, so tests can watch it
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
