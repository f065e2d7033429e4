# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_node_preflight against fake /proc, /sys and /etc trees (the molecule scenario reads a real node)."""

from __future__ import annotations

import hashlib
import os
import pwd

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import _node_preflight as np

TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'


def _tcp_line(port, state, inode):
    return ('   0: 00000000:%04X 00000000:0000 %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 '
            '0000000000000000 100 0 0 10 0\n' % (port, state, inode))


@pytest.fixture
def root(tmp_path):
    def write(rel, text):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    write('proc/sys/kernel/hostname', 'edge-1\n')
    write('etc/machine-id', 'abc123\n')
    write('proc/meminfo', 'MemTotal:        2013572 kB\nMemFree:  100 kB\n')
    write('proc/swaps', 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n')
    write('etc/fstab', 'UUID=1 / ext4 defaults 0 1\n#/swapfile none swap sw 0 0\n')
    write('proc/filesystems', 'nodev\tsysfs\nnodev\toverlay\n\text4\n')
    write('proc/modules', 'ip_vs 180224 0 - Live 0x0000000000000000\n')
    write('proc/sys/net/bridge/bridge-nf-call-iptables', '1\n')
    write('proc/sys/net/ipv4/ip_forward', '0\n')
    write('proc/sys/net/ipv4/tcp_mem', '786432\t2097152\t3145728\n')
    for iface, mac in (('lo', '00:00:00:00:00:00'), ('eth0', '52:54:00:AA:BB:01'), ('cni0', '0a:58:0a:f4:00:01'),
                       ('flannel.1', '0e:11:22:33:44:55'), ('veth12ab', 'aa:aa:aa:aa:aa:aa'), ('ens5', '52:54:00:aa:bb:02')):
        write('sys/class/net/%s/address' % iface, mac + '\n')
    write('proc/net/tcp', TCP_HEADER + _tcp_line(10250, '0A', 1111) + _tcp_line(6443, '01', 2222)
          + _tcp_line(22, '0A', 3333))
    write('proc/net/tcp6', TCP_HEADER + _tcp_line(2380, '0A', 4444))
    for pid, comm, inodes in (('100', 'kubelet', [1111]), ('200', 'sshd', [3333]), ('300', 'python3', [4444])):
        write('proc/%s/comm' % pid, comm + '\n')
        fd_dir = tmp_path / 'proc' / pid / 'fd'
        fd_dir.mkdir(parents=True)
        os.symlink('/dev/null', str(fd_dir / '0'))
        for n, inode in enumerate(inodes, start=3):
            os.symlink('socket:[%d]' % inode, str(fd_dir / str(n)))
    return tmp_path


def test_identity(root):
    assert np.identity(str(root)) == dict(hostname='edge-1', machine_id='abc123', product_uuid=None)
    (root / 'sys/class/dmi/id').mkdir(parents=True)
    (root / 'sys/class/dmi/id/product_uuid').write_text('4C4C4544-0042\n')
    assert np.identity(str(root))['product_uuid'] == '4c4c4544-0042'


def test_macs_leave_out_loopback_cni_and_container_interfaces(root):
    assert np.mac_addresses(str(root)) == {'eth0': '52:54:00:aa:bb:01', 'ens5': '52:54:00:aa:bb:02'}


def test_memory_and_swap(root):
    assert np.memory_mb(str(root)) == 1966
    assert np.swap(str(root)) == dict(active=[], fstab=[])
    (root / 'proc/swaps').write_text('Filename Type Size Used Priority\n/swapfile file 1048572 0 -2\n')
    (root / 'etc/fstab').write_text('/swapfile none swap sw 0 0\nUUID=1 / ext4 defaults 0 1\n')
    assert np.swap(str(root)) == dict(active=['/swapfile'], fstab=['/swapfile none swap sw 0 0'])


def test_kernel_modules_builtin_without_modprobe_never_missing(root):
    calls = []

    def run(argv):
        calls.append(argv)
        return (0, '', '') if argv[-1] == 'dummy' else (1, '', 'FATAL: Module x not found')

    states = np.kernel_modules(['overlay', 'br_netfilter', 'ip_vs', 'dummy', 'sctp'], str(root), run, '/sbin/modprobe')
    assert states == dict(overlay='builtin', br_netfilter='builtin', ip_vs='loaded', dummy='loadable', sctp='missing')
    assert calls == [['/sbin/modprobe', '--dry-run', '--quiet', 'dummy'], ['/sbin/modprobe', '--dry-run', '--quiet', 'sctp']]
    # This host's shape: everything built in, no modprobe at all.
    assert np.kernel_modules(['overlay', 'br_netfilter'], str(root), None, None) == dict(
        overlay='builtin', br_netfilter='builtin')


def test_kernel_module_absent_on_a_bare_kernel(tmp_path):
    (tmp_path / 'proc').mkdir()
    (tmp_path / 'proc/filesystems').write_text('nodev\tsysfs\n')
    assert np.kernel_modules(['overlay', 'br_netfilter'], str(tmp_path), None, None) == dict(
        overlay='missing', br_netfilter='missing')


@pytest.mark.parametrize('key, reason', [
    ('net.ipv4.tcp_\ufb01n_timeout', "U\\+FB01\\), a typographic ligature for 'fi'"),
    ('net.netfilter.nf_conntrack_max\u00a0', 'U\\+00A0'),
    ('net.ipv4.ip_forward = 1', 'not a sysctl name'),
])
def test_bad_sysctl_keys_are_explained(key, reason):
    import re
    assert re.search(reason, np.bad_sysctl_key(key))


def test_good_sysctl_keys(root):
    assert np.bad_sysctl_key('net.bridge.bridge-nf-call-iptables') is None
    assert np.sysctls(['net.ipv4.ip_forward', 'net.ipv4.tcp_mem', 'fs.may_detach_mounts',
                       'net.bridge.bridge-nf-call-iptables', 'net.ipv4.tcp_\ufb01n_timeout'], str(root)) == {
        'net.ipv4.ip_forward': '0', 'net.ipv4.tcp_mem': '786432 2097152 3145728', 'fs.may_detach_mounts': None,
        'net.bridge.bridge-nf-call-iptables': '1', 'net.ipv4.tcp_\ufb01n_timeout': None}


@pytest.mark.parametrize('specs, ports', [([6443, '10250', '2379-2380'], [2379, 2380, 6443, 10250]), ([], [])])
def test_parse_ports(specs, ports):
    assert np.parse_ports(specs) == ports


@pytest.mark.parametrize('spec', ['http', '2380-2379', '0', '70000', '1-2-3'])
def test_parse_ports_refuses(spec):
    with pytest.raises(ValueError):
        np.parse_ports([spec])


def test_listeners_name_the_owning_process(root):
    result = np.listeners([6443, 10250, 2379, 2380, 10257, 10259], str(root))
    assert result == [dict(port=2380, processes=['python3']), dict(port=10250, processes=['kubelet'])]


def test_gather_reports_clock_skew(root):
    facts = np.gather(str(root), ['overlay'], ['net.ipv4.ip_forward'], ['22'], [str(root)], controller_time=1000.0,
                      clock=lambda: 1042.5)
    assert facts['clock_skew_seconds'] == 42.5 and facts['time'] == 1042.5
    assert facts['listeners'] == [dict(port=22, processes=['sshd'])]
    assert facts['disk_free_mb'][str(root)] > 0
    assert facts['cpus'] >= 1
    assert np.disk_free_mb([str(root / 'not/yet/created')])[str(root / 'not/yet/created')] > 0


def test_path_states_report_files_folders_and_missing_paths(tmp_path):
    conf = tmp_path / 'etc/containerd/config.toml'
    conf.parent.mkdir(parents=True)
    conf.write_text('# Managed by edge.cluster.container_runtime\nversion = 2\n')
    os.chmod(conf, 0o640)
    mirror = tmp_path / 'etc/containerd/certs.d/registry.k8s.io/hosts.toml'
    mirror.parent.mkdir(parents=True)
    mirror.write_text('server = "https://registry.k8s.io"\n')
    found = np.path_states([str(conf.parent), str(conf), str(tmp_path / 'absent'), str(tmp_path / 'etc/containerd/certs.d/*/hosts.toml')],
                           contains='^# Managed by edge')
    assert found[str(conf.parent)]['type'] == 'directory' and 'sha1' not in found[str(conf.parent)]
    assert found[str(conf)]['type'] == 'file' and found[str(conf)]['mode'] == '0640'
    assert found[str(conf)]['sha1'] == hashlib.sha1(conf.read_bytes()).hexdigest()
    assert found[str(conf)]['contains'] is True
    assert found[str(conf)]['owner'] == pwd.getpwuid(os.getuid()).pw_name
    assert found[str(tmp_path / 'absent')] == {'exists': False}
    assert found[str(mirror)]['contains'] is False  # the glob's match, reported under its own path


def test_path_states_glob_without_match_reports_nothing(tmp_path):
    assert np.path_states([str(tmp_path / 'none/*/hosts.toml')]) == {}


def test_service_states_parse_systemctl_show():
    calls = []

    def run(argv):
        calls.append(argv)
        if argv[-1] == 'containerd.service':
            return 0, 'UnitFileState=enabled\nActiveState=active\n', ''
        return None, '', 'No such file or directory: systemctl'

    found = np.service_states(['containerd', 'kubelet.service'], run)
    assert found == {'containerd': {'active_state': 'active', 'unit_file_state': 'enabled'},
                     'kubelet.service': {'active_state': None, 'unit_file_state': None}}
    assert calls[0][:2] == ['systemctl', 'show']


def test_versions_run_only_executables(tmp_path):
    tool = tmp_path / 'containerd'
    tool.write_text('#!/bin/sh\necho "containerd v1.7.29"\n')
    os.chmod(tool, 0o755)
    plain = tmp_path / 'plain'
    plain.write_text('')
    found = np.versions([str(tool), str(plain), str(tmp_path / 'absent')],
                        lambda argv: (0, 'containerd v1.7.29\n', '') if argv == [str(tool), '--version'] else pytest.fail(argv))
    assert found[str(tool)] == {'rc': 0, 'stdout': 'containerd v1.7.29', 'stderr': ''}
    assert found[str(plain)]['rc'] is None and 'not executable' in found[str(plain)]['stderr']
    assert found[str(tmp_path / 'absent')]['rc'] is None
