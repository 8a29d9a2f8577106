import hashlib

from ansible.plugins.loader import lookup_loader


def test_digest_of_files_and_missing_paths(tmp_path):
    path = tmp_path / "etcd-v3.5.1-linux-amd64.tar.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 5000)
    lookup = lookup_loader.get("dcs.etcd.file_sha256")
    assert lookup.run([str(path), str(tmp_path / "absent")], variables={}) == [
        hashlib.sha256(path.read_bytes()).hexdigest(), ""]
