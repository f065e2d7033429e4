"""The bundle builder refuses bad requests before writing anything, and builds reproducibly."""

import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from bundlelib import REPO

sys.path.insert(0, str(REPO / "bundle"))
import oci  # noqa: E402

BUILD = [sys.executable, str(REPO / "bundle" / "build.py")]


def refuse(tmp_path, *args, env=None):
    cache = tmp_path / "cache"
    link = tmp_path / "link"
    full_env = dict(os.environ, **(env or {}))
    res = subprocess.run(BUILD + ["--cache", str(cache), "--link", str(link)] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env, timeout=120)
    assert res.returncode == 2, res.stderr
    assert not link.exists(), "a refused build must not link a bundle"
    assert not (cache / "bundle").exists() and not (cache / "build").exists(), "a refused build must write nothing"
    return res.stderr


def test_unknown_version_is_refused_with_the_supported_list(tmp_path):
    err = refuse(tmp_path, "--kubernetes-version", "v1.29.0")
    assert "unknown Kubernetes version 'v1.29.0'" in err and "v1.34.12" in err


def test_too_little_disk_is_refused(tmp_path):
    err = refuse(tmp_path, env={"EDGE_CLUSTER_BUNDLE_MIN_FREE_GB": "1000000"})
    assert "too little disk" in err and "EDGE_CLUSTER_CACHE" in err


def test_missing_go_toolchain_is_refused(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # a PATH with everything the builder needs except go
    for tool in ("gcc", "apt-get", "apt-cache", "dpkg-deb"):
        os.symlink(shutil.which(tool), bindir / tool)
    err = refuse(tmp_path, env={"PATH": str(bindir)})
    assert "Go toolchain is missing" in err


def test_wrong_arch_is_refused(tmp_path):
    assert "only builds amd64" in refuse(tmp_path, "--arch", "arm64")


def _layers(tmp_path):
    f = tmp_path / "hello"
    f.write_text("hi\n")
    return [{"usr/bin/hello": oci.file(str(f), 0o755), "etc/x": oci.data("x\n"), "bin/sh": oci.symlink("busybox")}]


def test_image_archives_are_reproducible(tmp_path):
    a = oci.build_archive(str(tmp_path / "a.tar"), "example.invalid/hello:v1", _layers(tmp_path), {"Entrypoint": ["/usr/bin/hello"]})
    b = oci.build_archive(str(tmp_path / "b.tar"), "example.invalid/hello:v1", _layers(tmp_path), {"Entrypoint": ["/usr/bin/hello"]})
    assert a == b
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    c = oci.build_archive(str(tmp_path / "c.tar"), "example.invalid/hello:v1", _layers(tmp_path), {"Entrypoint": ["/x"]})
    assert c != a


def test_layer_has_parents_owner_root_and_modes(tmp_path):
    raw = oci.layer_tar(_layers(tmp_path)[0])
    import io
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert {"usr", "usr/bin", "etc", "bin"} <= set(members)
    assert members["usr/bin/hello"].mode == 0o755 and members["usr/bin/hello"].uid == 0
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert list(members) == sorted(members)


def test_konnectivity_release_differing_from_its_go_mod_is_refused(tmp_path):
    """bundle/versions and bundle/go/konnectivity/go.mod name the release twice: a mismatch stops the build."""
    src = tmp_path / "bundle"
    shutil.copytree(REPO / "bundle", src, ignore=shutil.ignore_patterns("__pycache__", "kubernetes", "etcd", "coredns",
                                                                        "crictl", "cni", "flannel*"))
    versions = src / "versions" / "v1.34.12.json"
    v = json.loads(versions.read_text())
    v["konnectivity"]["version"] = "v0.33.0"
    versions.write_text(json.dumps(v))
    cache, link = tmp_path / "cache", tmp_path / "link"
    res = subprocess.run([sys.executable, str(src / "build.py"), "--cache", str(cache), "--link", str(link)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "pins konnectivity v0.33.0" in res.stderr and "sigs.k8s.io/apiserver-network-proxy v0.34.0" in res.stderr
    assert "go mod tidy" in res.stderr, res.stderr
    assert not link.exists() and not (cache / "bundle").exists() and not (cache / "build").exists()
