# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the off-host copy of backups in an S3-compatible object store (AWS S3,
MinIO, Ceph RGW, Garage, SeaweedFS, ...), with the Python standard library only, since the scheduled backup runs
it on the members: AWS Signature Version 4, path-style URLs (https://ENDPOINT/BUCKET/PREFIX), objects streamed
from and to files. An upload sends the file's SHA-256 as its x-amz-content-sha256, which the store checks; a
copy is verified by reading it back and hashing it."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import datetime
import hashlib
import hmac
import os
import re
import ssl
from xml.etree import ElementTree

from http.client import HTTPConnection, HTTPSConnection, HTTPException
from urllib.parse import quote

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHUNK = 1024 * 1024
URL_RE = re.compile(r"^(https?)://([^/?#]+)/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[^?#]*)?$")


class S3Error(Exception):
    """A request the store refused or could not serve: the operation, the HTTP status (0: no answer), and the
    store's error code and message."""

    def __init__(self, what, status=0, code="", message=""):
        self.status, self.code = status, code
        detail = ("HTTP %d %s%s" % (status, code, ": " + message if message else "")) if status else message
        super(S3Error, self).__init__("%s: %s" % (what, detail.strip()))


def parse_url(url):
    """(scheme, host[:port], bucket, prefix) of an etcd_backup_s3_url, or None when it is not one."""
    match = URL_RE.match(str(url or "").strip())
    if not match:
        return None
    prefix = (match.group(4) or "").strip("/")
    return match.group(1), match.group(2), match.group(3), prefix + "/" if prefix else ""


def _sign(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signature_headers(method, host, path, query, headers, payload_sha256, access_key, secret_key, region, now):
    """The headers of an AWS Signature Version 4 request to S3 (Authorization, x-amz-date, x-amz-content-sha256,
    and the given ones). path is the URI-encoded path; query is [(name, value)], not encoded."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = dict((k.lower(), str(v).strip()) for k, v in headers.items())
    signed.update({"host": host, "x-amz-content-sha256": payload_sha256, "x-amz-date": amz_date})
    names = sorted(signed)
    canonical_query = "&".join("%s=%s" % (quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in sorted(query))
    canonical = "\n".join([method, path, canonical_query] + ["%s:%s" % (n, signed[n]) for n in names]
                          + ["", ";".join(names), payload_sha256])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = _sign(_sign(_sign(_sign(("AWS4" + secret_key).encode("utf-8"), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    signed["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key, scope, ";".join(names), signature)
    return signed


class Store(object):
    """One bucket and prefix of an S3-compatible store. Keys are relative to the prefix."""

    def __init__(self, url, access_key, secret_key, region="us-east-1", ca_file=None, timeout=60):
        parsed = parse_url(url)
        if parsed is None:
            raise S3Error("etcd_backup_s3_url=%s" % url, message="not an http(s)://HOST[:PORT]/BUCKET[/PREFIX] URL")
        self.scheme, self.host, self.bucket, self.prefix = parsed
        self.url = url
        self.access_key, self.secret_key = access_key or "", secret_key or ""
        self.region = region or "us-east-1"
        self.ca_file = ca_file or None
        self.timeout = timeout

    def _connection(self):
        if self.scheme == "https":
            context = ssl.create_default_context(cafile=self.ca_file)
            return HTTPSConnection(self.host, timeout=self.timeout, context=context)
        return HTTPConnection(self.host, timeout=self.timeout)

    def _path(self, key=""):
        return "/%s/%s" % (self.bucket, quote(key, safe="/-_.~")) if key else "/%s" % self.bucket

    def request(self, what, method, key="", query=(), body=None, payload_sha256=EMPTY_SHA256, length=0, headers=None):
        """(status, headers, response) of one signed request; the response is open for reading. Raises S3Error
        for an error status or no answer."""
        path = self._path(key)
        extra = dict(headers or {})
        if body is not None:
            extra["content-length"] = str(length)
        signed = signature_headers(method, self.host, path, list(query), extra, payload_sha256, self.access_key,
                                   self.secret_key, self.region, datetime.datetime.now(datetime.timezone.utc))
        target = path + ("?" + "&".join("%s=%s" % (quote(k, safe="-_.~"), quote(v, safe="-_.~"))
                                        for k, v in sorted(query)) if query else "")
        connection = self._connection()
        try:
            connection.request(method, target, body=body, headers=signed)
            response = connection.getresponse()
        except (OSError, HTTPException, ssl.SSLError) as exc:
            connection.close()
            raise S3Error(what, message="%s://%s does not answer (%s)" % (self.scheme, self.host, exc))
        if response.status >= 300:
            text = response.read().decode("utf-8", "replace")
            connection.close()
            code = re.search(r"<Code>([^<]*)</Code>", text)
            message = re.search(r"<Message>([^<]*)</Message>", text)
            raise S3Error(what, response.status, code.group(1) if code else response.reason,
                          message.group(1) if message else "")
        return response.status, dict((k.lower(), v) for k, v in response.getheaders()), response

    def put_file(self, path, name, sha256):
        """Upload a local file as prefix+name, with its SHA-256 (hex) for the store to check."""
        length = os.path.getsize(path)
        what = "upload of %s to %s" % (name, self.url)
        with open(path, "rb") as handle:
            status, headers, response = self.request(what, "PUT", self.prefix + name, body=handle, payload_sha256=sha256,
                                                     length=length, headers={"x-amz-meta-sha256": sha256})
            self._body(what, response)
        return length

    def _body(self, what, response, size=None):
        """The rest of an answer (size bytes at most), or S3Error when the connection breaks off."""
        try:
            return response.read(size) if size else response.read()
        except (OSError, HTTPException, ssl.SSLError) as exc:
            raise S3Error(what, message="%s://%s broke off its answer (%s)" % (self.scheme, self.host, exc))

    def read(self, name, into=None):
        """(sha256, size) of object prefix+name, read in full (into a local file when given)."""
        what = "download of %s from %s" % (name, self.url)
        status, headers, response = self.request(what, "GET", self.prefix + name)
        digest, size = hashlib.sha256(), 0
        # A backup holds every key: readable by its owner only from the first byte.
        handle = os.fdopen(os.open(into + ".part", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "wb") if into else None
        try:
            while True:
                chunk = self._body(what, response, CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
                if handle:
                    handle.write(chunk)
            if handle:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
                handle = None
                os.rename(into + ".part", into)
        finally:
            if handle:
                handle.close()
                os.unlink(into + ".part")
        return digest.hexdigest(), size

    def list(self, start=""):
        """Names (relative to the prefix) and sizes of the objects whose name starts with `start`."""
        found, token = [], None
        while True:
            query = [("list-type", "2"), ("prefix", self.prefix + start)]
            if token:
                query.append(("continuation-token", token))
            what = "listing of %s" % self.url
            status, headers, response = self.request(what, "GET", query=query)
            try:
                root = ElementTree.fromstring(self._body(what, response))
            except ElementTree.ParseError as exc:
                raise S3Error(what, message="%s://%s answered something that is not an S3 listing (%s): is "
                                            "etcd_backup_s3_url the store's API?" % (self.scheme, self.host, exc))
            space = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            for item in root.findall(space + "Contents"):
                key = item.findtext(space + "Key") or ""
                found.append((key[len(self.prefix):], int(item.findtext(space + "Size") or 0)))
            token = root.findtext(space + "NextContinuationToken")
            if (root.findtext(space + "IsTruncated") or "false") != "true" or not token:
                return found

    def delete(self, name):
        what = "deletion of %s from %s" % (name, self.url)
        status, headers, response = self.request(what, "DELETE", self.prefix + name)
        self._body(what, response)
