"""Benchmark (not a timed test): wall time of a fresh deploy of 3 and 5 members, archive method
including the install, and of the no-op re-run, on the test bed (systemd containers over SSH).

Usage: python tests/bench.py [ROUNDS]   (default 3 rounds of each size; medians are reported)

The re-run is timed three times (the median is reported); on the way the script checks that the re-runs
report changed=0 and restart nothing (each member's etcd PID is the same before and after). Prints a table; writes .cache/bench.json."""
import json
import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTBED = [sys.executable, str(ROOT / "tests/testbed/testbed.py")]
KEY = ROOT / ".cache/ssh/id_ed25519"


def archive():
    out = subprocess.run(TESTBED + ["archive", "trixie"], check=True, capture_output=True, text=True).stdout.split()
    return out[0], out[1]


def cpu_steal():
    """Jiffies of CPU time the hypervisor gave to others (steal), and all jiffies, so far."""
    fields = [int(x) for x in pathlib.Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return fields[7], sum(fields)


def playbook(inventory, extra):
    started = time.monotonic()
    res = subprocess.run([str(ROOT / "etcd.yml"), "-i", str(inventory)] + extra, cwd=ROOT,
                         capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if res.returncode != 0:
        sys.exit("playbook failed:\n" + res.stdout[-3000:] + res.stderr[-2000:])
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", res.stdout))
    return elapsed, changed


def pids(ips):
    result = {}
    for ip in ips:
        out = subprocess.run(["ssh", "-q", "-i", str(KEY), "-o", "StrictHostKeyChecking=no", "-o",
                              "UserKnownHostsFile=/dev/null", "root@" + ip, "systemctl show -p MainPID --value etcd"],
                             capture_output=True, text=True, check=True).stdout.strip()
        result[ip] = out
    return result


def run(count, src, sha):
    name = "bench%d" % count
    inventory = ROOT / ".cache" / name / "inventory.yml"
    subprocess.run(TESTBED + ["down", name], check=True)
    ips = subprocess.run(TESTBED + ["up", name, str(count), "--subnet-id", str(80 + count), "--inventory",
                                    str(inventory)], check=True, capture_output=True, text=True).stdout.split()
    extra = ["-e", "etcd_install_method=archive", "-e", "etcd_archive_src=" + src, "-e", "etcd_archive_checksum=" + sha]
    steal_before = cpu_steal()
    try:
        started = time.monotonic()
        subprocess.run(["ansible-playbook", "-i", str(inventory), str(ROOT / "tests/bench_reference.yml")], cwd=ROOT,
                       check=True, capture_output=True)
        reference = time.monotonic() - started
        fresh = playbook(inventory, extra)[0]
        before = pids(ips)
        reruns = [playbook(inventory, extra), playbook(inventory, extra), playbook(inventory, extra)]
        after = pids(ips)
    finally:
        subprocess.run(TESTBED + ["down", name], check=True)
    steal_after = cpu_steal()
    steal = 100.0 * (steal_after[0] - steal_before[0]) / max(1, steal_after[1] - steal_before[1])
    restarted = sum(1 for ip in ips if before[ip] != after[ip])
    times = sorted(rerun[0] for rerun in reruns)
    return {"members": count, "fresh_s": round(fresh, 1), "rerun_s": round(times[1], 1),
            "rerun_all_s": [round(t, 1) for t in times],
            "rerun_changed": sum(rerun[1] for rerun in reruns), "rerun_restarts": restarted, "cpu_steal_pct": round(steal, 1),
            "reference_s": round(reference, 1)}


def median(values):
    return sorted(values)[len(values) // 2]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    src, sha = archive()
    # Sizes alternate, so that a noisy minute on the shared 2-core machine hits both.
    samples = {3: [], 5: []}
    for count in (3, 5) * rounds:
        samples[count].append(run(count, src, sha))
    print("| members | fresh deploy, median (s) | fresh deploys (s) | no-op re-run, median (s) | re-runs (s) | changed | restarts |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    summary = {}
    for count, runs in samples.items():
        fresh = [r["fresh_s"] for r in runs]
        reruns = [t for r in runs for t in r["rerun_all_s"]]
        summary[count] = {"fresh_median_s": median(fresh), "rerun_median_s": median(reruns), "runs": runs}
        print("| %d | %.1f | %s | %.1f | %s | %d | %d |" % (
            count, median(fresh), ", ".join("%.1f" % t for t in fresh), median(reruns),
            ", ".join("%.1f" % t for t in sorted(reruns)), sum(r["rerun_changed"] for r in runs),
            sum(r["rerun_restarts"] for r in runs)))
    references = [r["reference_s"] for r in samples[3]]
    print("Reference (10 ping tasks x 3 hosts, incl. start-up): %s s" % ", ".join("%.1f" % x for x in references))
    steals = [r["cpu_steal_pct"] for runs in samples.values() for r in runs]
    print("CPU steal by the hypervisor during the runs: %s %%" % ", ".join("%.0f" % x for x in steals))
    print("5-member / 3-member fresh deploy (medians): %.2f"
          % (summary[5]["fresh_median_s"] / summary[3]["fresh_median_s"]))
    (ROOT / ".cache" / "bench.json").write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
