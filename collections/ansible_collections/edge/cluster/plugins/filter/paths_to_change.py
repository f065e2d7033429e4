# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: paths_to_change
short_description: Keep the wanted files and folders that differ from what node_preflight read
version_added: 0.1.0
description:
  - Takes the files and folders a role manages, each described once as the dict its writing task takes its
    arguments from, and the RV(edge.cluster.node_preflight#module:paths) that M(edge.cluster.node_preflight) read
    from the node. Returns the entries whose path is absent, of another type, or has other content, mode, owner or
    group, in their order.
  - Content is compared by sha1, as M(ansible.builtin.copy) compares it; a file the probe did not hash (over 16 MiB)
    or a path it did not read counts as different. The write modules compare again before writing, so a kept path
    that turns out equal is reported C(ok), never C(changed).
  - With it a converged node skips every write task without a round trip, and the arguments the comparison checks
    are the ones the tasks write, so there is no second copy of a mode or owner to keep in step.
  - Fails naming the entry when one cannot be compared (relative path, a file without content, a symbolic mode).
options:
  _input:
    description:
      - The wanted paths. Each is a dict with C(path) (absolute); C(state) (C(file), the default, or C(directory));
        C(content) (a string, files only); and optionally C(mode) (octal digits, such as C("0644")), C(owner) and
        C(group) (names). Left out, mode, owner and group are not compared. Other keys are kept as they are.
    type: list
    elements: dict
    required: true
  found:
    description: The RV(edge.cluster.node_preflight#module:paths) result of M(edge.cluster.node_preflight).
    type: dict
    required: true
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Read the files this play writes
  edge.cluster.node_preflight:
    paths: "{{ wanted | map(attribute='path') | list }}"
  register: probe

- name: Write only those that differ (every argument from the same entry)
  ansible.builtin.copy:
    content: "{{ item.content }}"
    dest: "{{ item.path }}"
    mode: "{{ item.mode }}"
    owner: "{{ item.owner }}"
    group: "{{ item.group }}"
  loop: "{{ wanted | edge.cluster.paths_to_change(probe.paths) }}"
  loop_control:
    label: "{{ item.path }}"
  vars:
    wanted:
      - {path: /etc/sysctl.d/90-example.conf, content: "net.ipv4.ip_forward = 1\n", mode: "0644", owner: root,
         group: root}
"""

RETURN = r"""
_value:
  description: The entries of the input whose path differs on the node (none on a converged node).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.plugin_utils import _paths_to_change


def paths_to_change(wanted, found):
    try:
        return _paths_to_change.paths_to_change(wanted, found)
    except _paths_to_change.WantedPathError as exc:
        raise AnsibleFilterError('edge.cluster.paths_to_change: %s' % exc)


class FilterModule:
    def filters(self):
        return {'paths_to_change': paths_to_change}
