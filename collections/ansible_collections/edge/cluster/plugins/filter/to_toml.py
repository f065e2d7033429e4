# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: to_toml
short_description: Write a dict as TOML (for daemon configs such as containerd's config.toml)
version_added: 0.1.0
description:
  - Renders nested dicts as TOML tables, lists of dicts as arrays of tables, and strings, booleans, numbers and lists
    of them as values. Keys are sorted, so the same dict always gives the same text.
  - Keys that are not bare TOML keys (such as C(io.containerd.grpc.v1.cri)) are quoted.
  - Fails naming the key when a value cannot be written (null, or an array mixing tables and values).
options:
  _input:
    description: The document, a dict.
    type: dict
    required: true
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: containerd's configuration from one dict
  ansible.builtin.copy:
    dest: /etc/containerd/config.toml
    content: "{{ {'version': 2, 'plugins': {'io.containerd.grpc.v1.cri': {'sandbox_image': 'registry.k8s.io/pause:3.10.1'}}}
      | edge.cluster.to_toml }}"
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The TOML text, ending with a newline.
  type: string
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.plugin_utils._toml import TomlError, dumps


def to_toml(data):
    try:
        return dumps(data)
    except TomlError as exc:
        raise AnsibleFilterError('edge.cluster.to_toml: %s' % exc)


class FilterModule:
    def filters(self):
        return {'to_toml': to_toml}
