# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""What a node looks like to kubeadm's preflight, read from /proc, /sys and /etc in one go.

Every reader takes root (normally '/') so tests can point it at a fake tree. Nothing here
changes the node.
"""

from __future__ import annotations

import glob
import grp
import hashlib
import os
import pwd
import re
import stat
import time

# Kernel features that show whether a module's code is in the running kernel, built in or loaded.
# Hosts with everything built in (and no /lib/modules, no modprobe) pass through these.
FEATURE_PROBES = {
    'overlay': ('filesystem', 'overlay'),
    'br_netfilter': ('path', 'proc/sys/net/bridge'),
    'nf_conntrack': ('path', 'proc/sys/net/netfilter/nf_conntrack_max'),
    'ip_vs': ('path', 'proc/net/ip_vs'),
    'ip_tables': ('path', 'proc/net/ip_tables_names'),
    'ip6_tables': ('path', 'proc/net/ip6_tables_names'),
    'iptable_nat': ('path', 'proc/net/ip_tables_names'),
    'nf_tables': ('path', 'proc/sys/net/netfilter'),
}
# Interfaces whose MAC says nothing about the machine (CNI, container and tunnel devices).
_VIRTUAL_IFACE_RE = re.compile(r'^(lo|cni\d*|flannel\..*|veth.*|docker\d*|kube-.*|tunl\d*|vxlan.*|cali.*|cilium_.*|'
                               r'nodelocaldns|tkeedgedns|dummy\d*|virbr\d*.*|podman\d*|br-.*)$')
_SYSCTL_KEY_RE = re.compile(r'^[a-z0-9_][a-z0-9_.\-/]*$', re.IGNORECASE)
_LISTEN = '0A'


def _read(root, rel, default=None):
    try:
        with open(os.path.join(root, rel), 'r', encoding='utf-8', errors='replace') as handle:
            return handle.read()
    except OSError:
        return default


def identity(root='/'):
    """hostname, machine-id, product_uuid (None when the machine has no DMI, e.g. some VMs)."""
    hostname = (_read(root, 'proc/sys/kernel/hostname') or '').strip()
    machine_id = (_read(root, 'etc/machine-id') or '').strip() or None
    product_uuid = (_read(root, 'sys/class/dmi/id/product_uuid') or '').strip().lower() or None
    return dict(hostname=hostname, machine_id=machine_id, product_uuid=product_uuid)


def mac_addresses(root='/'):
    """{interface: mac} of the interfaces that identify the machine (not CNI/container/tunnel ones)."""
    macs = {}
    base = os.path.join(root, 'sys/class/net')
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return macs
    for name in names:
        if _VIRTUAL_IFACE_RE.match(name):
            continue
        mac = (_read(root, 'sys/class/net/%s/address' % name) or '').strip().lower()
        if mac and mac != '00:00:00:00:00:00':
            macs[name] = mac
    return macs


def memory_mb(root='/'):
    for line in (_read(root, 'proc/meminfo') or '').splitlines():
        if line.startswith('MemTotal:'):
            return int(line.split()[1]) // 1024
    return None


def cpus():
    """CPUs this process may run on (what kubeadm's runtime.NumCPU sees)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def disk_free_mb(paths):
    """{path: free MiB} on the file system that holds each path (its nearest existing folder)."""
    free = {}
    for path in paths:
        probe = path
        while probe and not os.path.exists(probe):
            probe = os.path.dirname(probe.rstrip('/')) or '/'
        st = os.statvfs(probe or '/')
        free[path] = (st.f_bavail * st.f_frsize) // (1024 * 1024)
    return free


def swap(root='/'):
    """Active swap devices, and the fstab lines that would turn swap back on at boot."""
    active = [line.split()[0] for line in (_read(root, 'proc/swaps') or '').splitlines()[1:] if line.strip()]
    fstab = []
    for line in (_read(root, 'etc/fstab') or '').splitlines():
        fields = line.split()
        if len(fields) >= 3 and not fields[0].startswith('#') and fields[2] == 'swap':
            fstab.append(line)
    return dict(active=active, fstab=fstab)


def _builtin_or_loaded(root, name):
    probe = FEATURE_PROBES.get(name)
    if probe and probe[0] == 'filesystem':
        if any(line.split()[-1] == probe[1] for line in (_read(root, 'proc/filesystems') or '').splitlines()
               if line.strip()):
            return True
    elif probe and os.path.exists(os.path.join(root, probe[1])):
        return True
    return os.path.isdir(os.path.join(root, 'sys/module', name))


def kernel_modules(names, root='/', run=None, modprobe=None):
    """{name: state}: loaded (a module, loaded now), builtin (in the kernel image), loadable (modprobe can
    load it), missing (neither)."""
    loaded = set(line.split()[0] for line in (_read(root, 'proc/modules') or '').splitlines() if line.strip())
    states = {}
    for name in names:
        if name in loaded or name.replace('-', '_') in loaded:
            states[name] = 'loaded'
        elif _builtin_or_loaded(root, name):
            states[name] = 'builtin'
        elif modprobe and run and run([modprobe, '--dry-run', '--quiet', name])[0] == 0:
            states[name] = 'loadable'
        else:
            states[name] = 'missing'
    return states


def bad_sysctl_key(key):
    """Why a sysctl key cannot be right (None when it looks fine): catches edgeadm's 'ﬁ' ligature."""
    for char in key:
        if ord(char) > 127:
            return ('sysctl key %r contains the non-ASCII character %r (U+%04X)%s: retype it in plain ASCII'
                    % (key, char, ord(char), ", a typographic ligature for 'fi'" if char == '\ufb01' else ''))
    if not _SYSCTL_KEY_RE.match(key):
        return 'sysctl key %r is not a sysctl name (letters, digits, _ - . /)' % key
    return None


def sysctls(keys, root='/'):
    """{key: current value with whitespace normalised, or None when the kernel has no such key}."""
    values = {}
    for key in keys:
        if bad_sysctl_key(key):
            values[key] = None
            continue
        value = _read(root, os.path.join('proc/sys', key.replace('.', '/')))
        values[key] = ' '.join(value.split()) if value is not None else None
    return values


def parse_ports(specs):
    """[int] from 6443, '6443', '2379-2380'; raise ValueError on anything else."""
    ports = []
    for spec in specs:
        text = str(spec).strip()
        match = re.match(r'^(\d+)(?:-(\d+))?$', text)
        if not match:
            raise ValueError('port %r is neither a number nor a range like 2379-2380' % (spec,))
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if not 0 < first <= last <= 65535:
            raise ValueError('port %r is outside 1-65535' % (spec,))
        ports.extend(range(first, last + 1))
    return sorted(set(ports))


def _socket_owners(root):
    """{socket inode: process name} from /proc/<pid>/fd links."""
    owners = {}
    proc = os.path.join(root, 'proc')
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return owners
    for pid in pids:
        fd_dir = os.path.join(proc, pid, 'fd')
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        comm = None
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith('socket:['):
                if comm is None:
                    comm = (_read(root, 'proc/%s/comm' % pid) or '?').strip()
                owners[target[8:-1]] = comm
    return owners


def listeners(ports, root='/'):
    """[{port, processes}] for the given TCP ports that something listens on (IPv4 or IPv6)."""
    wanted = set(ports)
    found = {}
    for table in ('proc/net/tcp', 'proc/net/tcp6'):
        for line in (_read(root, table) or '').splitlines()[1:]:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            port = int(fields[1].rsplit(':', 1)[1], 16)
            if port in wanted:
                found.setdefault(port, set()).add(fields[9])
    if not found:
        return []
    owners = _socket_owners(root)
    return [dict(port=port, processes=sorted(set(owners.get(inode, 'unknown process') for inode in inodes)))
            for port, inodes in sorted(found.items())]


# Files larger than this are reported without a checksum (the probe is meant for config files).
_MAX_HASHED = 16 * 1024 * 1024
_FILE_TYPES = ((stat.S_ISREG, 'file'), (stat.S_ISDIR, 'directory'), (stat.S_ISLNK, 'link'))


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def path_state(path, contains=None):
    """What a role needs to know to skip writing a path: type, mode, owner, group, sha1 (files).

    contains (a compiled regex) adds 'contains': whether a line of the file starts with a match,
    like ansible.builtin.find's contains.
    """
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return dict(exists=False)
    kind = next((name for test, name in _FILE_TYPES if test(st.st_mode)), 'other')
    state = dict(exists=True, type=kind, mode='%04o' % stat.S_IMODE(st.st_mode),
                 owner=_name(pwd.getpwuid, st.st_uid), group=_name(grp.getgrgid, st.st_gid))
    if kind != 'file':
        return state
    state['sha1'] = None
    if st.st_size <= _MAX_HASHED:
        try:
            with open(path, 'rb') as handle:
                data = handle.read()
        except OSError:
            return state
        state['sha1'] = hashlib.sha1(data).hexdigest()
        if contains is not None:
            text = data.decode('utf-8', errors='replace')
            state['contains'] = any(contains.match(line) for line in text.splitlines())
    return state


def path_states(patterns, contains=None):
    """{path: path_state} for each path, and for each match of a pattern with glob characters."""
    regex = re.compile(contains) if contains else None
    found = {}
    for pattern in patterns:
        paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        for path in paths:
            found[path] = path_state(path, regex)
    return found


def service_states(names, run):
    """{unit: {active_state, unit_file_state}} from systemctl show (both null without systemd)."""
    found = {}
    for name in names:
        unit = name if '.' in name else name + '.service'
        rc, out, _err = run(['systemctl', 'show', '-p', 'ActiveState', '-p', 'UnitFileState', unit])
        values = dict(line.split('=', 1) for line in out.splitlines() if '=' in line) if rc == 0 else {}
        found[name] = dict(active_state=values.get('ActiveState') or None,
                           unit_file_state=values.get('UnitFileState') or None)
    return found


def versions(executables, run):
    """{path: {rc, stdout, stderr}} of `<path> --version`; rc null when the file is not executable."""
    found = {}
    for path in executables:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            found[path] = dict(rc=None, stdout='', stderr='%s does not exist or is not executable' % path)
            continue
        rc, out, err = run([path, '--version'])
        found[path] = dict(rc=rc, stdout=out.strip(), stderr=err.strip())
    return found


def gather(root='/', kernel_module_names=(), sysctl_keys=(), ports=(), disk_paths=(), controller_time=None,
           run=None, modprobe=None, clock=time.time):
    """Everything the node_prep role checks, as one dict."""
    facts = identity(root)
    facts.update(
        macs=mac_addresses(root),
        cpus=cpus(),
        memory_mb=memory_mb(root),
        disk_free_mb=disk_free_mb(disk_paths),
        swap=swap(root),
        kernel_modules=kernel_modules(kernel_module_names, root, run, modprobe),
        modprobe=modprobe,
        sysctls=sysctls(sysctl_keys, root),
        bad_sysctl_keys=dict((k, bad_sysctl_key(k)) for k in sysctl_keys if bad_sysctl_key(k)),
        listeners=listeners(parse_ports(ports), root),
    )
    now = clock()
    facts['time'] = now
    if controller_time is not None:
        facts['clock_skew_seconds'] = round(now - float(controller_time), 3)
    return facts
