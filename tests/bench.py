"""Benchmark (not a timed test): wall time of a fresh deploy of 3 and 5 members, archive method
including the install, and of the no-op re-run, on the test bed (systemd containers over SSH).

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
    out = subprocess.run(TESTBED + ["archive"], check=True, capture_output=True, text=True).stdout.split()
    return out[0], out[1]


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
    try:
        fresh = playbook(inventory, extra)[0]
        before = pids(ips)
        reruns = [playbook(inventory, extra) for _ in range(3)]
        after = pids(ips)
    finally:
        subprocess.run(TESTBED + ["down", name], check=True)
    restarted = sum(1 for ip in ips if before[ip] != after[ip])
    times = sorted(t for t, _ in reruns)
    return {"members": count, "fresh_s": round(fresh, 1), "rerun_s": round(times[1], 1),
            "rerun_all_s": [round(t, 1) for t in times],
            "rerun_changed": sum(c for _, c in reruns), "rerun_restarts": restarted}


def main():
    src, sha = archive()
    results = [run(3, src, sha), run(5, src, sha)]
    print("| members | fresh deploy (s) | no-op re-run, median of 3 (s) | re-runs (s) | changed | restarts |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print("| %d | %.1f | %.1f | %s | %d | %d |" % (r["members"], r["fresh_s"], r["rerun_s"],
              ", ".join("%.1f" % t for t in r["rerun_all_s"]), r["rerun_changed"], r["rerun_restarts"]))
    print("5-member / 3-member fresh deploy: %.2f" % (results[1]["fresh_s"] / results[0]["fresh_s"]))
    (ROOT / ".cache" / "bench.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
