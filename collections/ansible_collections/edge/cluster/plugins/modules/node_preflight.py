#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: node_preflight
short_description: Read, in one call, what kubeadm's preflight cares about on a node
version_added: 0.1.0
description:
  - Returns the node's identity (hostname, machine-id, product_uuid, MAC addresses), CPUs, memory, free disk,
    swap (active and in C(/etc/fstab)), the state of kernel modules, current sysctl values, which processes listen
    on given TCP ports, and its clock.
  - Kernel modules are C(loaded) (a module, in C(/proc/modules)), C(builtin) (the feature is in the running kernel,
    seen through C(/proc/filesystems), C(/proc/sys/net/bridge) and the like, so no C(modprobe) or C(/lib/modules) is
    needed), C(loadable) (C(modprobe --dry-run) succeeds) or C(missing).
  - Optionally also the type, mode, owner, group and sha1 of given paths (O(paths)), the state of systemd units
    (O(services)) and the C(--version) output of executables (O(versions)), so that a role can read a converged node
    in one call and skip the tasks that would only confirm it.
  - Used by the P(edge.cluster.node_prep#role) and P(edge.cluster.container_runtime#role) roles, which compare the
    answers across the play and with their thresholds and wanted files. Changes nothing.
extends_documentation_fragment:
  - edge.cluster._attributes
  - edge.cluster._attributes.READ_ONLY
options:
  kernel_modules:
    description: Kernel modules to report on.
    type: list
    elements: str
    default: []
  sysctls:
    description: sysctl keys (dotted) whose current values to report.
    type: list
    elements: str
    default: []
  ports:
    description: TCP ports (numbers or ranges like C(2379-2380)) to report listeners for.
    type: list
    elements: raw
    default: []
  disk_paths:
    description: Paths whose file system's free space to report (a missing path reports its nearest existing parent).
    type: list
    elements: path
    default: []
  controller_time:
    description: The controller's clock (seconds since the epoch) when the task started; RV(clock_skew_seconds) is the
      node's clock minus this.
    type: float
  paths:
    description:
      - Paths to report on (RV(paths)); an entry with glob characters (C(*), C(?), C([)) reports every match.
      - Meant for configuration files; files over 16 MiB are reported without a sha1.
    type: list
    elements: str
    default: []
  contains:
    description: A regular expression; each regular file of O(paths) reports whether one of its lines starts with a
      match (like M(ansible.builtin.find)'s O(ansible.builtin.find#module:contains)).
    type: str
  services:
    description: systemd units (C(.service) is implied) whose active and unit-file states to report.
    type: list
    elements: str
    default: []
  versions:
    description: Executables to run with C(--version) (a missing or non-executable file is reported, not run).
    type: list
    elements: path
    default: []
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Read the node
  edge.cluster.node_preflight:
    kernel_modules: [overlay, br_netfilter]
    sysctls: [net.ipv4.ip_forward, net.bridge.bridge-nf-call-iptables]
    ports: [6443, 10250, 2379-2380, 10257, 10259]
    disk_paths: [/var/lib]
    controller_time: "{{ now().timestamp() }}"
  register: node

- name: Read containerd's files, service and version in the same call
  edge.cluster.node_preflight:
    paths: [/etc/containerd, /etc/containerd/config.toml, /etc/containerd/certs.d/*/hosts.toml]
    contains: '^# Managed by edge.cluster'
    services: [containerd]
    versions: [/usr/local/bin/containerd]
  register: runtime
"""

RETURN = r"""
hostname: {description: The kernel host name., returned: success, type: str, sample: edge-node-1}
machine_id: {description: /etc/machine-id (null when empty)., returned: success, type: str}
product_uuid: {description: DMI product_uuid (null when the machine has none)., returned: success, type: str}
macs: {description: "MAC address per interface, CNI/container/tunnel interfaces left out.", returned: success,
       type: dict, sample: {eth0: "52:9b:64:00:b8:be"}}
cpus: {description: CPUs available to processes., returned: success, type: int, sample: 2}
memory_mb: {description: MemTotal in MiB., returned: success, type: int, sample: 24105}
disk_free_mb: {description: Free MiB per O(disk_paths) entry., returned: success, type: dict, sample: {/var/lib: 63889}}
swap:
  description: Active swap devices (C(active)) and uncommented swap lines of /etc/fstab (C(fstab)).
  returned: success
  type: dict
  sample: {active: [], fstab: []}
kernel_modules:
  description: State per module, one of C(loaded), C(builtin), C(loadable), C(missing).
  returned: success
  type: dict
  sample: {overlay: builtin, br_netfilter: builtin}
modprobe: {description: Path of modprobe (null when absent)., returned: success, type: str}
sysctls: {description: Current value per key (whitespace normalised; null when the kernel lacks it)., returned: success,
          type: dict, sample: {net.ipv4.ip_forward: "1"}}
bad_sysctl_keys: {description: "Keys that cannot be right (non-ASCII, bad characters), with the reason.",
                  returned: success, type: dict}
listeners:
  description: The given ports something listens on, with the processes' names.
  returned: success
  type: list
  elements: dict
  sample: [{port: 10250, processes: [kubelet]}]
time: {description: The node's clock (seconds since the epoch)., returned: success, type: float}
clock_skew_seconds: {description: Node clock minus O(controller_time)., returned: with O(controller_time), type: float}
paths:
  description:
    - Per path of O(paths) (and per match of a glob), C(exists); when it exists C(type) (C(file), C(directory),
      C(link), C(other)), C(mode) (four octal digits), C(owner) and C(group) (names, or ids without a name); for
      regular files C(sha1) (null over 16 MiB) and, with O(contains), C(contains).
  returned: success
  type: dict
  sample: {/etc/crictl.yaml: {exists: true, type: file, mode: "0644", owner: root, group: root,
           sha1: 4f0e3b5b3c1e2d8d2a8c6e0e8f7a7b3c2d1e0f9a}}
services:
  description: Per unit of O(services), C(active_state) and C(unit_file_state) as systemctl shows them (null when
    systemd does not answer).
  returned: success
  type: dict
  sample: {containerd: {active_state: active, unit_file_state: enabled}}
versions:
  description: Per executable of O(versions), C(rc), C(stdout) and C(stderr) of C(--version) (C(rc) null when the
    file is missing or not executable).
  returned: success
  type: dict
  sample: {/usr/local/bin/containerd: {rc: 0, stdout: containerd github.com/containerd/containerd v1.7.29 abc, stderr: ""}}
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._command import (
    exit_module,
    module_runner,
)
from ansible_collections.edge.cluster.plugins.module_utils._node_preflight import (
    gather,
    parse_ports,
    path_states,
    service_states,
    versions,
)


def run_module(module):
    params = module.params
    try:
        parse_ports(params['ports'])
    except ValueError as exc:
        module.fail_json(msg='ports: %s' % exc)
    if params['contains']:
        try:
            re.compile(params['contains'])
        except re.error as exc:
            module.fail_json(msg='contains: %r is not a regular expression (%s)' % (params['contains'], exc))
    modprobe = module.get_bin_path('modprobe', opt_dirs=['/sbin', '/usr/sbin'])
    # A command that cannot start (no systemctl, an executable that cannot run) is a fact too.
    run = module_runner(module, missing_ok=True)
    facts = gather('/', params['kernel_modules'], params['sysctls'], params['ports'], params['disk_paths'],
                   params['controller_time'], run=run, modprobe=modprobe)
    facts.update(paths=path_states(params['paths'], params['contains']),
                 services=service_states(params['services'], run),
                 versions=versions(params['versions'], run))
    return dict(changed=False, **facts)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kernel_modules=dict(type='list', elements='str', default=[]),
            sysctls=dict(type='list', elements='str', default=[]),
            ports=dict(type='list', elements='raw', default=[]),
            disk_paths=dict(type='list', elements='path', default=[]),
            controller_time=dict(type='float'),
            paths=dict(type='list', elements='str', default=[]),
            contains=dict(type='str'),
            services=dict(type='list', elements='str', default=[]),
            versions=dict(type='list', elements='path', default=[]),
        ),
        supports_check_mode=True,
    )
    exit_module(module, run_module, unexpected='unexpected error reading the node')


if __name__ == '__main__':
    main()
