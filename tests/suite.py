"""The whole test suite (make test), part by part, with each part's time in a table at the end.

Usage: python3 tests/suite.py [--keep-going] [PART ...]   (no PART: every part; `python3 tests/suite.py --list`)

The checks that need no test-bed host (ansible-lint, ansible-test, Sphinx) and the integration tests each keep
about one core busy, so they run in two lanes at once on the project's two cores (see parts()). The Molecule
scenarios run in MOLECULE_LANES lanes (default 2): one scenario alone leaves about a third of the two cores idle,
waiting on SSH, systemd and etcd; two use them fully. A lane's output is printed when each of its parts ends. The
first failed part stops the suite (a lane finishes the part it is in), unless --keep-going. The times go to
.cache/suite-times.json; docs/testing.md keeps the latest figures."""
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
    """[(stage, [lane, ...])]: a lane is [(part, argv)]; the stages run in order, the lanes of a stage at once."""
    core, matrix, oldest = make_var("CORE")[0], make_var("MATRIX"), make_var("OLDEST")[0]
    scenarios, oldest_scenarios = make_var("SCENARIOS"), make_var("OLDEST_SCENARIOS")

    def make(name, **variables):
        return ["make", "--no-print-directory", name] + ["%s=%s" % item for item in variables.items()]

    def target(name, lane=1, **variables):
        return make(name, COLLECTION_COPY=".cache/collection-%d/ansible_collections/dcs/etcd" % lane, **variables)
    # Two lanes of about the same length (3.7 and 3.4 min on 2026-12-06): the integration tests (real etcd on
    # loopback, about one core) alone; the other checks in lane 2, on one copy of the collection, so that no two
    # parts use one ansible-core virtualenv at once (ansible-test installs into it).
    lane1 = [("integration", make("integration"))]
    lane2 = []
    for v in [core] + ([oldest] if oldest != core else []):
        lane2 += [("sanity %s" % v, target("sanity-core", 2, CORE_VERSION=v)),
                  ("units %s" % v, target("units-core", 2, CORE_VERSION=v))]
    lane2 += [("units %s" % v, target("units-core", 2, CORE_VERSION=v)) for v in matrix if v not in (core, oldest)]
    lane2 += [("lint", target("lint", 2)), ("docs", target("docs", 2))]
    stages = [
        [[("bootstrap", make("bootstrap")), ("images and archives", make("archive")), ("etcd builds", make("builds"))]],
        [lane1, lane2],
        molecule_lanes(
            [("molecule %s" % s, make("scenario", PREPARE="", SCENARIO=s)) for s in scenarios] +
            [("molecule %s on %s" % (s, oldest), make("scenario-oldest", PREPARE="", SCENARIO=s)) for s in oldest_scenarios]),
    ]
    return stages


def molecule_lanes(scenarios):
    """The scenarios in MOLECULE_LANES lanes (default 2): the longest first (EXPECTED), each onto the lane that
    ends first. The same lanes every run."""
    count = max(1, int(os.environ.get("MOLECULE_LANES", "2")))

    def expected(name):
        return EXPECTED.get(name.split()[1], 120)
    lanes, ends = [[] for lane in range(count)], [0] * count
    for name, argv in sorted(scenarios, key=lambda item: -expected(item[0])):
        lane = ends.index(min(ends))
        lanes[lane].append((name, argv))
        ends[lane] += expected(name)
    return [lane for lane in lanes if lane]


# Seconds each scenario took in the two-lane suite on the project's machine, 2026-12-06 (docs/testing.md).
EXPECTED = {"security": 566, "scale": 421, "backup": 351, "patroni": 272, "rolling": 261, "default": 235,
            "maintain": 208, "pigsty": 151, "monitor": 128, "upgrade": 101, "clusters": 75}


class Suite(object):
    def __init__(self, keep_going=False):
        self.keep_going = keep_going
        self.results = []  # (part, seconds, ok)
        self.failed = threading.Event()
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

    def run_lane(self, lane, stream):
        for name, argv in lane:
            self.run_part(name, argv, stream)

    def run(self, stages, only):
        started = time.monotonic()
        for stage in stages:
            lanes = [[(n, a) for n, a in lane if not only or n in only or n.split()[0] in only] for lane in stage]
            lanes = [lane for lane in lanes if lane]
            if len(lanes) == 1:
                self.run_lane(lanes[0], stream=True)
            elif lanes:
                threads = [threading.Thread(target=self.run_lane, args=(lane, False)) for lane in lanes]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            if self.failed.is_set() and not self.keep_going:
                break
        total = time.monotonic() - started
        self.report(total)
        return 0 if not self.failed.is_set() else 1

    def report(self, total):
        width = max([len(result[0]) for result in self.results] + [len("whole suite (wall clock)")])
        row = "| {:<%d} | {:>8} | {:<6} |" % width
        print("\nsuite: time of each part (the parts of a stage's lanes ran side by side)")
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
    stages = parts()
    if argv[:1] == ["--list"]:
        for stage in stages:
            for lane in stage:
                for name, command in lane:
                    print("%-28s %s" % (name, " ".join(command)))
        return 0
    os.environ.setdefault("ANSIBLE_FORCE_COLOR", "0")
    keep_going = "--keep-going" in argv
    return Suite(keep_going).run(stages, set(argv) - {"--keep-going"})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
