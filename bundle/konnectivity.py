"""Konnectivity (apiserver-network-proxy) in the bundle: the proxy server and agent as images.

Private to bundle/build.py. The Go module bundle/go/konnectivity wraps the published
sigs.k8s.io/apiserver-network-proxy and its konnectivity-client at one release (upstream's own
go.mod replaces the client with a local folder, which only applies inside that module). The images
follow upstream's: a static binary at the root as the entrypoint, run as distroless' nonroot user.
"""

import os

import oci

NAME = "konnectivity"
MODULES = ("sigs.k8s.io/apiserver-network-proxy", "sigs.k8s.io/apiserver-network-proxy/konnectivity-client")
# image name under the image repository -> the module's command it holds
COMMANDS = {"proxy-server": "server", "proxy-agent": "agent"}
NONROOT = "65532"


def pin_error(v, gomod):
    """A refusal message when bundle/versions and the wrapper's go.mod (`go mod edit -json`) disagree."""
    want = v[NAME]["version"]
    have = {r["Path"]: r["Version"] for r in gomod.get("Require") or []}
    wrong = ["%s %s" % (mod, have.get(mod, "(not required)")) for mod in MODULES if have.get(mod) != want]
    if wrong:
        return ("bundle/versions pins konnectivity %s but bundle/go/%s/go.mod requires %s: change both together "
                "(in bundle/go/%s: `go get %s` then `GOSUMDB=off go mod tidy`, and commit go.mod and go.sum)"
                % (want, NAME, ", ".join(wrong), NAME, " ".join("%s@%s" % (m, want) for m in MODULES)))
    return None


def component():
    """The go_build arguments: both commands from one module, no version variables to set."""
    return (NAME, ["%s/cmd/%s" % (MODULES[0], cmd) for cmd in COMMANDS.values()], "")


def image_names(v, repo):
    return {image: "%s/%s/%s:%s" % (repo, v[NAME]["image_path"], image, v[NAME]["version"]) for image in COMMANDS}


def image_specs(v, repo, bins, static):
    """(name, layers, config) for each image; `static` is the builder's base layer (CA bundle, /tmp)."""
    base = dict(static)
    base["etc/passwd"] = oci.data(static["etc/passwd"].data.decode()
                                  + "nonroot:x:%s:%s:nonroot:/home/nonroot:/sbin/nologin\n" % (NONROOT, NONROOT))
    base["etc/group"] = oci.data(static["etc/group"].data.decode() + "nonroot:x:%s:\n" % NONROOT)
    specs = []
    for image, name in image_names(v, repo).items():
        binary = oci.file(os.path.join(bins[NAME], COMMANDS[image]), 0o755)
        specs.append((name, [base, {image: binary}],
                      {"Entrypoint": ["/" + image], "User": "%s:%s" % (NONROOT, NONROOT), "WorkingDir": "/"}))
    return specs


def bundle_meta(v, repo):
    """What bundle.json says about it, for the roles that will deploy it."""
    names = image_names(v, repo)
    return {"version": v[NAME]["version"], "server_image": names["proxy-server"], "agent_image": names["proxy-agent"]}
