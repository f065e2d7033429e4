"""The offline bundle: what it contains is what kubeadm needs, at the pinned versions, intact."""

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from bundlelib import REPO, run, verified_image

VERSIONS = json.loads((REPO / "bundle" / "versions" / "v1.34.12.json").read_text())
K8S = VERSIONS["kubernetes"]["version"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def test_sha256sums_cover_and_match_every_file(bundle_dir):
    listed = {}
    for line in (bundle_dir / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split("  ", 1)
        listed[rel] = digest
    present = {str(p.relative_to(bundle_dir)) for p in bundle_dir.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(listed) == present, "SHA256SUMS must list exactly the bundle's files"
    bad = [rel for rel, d in listed.items() if sha256(bundle_dir / rel) != d]
    assert not bad, "checksum mismatch: %s" % bad


def test_package_has_edgeadm_layout_and_a_true_manifest(bundle_dir, bundle_meta, package_root):
    assert bundle_meta["package"] == "kube-linux-amd64-%s.tar.gz" % K8S
    with tarfile.open(bundle_dir / bundle_meta["package"]) as tar:
        names = tar.getnames()
    assert all(n == "edge-install" or n.startswith("edge-install/") for n in names)
    manifest = json.loads((package_root / "manifest.json").read_text())
    assert manifest["arch"] == "amd64" and manifest["kubernetes_version"] == K8S
    for b in ("kubeadm", "kubelet", "kubectl", "crictl", "conntrack"):
        assert "bin/" + b in manifest["files"], b
        assert os.access(package_root / "bin" / b, os.X_OK), b
    cni = [f for f in manifest["files"] if f.startswith("cni/")]
    assert cni == ["cni/cni-plugins-linux-amd64-%s.tgz" % VERSIONS["cni_plugins"]["version"]]
    assert [f for f in manifest["files"] if f.startswith("container/")] == [
        "container/containerd-%s-linux-amd64.tar.gz" % manifest["versions"]["containerd"].split("~")[0]]
    on_disk = {str(p.relative_to(package_root)) for p in package_root.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    for rel, meta in manifest["files"].items():
        assert sha256(package_root / rel) == meta["sha256"], rel


def test_cni_and_runtime_tarballs_hold_what_nodes_need(package_root, tmp_path):
    cni_tgz = next((package_root / "cni").iterdir())
    with tarfile.open(cni_tgz) as tar:
        plugins = {os.path.basename(n) for n in tar.getnames()}
    assert {"bridge", "host-local", "loopback", "portmap", "flannel"} <= plugins
    ctd = next((package_root / "container").iterdir())
    with tarfile.open(ctd) as tar:
        tar.extractall(tmp_path, filter="tar")
    for b in ("containerd", "containerd-shim-runc-v2", "ctr", "runc"):
        assert os.access(tmp_path / "bin" / b, os.X_OK), b
    out = run([tmp_path / "bin" / "containerd", "--version"]).stdout
    assert "1.6" in out, out
    assert "runc version" in run([tmp_path / "bin" / "runc", "--version"]).stdout


@pytest.mark.parametrize("binary,argv,expect", [
    ("kubeadm", ["version", "-o", "short"], "^%s$" % re.escape(K8S)),
    ("kubelet", ["--version"], r"^Kubernetes %s$" % re.escape(K8S)),
    ("kubectl", ["version", "--client", "-o", "json"], r'"gitVersion": "%s"' % re.escape(K8S)),
    ("crictl", ["--version"], re.escape(VERSIONS["crictl"]["version"])),
    ("conntrack", ["--version"], r"conntrack v1\.4"),
])
def test_package_binaries_report_pinned_version(package_root, binary, argv, expect):
    res = run([package_root / "bin" / binary] + argv)
    assert res.returncode == 0, res.stdout
    assert re.search(expect, res.stdout.strip(), re.M), res.stdout


def test_images_are_exactly_what_kubeadm_lists_plus_the_cni_and_konnectivity(package_root, bundle_meta, image_manifest, bundle_dir):
    res = run([package_root / "bin" / "kubeadm", "config", "images", "list", "--kubernetes-version", K8S,
               "--image-repository", bundle_meta["image_repository"]])
    assert res.returncode == 0, res.stdout
    kubeadm_images = set(res.stdout.split())
    flannel = yaml.safe_load_all((bundle_dir / bundle_meta["cni"]["manifest"]).read_text())
    cni_images = {c["image"] for doc in flannel if doc and doc["kind"] == "DaemonSet"
                  for c in doc["spec"]["template"]["spec"]["containers"] + doc["spec"]["template"]["spec"]["initContainers"]}
    konnectivity = {bundle_meta["konnectivity"]["server_image"], bundle_meta["konnectivity"]["agent_image"]}
    names = [i["name"] for i in image_manifest]
    assert len(names) == len(set(names))
    assert set(names) == kubeadm_images | cni_images | konnectivity
    assert len(kubeadm_images) == 7


@pytest.mark.parametrize("image,argv,expect", [
    ("kube-apiserver", ["/usr/local/bin/kube-apiserver", "--version"], "Kubernetes " + K8S),
    ("kube-controller-manager", ["/usr/local/bin/kube-controller-manager", "--version"], "Kubernetes " + K8S),
    ("kube-scheduler", ["/usr/local/bin/kube-scheduler", "--version"], "Kubernetes " + K8S),
    ("kube-proxy", ["/usr/local/bin/kube-proxy", "--version"], "Kubernetes " + K8S),
    ("etcd", ["/usr/local/bin/etcd", "--version"], "etcd Version: " + VERSIONS["etcd"]["version"].lstrip("v")),
    ("coredns", ["/coredns", "-version"], "CoreDNS-" + VERSIONS["coredns"]["version"].lstrip("v")),
    ("flannel", ["/opt/bin/flanneld", "--version"], VERSIONS["flannel"]["version"]),
    # the dynamically linked userland resolves its libraries inside the image
    ("kube-proxy", ["/usr/sbin/iptables", "--version"], "nf_tables"),
    ("flannel", ["/bin/cp", "--help"], "BusyBox"),
])
def test_image_binaries_run_and_report_pinned_version(image_manifest, image_rootfs, image, argv, expect):
    name = next(i["name"] for i in image_manifest if i["name"].rsplit(":", 1)[0].endswith("/" + image))
    root = image_rootfs(name)
    res = run(["chroot", root] + argv)
    assert expect in res.stdout, res.stdout


def test_pause_image_is_static_and_runs_as_nobody(image_manifest, image_rootfs, bundle_dir):
    entry = next(i for i in image_manifest if "/pause:" in i["name"])
    root = image_rootfs(entry["name"])
    assert (root / "pause").stat().st_size < 2 << 20
    assert "statically linked" in run(["file", root / "pause"]).stdout or b"\x7fELF" == (root / "pause").read_bytes()[:4]
    _, _, cfg = verified_image(bundle_dir / entry["file"])
    assert cfg["config"]["User"] == "65535:65535" and cfg["config"]["Entrypoint"] == ["/pause"]


def test_oci_archives_are_internally_consistent(bundle_dir, image_manifest):
    for entry in image_manifest:
        desc, _, _ = verified_image(bundle_dir / entry["file"])
        assert desc["annotations"]["io.containerd.image.name"] == entry["name"]
        assert desc["digest"] == entry["digest"]


def test_flannel_manifest_points_only_at_bundle_images(bundle_dir, bundle_meta, image_manifest):
    text = (bundle_dir / bundle_meta["cni"]["manifest"]).read_text()
    assert "@" not in re.sub(r"#.*", "", text), "unsubstituted placeholder"
    images = set(re.findall(r"image:\s*(\S+)", text))
    assert images and images <= {i["name"] for i in image_manifest}
    assert '"Network": "%s"' % bundle_meta["cni"]["pod_network_cidr"] in text


def test_warm_rebuild_reuses_the_cache(bundle_dir):
    res = subprocess.run([str(REPO / "scripts" / "bundle")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip()) == bundle_dir
    assert "bundle is cached" in res.stderr


def test_ha_debs_are_listed_pinned_and_intact(bundle_dir, bundle_meta):
    ha = bundle_meta["ha"]
    assert ha["dir"] == "addons/ha"
    assert [p["name"] for p in ha["packages"]] == VERSIONS["debian"]["ha"]
    on_disk = {str(p.relative_to(bundle_dir)) for p in (bundle_dir / "addons" / "ha").iterdir()}
    assert on_disk == {p["file"] for p in ha["packages"]}, "addons/ha holds exactly the listed .debs"
    for pkg in ha["packages"]:
        path = bundle_dir / pkg["file"]
        assert sha256(path) == pkg["sha256"], pkg["file"]
        fields = run(["dpkg-deb", "-f", path, "Package", "Version", "Architecture"]).stdout
        control = dict(line.split(": ", 1) for line in fields.splitlines())
        assert (control["Package"], control["Version"]) == (pkg["name"], pkg["version"]), pkg
        assert control["Architecture"] in ("amd64", "all"), pkg


@pytest.fixture(scope="module")
def node_image():
    """The lab's node image (scripts/lab-image node, cached), as the HA load balancer's nodes run it."""
    res = subprocess.run([str(REPO / "scripts" / "lab-image"), "node"], stdout=subprocess.PIPE,
                         stderr=sys.stderr, text=True, timeout=1800)
    assert res.returncode == 0, "scripts/lab-image node failed (see its output above)"
    return "localhost/edge-lab-node:latest"


def test_ha_debs_install_offline_on_a_fresh_node(bundle_dir, bundle_meta, node_image):
    """dpkg installs the closure with no network on the node image: nothing missing, nothing already there."""
    names = [p["name"] for p in bundle_meta["ha"]["packages"]]
    script = (
        "set -e; dpkg-query -W -f '${Package}\\n' > /tmp/before; "
        "dpkg -i /debs/*.deb > /tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 3; }; "
        "dpkg --audit; echo AUDIT-DONE; haproxy -v | head -1; keepalived -v 2>&1 | head -1; "
        "echo BEFORE; cat /tmp/before; echo STATUS; "
        "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' " + " ".join(names))
    env = dict(os.environ, CONTAINERS_CONF=str(REPO / "lab" / "containers.conf"))
    res = run(["podman", "run", "--rm", "--network", "none", "-v", "%s:/debs:ro" % (bundle_dir / "addons" / "ha"),
               node_image, "sh", "-c", script], env=env, timeout=300)
    assert res.returncode == 0, res.stdout
    out = res.stdout
    audit = out.split("AUDIT-DONE")[0].strip()
    assert audit == "", "dpkg --audit found half-installed packages:\n" + audit
    versions = {p["name"]: p["version"] for p in bundle_meta["ha"]["packages"]}
    assert "HAProxy version %s" % versions["haproxy"] in out, out
    assert "Keepalived v%s" % versions["keepalived"].split(":")[-1].split("-")[0] in out, out
    before = set(out.split("BEFORE\n")[1].split("STATUS\n")[0].split())
    assert not before & set(names), "already in the node image, so not needed in the bundle: %s" % (before & set(names))
    status = {line.split()[0]: line.split()[1:] for line in out.split("STATUS\n")[1].splitlines()}
    for name, version in versions.items():
        assert status[name] == [version, "ii"], (name, status.get(name))
