"""The whole test suite (make test), part by part, with each part's time in a table at the end.

Usage: python3 tests/suite.py [--keep-going] [PART ...]   (no PART: every part; `python3 tests/suite.py --list`)

First the bootstrap (the virtualenv every part uses). Then every other part runs in SUITE_LANES lanes (default
2, the project's two cores): the test bed's preparation (images and archives, etcd builds: one job), the checks
that need no test-bed host (ansible-lint, ansible-test, Sphinx: one chain, see parts()), the integration tests
and the Molecule scenarios. The preparation and the checks start together: on a fresh machine the preparation
waits mostly on downloads and disks, and the checks need neither its images nor its builds. Every other part
waits until the preparation has ended. Each lane takes the next part as soon as it is free (and may start): the
static checks early (a mistake they find ends the suite early), then the integration tests and the scenarios,
the longest expected first (EXPECTED), so that the lanes end close together whatever each part really takes.
One scenario alone leaves about a third of the two cores idle, waiting on SSH, systemd and etcd; two parts at
once use them fully. A part's output is printed when it ends. The first failed part stops the suite (the other
lane finishes the part it is in), unless --keep-going. The times go to .cache/suite-times.json;
docs/testing.md keeps the latest figures."""
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOGS = ROOT / ".cache" / "suite"


def make_var(name):
    out = subprocess.run(["make", "-s", "--no-print-directory", "print-" + name], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return out.split()


def parts():
    """(bootstrap, pool): the bootstrap is [(part, argv)], run first; the pool is [[(part, argv), ...]], jobs of
    one or more parts (a job's parts run in a row), in the order the lanes take them. The pool's first job is the
    test bed's preparation, its second the static checks; every later job waits for the preparation."""
    core, matrix, oldest = make_var("CORE")[0], make_var("MATRIX"), make_var("OLDEST")[0]
    scenarios, oldest_scenarios = make_var("SCENARIOS"), make_var("OLDEST_SCENARIOS")

    def make(name, **variables):
        return ["make", "--no-print-directory", name] + ["%s=%s" % item for item in variables.items()]

    def target(name, **variables):
        return make(name, COLLECTION_COPY=".cache/collection-2/ansible_collections/dcs/etcd", **variables)
    # The checks are one job, on one copy of the collection, so that no two parts use one ansible-core
    # virtualenv at once (ansible-test installs into it): about as long as the integration tests (real etcd on
    # loopback), the other job that starts first.
    checks = []
    for v in [core] + ([oldest] if oldest != core else []):
        checks += [("sanity %s" % v, target("sanity-core", CORE_VERSION=v)),
                   ("units %s" % v, target("units-core", CORE_VERSION=v))]
    checks += [("units %s" % v, target("units-core", CORE_VERSION=v)) for v in matrix if v not in (core, oldest)]
    checks += [("lint", target("lint")), ("docs", target("docs"))]
    bootstrap = [("bootstrap", make("bootstrap"))]
    preparation = [("images and archives", make("archive")), ("etcd builds", make("builds"))]
    molecule = [("molecule %s" % s, make("scenario", PREPARE="", SCENARIO=s)) for s in scenarios] + \
        [("molecule %s on %s" % (s, oldest), make("scenario-oldest", PREPARE="", SCENARIO=s)) for s in oldest_scenarios]
    pool = [preparation, checks, [("integration", make("integration"))]] + \
        [[part] for part in sorted(molecule, key=lambda part: -EXPECTED.get(part[0].split()[1], 120))]
    return bootstrap, pool


# Seconds each scenario took with two parts at once on a fresh machine of the project, 2026-12-07 (docs/testing.md):
# the lanes take the longest first, so that a short one ends the suite.
EXPECTED = {"security": 503, "backup": 440, "scale": 391, "rolling": 305, "upgrade": 292, "default": 187,
            "patroni": 184, "maintain": 146, "pigsty": 89, "monitor": 82, "clusters": 63}


class Suite(object):
    def __init__(self, keep_going=False):
        self.keep_going = keep_going
        self.lanes = max(1, int(os.environ.get("SUITE_LANES", "2")))
        self.results = []  # (part, seconds, ok)
        self.failed = threading.Event()
        self.prepared = threading.Event()  # the test bed's preparation has ended (passed or not)
        self.lock = threading.Lock()

    def run_part(self, name, argv, stream):
        if self.failed.is_set() and not self.keep_going:
            return
        LOGS.mkdir(parents=True, exist_ok=True)
        log = LOGS / (name.replace(" ", "-") + ".log")
        with self.lock:
            print("=== %s: %s" % (name, " ".join(argv)), flush=True)
        started = time.monotonic()
        with open(log, "w") as out:
            if stream:
                proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for line in proc.stdout:
                    sys.stdout.write(line)
                    out.write(line)
                sys.stdout.flush()
                code = proc.wait()
            else:
                code = subprocess.run(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
        seconds = time.monotonic() - started
        with self.lock:
            if not stream:
                text = log.read_text(errors="replace")
                lines = text.splitlines()
                # A passing part of a lane shows its end; a failing one shows all of it.
                shown = lines if code else lines[-15:]
                print("--- %s (output in %s%s)" % (name, log.relative_to(ROOT),
                                                   "" if code or len(lines) <= 15 else ", last 15 lines"))
                print("\n".join(shown), flush=True)
            print("=== %s: %s in %.0f s" % (name, "passed" if code == 0 else "FAILED (exit %d)" % code, seconds),
                  flush=True)
            self.results.append((name, seconds, code == 0))
        if code != 0:
            self.failed.set()

    def run_lane(self, jobs, stream):
        """Take the next job from jobs (shared by the lanes; each one (its place in the pool, parts)) until none is
        left. The preparation (place 0) and the checks (place 1) wait for nothing, every later job for the
        preparation."""
        while True:
            with self.lock:
                if not jobs:
                    return
                place, job = jobs.pop(0)
            if place >= 2:
                self.prepared.wait()
            try:
                for name, argv in job:
                    self.run_part(name, argv, stream)
            finally:
                if place == 0:
                    self.prepared.set()

    def run(self, bootstrap, pool, only):
        started = time.monotonic()

        def wanted(name):
            return not only or name in only or name.split()[0] in only
        self.run_lane([(1, [part]) for part in bootstrap if wanted(part[0])], stream=True)
        jobs = [(place, [part for part in job if wanted(part[0])]) for place, job in enumerate(pool)]
        if not jobs[0][1]:
            self.prepared.set()  # no preparation in this run: nothing to wait for
        jobs = [(place, job) for place, job in jobs if job]
        if not self.failed.is_set() or self.keep_going:
            count = max(1, min(self.lanes, len(jobs)))
            if count == 1:
                self.run_lane(jobs, stream=True)
            else:
                threads = [threading.Thread(target=self.run_lane, args=(jobs, False)) for lane in range(count)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        total = time.monotonic() - started
        self.report(total)
        return 0 if not self.failed.is_set() else 1

    def report(self, total):
        width = max([len(result[0]) for result in self.results] + [len("whole suite (wall clock)")])
        row = "| {:<%d} | {:>8} | {:<6} |" % width
        print("\nsuite: time of each part (after the bootstrap, %d parts at once)" % self.lanes)
        print(row.format("part", "seconds", "result"))
        print(row.format("-" * width, "-" * 8, "-" * 6))
        for name, seconds, ok in self.results:
            print(row.format(name, round(seconds), "passed" if ok else "FAILED"))
        print(row.format("whole suite (wall clock)", round(total), ""))
        path = ROOT / ".cache" / "suite-times.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"total": round(total), "parts": [
            {"part": name, "seconds": round(seconds), "passed": ok} for name, seconds, ok in self.results]},
            indent=1) + "\n")
        passed = sum(1 for result in self.results if result[2])
        print("suite: %d passed, %d failed" % (passed, len(self.results) - passed), flush=True)


def main(argv):
    bootstrap, pool = parts()
    if argv[:1] == ["--list"]:
        for name, command in bootstrap + [part for job in pool for part in job]:
            print("%-28s %s" % (name, " ".join(command)))
        return 0
    os.environ.setdefault("ANSIBLE_FORCE_COLOR", "0")
    keep_going = "--keep-going" in argv
    return Suite(keep_going).run(bootstrap, pool, set(argv) - {"--keep-going"})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
