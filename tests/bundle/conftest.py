"""Fixtures for the bundle suite: build (or reuse) the bundle once per session."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from bundlelib import REPO, extract_image_rootfs


@pytest.fixture(scope="session")
def bundle_dir():
    """The finished bundle folder; scripts/bundle prints progress and is a no-op when cached."""
    res = subprocess.run([str(REPO / "scripts" / "bundle")], stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    assert res.returncode == 0, "scripts/bundle failed (see its output above)"
    path = Path(res.stdout.strip().splitlines()[-1])
    assert path.is_dir() and (REPO / "artifacts" / "bundle").resolve() == path
    return path


@pytest.fixture(scope="session")
def bundle_meta(bundle_dir):
    return json.loads((bundle_dir / "bundle.json").read_text())


@pytest.fixture(scope="session")
def image_manifest(bundle_dir):
    return json.loads((bundle_dir / "images" / "manifest.json").read_text())


@pytest.fixture(scope="session")
def package_root(bundle_dir, bundle_meta, tmp_path_factory):
    """The static package unpacked into a temp folder (edge-install/ inside)."""
    dest = tmp_path_factory.mktemp("pkg")
    with tarfile.open(bundle_dir / bundle_meta["package"]) as tar:
        tar.extractall(dest, filter="tar")
    return dest / "edge-install"


@pytest.fixture(scope="session")
def image_rootfs(bundle_dir, image_manifest, tmp_path_factory):
    """image name -> rootfs folder, extracted lazily."""
    cache = {}
    by_name = {i["name"]: i for i in image_manifest}

    def get(name):
        if name not in cache:
            cache[name] = extract_image_rootfs(bundle_dir / by_name[name]["file"], tmp_path_factory.mktemp("img"))
        return cache[name]
    return get


def pytest_configure(config):
    os.environ.setdefault("EDGE_CLUSTER_CACHE", str(Path.home() / ".cache" / "edge-cluster"))
