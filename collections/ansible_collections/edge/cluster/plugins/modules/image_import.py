#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_import
short_description: Load a bundle's image archives into containerd, skipping images already there
version_added: 0.1.0
description:
  - Imports the image archives an offline bundle lists in C(images/manifest.json) (entries with C(name), C(file)
    relative to the bundle folder, and C(digest)) into a containerd namespace (C(k8s.io), where the kubelet's CRI
    looks).
  - Lists the node's images once (C(ctr images ls)) and imports only the archives whose image is absent or has
    another digest, so a run where everything is present costs one C(ctr) call (and one C(kubeadm) call with
    O(kubernetes_version)).
  - Before the first import it checks that every required image is either present or in the bundle, and checks
    every archive it is about to import (its sha256 when the bundle's C(SHA256SUMS) lists it, else a full read of
    its tar structure). A missing image or a corrupt archive fails with its name, and nothing is imported.
  - Plain tar, gzip and zstd archives are told apart by their first bytes; compressed ones are streamed through
    C(gzip -dc) or C(zstd -dc) into C(ctr images import -), as containerd 1.6's C(ctr) reads plain tar only.
  - After importing, checks that each image has the digest the bundle names and that every required image is
    present. Required are all images of the bundle (the CNI images among them), O(required_images), and with
    O(kubernetes_version) every image C(kubeadm config images list) names for that version and O(image_repository).
  - With a controller O(src), only the archives the node lacks are sent (to the remote temporary folder, removed
    afterwards).
extends_documentation_fragment:
  - edge.cluster._attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports which images would be imported; archives are not read or sent.
  diff_mode:
    support: full
    details:
      - Shows the required images with their digests before and after.
  idempotent:
    support: full
  action:
    description: An action plugin reads a controller bundle and sends only the archives the node lacks.
    support: full
options:
  src:
    description:
      - The bundle folder (the one holding C(images/manifest.json) and C(SHA256SUMS)). On the controller unless
        O(remote_src=true).
    type: path
    required: true
  remote_src:
    description: Whether O(src) is a folder on the node rather than on the controller.
    type: bool
    default: false
  manifest:
    description: The image list inside O(src).
    type: str
    default: images/manifest.json
  namespace:
    description: The containerd namespace. The kubelet's CRI uses C(k8s.io).
    type: str
    default: k8s.io
  address:
    description: containerd's socket.
    type: path
    default: /run/containerd/containerd.sock
  ctr_path:
    description: The C(ctr) binary. Looked up in C(PATH) and C(/usr/local/bin) when omitted.
    type: path
  kubeadm_path:
    description: The C(kubeadm) binary, used with O(kubernetes_version). Looked up like O(ctr_path).
    type: path
  kubernetes_version:
    description:
      - When set, every image C(kubeadm config images list --kubernetes-version <this> --image-repository
        <image_repository>) names must be present after the import.
    type: str
  image_repository:
    description: The image repository kubeadm will use (its C(--image-repository)).
    type: str
    default: registry.k8s.io
  required_images:
    description: More images that must be present after the import.
    type: list
    elements: str
    default: []
  _entries:
    description:
      - Internal to the action plugin, do not set. The image list it read on the controller.
    type: list
    elements: dict
  _transfer:
    description:
      - Internal to the action plugin, do not set. Whether the archives are still on the controller.
    type: bool
    default: false
notes:
  - Needs root on the node (C(become=true)) to reach containerd's socket.
requirements:
  - containerd running, and its C(ctr); C(gzip) or C(zstd) for compressed archives.
seealso:
  - module: edge.cluster.static_package
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Load the bundle's images and check kubeadm's images for v1.34.12 are all there
  edge.cluster.image_import:
    src: "{{ playbook_dir }}/artifacts/bundle"
    kubernetes_version: v1.34.12
  become: true

- name: From a bundle already copied to the node, into a private registry's names
  edge.cluster.image_import:
    src: /srv/bundle
    remote_src: true
    kubernetes_version: v1.34.12
    image_repository: 10.213.0.10:5000/k8s
  become: true
"""

RETURN = r"""
imported:
  description: Images imported in this run (that would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [registry.k8s.io/pause:3.10.1]
present:
  description: Required images present after the run.
  returned: success
  type: list
  elements: str
required:
  description: Every image that was required (bundle, kubeadm's list, O(required_images)).
  returned: success
  type: list
  elements: str
seconds:
  description: Time spent listing, checking and importing (C(check), C(import), C(total)).
  returned: success
  type: dict
  sample: {check: 0.41, import: 9.8, total: 10.3}
transferred:
  description: Archives sent from the controller in this run.
  returned: when O(src) is on the controller
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._command import (
    exit_module,
    module_runner,
)
from ansible_collections.edge.cluster.plugins.module_utils._hashing import sums_for
from ansible_collections.edge.cluster.plugins.module_utils._image_import import (
    Ctr,
    ImageError,
    Request,
    import_images,
    load_manifest,
)

ARGUMENT_SPEC = dict(
    src=dict(type='path', required=True),
    remote_src=dict(type='bool', default=False),
    manifest=dict(type='str', default='images/manifest.json'),
    namespace=dict(type='str', default='k8s.io'),
    address=dict(type='path', default='/run/containerd/containerd.sock'),
    ctr_path=dict(type='path'),
    kubeadm_path=dict(type='path'),
    kubernetes_version=dict(type='str'),
    image_repository=dict(type='str', default='registry.k8s.io'),
    required_images=dict(type='list', elements='str', default=[]),
    # Set by the action plugin only: the manifest entries it read on the controller, and
    # whether the archives are still there (the module then answers transfer_required).
    _entries=dict(type='list', elements='dict'),
    _transfer=dict(type='bool', default=False),
)

_EXTRA_DIRS = ['/usr/local/bin', '/usr/local/sbin', '/usr/bin', '/usr/sbin']


def _binary(module, given, name, hint):
    if given:
        if not os.access(given, os.X_OK):
            module.fail_json(msg='%s %s is not an executable file' % (name, given))
        return given
    found = module.get_bin_path(name, opt_dirs=_EXTRA_DIRS)
    if not found:
        module.fail_json(msg='%s not found on the node (PATH, /usr/local/bin): %s' % (name, hint))
    return found


def _node_entries(module):
    """Manifest entries and SHA256SUMS read on the node (remote_src)."""
    src = module.params['src']
    where = os.path.join(src, module.params['manifest'])
    try:
        with open(where, 'r', encoding='utf-8') as handle:
            entries = load_manifest(handle.read(), where)
    except OSError as exc:
        raise ImageError('cannot read the image list %s: %s (is src the bundle folder?)' % (where, exc.strerror or exc))
    sums = {}
    try:
        with open(os.path.join(src, 'SHA256SUMS'), 'r', encoding='utf-8') as handle:
            sums = sums_for(handle.read())
    except OSError:
        pass
    return entries, sums


def run_module(module):
    params = module.params
    if params['_entries'] is not None:
        entries, sums = load_manifest_entries(params['_entries']), {}
    elif params['remote_src']:
        entries, sums = _node_entries(module)
    else:
        module.fail_json(msg='src is a controller path; run this module through its action plugin '
                             '(as edge.cluster.image_import), or set remote_src: true for a node folder')
    ctr = Ctr(_binary(module, params['ctr_path'], 'ctr', 'install the static package first '
                                                         '(edge.cluster.static_package)'),
              params['address'], params['namespace'])
    kubeadm = None
    if params['kubernetes_version']:
        kubeadm = _binary(module, params['kubeadm_path'], 'kubeadm',
                          'install the static package first (edge.cluster.static_package)')
    tools = dict(gzip=module.get_bin_path('gzip', opt_dirs=_EXTRA_DIRS),
                 zstd=module.get_bin_path('zstd', opt_dirs=_EXTRA_DIRS))
    request = Request(entries, params['src'], sums=sums, required=params['required_images'],
                      kubernetes_version=params['kubernetes_version'], image_repository=params['image_repository'],
                      ctr=ctr, kubeadm=kubeadm, check_mode=module.check_mode, diff=module._diff,
                      files_on_controller=params['_transfer'])
    return import_images(request, module_runner(module), tools=tools)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    exit_module(module, run_module, unexpected='unexpected error importing images', known=(ImageError,))


def load_manifest_entries(entries):
    """Entries the action plugin passed (already validated on the controller)."""
    return [dict(name=e['name'], file=e['file'], digest=e.get('digest'), sha256=e.get('sha256')) for e in entries]


if __name__ == '__main__':
    main()
