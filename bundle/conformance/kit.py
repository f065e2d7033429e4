#!/usr/bin/env python3
"""Build the offline conformance kit for the pinned release (scripts/bundle --conformance).

Output (a folder in the cache, linked from artifacts/conformance), next to the bundle it needs:
  bin/e2e.test, bin/ginkgo, bin/kubectl  the suite, ginkgo's CLI (parallel runs), and kubectl
  images/*.tar + images/manifest.json    the test images, as the bundle ships its own (the
                                         edge.cluster.airgap_images role imports them)
  conformance.yaml        the release's conformance specs (upstream's test/conformance/testdata)
  repo-list.yaml          KUBE_TEST_REPO_LIST: the suite's registries -> the kit's image names
  images.txt              every image `e2e.test --list-images` names and where it comes from
  unavailable-images.txt  the ones the kit does not provide, each with the reason
  kit.json, SHA256SUMS
The default bundle is built (or reused) first; this adds nothing to it. Cached by inputs:
$CACHE/build/conformance-<key> for the Go programs, $CACHE/conformance/<version>-<key> for the kit.
"""

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLE = os.path.dirname(HERE)
sys.path.insert(0, BUNDLE)
import build  # noqa: E402
import oci  # noqa: E402
import images  # noqa: E402
from build import BuildError, say  # noqa: E402

GO_DIR = os.path.join(HERE, "go")
GO_PACKAGES = ["github.com/onsi/ginkgo/v2/ginkgo", "k8s.io/kubernetes/test/images/agnhost"]
E2E_PACKAGE = "k8s.io/kubernetes/test/e2e"


def kit_versions(version):
    path = os.path.join(HERE, version + ".json")
    if not os.path.exists(path):
        raise BuildError("no conformance kit for %s: add bundle/conformance/%s.json (the kit's Debian packages and "
                         "image notes) and pin bundle/conformance/go/ to that release" % (version, version))
    with open(path) as f:
        return json.load(f)


def _go(argv, env, what, started):
    """Run one go command with a heartbeat every 30 s; its output only when it fails."""
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(argv, cwd=GO_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        while True:
            try:
                proc.wait(30)
                break
            except subprocess.TimeoutExpired:
                say("  %s: still compiling, %ds" % (what, time.time() - started))
        if proc.returncode != 0:
            log.seek(0)
            raise BuildError("%s failed (rc=%d): %s\n%s" % (what, proc.returncode, " ".join(argv), log.read()[-4000:]))


def go_programs(cache, v, gov):
    """e2e.test (go test -c), ginkgo and agnhost, stamped like the bundle's Kubernetes binaries."""
    ldflags = ("-s -w " + build.k8s_ldflags(v["kubernetes"])).strip()
    key = hashlib.sha256(json.dumps([build.hash_tree([GO_DIR]), GO_PACKAGES, E2E_PACKAGE, ldflags, gov])
                         .encode()).hexdigest()[:16]
    out = os.path.join(cache, "build", "conformance-%s" % key)
    if os.path.exists(os.path.join(out, ".done")):
        say("Go programs: cached (%s)" % out)
        return out
    tmp = out + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=readonly -buildvcs=false", GOTOOLCHAIN="local",
               GOSUMDB="off", GOPROXY=os.environ.get("GOPROXY", "https://proxy.golang.org"))
    started = time.time()
    say("Go programs: ginkgo, agnhost (long on a cold cache)")
    _go(["go", "build", "-trimpath", "-ldflags", ldflags, "-o", tmp + "/"] + GO_PACKAGES, env, "go build", started)
    say("Go programs: e2e.test (go test -c %s)" % E2E_PACKAGE)
    _go(["go", "test", "-c", "-trimpath", "-ldflags", ldflags, "-o", os.path.join(tmp, "e2e.test"), E2E_PACKAGE],
        env, "go test -c", started)
    open(os.path.join(tmp, ".done"), "w").close()
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    say("Go programs: built in %ds" % (time.time() - started))
    return out


def module_dir():
    return build.run(["go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes"], cwd=GO_DIR).strip()


def ginkgo_version():
    return build.run(["go", "list", "-m", "-f", "{{.Version}}", "github.com/onsi/ginkgo/v2"], cwd=GO_DIR).strip()


def repo_list(kv):
    """KUBE_TEST_REPO_LIST: the e2e images' registry becomes the kit's; the rest stay upstream's
    (pause comes from the bundle under registry.k8s.io)."""
    return "promoterE2eRegistry: %s\n" % kv["registry"]


def listed_images(e2e_test, repo_list_path):
    out = build.run([e2e_test, "--list-images", "--kube-test-repo-list", repo_list_path])
    return sorted({line.strip() for line in out.splitlines() if line.strip() and "/" in line and ":" in line})


def classify(names, kv, bundle_images):
    """(kit: [(upstream, name)], provided: {name: source}, unavailable: {name: reason})."""
    kit, provided, unavailable = [], {}, {}
    prefix = kv["registry"] + "/"
    for name in names:
        repo, tag = name.rsplit(":", 1)
        short = repo[len(prefix):] if repo.startswith(prefix) else repo.rsplit("/", 1)[-1]
        if name in bundle_images:
            provided[name] = "the offline bundle"
        elif repo.startswith(prefix) and short in images.RECIPES:
            kit.append((short, name))
            provided[name] = "the kit"
        else:
            reason = kv["unavailable"].get("%s:%s" % (short, tag)) or kv["unavailable"].get(short)
            unavailable[name] = reason or "no recipe in bundle/conformance/images.py and no reason written down"
    return kit, provided, unavailable


def kit_key(v, kv, gov, pins, bundle_path):
    inputs = [build.hash_tree([HERE, os.path.join(BUNDLE, "build.py"), os.path.join(BUNDLE, "oci.py")]),
              v["kubernetes"]["version"], kv, gov, sorted(pins.items()), os.path.basename(bundle_path)]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:12]


def extract_kubectl(bundle_path, dest):
    with open(os.path.join(bundle_path, "bundle.json")) as f:
        package = json.load(f)["package"]
    with tarfile.open(os.path.join(bundle_path, package)) as tar:
        member = tar.getmember("edge-install/bin/kubectl")
        with tar.extractfile(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
    os.chmod(dest, 0o755)


def build_kit(cache, v, kv, gov, pins, bundle_path, out):
    debs = build.fetch_debs(cache, pins)
    comps = {c[0]: c for c in build.components(v)}
    coredns = build.go_build(cache, *comps["coredns"][:3], gov=gov, progress="[coredns]")
    progs = go_programs(cache, v, gov)
    work = tempfile.mkdtemp(prefix="edge-kit-", dir=cache)
    tmp = out + ".part"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.join(tmp, "bin"))
        os.makedirs(os.path.join(tmp, "images"))
        for prog in ("e2e.test", "ginkgo"):
            shutil.copy2(os.path.join(progs, prog), os.path.join(tmp, "bin", prog))
        extract_kubectl(bundle_path, os.path.join(tmp, "bin", "kubectl"))
        # the release's list of conformance specs: scripts/conformance checks skip names against it
        shutil.copyfile(os.path.join(module_dir(), "test", "conformance", "testdata", "conformance.yaml"),
                        os.path.join(tmp, "conformance.yaml"))
        with open(os.path.join(tmp, "repo-list.yaml"), "w") as f:
            f.write(repo_list(kv))
        names = listed_images(os.path.join(tmp, "bin", "e2e.test"), os.path.join(tmp, "repo-list.yaml"))
        with open(os.path.join(bundle_path, "images", "manifest.json")) as f:
            bundle_images = {i["name"] for i in json.load(f)}
        kit, provided, unavailable = classify(names, kv, bundle_images)
        roots = {}
        for layer in ("base", "tools", "httpd", "nginx"):
            roots[layer] = os.path.join(work, layer)
            build.unpack_debs([debs[n] for n in kv["debian"][layer]], roots[layer])
        say("images: %d from the kit, %d from the bundle, %d unavailable (of %d e2e.test lists)"
            % (len(kit), len(provided) - len(kit), len(unavailable), len(names)))
        specs, missing = images.specs(kit, roots, kv, {"agnhost": os.path.join(progs, "agnhost"),
                                                       "coredns": os.path.join(coredns, "coredns")}, module_dir())
        if missing:   # classify() counted them as the kit's: never list an image that was not built
            raise BuildError("no recipe in bundle/conformance/images.py specs() for %s, though images.RECIPES names it; "
                             "add the recipe or take the name out of RECIPES" % ", ".join(sorted(map(str, missing))))
        manifest = []
        for i, (name, layers, config) in enumerate(specs, 1):
            fn = build.safe_name(name) + ".tar"
            digest = oci.build_archive(os.path.join(tmp, "images", fn), name, layers, config)
            manifest.append({"name": name, "file": "images/" + fn, "digest": digest,
                             "size": os.path.getsize(os.path.join(tmp, "images", fn))})
            say("  [%d/%d] %s (%d MiB)" % (i, len(specs), name, manifest[-1]["size"] >> 20))
        # The bundle's images the suite runs (pause) travel with the kit too, under the name the suite
        # uses: a cluster deployed online has them only under its own registry's name.
        with open(os.path.join(bundle_path, "images", "manifest.json")) as f:
            in_bundle = {i["name"]: i for i in json.load(f)}
        for name in sorted(n for n, s in provided.items() if s == "the offline bundle"):
            entry = dict(in_bundle[name])
            shutil.copyfile(os.path.join(bundle_path, entry["file"]), os.path.join(tmp, entry["file"]))
            manifest.append(entry)
            say("  [bundle] %s (%d MiB)" % (name, entry["size"] >> 20))
        with open(os.path.join(tmp, "images", "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        with open(os.path.join(tmp, "images.txt"), "w") as f:
            f.write("".join("%s\t%s\n" % (n, provided.get(n, "unavailable")) for n in names))
        with open(os.path.join(tmp, "unavailable-images.txt"), "w") as f:
            f.write("# Images e2e.test --list-images names that the kit does not provide, and why.\n")
            f.write("".join("%s\t%s\n" % item for item in sorted(unavailable.items())))
        meta = {"kubernetes_version": v["kubernetes"]["version"], "ginkgo_version": ginkgo_version(),
                "bundle": os.path.basename(bundle_path), "images": [m["name"] for m in manifest],
                "from_bundle": sorted(n for n, s in provided.items() if s == "the offline bundle"),
                "unavailable": unavailable, "debian": {n: pins[n] for n in sorted(pins)}}
        with open(os.path.join(tmp, "kit.json"), "w") as f:
            json.dump(meta, f, indent=2)
        files = sorted(os.path.relpath(os.path.join(d, fn), tmp) for d, _, fs in os.walk(tmp) for fn in fs)
        with open(os.path.join(tmp, "SHA256SUMS"), "w") as f:
            f.writelines("%s  %s\n" % (build.sha256_file(os.path.join(tmp, rel)), rel) for rel in files)
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    kit_link = os.path.join(build.REPO, "artifacts", "conformance")
    if "--kit-link" in argv:
        i = argv.index("--kit-link")
        kit_link = argv[i + 1]
        del argv[i:i + 2]
    # the default bundle first (cached when built before): the kit takes kubectl and pause from it
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        rc = build.main(argv)
    if rc != 0:
        return rc
    args = argparse.ArgumentParser(add_help=False)
    args.add_argument("--kubernetes-version", default=os.environ.get("EDGE_CLUSTER_KUBERNETES_VERSION", "v1.34.12"))
    args.add_argument("--cache", default=os.environ.get("EDGE_CLUSTER_CACHE", os.path.expanduser("~/.cache/edge-cluster")))
    args.add_argument("--link", default=os.path.join(build.REPO, "artifacts", "bundle"))
    args, _ = args.parse_known_args(argv)
    try:
        started = time.time()
        bundle_path = os.path.realpath(args.link)
        v = build.load_versions(args.kubernetes_version)
        kv = kit_versions(args.kubernetes_version)
        gov = build.go_version()
        say("conformance kit %s: step 1/2 Debian packages" % args.kubernetes_version)
        pins = build.deb_versions(sorted({n for layer in kv["debian"].values() if isinstance(layer, list) for n in layer}))
        out = os.path.join(args.cache, "conformance", "%s-%s" % (args.kubernetes_version, kit_key(v, kv, gov, pins, bundle_path)))
        if os.path.exists(os.path.join(out, "SHA256SUMS")):
            say("conformance kit is cached: %s" % out)
        else:
            say("conformance kit: step 2/2 Go programs and images")
            build_kit(args.cache, v, kv, gov, pins, bundle_path, out)
            say("conformance kit built in %ds: %s" % (time.time() - started, out))
        os.makedirs(os.path.dirname(kit_link), exist_ok=True)
        if os.path.islink(kit_link) or os.path.exists(kit_link):
            os.remove(kit_link)
        os.symlink(out, kit_link)
        print(out)
        return 0
    except BuildError as e:
        say("ERROR: %s" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
