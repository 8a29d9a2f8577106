import hashlib

from ansible_collections.dcs.etcd.plugins.lookup.file_sha256 import LookupModule


def test_digest_of_files_and_missing_paths(tmp_path):
    path = tmp_path / "etcd-v3.5.1-linux-amd64.tar.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 5000)
    lookup = LookupModule()
    assert lookup.run([str(path), str(tmp_path / "absent")], variables={}) == [
        hashlib.sha256(path.read_bytes()).hexdigest(), ""]
