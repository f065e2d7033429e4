"""The offline conformance kit (scripts/bundle --conformance): e2e.test and ginkgo for the pinned
release, stamped like the bundle's binaries; test images that behave like upstream's where the
suite looks (a shell, OpenBSD netcat with -v, dig, curl, ip, every ELF file's libraries inside
the image, web servers whose configuration loads); every image e2e.test names is either in the
kit, in the bundle, or listed with a reason; every skip entry names a real conformance spec."""

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from bundlelib import REPO, run

pytestmark = pytest.mark.slow
SKIPS = REPO / "bundle" / "conformance" / "skips.yaml"


@pytest.fixture(scope="session")
def kit_dir():
    res = subprocess.run([str(REPO / "scripts" / "bundle"), "--conformance"], stdout=subprocess.PIPE, text=True)
    assert res.returncode == 0, "scripts/bundle --conformance failed (see its output above)"
    path = Path(res.stdout.strip().splitlines()[-1])
    assert (REPO / "artifacts" / "conformance").resolve() == path
    return path


@pytest.fixture(scope="session")
def kit_meta(kit_dir):
    return json.loads((kit_dir / "kit.json").read_text())


@pytest.fixture(scope="session")
def kit_rootfs(kit_dir, tmp_path_factory):
    """image name -> rootfs folder; layers applied in order, a later layer's path replacing the
    earlier one (never written through an earlier layer's symlink, as tarfile would)."""
    cache, by_name = {}, {i["name"]: i for i in json.loads((kit_dir / "images" / "manifest.json").read_text())}

    def get(name):
        if name not in cache:
            dest = tmp_path_factory.mktemp("kitimg")
            dest.chmod(0o755)  # the image's / (pytest makes 0700 folders; the servers drop to nobody)
            with tarfile.open(kit_dir / by_name[name]["file"]) as tar:
                index = json.load(tar.extractfile("index.json"))
                manifest = json.load(tar.extractfile("blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]))
                for layer in manifest["layers"]:
                    with tarfile.open(fileobj=tar.extractfile("blobs/sha256/" + layer["digest"].split(":")[1]), mode="r:gz") as lt:
                        for member in lt:
                            target = dest / member.name
                            if not member.isdir() and (target.is_symlink() or target.exists()):
                                target.unlink()
                            lt.extract(member, dest, filter="tar")
            cache[name] = dest
        return cache[name]
    return get


def image(kit_meta, short):
    names = [n for n in kit_meta["images"] if n.rsplit(":", 1)[0].endswith("/" + short)]
    assert names, "the kit has no %s image: %s" % (short, kit_meta["images"])
    return names[0]


def conformance_specs(kit_dir):
    """The release's conformance specs, as the kit copied them from the k8s.io/kubernetes module."""
    data = yaml.safe_load((kit_dir / "conformance.yaml").read_text())
    return [" ".join(t["codename"].split()) for t in data]


def test_skip_list_names_real_conformance_specs_each_with_a_reason(kit_dir):
    specs = conformance_specs(kit_dir)
    assert len(specs) == 424, "v1.34's conformance.yaml lists 424 specs, found %d" % len(specs)
    for entry in yaml.safe_load(SKIPS.read_text()):
        assert entry["reason"].strip(), entry
        assert entry["test"] in specs, "%s names no conformance spec: %s" % (SKIPS, entry["test"])


def test_e2e_test_and_ginkgo_are_the_pinned_versions(kit_dir, kit_meta):
    versions = json.loads((REPO / "bundle" / "versions" / "v1.34.12.json").read_text())["kubernetes"]
    data = (kit_dir / "bin" / "e2e.test").read_bytes()
    # -ldflags -X, as on the bundle's binaries (an unstamped build carries "v0.0.0-master+$Format:%H$")
    for stamp in (versions["version"], versions["commit"], versions["build_date"]):
        assert stamp.encode() in data, "e2e.test lacks the version stamp %s" % stamp
    moddir = run(["go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes"], cwd=REPO / "bundle" / "conformance" / "go").stdout.strip()
    ginkgo_pin = re.search(r"github.com/onsi/ginkgo/v2 (v\S+)", Path(moddir, "go.mod").read_text()).group(1)
    assert kit_meta["ginkgo_version"] == ginkgo_pin
    assert ginkgo_pin.lstrip("v") in run([kit_dir / "bin" / "ginkgo", "version"]).stdout
    assert "v1.34.12" in run([kit_dir / "bin" / "kubectl", "version", "--client"]).stdout


def test_the_bundles_images_the_suite_runs_travel_in_the_kit(kit_dir, kit_meta):
    """pause (and any other bundle image e2e.test names) is in the kit's own manifest, byte for byte
    the bundle's archive: a cluster deployed online holds it only under its registry's name."""
    kit_images = {i["name"]: i for i in json.loads((kit_dir / "images" / "manifest.json").read_text())}
    bundle = REPO / "artifacts" / "bundle"
    bundle_images = {i["name"]: i for i in json.loads((bundle / "images" / "manifest.json").read_text())}
    assert kit_meta["from_bundle"], "e2e.test names no bundle image (pause at least): %s" % kit_meta
    for name in kit_meta["from_bundle"]:
        assert name in kit_images, "%s is not in the kit's images/manifest.json" % name
        assert kit_images[name]["digest"] == bundle_images[name]["digest"]
        assert (kit_dir / kit_images[name]["file"]).read_bytes() == (bundle / bundle_images[name]["file"]).read_bytes()
    sums = (kit_dir / "SHA256SUMS").read_text()
    assert all(kit_images[name]["file"] in sums for name in kit_meta["from_bundle"])


def test_every_listed_image_is_in_the_kit_the_bundle_or_has_a_reason(kit_dir, kit_meta):
    listed = run([kit_dir / "bin" / "e2e.test", "--list-images", "--kube-test-repo-list", kit_dir / "repo-list.yaml"]).stdout.split()
    bundle_images = set(json.loads((REPO / "artifacts" / "bundle" / "bundle.json").read_text())["images"])
    for name in listed:
        if name in kit_meta["images"] or name in bundle_images:
            continue
        assert name in kit_meta["unavailable"], name
        assert "no reason written down" not in kit_meta["unavailable"][name], name
    # the environment variable alone maps them too (the suite reads it when its packages initialise)
    by_env = run([kit_dir / "bin" / "e2e.test", "--list-images"],
                 env=dict(os.environ, KUBE_TEST_REPO_LIST=str(kit_dir / "repo-list.yaml"))).stdout.split()
    assert sorted(by_env) == sorted(listed)
    unavailable = (kit_dir / "unavailable-images.txt").read_text()
    assert all(name in unavailable for name in kit_meta["unavailable"])
    for short in ("agnhost", "busybox", "httpd", "nginx", "jessie-dnsutils"):
        assert image(kit_meta, short).startswith("edge-cluster.invalid/e2e-test-images/")


def _needed(path):
    out = run(["readelf", "-d", path]).stdout
    return re.findall(r"Shared library: \[([^\]]+)\]", out)


@pytest.mark.parametrize("short", ["agnhost", "busybox", "httpd", "nginx", "jessie-dnsutils"])
def test_every_program_finds_its_libraries_in_the_image(kit_meta, kit_rootfs, short):
    root = kit_rootfs(image(kit_meta, short))
    libs = {p.name for d in ("lib", "usr/lib", "lib64") if (root / d).exists() for p in (root / d).rglob("*.so*")}
    missing = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and (os.access(path, os.X_OK) or ".so" in path.name):
            with open(path, "rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
            lacking = [n for n in _needed(path) if n not in libs]
            if lacking:
                missing[str(path.relative_to(root))] = lacking
    assert not missing, missing


def chroot(root, script):
    if os.geteuid() != 0:
        pytest.skip("chroot into the image needs root")
    return run(["chroot", root, "/bin/sh", "-c", script])


def test_agnhost_has_what_the_suite_runs_in_exec_pods(kit_meta, kit_rootfs):
    root = kit_rootfs(image(kit_meta, "agnhost"))
    done = chroot(root, "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; "
                        "nc -h 2>&1 | head -1; command -v nc; bash -c 'echo bash $BASH_VERSION'; dig -v 2>&1; "
                        "ip -V; curl --version | head -1; nslookup -version 2>&1 | head -1; /agnhost --help | grep -c netexec; "
                        "id user-defined-in-image; getent passwd user-defined-in-image")
    out = done.stdout
    assert done.returncode == 0, out
    assert "OpenBSD netcat" in out and "bash 5." in out and "DiG 9." in out and "iproute2" in out and "libcurl/" in out, out
    assert "groups=1000(user-defined-in-image),50000(group-defined-in-image)" in out, out
    assert "user-defined-in-image:x:1000:1000:" in out, "no getent (the DNS specs' probes run it): " + out
    assert (root / "agnhost-2").is_symlink() and (root / "coredns").is_file()


def test_busybox_image_has_its_applets(kit_meta, kit_rootfs):
    root = kit_rootfs(image(kit_meta, "busybox"))
    # upstream's busybox image has every applet in /bin: the Sysctls spec runs /bin/sysctl
    done = chroot(root, "ls /bin/sh /bin/sysctl /bin/ifconfig >/dev/null && wget --help 2>&1 | head -1 && "
                        "nslookup 2>&1 | head -1; echo ok")
    assert done.returncode == 0 and "ok" in done.stdout, done.stdout


@pytest.mark.parametrize("short", ["busybox", "agnhost"])
def test_sh_passes_on_variables_whose_names_are_not_shell_names(kit_meta, kit_rootfs, short):
    """The Secrets and ConfigMap env specs run `sh -c env` with data-1=value-1 in the environment."""
    if os.geteuid() != 0:
        pytest.skip("chroot into the image needs root")
    done = run(["env", "-i", "data-1=value-1", "1x=y", shutil.which("chroot"), kit_rootfs(image(kit_meta, short)), "sh", "-c", "env"])
    assert "data-1=value-1" in done.stdout and "1x=y" in done.stdout, done.stdout


def serve_and_fetch(root, start):
    """Start a server in the image (its own mount and network namespaces, /proc and /dev mounted),
    and fetch http://127.0.0.1/ from inside with busybox wget: loopback only."""
    if os.geteuid() != 0:
        pytest.skip("running the image's server needs root (namespaces, chroot)")
    script = ('mount -t proc proc {r}/proc && mount --bind /dev {r}/dev && ip link set lo up && '
              'chroot {r} /bin/sh -c \'({s}) >/tmp/server.log 2>&1 & for i in 1 2 3 4 5 6 7 8 9 10; do '
              'wget -q -O - http://127.0.0.1/ && sleep 1 && cat /tmp/server.log && exit 0; sleep 0.5; done; '
              'cat /tmp/server.log; exit 1\''
              ).format(r=root, s=start)
    # its own PID namespace too: when the script ends, the kernel ends the servers it started
    return run(["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "sh", "-c", script], timeout=60)


@pytest.mark.parametrize("short, start, page", [
    ("httpd", "httpd-foreground", "It works!"),
    ("nginx", 'nginx -g "daemon off;"', "Welcome to nginx!"),
])
def test_web_servers_serve_their_page(kit_meta, kit_rootfs, short, start, page):
    done = serve_and_fetch(kit_rootfs(image(kit_meta, short)), start)
    assert done.returncode == 0 and page in done.stdout, done.stdout
    # e.g. Apache's workers abort without libgcc_s, which glibc loads for pthread_exit
    assert "must be installed" not in done.stdout and "exit signal" not in done.stdout, done.stdout
