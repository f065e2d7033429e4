# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: certificate_key_valid
short_description: Whether a value is a kubeadm certificate key
version_added: 0.1.0
description:
  - True when the value is a string of exactly 64 hexadecimal characters (32 bytes), which is what
    C(kubeadm --certificate-key) accepts; false for anything else, including non-strings.
  - The value is a secret; tasks testing it should set C(no_log=true) so it is not shown on failure.
options:
  _input:
    description: The value to check.
    type: raw
    required: true
seealso:
  - plugin: edge.cluster.certificate_key
    plugin_type: lookup
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Refuse a malformed key from the vault before anything runs
  ansible.builtin.assert:
    that:
      - vault_edge_cluster_certificate_key is edge.cluster.certificate_key_valid
    fail_msg: >-
      vault_edge_cluster_certificate_key must be 64 hex characters (32 bytes);
      make one with lookup('edge.cluster.certificate_key') or kubeadm certs certificate-key
    quiet: true
  no_log: true
"""

RETURN = r"""
_value:
  description: Whether the value is a valid certificate key.
  type: boolean
"""

from ansible_collections.edge.cluster.plugins.module_utils._certificate_key import (
    is_certificate_key,
)


class TestModule:
    def tests(self):
        return {'certificate_key_valid': is_certificate_key}
