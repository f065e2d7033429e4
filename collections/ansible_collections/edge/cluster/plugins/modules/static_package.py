#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: static_package
short_description: Install an edgeadm-style Kubernetes static package (binaries, CNI plugins, containerd, units)
version_added: 0.1.0
description:
  - Installs the offline package edgeadm calls C(--install-pkg-path) (C(kube-linux-<arch>-<version>.tar.gz), top
    folder C(edge-install/)) from a file on the controller, a file on the node, or an http(s) URL.
  - "Puts C(bin/*) (kubeadm, kubelet, kubectl, crictl, conntrack) in O(bin_dir), the CNI plugins in O(cni_bin_dir),
    containerd, containerd-shim-runc-v2, ctr and runc in O(runtime_bin_dir), all owned by root with mode 0755; and
    the kubelet unit, kubeadm's standard drop-in C(10-kubeadm.conf) and a C(containerd.service) unit in
    O(systemd_dir)."
  - "Verifies before it changes anything: the archive's sha256 (from O(checksum), or a C(SHA256SUMS) file beside
    O(src)), then every member against the sha256 and size in the package's C(manifest.json), the package
    architecture against the node's, the architecture of every ELF binary in it, and that kubeadm, kubelet, the
    CNI plugins and the four runtime binaries are all there. A truncated or corrupt archive, a missing member or a
    package for another architecture fails with a message naming the problem, and the node is left as it was."
  - New files are written beside their targets and renamed into place only when all of them are written.
  - Keeps a record of what it installed in O(state_file). A later run with the same package compares the installed
    files with that record by sha256 and does not open the package at all; with O(checksum) (or C(SHA256SUMS)) it
    does not even read the package file, and on the controller path nothing is transferred.
  - With a controller O(src), the file is copied to O(cache_dir) on the node only when the node does not already
    hold a copy with the same sha256, and only after it matched its checksum on the controller.
  - Fixes edgeadm's C(/etc/sysconfig/kubelet) on Debian; the drop-in reads O(kubelet_env_file), which defaults to
    the file the node's distribution uses.
extends_documentation_fragment:
  - edge.cluster._attributes
attributes:
  check_mode:
    support: full
    details:
      - The package is read and verified (a controller file is sent to the node's temporary folder), nothing is
        installed.
  diff_mode:
    support: full
    details:
      - Lists every binary that would be added or replaced (path, sha256, mode) and shows unit files in full.
  idempotent:
    support: full
  action:
    description: An action plugin decides whether the controller file must be sent to the node.
    support: full
options:
  src:
    description:
      - Path of the package. On the controller (searched like M(ansible.builtin.copy)'s O(ansible.builtin.copy#module:src))
        unless O(remote_src=true), then on the node.
      - Exactly one of O(src) and O(url) is required.
    type: path
  remote_src:
    description:
      - Whether O(src) is a path on the node rather than on the controller.
    type: bool
    default: false
  url:
    description:
      - http(s) URL of the package, downloaded by the node into a private temporary folder and verified there.
      - Without O(checksum) the package is accepted only if its C(manifest.json) lists checksums for its members, and
        it is downloaded again on every run; give O(checksum) to skip the download when nothing changed.
    type: str
  checksum:
    description:
      - The package's sha256, as 64 hex digits or C(sha256:<hex>).
      - When omitted, a C(SHA256SUMS) file beside O(src) (on the controller, or on the node with O(remote_src=true))
        is used if it lists the package. Otherwise the archive is checked only through its manifest.
    type: str
  validate_certs:
    description: Whether to verify the TLS certificate of an https O(url).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the O(url) server.
    type: int
    default: 60
  bin_dir:
    description: Where C(bin/*) go (edgeadm used C(/usr/bin)).
    type: path
    default: /usr/local/bin
  cni_bin_dir:
    description: Where the CNI plugins go.
    type: path
    default: /opt/cni/bin
  runtime_bin_dir:
    description: Where containerd, containerd-shim-runc-v2, ctr and runc go.
    type: path
    default: /usr/local/bin
  systemd_dir:
    description: Where C(kubelet.service), C(kubelet.service.d/10-kubeadm.conf) and C(containerd.service) go.
    type: path
    default: /etc/systemd/system
  kubelet_env_file:
    description:
      - The file the drop-in reads C(KUBELET_EXTRA_ARGS) from. Created with an empty C(KUBELET_EXTRA_ARGS=) when
        absent, never overwritten.
      - Defaults to C(/etc/default/kubelet) on Debian-like nodes and C(/etc/sysconfig/kubelet) on Red Hat-like ones.
    type: path
  install_units:
    description: Whether to install the systemd units and the kubelet environment file.
    type: bool
    default: true
  daemon_reload:
    description: Whether to run C(systemctl daemon-reload) after a unit changed.
    type: bool
    default: true
  enable_kubelet:
    description:
      - Whether to enable (not start) C(kubelet.service), as kubeadm's preflight expects. kubeadm starts it.
    type: bool
    default: true
  cache_dir:
    description:
      - Where a package sent from the controller or downloaded from O(url) is kept on the node (mode 0700, files
        0600), and where staging happens.
    type: path
    default: /var/cache/edge-cluster
  state_file:
    description: The record of the last install, used to compare installed files without opening the package.
    type: path
    default: /var/lib/edge-cluster/static-package.json
  _transfer:
    description:
      - Internal to the action plugin, do not set. Whether the module may answer that it needs the controller file.
    type: bool
    default: false
  _cache_as:
    description:
      - Internal to the action plugin, do not set. Where to keep a copy it sent, once verified.
    type: path
notes:
  - Needs root on the node (C(become=true)).
  - Files a previous package installed that the new one does not carry, or files left in an old O(bin_dir), are not
    removed.
  - Services are never restarted by this module; RV(restart_needed) names the running ones whose binaries or units
    changed.
requirements:
  - Python 3.8 or newer on the node; systemd when units are installed.
seealso:
  - module: edge.cluster.image_import
  - name: edgeadm's static package
    description: The layout this module reads (edge-install/bin, cni, container).
    link: https://github.com/superedge/edgeadm
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Install the package from the controller's bundle (SHA256SUMS beside it supplies the checksum)
  edge.cluster.static_package:
    src: "{{ playbook_dir }}/artifacts/bundle/kube-linux-amd64-v1.34.12.tar.gz"
  become: true
  register: edge_static_package

- name: From a file already on the node, into /usr/bin as edgeadm did
  edge.cluster.static_package:
    src: /root/kube-linux-amd64-v1.34.12.tar.gz
    remote_src: true
    bin_dir: /usr/bin
  become: true

- name: From the site's HTTP server
  edge.cluster.static_package:
    url: http://10.213.0.10:8080/kube-linux-amd64-v1.34.12.tar.gz
    checksum: sha256:71f1ba12cea1d3d4119a50a1bed868892af83ddc1eb37c51ceaa887725902ac5
  become: true
"""

RETURN = r"""
package:
  description: The installed package.
  returned: success
  type: dict
  contains:
    name: {description: Package name from its manifest., type: str, sample: kube-linux-amd64-v1.34.12}
    file: {description: The package file name., type: str, sample: kube-linux-amd64-v1.34.12.tar.gz}
    sha256: {description: The archive's sha256., type: str, sample: 71f1ba12cea1d3d4119a50a1bed868892af83ddc1eb37c51ceaa887725902ac5}
    arch: {description: Package architecture (Go name)., type: str, sample: amd64}
    kubernetes_version: {description: The Kubernetes version., type: str, sample: v1.34.12}
    versions: {description: "Versions of every component, from the manifest.", type: dict}
versions:
  description: Installed versions of every component, from the package manifest.
  returned: success
  type: dict
  sample: {kubernetes: v1.34.12, containerd: 1.6.20~ds1-1+deb12u3, crictl: v1.34.0, cni_plugins: v1.9.1}
kubernetes_version:
  description: The installed Kubernetes version.
  returned: success
  type: str
  sample: v1.34.12
installed:
  description: Paths written or whose owner/mode was fixed (would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [/usr/local/bin/kubeadm, /etc/systemd/system/kubelet.service]
restart_needed:
  description: Running services (C(containerd), C(kubelet)) whose binaries or units changed.
  returned: success
  type: list
  elements: str
  sample: [containerd]
transferred:
  description: Whether the controller file was sent to the node in this run.
  returned: when O(src) is on the controller
  type: bool
"""

import os
import platform
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.edge.cluster.plugins.module_utils._command import (
    exit_module,
    module_runner,
)
from ansible_collections.edge.cluster.plugins.module_utils._static_package import Request, install
from ansible_collections.edge.cluster.plugins.module_utils._static_package_archive import (
    PackageError,
)
from ansible_collections.edge.cluster.plugins.module_utils._static_package_files import (
    Options,
    default_kubelet_env_file,
)

ARGUMENT_SPEC = dict(
    src=dict(type='path'),
    remote_src=dict(type='bool', default=False),
    url=dict(type='str'),
    checksum=dict(type='str'),
    validate_certs=dict(type='bool', default=True),
    timeout=dict(type='int', default=60),
    bin_dir=dict(type='path', default='/usr/local/bin'),
    cni_bin_dir=dict(type='path', default='/opt/cni/bin'),
    runtime_bin_dir=dict(type='path', default='/usr/local/bin'),
    systemd_dir=dict(type='path', default='/etc/systemd/system'),
    kubelet_env_file=dict(type='path'),
    install_units=dict(type='bool', default=True),
    daemon_reload=dict(type='bool', default=True),
    enable_kubelet=dict(type='bool', default=True),
    cache_dir=dict(type='path', default='/var/cache/edge-cluster'),
    state_file=dict(type='path', default='/var/lib/edge-cluster/static-package.json'),
    # Set by the action plugin only: may the module ask for the controller file, and where
    # to keep the copy it sent.
    _transfer=dict(type='bool', default=False),
    _cache_as=dict(type='path'),
)


def _downloader(module):
    def download(url, path):
        if not url.startswith(('http://', 'https://')):
            raise PackageError('url %r is not http(s)' % url)
        try:
            response = open_url(url, validate_certs=module.params['validate_certs'], timeout=module.params['timeout'])
            with open(path, 'wb') as out:
                shutil.copyfileobj(response, out, 1024 * 1024)
        except PackageError:
            raise
        except Exception as exc:  # urllib raises many kinds; all mean "could not download"
            raise PackageError('cannot download %s: %s' % (url, exc))
    return download


def run_module(module):
    params = module.params
    if os.geteuid() != 0:
        module.fail_json(msg='static_package installs into system folders and needs root: use become: true')
    if params['src'] and not params['remote_src']:
        module.fail_json(msg='src is a controller path; run this module through its action plugin '
                             '(as edge.cluster.static_package), or set remote_src: true for a node path')
    options = Options(
        bin_dir=params['bin_dir'], cni_bin_dir=params['cni_bin_dir'], runtime_bin_dir=params['runtime_bin_dir'],
        systemd_dir=params['systemd_dir'],
        kubelet_env_file=params['kubelet_env_file'] or default_kubelet_env_file(),
        install_units=params['install_units'])
    request = Request(
        src=params['src'], url=params['url'], checksum=params['checksum'], options=options,
        state_file=params['state_file'], cache_dir=params['cache_dir'], cache_as=params['_cache_as'],
        transfer=params['_transfer'], daemon_reload=params['daemon_reload'],
        enable_kubelet=params['enable_kubelet'], check_mode=module.check_mode, diff=module._diff)
    return install(request, platform.machine(), module_runner(module), _downloader(module))


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[('src', 'url')],
        required_one_of=[('src', 'url')],
        supports_check_mode=True,
    )
    exit_module(module, run_module, unexpected='unexpected error installing the static package',
                known=(PackageError,), context=dict(src=module.params['src'], url=module.params['url']))


if __name__ == '__main__':
    main()
