"""Client load for operations on a live cluster: writes sequential keys at a steady rate during an
operation, and afterwards checks that every acknowledged write is on every member.

A writer thread puts /load/<run>/<seq> = <seq> through one member at a time (the etcd3 client, mutual
TLS). When a put fails, it records the error, moves to the next member and retries the same key until it
is acknowledged, so a member restart costs time, not keys. It records every acknowledged key, every error,
and every gap between two acknowledged writes longer than three write intervals (the longest is the write
stall a client such as Patroni sees). With RBAC, a token that a change of users or roles outdated is
renewed once by logging in again, as etcd's Go client and Patroni do; that is counted apart, not as an error.

    with LoadWriter(members, pki, rate=20) as load:
        load.settle()             # writes are flowing
        ...  # run the operation
        load.settle()             # and flow again after it
    report = load.report()        # acknowledged, errors, max_stall_s, gaps
    missing = load.verify(members)  # {member: [keys not found]}, empty when nothing was lost

Traffic goes only to the members given (the test bed's containers)."""
import os
import threading
import time
import uuid

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

import etcd3  # noqa: E402

# etcd's answers to a token issued before the last change of users, roles or permissions (the auth store's
# revision), or expired: a client logs in again and repeats the request.
AUTH_EXPIRED = ("revision of auth store is old", "invalid auth token")


def client(address, pki, cert_stem, port=2379, timeout=2, login=None, ca_file=None):
    """An etcd3 client with a client certificate; with login=(user, password) it also logs in (RBAC); ca_file
    replaces the CA of the PKI directory (a bundle of old and new CA during a rotation)."""
    user, password = login or (None, None)
    return etcd3.client(host=address, port=port, ca_cert=ca_file or os.path.join(pki, "ca.crt"),
                        cert_cert=cert_stem + ".crt", cert_key=cert_stem + ".key", timeout=timeout,
                        user=user, password=password)


class LoadWriter(object):
    def __init__(self, members, pki, rate=20.0, prefix=None, login=None, ca_file=None):
        """members: list of (address, cert_stem) pairs; cert_stem is a client certificate's path without
        .crt/.key (a member certificate from etcd_pki_dir serves while RBAC is off). login and ca_file: see
        client()."""
        self.members, self.pki, self.interval = list(members), pki, 1.0 / rate
        self.login, self.ca_file = login, ca_file
        self.prefix = prefix or "/load/%s/" % uuid.uuid4().hex[:8]
        self.acknowledged = []
        self.errors = []
        self.reauthenticated = 0
        self.max_stall = 0.0
        # (seconds since the start, length in seconds) of every gap longer than three intervals.
        self.gaps = []
        self.started = None
        self.started_wall = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self):
        index = 0
        current = None
        last_ack = self.started = time.monotonic()
        self.started_wall = time.time()
        seq = 0
        retried_login = False
        next_at = time.monotonic()
        while not self._stop.is_set():
            key = "%s%08d" % (self.prefix, seq)
            try:
                if current is None:
                    address, stem = self.members[index % len(self.members)]
                    current = client(address, self.pki, stem, login=self.login, ca_file=self.ca_file)
                current.put(key, str(seq))
            except Exception as exc:  # any failure of the client: count it, try the next member
                if self.login and not retried_login and any(text in str(exc) for text in AUTH_EXPIRED):
                    # The token outlived a change of users or roles: log in again, as etcd's own client and
                    # Patroni's do, and write the same key again (not a failed request).
                    self.reauthenticated += 1
                    retried_login = True
                    if current is not None:
                        current.close()
                    current = None
                    continue
                self.errors.append((time.monotonic(), self.members[index % len(self.members)][0],
                                    type(exc).__name__, str(exc)[:200]))
                if current is not None:
                    try:
                        current.close()
                    except Exception:  # closing a broken channel may fail too
                        pass
                current = None
                index += 1
                time.sleep(0.05)
                continue
            retried_login = False
            now = time.monotonic()
            if now - last_ack > 3 * self.interval:
                self.gaps.append((round(last_ack - self.started, 3), round(now - last_ack, 3)))
            self.max_stall = max(self.max_stall, now - last_ack)
            last_ack = now
            self.acknowledged.append(key)
            seq += 1
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()
        if current is not None:
            current.close()

    def settle(self, writes=10, timeout=120):
        """Wait until `writes` more writes are acknowledged from now: before an operation, the load is running;
        after it, writes flow again, so any stall the operation caused has ended and is measured. Polls instead of
        sleeping a fixed time; fails after timeout seconds without them."""
        wanted = len(self.acknowledged) + writes
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < wanted:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the load writer acknowledged %d of %d writes in %d s; errors: %s" % (
                    len(self.acknowledged) - wanted + writes, writes, timeout, self.report()["error_kinds"]))
            time.sleep(self.interval)

    def settle_refused(self, errors=3, timeout=60):
        """Wait until the writer has been refused `errors` more times (a cluster that takes no write, such as one
        under a NOSPACE alarm) and nothing was acknowledged meanwhile."""
        acknowledged, wanted = len(self.acknowledged), len(self.errors) + errors
        deadline = time.monotonic() + timeout
        while len(self.errors) < wanted:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the load writer was refused %d of %d times in %d s" % (
                    len(self.errors) - wanted + errors, errors, timeout))
            time.sleep(self.interval)
        assert len(self.acknowledged) == acknowledged, "a write was acknowledged while writes were to be refused"

    def report(self):
        return {"acknowledged": len(self.acknowledged), "errors": len(self.errors),
                "error_kinds": sorted(set("%s: %s" % (e[2], e[3]) for e in self.errors))[:5],
                "reauthenticated": self.reauthenticated,
                "max_stall_s": round(self.max_stall, 3), "gaps": list(self.gaps),
                "started_at": round(self.started_wall or 0.0, 3)}

    def verify(self, members, settle_s=15):
        """Keys acknowledged but missing (or wrong) in each member's own copy (serializable reads), per
        member address. A member that is still catching up gets up to settle_s seconds."""
        missing = {}
        deadline = time.monotonic() + settle_s
        for address, stem in members:
            while True:
                with client(address, self.pki, stem, timeout=10, login=self.login, ca_file=self.ca_file) as c:
                    found = dict((meta.key.decode(), value.decode())
                                 for value, meta in c.get_prefix(self.prefix, serializable=True))
                lost = [k for k in self.acknowledged if found.get(k) != str(int(k.rsplit("/", 1)[1]))]
                if not lost or time.monotonic() >= deadline:
                    break
                time.sleep(1)
            if lost:
                missing[address] = lost
        return missing
