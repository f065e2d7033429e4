# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: host_port
short_description: Split an endpoint C(host[:port]) into host and port
version_added: 0.1.0
description:
  - Splits a load balancer or API server endpoint such as C(lb.example.internal:6443), C(10.0.0.5) or
    C([fd00::5]:8443) into C([host, port]), with O(default_port) when the endpoint has none (as kubeadm's
    C(controlPlaneEndpoint) does).
  - Fails naming the value when it is not C(host[:port]) or the port is out of range.
options:
  _input:
    description: The endpoint.
    type: string
    required: true
  default_port:
    description: The port when the endpoint names none.
    type: integer
    default: 6443
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Check that the external load balancer answers
  ansible.builtin.wait_for:
    host: "{{ (endpoint | edge.cluster.host_port)[0] }}"
    port: "{{ (endpoint | edge.cluster.host_port)[1] }}"
    timeout: 10
  vars:
    endpoint: lb.example.internal:6443
"""

RETURN = r"""
_value:
  description: The host (IPv6 without brackets) and the port.
  type: list
  sample: [lb.example.internal, 6443]
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_values import (
    KubeadmConfigError,
    split_endpoint,
)


def host_port(endpoint, default_port=6443):
    try:
        # the parser kubeadm_init checks control_plane_endpoint with, so both accept the same values
        return list(split_endpoint(endpoint, 'endpoint', int(default_port)))
    except (KubeadmConfigError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('edge.cluster.host_port: %s' % exc)


class FilterModule:
    def filters(self):
        return {'host_port': host_port}
