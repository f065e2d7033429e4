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
  - Used by the P(edge.cluster.node_prep#role) role, which compares the answers across the play and with its
    thresholds. Changes nothing.
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
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._node_preflight import gather, parse_ports


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kernel_modules=dict(type='list', elements='str', default=[]),
            sysctls=dict(type='list', elements='str', default=[]),
            ports=dict(type='list', elements='raw', default=[]),
            disk_paths=dict(type='list', elements='path', default=[]),
            controller_time=dict(type='float'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        parse_ports(params['ports'])
    except ValueError as exc:
        module.fail_json(msg='ports: %s' % exc)
    try:
        modprobe = module.get_bin_path('modprobe', opt_dirs=['/sbin', '/usr/sbin'])

        def run(argv):
            return module.run_command(argv, check_rc=False)

        facts = gather('/', params['kernel_modules'], params['sysctls'], params['ports'], params['disk_paths'],
                       params['controller_time'], run=run, modprobe=modprobe)
        module.exit_json(changed=False, **facts)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_json(msg='unexpected error reading the node: %s' % exc, exception=traceback.format_exc())


if __name__ == '__main__':
    main()
