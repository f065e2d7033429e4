# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""What `kubeadm reset` leaves behind, found and removed: CNI configuration and state, the
interfaces CNI and kube-proxy create, their iptables/ip6tables chains (only those: KUBE-*,
FLANNEL-*, CNI-* and the rules jumping to them, never the rest of the firewall), leftover
containers in containerd's k8s.io namespace, mounts under the kubelet directory, kubelet and
etcd state. edgeadm's reset (kubeadm 1.22 phases) left all of these.

Planning is pure (parsers of iptables-save, ip -o link, /proc/self/mountinfo output and the
argv they lead to); ResetPlan.empty says whether a node is clean. File removal never crosses a
mount point.
"""

from __future__ import annotations

import os
import shlex
import stat

DEFAULT_CHAIN_PREFIXES = ('KUBE-', 'FLANNEL-', 'CNI-')
DEFAULT_INTERFACES = ('cni0', 'flannel.1', 'flannel-v6.1', 'flannel-wg', 'flannel-wg-v6',
                      'kube-ipvs0', 'kube-bridge', 'nodelocaldns')
# Directories whose contents go (the directories stay) and files that go.
DEFAULT_PATHS = ('/etc/kubernetes', '/var/lib/kubelet', '/etc/cni/net.d', '/var/lib/cni',
                 '/run/flannel', '/run/kubernetes')
DEFAULT_ETCD_DATA_DIR = '/var/lib/etcd'
# Where kubeadm reset looks for its own state: if all are empty, kubeadm has nothing to do.
KUBEADM_STATE_PATHS = ('/etc/kubernetes', '/var/lib/kubelet')
MOUNT_PREFIXES = ('/var/lib/kubelet/', '/run/netns/cni-')
# nftables tables of kube-proxy's nftables mode and flannel's nftables backend (exact names).
DEFAULT_NFT_TABLES = (('ip', 'kube-proxy'), ('ip6', 'kube-proxy'), ('ip', 'flannel-ipv4'),
                      ('ip6', 'flannel-ipv6'))
K8S_NAMESPACE = 'k8s.io'

IPTABLES_VARIANTS = ('iptables-legacy', 'iptables-nft', 'ip6tables-legacy', 'ip6tables-nft')
IPTABLES_PLAIN = ('iptables', 'ip6tables')


class ResetPlan(object):
    """Everything a reset would remove. Empty plan: the node is clean (changed=false)."""

    def __init__(self):
        self.kubeadm_reset = False
        self.stop_kubelet = False
        self.pods = False
        self.containers = []
        self.mounts = []
        self.paths = []
        self.interfaces = []
        self.iptables = {}  # binary -> {'tables': {table: {'chains': [...], 'jumps': n}}, 'argv': [...]}
        self.nft_tables = []

    @property
    def empty(self):
        return not (self.kubeadm_reset or self.pods or self.containers or self.mounts or
                    self.paths or self.interfaces or self.iptables or self.nft_tables)

    def report(self):
        """What check mode and the result show."""
        return {
            'kubeadm_reset': self.kubeadm_reset,
            'containers': list(self.containers),
            'mounts': list(self.mounts),
            'paths': list(self.paths),
            'interfaces': list(self.interfaces),
            'iptables': dict((binary, dict((table, {'chains': list(info['chains']),
                                                    'jump_rules': info['jumps']})
                                           for table, info in entry['tables'].items()))
                             for binary, entry in self.iptables.items()),
            'nft_tables': ['%s %s' % item for item in self.nft_tables],
        }


# ---------------------------------------------------------------- iptables

def parse_iptables_save(text):
    """{table: {'chains': [names in order], 'rules': [(chain, [args...])]}} of iptables-save."""
    tables = {}
    current = None
    for raw in (text or '').splitlines():
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('*'):
            current = tables.setdefault(line[1:], {'chains': [], 'rules': []})
        elif current is None:
            continue
        elif line.startswith(':'):
            current['chains'].append(line[1:].split()[0])
        elif line.startswith('-A '):
            args = shlex.split(line)
            current['rules'].append((args[1], args[2:]))
    return tables


def rule_target(args):
    for flag in ('-j', '--jump', '-g', '--goto'):
        if flag in args:
            index = args.index(flag)
            if index + 1 < len(args):
                return args[index + 1]
    return None


def is_ours(chain, prefixes):
    return any(chain.startswith(prefix) for prefix in prefixes)


def plan_iptables(tables, prefixes=DEFAULT_CHAIN_PREFIXES):
    """(summary, argv tails) for one iptables binary.

    Order matters: first delete the rules in other chains that jump into ours (PREROUTING,
    FORWARD...), then flush all of ours (so they no longer reference each other), then delete
    them. Rules of other software in the built-in chains stay untouched.
    """
    summary, steps = {}, []
    for table in sorted(tables):
        info = tables[table]
        ours = [chain for chain in info['chains'] if is_ours(chain, prefixes)]
        jumps = [(chain, args) for chain, args in info['rules']
                 if not is_ours(chain, prefixes) and is_ours(rule_target(args) or '', prefixes)]
        if not ours and not jumps:
            continue
        summary[table] = {'chains': ours, 'jumps': len(jumps)}
        for chain, args in jumps:
            steps.append(['-w', '-t', table, '-D', chain] + list(args))
        for chain in ours:
            steps.append(['-w', '-t', table, '-F', chain])
        for chain in ours:
            steps.append(['-w', '-t', table, '-X', chain])
    return summary, steps


def iptables_binaries(which):
    """The iptables front-ends to inspect: each backend present (legacy and nft may both hold
    rules, depending on which one kube-proxy's image picked), else the plain names.
    which(name) -> path or None."""
    found = [(name, which(name)) for name in IPTABLES_VARIANTS]
    found = [(name, path) for name, path in found if path]
    if not found:
        found = [(name, which(name)) for name in IPTABLES_PLAIN]
        found = [(name, path) for name, path in found if path]
    return found


def save_binary(path):
    """iptables-nft -> iptables-nft-save, ip6tables-legacy -> ip6tables-legacy-save."""
    directory, name = os.path.split(path)
    for base in ('ip6tables', 'iptables'):
        if name.startswith(base):
            suffix = name[len(base):]
            return os.path.join(directory, base + suffix + '-save')
    return path + '-save'


# ---------------------------------------------------------------- nftables

def parse_nft_tables(text):
    """[(family, name)] of `nft list tables`."""
    tables = []
    for line in (text or '').splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == 'table':
            tables.append((parts[1], parts[2]))
    return tables


def plan_nft(tables, wanted=DEFAULT_NFT_TABLES):
    return [table for table in tables if table in wanted]


# ---------------------------------------------------------------- interfaces

def parse_ip_link(text):
    """Interface names of `ip -o link show` ("3: cni0: <...>", "5: veth1@if2: ...")."""
    names = []
    for line in (text or '').splitlines():
        parts = line.split(':', 2)
        if len(parts) < 3:
            continue
        name = parts[1].strip().split('@', 1)[0]
        if name:
            names.append(name)
    return names


def plan_interfaces(present, wanted=DEFAULT_INTERFACES):
    return [name for name in wanted if name in present]


# ---------------------------------------------------------------- mounts

def _unescape_mount(path):
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out, index = [], 0
    while index < len(path):
        if path[index] == '\\' and index + 4 <= len(path) and path[index + 1:index + 4].isdigit():
            out.append(chr(int(path[index + 1:index + 4], 8)))
            index += 4
        else:
            out.append(path[index])
            index += 1
    return ''.join(out)


def parse_mountinfo(text):
    """Mount points of /proc/self/mountinfo, in mount order."""
    points = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) >= 5:
            points.append(_unescape_mount(fields[4]))
    return points


def plan_unmounts(points, prefixes=MOUNT_PREFIXES):
    """Mount points to unmount, deepest (and latest) first so nested mounts go before parents."""
    chosen = []
    for point in points:
        if any(point.startswith(prefix) for prefix in prefixes) and point not in chosen:
            chosen.append(point)
    order = dict((point, index) for index, point in enumerate(chosen))
    return sorted(chosen, key=lambda point: (-point.count('/'), -order[point]))


# ---------------------------------------------------------------- files

def _is_mount(path):
    try:
        return os.path.ismount(path)
    except OSError:
        return False


def has_content(path):
    """True when path is a file, or a directory holding at least one non-directory entry."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(mode):
        return True
    for root, dirs, files in os.walk(path):
        if files:
            return True
        # mount points count as content: something is still attached there
        for name in list(dirs):
            full = os.path.join(root, name)
            if os.path.islink(full) or _is_mount(full):
                return True
    return False


def remove_contents(path):
    """Remove path (a file) or everything inside it (a directory), never crossing a mount
    point. Returns the mount points left in place."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return []
    if not stat.S_ISDIR(mode):
        os.unlink(path)
        return []
    kept = []
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if _is_mount(full):
            kept.append(full)
            continue
        entry_mode = os.lstat(full).st_mode
        if stat.S_ISDIR(entry_mode):
            kept.extend(remove_contents(full))
            if not os.listdir(full):
                os.rmdir(full)
        else:
            os.unlink(full)
    return kept


# ---------------------------------------------------------------- containers

def containerd_address(cri_socket):
    """/run/containerd/containerd.sock from unix:///run/containerd/containerd.sock."""
    return cri_socket[len('unix://'):] if cri_socket.startswith('unix://') else cri_socket


def ctr_list_argv(ctr, address):
    return [ctr, '--address', address, '--namespace', K8S_NAMESPACE, 'containers', 'list',
            '--quiet']


def ctr_remove_argvs(ctr, address, container_id):
    base = [ctr, '--address', address, '--namespace', K8S_NAMESPACE]
    return [
        base + ['tasks', 'kill', '--signal', 'SIGKILL', container_id],
        base + ['tasks', 'delete', '--force', container_id],
        base + ['containers', 'delete', container_id],
    ]


def crictl_pods_argv(crictl, cri_socket):
    return [crictl, '--runtime-endpoint', cri_socket, 'pods', '--quiet']


def crictl_remove_pods_argv(crictl, cri_socket):
    return [crictl, '--runtime-endpoint', cri_socket, 'rmp', '--all', '--force']


def parse_ids(text):
    return [line.strip() for line in (text or '').splitlines() if line.strip()]


# ---------------------------------------------------------------- gathering and doing

class NodeCleaner(object):
    """Finds (gather) and removes (execute) what a reset removes, through injected callables:
    run(argv, data=None) -> (rc, stdout, stderr) and which(name) -> path or None, so unit tests
    drive it with fakes and temporary directories."""

    def __init__(self, run, which, kubeadm=None, cri_socket='unix:///run/containerd/containerd.sock',
                 paths=DEFAULT_PATHS, etcd_data_dir=DEFAULT_ETCD_DATA_DIR,
                 interfaces=DEFAULT_INTERFACES, chain_prefixes=DEFAULT_CHAIN_PREFIXES,
                 kubeadm_state_paths=KUBEADM_STATE_PATHS, mount_prefixes=MOUNT_PREFIXES,
                 mountinfo='/proc/self/mountinfo', socket_exists=None):
        self.run = run
        self.which = which
        self.kubeadm = kubeadm
        self.cri_socket = cri_socket
        self.paths = list(paths) + ([etcd_data_dir] if etcd_data_dir else [])
        self.interfaces = list(interfaces)
        self.chain_prefixes = tuple(chain_prefixes)
        self.kubeadm_state_paths = list(kubeadm_state_paths) + (
            [etcd_data_dir] if etcd_data_dir else [])
        self.mount_prefixes = tuple(mount_prefixes)
        self.mountinfo = mountinfo
        self.socket_exists = socket_exists or (
            lambda: os.path.exists(containerd_address(self.cri_socket)))
        self.warnings = []

    def _out(self, argv):
        rc, stdout, stderr = self.run(argv)
        return stdout if rc == 0 else None

    def _read_mountinfo(self):
        try:
            with open(self.mountinfo) as handle:
                return handle.read()
        except OSError:
            return ''

    def gather(self, include_kubeadm=True):
        plan = ResetPlan()
        plan.kubeadm_reset = bool(include_kubeadm and self.kubeadm and any(
            has_content(path) for path in self.kubeadm_state_paths))
        runtime_up = self.socket_exists()
        crictl = self.which('crictl')
        if crictl and runtime_up:
            plan.pods = bool(parse_ids(self._out(crictl_pods_argv(crictl, self.cri_socket))))
        ctr = self.which('ctr')
        if ctr and runtime_up:
            plan.containers = parse_ids(self._out(ctr_list_argv(
                ctr, containerd_address(self.cri_socket))))
        plan.mounts = plan_unmounts(parse_mountinfo(self._read_mountinfo()), self.mount_prefixes)
        plan.paths = [path for path in self.paths if has_content(path)]
        ip = self.which('ip')
        if ip:
            plan.interfaces = plan_interfaces(
                parse_ip_link(self._out([ip, '-o', 'link', 'show'])), self.interfaces)
        for name, path in iptables_binaries(self.which):
            saved = self._out([save_binary(path)])
            if saved is None:
                continue
            summary, steps = plan_iptables(parse_iptables_save(saved), self.chain_prefixes)
            if summary:
                plan.iptables[name] = {'tables': summary, 'argv': [[path] + s for s in steps]}
        nft = self.which('nft')
        if nft:
            plan.nft_tables = plan_nft(parse_nft_tables(self._out([nft, 'list', 'tables'])))
        return plan

    def _try(self, argv, what):
        rc, stdout, stderr = self.run(argv)
        if rc != 0:
            lines = (stderr or stdout or '').strip().splitlines()
            self.warnings.append('%s failed (rc=%s): %s' % (
                what, rc, lines[-1] if lines else 'no output'))
        return rc == 0

    def _stop_kubelet(self):
        systemctl = self.which('systemctl')
        if not systemctl:
            return
        rc, stdout, dummy = self.run([systemctl, 'is-active', 'kubelet'])
        if (stdout or '').strip() in ('active', 'activating', 'reloading'):
            self._try([systemctl, 'stop', 'kubelet'], 'stopping the kubelet')

    def execute(self, plan):
        """Carry out plan; returns what was done. Failures become self.warnings; the caller
        gathers again afterwards to prove the node clean."""
        done = {'kubeadm_reset': False}
        if plan.kubeadm_reset:
            done['kubeadm_reset'] = self._try(
                [self.kubeadm, 'reset', '--force', '--cri-socket', self.cri_socket],
                'kubeadm reset')
            plan_after = self.gather(include_kubeadm=False)
        else:
            plan_after = plan
        self._stop_kubelet()
        crictl = self.which('crictl')
        if plan_after.pods and crictl:
            self._try(crictl_remove_pods_argv(crictl, self.cri_socket), 'removing pods (crictl rmp)')
        ctr = self.which('ctr')
        if ctr and plan_after.containers:
            address = containerd_address(self.cri_socket)
            remaining = parse_ids(self._out(ctr_list_argv(ctr, address)))
            for container_id in remaining:
                kill, delete_task, delete = ctr_remove_argvs(ctr, address, container_id)
                self.run(kill)  # fails when the task is already gone: fine
                self.run(delete_task)
                self._try(delete, 'removing container %s' % container_id)
        umount = self.which('umount')
        for point in plan_unmounts(parse_mountinfo(self._read_mountinfo()), self.mount_prefixes):
            if umount and not self.run([umount, point])[0] == 0:
                self._try([umount, '--lazy', point], 'unmounting %s' % point)
        for path in self.paths:
            try:
                kept = remove_contents(path)
            except OSError as exc:
                self.warnings.append('removing %s failed: %s' % (path, exc))
                continue
            for point in kept:
                self.warnings.append('%s is still a mount point and was left in place' % point)
        ip = self.which('ip')
        for name in plan_after.interfaces:
            if ip:
                self._try([ip, 'link', 'delete', name], 'deleting interface %s' % name)
        for name, entry in plan_after.iptables.items():
            for argv in entry['argv']:
                # -D of a rule already gone fails harmlessly; -X failures show up when the
                # caller gathers again.
                self.run(argv)
        nft = self.which('nft')
        for family, table in plan_after.nft_tables:
            if nft:
                self._try([nft, 'delete', 'table', family, table],
                          'deleting nftables table %s %s' % (family, table))
        return done
