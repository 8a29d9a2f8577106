"""The off-host store's client (module_utils/_s3.py): AWS Signature Version 4 against the examples AWS publishes
for S3 (the store a real signature is checked by is moto's server, in the backup scenario), and the URLs it
accepts."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import datetime

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils import _s3

# docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html: the example credentials and requests.
ACCESS, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HOST = "examplebucket.s3.amazonaws.com"
WHEN = datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("path,query,headers,signature", [
    ("/test.txt", [], {"Range": "bytes=0-9"}, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
    ("/", [("lifecycle", "")], {}, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
    ("/", [("max-keys", "2"), ("prefix", "J")], {}, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
])
def test_requests_are_signed_as_aws_signs_them(path, query, headers, signature):
    signed = _s3.signature_headers("GET", HOST, path, query, headers, _s3.EMPTY_SHA256, ACCESS, SECRET, "us-east-1", WHEN)
    assert signed["x-amz-date"] == "20130524T000000Z" and signed["x-amz-content-sha256"] == _s3.EMPTY_SHA256
    assert signed["authorization"].startswith("AWS4-HMAC-SHA256 Credential=%s/20130524/us-east-1/s3/aws4_request, " % ACCESS)
    assert signed["authorization"].endswith("Signature=" + signature)


def test_another_secret_or_region_is_another_signature():
    one = _s3.signature_headers("GET", HOST, "/", [], {}, _s3.EMPTY_SHA256, ACCESS, SECRET, "us-east-1", WHEN)
    two = _s3.signature_headers("GET", HOST, "/", [], {}, _s3.EMPTY_SHA256, ACCESS, SECRET + "x", "us-east-1", WHEN)
    three = _s3.signature_headers("GET", HOST, "/", [], {}, _s3.EMPTY_SHA256, ACCESS, SECRET, "eu-west-1", WHEN)
    assert len(set(h["authorization"] for h in (one, two, three))) == 3


@pytest.mark.parametrize("url,parsed", [
    ("https://s3.eu-west-1.amazonaws.com/etcd-backups", ("https", "s3.eu-west-1.amazonaws.com", "etcd-backups", "")),
    ("http://10.0.0.5:9000/backups/prod/etcd/", ("http", "10.0.0.5:9000", "backups", "prod/etcd/")),
    ("https://minio.example.com/b-1.x/a", ("https", "minio.example.com", "b-1.x", "a/")),
    ("s3://bucket/prefix", None),
    ("https://host/", None),
    ("https://host/Upper", None),
    ("https://host/ab", None),
    ("", None),
])
def test_only_path_style_urls_are_taken(url, parsed):
    assert _s3.parse_url(url) == parsed


def test_a_store_refuses_a_url_it_cannot_use():
    with pytest.raises(_s3.S3Error, match="etcd_backup_s3_url=s3://b/p: .*not an http"):
        _s3.Store("s3://b/p", "a", "s")


def test_a_store_that_does_not_answer_says_so():
    # A port on loopback where nothing listens (traffic stays on this machine).
    store = _s3.Store("http://127.0.0.1:9/bucket", "a", "s", timeout=2)
    with pytest.raises(_s3.S3Error, match=r"listing of http://127.0.0.1:9/bucket: http://127.0.0.1:9 does not answer"):
        store.list("etcd-")
