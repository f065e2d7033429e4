#!/bin/bash
# Runs ON a lab node (tests/lab/test_lab.py ships it with Ansible's script module): can this
# container be a Kubernetes node? Fetches the bundle's static package from the lab's HTTP server
# and the pause image from the lab registry (both on the lab network), starts containerd, runs a
# container with ctr, then starts kubelet (systemd cgroup driver) with one static pod and waits
# for that pod to run inside the node's own kubepods.slice. Prints what it found; rc != 0 = no.
#   node_probe.sh SERVICES_IP
set -euo pipefail
services=$1
http=http://$services:8080
registry=$services:5000
say() { echo "probe: $*"; }
fail() { echo "probe FAILED: $*"; journalctl -u probe-containerd -u probe-kubelet --no-pager | tail -n 40; exit 1; }

work=/root/probe
rm -rf "$work" && mkdir -p "$work/manifests" && cd "$work"
package=$(curl -fsS "$http/bundle.json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["package"])')
curl -fsS "$http/$package" | tar -xz
tar -xzf edge-install/container/containerd-*.tar.gz -C /usr/local
install -m 0755 edge-install/bin/kubelet edge-install/bin/crictl edge-install/bin/kubeadm /usr/local/bin/
pause=$(curl -fsS "$http/bundle.json" | python3 -c 'import json, sys; print([i for i in json.load(sys.stdin)["images"] if "/pause:" in i][0].split("/", 1)[1])')
say "static package $package unpacked; pause image $registry/$pause"

# What a node on this host needs from containerd: the systemd cgroup driver (as kubelet), and
# restrict_oom_score_adj, since nothing here holds CAP_SYS_RESOURCE: without it every sandbox
# fails ("can't get final child's PID from pipe") when runc tries to lower oom_score_adj.
mkdir -p /etc/containerd
/usr/local/bin/containerd config default > /etc/containerd/config.toml
sed -i -e 's/SystemdCgroup = false/SystemdCgroup = true/' \
       -e 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' \
       -e "s#sandbox_image = .*#sandbox_image = \"$registry/$pause\"#" /etc/containerd/config.toml
systemd-run --quiet --unit=probe-containerd /usr/local/bin/containerd
for _ in $(seq 30); do [ -S /run/containerd/containerd.sock ] && break; sleep 1; done
[ -S /run/containerd/containerd.sock ] || fail "containerd did not start"
say "containerd $(/usr/local/bin/containerd --version | awk '{print $3}') running"

ctr -n k8s.io images pull --plain-http "$registry/$pause" >/dev/null || fail "pull from the lab registry"
out=$(ctr -n k8s.io run --rm "$registry/$pause" probe-ctr /pause -v) || fail "ctr run"
say "ctr run: $out"

# The bundle's image archives import into containerd as they are, and are exactly what this
# kubeadm asks for; then kubeadm's own preflight passes on this node with the bundle's binaries.
version=$(curl -fsS "$http/bundle.json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["kubernetes_version"])')
for f in $(curl -fsS "$http/images/manifest.json" | python3 -c 'import json, sys; print(" ".join(i["file"] for i in json.load(sys.stdin)))'); do
  curl -fsS "$http/$f" | ctr -n k8s.io images import - >/dev/null || fail "ctr import of $f"
done
# (the list is captured first: `grep -q` on a pipe would SIGPIPE ctr and fail under pipefail)
have=$(ctr -n k8s.io images ls -q)
missing=$(for i in $(kubeadm config images list --kubernetes-version "$version"); do
  grep -qxF "$i" <<<"$have" || echo "$i"; done)
[ -z "$missing" ] || fail "images kubeadm needs are missing after import: $missing"
say "imported every bundle image; all $(kubeadm config images list --kubernetes-version "$version" | wc -l) images kubeadm $version lists are present"
# SystemVerification only warns about cgroup v1 here; nothing else may fail. (node_prep sets the
# forwarding sysctls on real runs; the probe sets them itself.)
sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
cat > kubeadm.yaml <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration: {criSocket: unix:///run/containerd/containerd.sock}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: $version
EOF
kubeadm init phase preflight --config kubeadm.yaml > preflight.log 2>&1 || { cat preflight.log; fail "kubeadm init phase preflight"; }
say "kubeadm init phase preflight passed ($(grep -c WARNING preflight.log || true) warnings)"

cat > kubelet.yaml <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
staticPodPath: $work/manifests
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
EOF
cat > manifests/probe.yaml <<EOF
apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: default}
spec:
  hostNetwork: true
  containers:
  - name: pause
    image: $registry/$pause
    imagePullPolicy: IfNotPresent
EOF
systemd-run --quiet --unit=probe-kubelet /usr/local/bin/kubelet --config "$work/kubelet.yaml"
crictl="crictl --runtime-endpoint unix:///run/containerd/containerd.sock"
for _ in $(seq 90); do
  [ -n "$($crictl ps --name pause --state running -q 2>/dev/null)" ] && break
  systemctl is-active --quiet probe-kubelet || fail "kubelet exited"
  sleep 1
done
id=$($crictl ps --name pause --state running -q)
[ -n "$id" ] || fail "the static pod did not start within 90 s"
pid=$($crictl inspect --output go-template --template '{{.info.pid}}' "$id")
cg=$(grep -E '^[0-9]+:memory:' "/proc/$pid/cgroup" | cut -d: -f3)
case $cg in /kubepods.slice/*) ;; *) fail "pod cgroup $cg is not under the node's kubepods.slice" ;; esac
[ -d "/sys/fs/cgroup/memory$cg" ] || fail "pod cgroup /sys/fs/cgroup/memory$cg missing"
if journalctl -u probe-kubelet --no-pager | grep -E 'Failed to start ContainerManager|failed to run Kubelet'; then
  fail "kubelet reported a container manager failure"
fi
say "kubelet $(/usr/local/bin/kubelet --version | awk '{print $2}') active, static pod running in $cg"
systemctl stop probe-kubelet
$crictl rmp --force --all >/dev/null 2>&1 || true
systemctl stop probe-containerd
say "ok"
