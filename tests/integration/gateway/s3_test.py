"""boto3 against tessera-gateway: every supported operation and the errors clients branch on.

Run by run.sh with GW_ENDPOINT, AWS_* credentials, GW_RESTRICTED_KEY/SECRET (a grant limited to
restricted/allowed/), GW_SHARE_KEY (a public read-only share of public/pics/) in the environment.
"""
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

EP = os.environ["GW_ENDPOINT"]
KEY = os.environ["AWS_ACCESS_KEY_ID"]
SECRET = os.environ["AWS_SECRET_ACCESS_KEY"]
NOPROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def client(key=KEY, secret=SECRET, **cfg):
    return boto3.client("s3", endpoint_url=EP, aws_access_key_id=key,
                        aws_secret_access_key=secret, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                      signature_version="s3v4", **cfg))


s3 = client()


def expect_error(code, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"{fn.__name__}: want {code}, got {got} ({e})"
        return e
    raise AssertionError(f"{fn.__name__}: want {code}, got success")


def step(name):
    print("  -", name, flush=True)


def buckets_and_objects():
    step("buckets")
    s3.create_bucket(Bucket="boto")
    assert "boto" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket="boto")
    assert s3.get_bucket_location(Bucket="boto").get("LocationConstraint") in (None, "")
    expect_error("BucketAlreadyOwnedByYou", s3.create_bucket, Bucket="boto")
    expect_error("404", s3.head_bucket, Bucket="nobucket")

    step("put/get/head with metadata")
    body = os.urandom(100_000)
    r = s3.put_object(Bucket="boto", Key="dir/obj.bin", Body=body, ContentType="image/png",
                      CacheControl="max-age=60", ContentDisposition="attachment; filename=x.png",
                      Metadata={"color": "blue", "Mixed-Case": "v"})
    assert r["ETag"] == '"%s"' % hashlib.md5(body).hexdigest(), r["ETag"]
    h = s3.head_object(Bucket="boto", Key="dir/obj.bin")
    assert h["ContentLength"] == len(body)
    assert h["ContentType"] == "image/png"
    assert h["CacheControl"] == "max-age=60"
    assert h["ContentDisposition"] == "attachment; filename=x.png"
    assert h["Metadata"] == {"color": "blue", "mixed-case": "v"}, h["Metadata"]
    g = s3.get_object(Bucket="boto", Key="dir/obj.bin")
    assert g["Body"].read() == body
    # the MD5 computed while streaming is stored at commit (no Content-MD5 was sent)
    assert g["ETag"] == h["ETag"] == r["ETag"], (g["ETag"], h["ETag"], r["ETag"])
    listed = s3.list_objects_v2(Bucket="boto", Prefix="dir/")["Contents"]
    assert [o["ETag"] for o in listed if o["Key"] == "dir/obj.bin"] == [r["ETag"]], listed

    step("ranges")
    assert s3.get_object(Bucket="boto", Key="dir/obj.bin", Range="bytes=10-19")["Body"].read() == body[10:20]
    r = s3.get_object(Bucket="boto", Key="dir/obj.bin", Range="bytes=-7")
    assert r["Body"].read() == body[-7:] and r["ContentRange"] == "bytes 99993-99999/100000"
    assert s3.get_object(Bucket="boto", Key="dir/obj.bin", Range="bytes=99990-")["Body"].read() == body[99990:]
    expect_error("InvalidRange", s3.get_object, Bucket="boto", Key="dir/obj.bin", Range="bytes=100000-")

    step("conditionals")
    etag = h["ETag"]
    expect_error("304", s3.get_object, Bucket="boto", Key="dir/obj.bin", IfNoneMatch=etag)
    expect_error("PreconditionFailed", s3.get_object, Bucket="boto", Key="dir/obj.bin", IfMatch='"nope"')
    assert s3.get_object(Bucket="boto", Key="dir/obj.bin", IfMatch=etag)["ContentLength"] == len(body)
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    expect_error("304", s3.get_object, Bucket="boto", Key="dir/obj.bin", IfModifiedSince=future)
    expect_error("PreconditionFailed", s3.get_object, Bucket="boto", Key="dir/obj.bin", IfUnmodifiedSince=past)

    step("empty object and errors")
    s3.put_object(Bucket="boto", Key="empty", Body=b"")
    assert s3.get_object(Bucket="boto", Key="empty")["Body"].read() == b""
    expect_error("NoSuchKey", s3.get_object, Bucket="boto", Key="missing")
    expect_error("NoSuchBucket", s3.get_object, Bucket="nobucket", Key="k")
    expect_error("NoSuchBucket", s3.put_object, Bucket="nobucket", Key="k", Body=b"x")
    expect_error("NotImplemented", s3.get_bucket_acl, Bucket="boto")
    s3.delete_object(Bucket="boto", Key="missing")  # S3: deleting a missing key succeeds
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket="boto")


def listing():
    step("listing: delimiter, prefixes, pagination")
    keys = ["a/1", "a/2", "a/b/3", "b/4", "c", "d e+f&<g>", "a/b/c/5"]
    for k in keys:
        s3.put_object(Bucket="boto", Key=k, Body=k.encode())
    everything = sorted(keys + ["dir/obj.bin", "empty"])
    got = [o["Key"] for o in s3.list_objects_v2(Bucket="boto")["Contents"]]
    assert got == everything, got
    r = s3.list_objects_v2(Bucket="boto", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["c", "d e+f&<g>", "empty"], r
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "b/", "dir/"]
    r = s3.list_objects_v2(Bucket="boto", Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/b/"]
    r = s3.list_objects_v2(Bucket="boto", Prefix="a/b")  # not a whole component
    assert [o["Key"] for o in r["Contents"]] == ["a/b/3", "a/b/c/5"]
    r = s3.list_objects_v2(Bucket="boto", Prefix="a/", Delimiter="b")
    assert [o["Key"] for o in r["Contents"]] == ["a/1", "a/2"] and r["CommonPrefixes"] == [{"Prefix": "a/b"}]
    # pagination, v2 with continuation tokens, v1 with markers
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = s3.list_objects_v2(Bucket="boto", MaxKeys=2, **kw)
        assert r["KeyCount"] <= 2
        seen += [o["Key"] for o in r.get("Contents", [])]
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    assert seen == everything, seen
    r = s3.list_objects_v2(Bucket="boto", StartAfter="b/4")
    assert [o["Key"] for o in r["Contents"]] == [k for k in everything if k > "b/4"]
    seen, marker = [], ""
    while True:
        r = s3.list_objects(Bucket="boto", MaxKeys=3, Marker=marker, Delimiter="/")
        seen += [o["Key"] for o in r.get("Contents", [])] + [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if not r["IsTruncated"]:
            break
        marker = r["NextMarker"]
    assert sorted(seen) == ["a/", "b/", "c", "d e+f&<g>", "dir/", "empty"], seen
    r = s3.list_objects_v2(Bucket="boto", Prefix="a/1", FetchOwner=True)
    assert r["Contents"][0]["Owner"]["ID"] == KEY and r["Contents"][0]["Size"] == 3


def metrics():
    text = NOPROXY.open(EP + "/-/metrics").read().decode()
    return {l.split()[0]: int(l.split()[1]) for l in text.splitlines() if l.strip()}


def copy_and_delete():
    step("copy (metadata COPY and REPLACE) moves no data through the gateway, multi-delete")
    big = os.urandom(20 << 20)
    s3.put_object(Bucket="boto", Key="copysrc.bin", Body=big, Metadata={"k": "v"})
    before = metrics()
    s3.copy_object(Bucket="boto", Key="copybig.bin", CopySource="boto/copysrc.bin")
    s3.copy_object(Bucket="boto", Key="copybig2.bin", CopySource="boto/copysrc.bin",
                   MetadataDirective="REPLACE", Metadata={"r": "1"})
    after = metrics()
    for m in ("tessera_gateway_uplink_up_bytes_total", "tessera_gateway_uplink_down_bytes_total"):
        assert after[m] == before[m], (m, before[m], after[m])
    assert after["tessera_gateway_http_in_bytes_total"] - before["tessera_gateway_http_in_bytes_total"] < 4096
    assert after["tessera_gateway_requests_total"] >= before["tessera_gateway_requests_total"] + 2
    src_etag = s3.head_object(Bucket="boto", Key="copysrc.bin")["ETag"]
    assert src_etag == '"%s"' % hashlib.md5(big).hexdigest()
    h = s3.head_object(Bucket="boto", Key="copybig2.bin")
    assert h["ETag"] == src_etag and h["Metadata"] == {"r": "1"}, h
    assert s3.head_object(Bucket="boto", Key="copybig.bin")["Metadata"] == {"k": "v"}
    assert s3.get_object(Bucket="boto", Key="copybig.bin")["Body"].read() == big
    s3.delete_object(Bucket="boto", Key="copysrc.bin")  # the copies share pieces, still readable
    assert s3.get_object(Bucket="boto", Key="copybig2.bin", Range="bytes=1000-1999")["Body"].read() == big[1000:2000]
    s3.delete_objects(Bucket="boto", Delete={"Objects": [{"Key": "copybig.bin"}, {"Key": "copybig2.bin"}]})
    # in-place REPLACE is a metadata update
    s3.copy_object(Bucket="boto", Key="c", CopySource="boto/c", MetadataDirective="REPLACE",
                   Metadata={"again": "yes"})
    assert s3.head_object(Bucket="boto", Key="c")["Metadata"] == {"again": "yes"}
    assert s3.get_object(Bucket="boto", Key="c")["Body"].read() == b"c"
    expect_error("InvalidRequest", s3.copy_object, Bucket="boto", Key="c", CopySource="boto/c")
    expect_error("NoSuchBucket", s3.copy_object, Bucket="nobucket", Key="x", CopySource="boto/c")
    expect_error("NoSuchBucket", s3.copy_object, Bucket="boto", Key="x", CopySource="nobucket/c")
    s3.copy_object(Bucket="boto", Key="copy1", CopySource={"Bucket": "boto", "Key": "dir/obj.bin"})
    h1 = s3.head_object(Bucket="boto", Key="copy1")
    h0 = s3.head_object(Bucket="boto", Key="dir/obj.bin")
    assert h1["Metadata"] == h0["Metadata"] and h1["ContentType"] == "image/png"
    assert h1["ETag"] == h0["ETag"]
    assert s3.get_object(Bucket="boto", Key="copy1")["Body"].read() == \
        s3.get_object(Bucket="boto", Key="dir/obj.bin")["Body"].read()
    s3.copy_object(Bucket="boto", Key="copy2", CopySource="boto/dir/obj.bin",
                   MetadataDirective="REPLACE", Metadata={"new": "1"}, ContentType="text/plain")
    h2 = s3.head_object(Bucket="boto", Key="copy2")
    assert h2["Metadata"] == {"new": "1"} and h2["ContentType"] == "text/plain"
    expect_error("NoSuchKey", s3.copy_object, Bucket="boto", Key="x", CopySource="boto/missing")
    r = s3.delete_objects(Bucket="boto", Delete={"Objects": [{"Key": "copy1"}, {"Key": "copy2"},
                                                              {"Key": "never-existed"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["copy1", "copy2", "never-existed"], r
    assert not r.get("Errors")
    expect_error("404", s3.head_object, Bucket="boto", Key="copy1")


def presigned():
    step("presigned GET (valid, expired, tampered)")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "dir/obj.bin"},
                                    ExpiresIn=300)
    data = NOPROXY.open(url).read()
    assert data == s3.get_object(Bucket="boto", Key="dir/obj.bin")["Body"].read()
    try:
        NOPROXY.open(url.replace("obj.bin", "obj.bim"))
        raise AssertionError("tampered URL accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 403 and b"SignatureDoesNotMatch" in e.read()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "c"}, ExpiresIn=1)
    time.sleep(2.2)
    try:
        NOPROXY.open(url)
        raise AssertionError("expired URL accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 403 and b"AccessDenied" in e.read()


def sigv2():
    step("SigV2 (old SDKs, awscli 1.x presign): header auth incl. multipart, presigned GET, refusals")
    v2cfg = dict(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                 signature_version="s3")
    c2 = boto3.client("s3", endpoint_url=EP, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                      region_name="us-east-1", config=Config(**v2cfg))
    body = os.urandom(1000) + b"signed with v2"
    c2.put_object(Bucket="boto", Key="v2/obj one", Body=body, ContentType="text/plain",
                  Metadata={"reviewed-by": "joe"})
    got = c2.get_object(Bucket="boto", Key="v2/obj one")
    assert got["Body"].read() == body and got["Metadata"] == {"reviewed-by": "joe"}
    assert s3.get_object(Bucket="boto", Key="v2/obj one")["Body"].read() == body
    assert [o["Key"] for o in c2.list_objects(Bucket="boto", Prefix="v2/")["Contents"]] == ["v2/obj one"]
    part = os.urandom(5 << 20)
    up = c2.create_multipart_upload(Bucket="boto", Key="v2/multi")["UploadId"]
    etags = [c2.upload_part(Bucket="boto", Key="v2/multi", UploadId=up, PartNumber=n,
                            Body=data)["ETag"] for n, data in ((1, part), (2, b"tail"))]
    c2.complete_multipart_upload(Bucket="boto", Key="v2/multi", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]})
    assert s3.get_object(Bucket="boto", Key="v2/multi")["Body"].read() == part + b"tail"
    url = c2.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "v2/obj one"},
                                    ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "Signature=" in url, url
    assert NOPROXY.open(url).read() == body
    try:
        NOPROXY.open(url.replace("obj%20one", "obj%20two"))
        raise AssertionError("tampered SigV2 URL accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 403 and b"SignatureDoesNotMatch" in e.read()
    bad = boto3.client("s3", endpoint_url=EP, aws_access_key_id=KEY, aws_secret_access_key="x" * 40,
                       region_name="us-east-1", config=Config(**v2cfg))
    expect_error("SignatureDoesNotMatch", bad.get_object, Bucket="boto", Key="v2/obj one")
    for k in ("v2/obj one", "v2/multi"):
        c2.delete_object(Bucket="boto", Key=k)


def multipart():
    step("multipart: 100 MiB upload_fileobj, explicit calls, abort")
    path = os.path.join(os.environ["GW_TMP"], "big.bin")
    with open(path, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(1 << 20))
    cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=16 << 20, max_concurrency=4)
    s3.upload_file(path, "boto", "big/100MiB.bin", Config=cfg)
    h = s3.head_object(Bucket="boto", Key="big/100MiB.bin")
    with open(path, "rb") as f:
        digests = b"".join(hashlib.md5(f.read(16 << 20)).digest() for _ in range(7))
    assert h["ContentLength"] == 100 << 20, h
    assert h["ETag"] == '"%s-7"' % hashlib.md5(digests).hexdigest(), h["ETag"]
    want = hashlib.sha256(open(path, "rb").read()).hexdigest()
    got = hashlib.sha256()
    for chunk in s3.get_object(Bucket="boto", Key="big/100MiB.bin")["Body"].iter_chunks(1 << 20):
        got.update(chunk)
    assert got.hexdigest() == want
    r = s3.get_object(Bucket="boto", Key="big/100MiB.bin", Range="bytes=%d-%d" % ((50 << 20) - 5, (50 << 20) + 4))
    with open(path, "rb") as f:
        f.seek((50 << 20) - 5)
        assert r["Body"].read() == f.read(10)
    os.unlink(path)

    up = s3.create_multipart_upload(Bucket="boto", Key="mp/x", ContentType="text/csv",
                                    Metadata={"m": "1"})["UploadId"]
    assert any(u["UploadId"] == up and u["Key"] == "mp/x"
               for u in s3.list_multipart_uploads(Bucket="boto").get("Uploads", []))
    p1 = os.urandom(5 << 20)
    e1 = s3.upload_part(Bucket="boto", Key="mp/x", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket="boto", Key="mp/x", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
    assert e1 == '"%s"' % hashlib.md5(p1).hexdigest() and e2 == '"%s"' % hashlib.md5(b"tail").hexdigest()
    s3.upload_part(Bucket="boto", Key="mp/x", UploadId=up, PartNumber=3, Body=b"never listed")
    parts = s3.list_parts(Bucket="boto", Key="mp/x", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == \
        [(1, 5 << 20, e1), (2, 4, e2), (3, 12, '"%s"' % hashlib.md5(b"never listed").hexdigest())], parts
    r = s3.list_parts(Bucket="boto", Key="mp/x", UploadId=up, MaxParts=2)
    assert [p["PartNumber"] for p in r["Parts"]] == [1, 2] and r["IsTruncated"], r
    r = s3.list_parts(Bucket="boto", Key="mp/x", UploadId=up, PartNumberMarker=r["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in r["Parts"]] == [3] and not r["IsTruncated"], r
    expect_error("EntityTooSmall", s3.complete_multipart_upload, Bucket="boto", Key="mp/x", UploadId=up,
                 MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 3,
                                  "ETag": parts[2]["ETag"]}]})
    expect_error("InvalidPart", s3.complete_multipart_upload, Bucket="boto", Key="mp/x", UploadId=up,
                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 4, "ETag": e2}]})
    expect_error("InvalidPart", s3.complete_multipart_upload, Bucket="boto", Key="mp/x", UploadId=up,
                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e2}, {"PartNumber": 2, "ETag": e2}]})
    expect_error("InvalidPartOrder", s3.complete_multipart_upload, Bucket="boto", Key="mp/x", UploadId=up,
                 MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    r = s3.complete_multipart_upload(Bucket="boto", Key="mp/x", UploadId=up,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                                                {"PartNumber": 2, "ETag": e2}]})
    want_etag = '"%s-2"' % hashlib.md5(hashlib.md5(p1).digest() + hashlib.md5(b"tail").digest()).hexdigest()
    assert r["ETag"] == want_etag, (r["ETag"], want_etag)
    g = s3.get_object(Bucket="boto", Key="mp/x")
    assert g["Body"].read() == p1 + b"tail" and g["ContentType"] == "text/csv" and g["Metadata"] == {"m": "1"}
    assert g["ETag"] == want_etag, g["ETag"]
    expect_error("NoSuchUpload", s3.upload_part, Bucket="boto", Key="mp/x", UploadId=up, PartNumber=3, Body=b"x")
    up = s3.create_multipart_upload(Bucket="boto", Key="mp/y")["UploadId"]
    s3.upload_part(Bucket="boto", Key="mp/y", UploadId=up, PartNumber=1, Body=b"x")
    expect_error("NoSuchUpload", s3.list_parts, Bucket="boto", Key="mp/other", UploadId=up)
    s3.abort_multipart_upload(Bucket="boto", Key="mp/y", UploadId=up)
    expect_error("NoSuchUpload", s3.list_parts, Bucket="boto", Key="mp/y", UploadId=up)
    expect_error("NoSuchUpload", s3.abort_multipart_upload, Bucket="boto", Key="mp/y", UploadId=up)
    expect_error("NoSuchUpload", s3.upload_part, Bucket="boto", Key="mp/y", UploadId="garbage",
                 PartNumber=1, Body=b"x")
    assert not s3.list_multipart_uploads(Bucket="boto").get("Uploads")

    step("multipart listing: prefix, delimiter, pagination; pending uploads stay unlisted")
    ids = {}
    for k in ("lm/a", "lm/b", "lm/b", "lm/sub/c", "other/d"):
        ids.setdefault(k, []).append(s3.create_multipart_upload(Bucket="boto", Key=k)["UploadId"])
    r = s3.list_multipart_uploads(Bucket="boto", Prefix="lm/")
    assert [u["Key"] for u in r["Uploads"]] == ["lm/a", "lm/b", "lm/b", "lm/sub/c"], r
    r = s3.list_multipart_uploads(Bucket="boto", Prefix="lm/", Delimiter="/")
    assert [u["Key"] for u in r["Uploads"]] == ["lm/a", "lm/b", "lm/b"], r
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["lm/sub/"], r
    seen, km, im = [], "", ""
    while True:
        r = s3.list_multipart_uploads(Bucket="boto", Prefix="lm/", MaxUploads=1, KeyMarker=km,
                                      UploadIdMarker=im)
        seen += [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]
        if not r["IsTruncated"]:
            break
        km, im = r["NextKeyMarker"], r["NextUploadIdMarker"]
    assert sorted(seen) == sorted((k, i) for k in ids if k.startswith("lm/") for i in ids[k]), seen
    assert not any(o["Key"].startswith(("lm/", "other/"))
                   for o in s3.list_objects_v2(Bucket="boto").get("Contents", []))
    for k, lst in ids.items():
        for i in lst:
            s3.abort_multipart_upload(Bucket="boto", Key=k, UploadId=i)
    assert not s3.list_multipart_uploads(Bucket="boto").get("Uploads")


def auth_errors():
    step("auth errors: wrong secret, unknown key, restricted prefix")
    expect_error("SignatureDoesNotMatch", client(secret=SECRET[:-1] + "x").list_buckets)
    expect_error("InvalidAccessKeyId", client(key="UNKNOWNKEY123").list_buckets)
    r = client(os.environ["GW_RESTRICTED_KEY"], os.environ["GW_RESTRICTED_SECRET"])
    r.put_object(Bucket="restricted", Key="allowed/ok", Body=b"fine")
    assert r.get_object(Bucket="restricted", Key="allowed/ok")["Body"].read() == b"fine"
    expect_error("AccessDenied", r.put_object, Bucket="restricted", Key="other/no", Body=b"x")
    expect_error("AccessDenied", r.get_object, Bucket="restricted", Key="other/no")
    expect_error("AccessDenied", r.list_objects_v2, Bucket="boto")

    step("multipart with a grant restricted to a prefix")
    part = os.urandom(5 << 20)
    up = r.create_multipart_upload(Bucket="restricted", Key="allowed/mp.bin")["UploadId"]
    e1 = r.upload_part(Bucket="restricted", Key="allowed/mp.bin", UploadId=up, PartNumber=1, Body=part)["ETag"]
    e2 = r.upload_part(Bucket="restricted", Key="allowed/mp.bin", UploadId=up, PartNumber=2, Body=b"end")["ETag"]
    assert [u["Key"] for u in r.list_multipart_uploads(Bucket="restricted", Prefix="allowed/")["Uploads"]] \
        == ["allowed/mp.bin"]
    done = r.complete_multipart_upload(Bucket="restricted", Key="allowed/mp.bin", UploadId=up,
                                       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                                                  {"PartNumber": 2, "ETag": e2}]})
    want = '"%s-2"' % hashlib.md5(hashlib.md5(part).digest() + hashlib.md5(b"end").digest()).hexdigest()
    assert done["ETag"] == want, done
    g = r.get_object(Bucket="restricted", Key="allowed/mp.bin")
    assert g["Body"].read() == part + b"end" and g["ETag"] == want
    expect_error("AccessDenied", r.create_multipart_upload, Bucket="restricted", Key="other/mp.bin")
    r.copy_object(Bucket="restricted", Key="allowed/copy.bin", CopySource="restricted/allowed/mp.bin")
    assert r.head_object(Bucket="restricted", Key="allowed/copy.bin")["ETag"] == want
    expect_error("AccessDenied", r.copy_object, Bucket="restricted", Key="other/copy.bin",
                 CopySource="restricted/allowed/mp.bin")


def raw_signed(method, host, path, body=b"", headers=None):
    """A request signed by botocore but sent with a chosen Host (virtual-host addressing)."""
    headers = dict(headers or {}, Host=host)
    req = AWSRequest(method=method, url="http://" + host + path, data=body, headers=headers)
    S3SigV4Auth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(req)
    u = urllib.parse.urlparse(EP)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request(method, path, body=body, headers=dict(req.headers))
    r = c.getresponse()
    return r.status, r.read(), r


def virtual_host():
    step("virtual-host addressing")
    port = urllib.parse.urlparse(EP).port
    st, body, _ = raw_signed("GET", "boto.s3.test:%d" % port, "/c")
    assert st == 200 and body == b"c", (st, body)
    st, body, _ = raw_signed("GET", "boto.s3.test:%d" % port, "/?list-type=2&prefix=a%2F&delimiter=%2F")
    assert st == 200 and b"<Key>a/1</Key>" in body, body


def chunked_upload():
    step("aws-chunked upload with per-chunk signatures (good and tampered)")
    u = urllib.parse.urlparse(EP)
    data = os.urandom(200_000)
    for tamper in (False, True):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        scope = f"{day}/us-east-1/s3/aws4_request"
        key = ("AWS4" + SECRET).encode()
        for part in (day, "us-east-1", "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)] + [b""]
        body_len = sum(len("%x" % len(c)) + 17 + 64 + 2 + len(c) + 2 for c in chunks)
        host = f"{u.hostname}:{u.port}"
        headers = {"host": host, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                   "x-amz-date": amz, "x-amz-decoded-content-length": str(len(data)),
                   "content-encoding": "aws-chunked", "content-length": str(body_len)}
        names = sorted(headers)
        canon = "PUT\n/boto/chunked.bin\n\n" + "".join(f"{n}:{headers[n]}\n" for n in names) + \
            "\n" + ";".join(names) + "\nSTREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        sts = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n" + hashlib.sha256(canon.encode()).hexdigest()
        prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={KEY}/{scope}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={prev}")
        body = b""
        empty = hashlib.sha256(b"").hexdigest()
        for c in chunks:
            s = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz, scope, prev, empty,
                           hashlib.sha256(c).hexdigest()])
            prev = hmac.new(key, s.encode(), hashlib.sha256).hexdigest()
            body += b"%x;chunk-signature=%s\r\n" % (len(c), prev.encode()) + c + b"\r\n"
        if tamper:
            body = body[:1000] + bytes([body[1000] ^ 1]) + body[1001:]
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        conn.request("PUT", "/boto/chunked.bin", body=body, headers=headers)
        r = conn.getresponse()
        text = r.read()
        if tamper:
            assert r.status == 403 and b"SignatureDoesNotMatch" in text, (r.status, text)
        else:
            assert r.status == 200, (r.status, text)
            assert r.getheader("ETag") == '"%s"' % hashlib.md5(data).hexdigest()
    assert s3.get_object(Bucket="boto", Key="chunked.bin")["Body"].read() == data


def linkshare():
    step("public share links")
    s3.put_object(Bucket="public", Key="pics/cat.jpg", Body=b"meow" * 1000, ContentType="image/jpeg")
    s3.put_object(Bucket="public", Key="pics/sub/dog.jpg", Body=b"woof")
    s3.put_object(Bucket="public", Key="secret/x", Body=b"hidden")
    base = f"{EP}/s/{os.environ['GW_SHARE_KEY']}/public/"
    r = NOPROXY.open(base + "pics/cat.jpg")
    assert r.read() == b"meow" * 1000 and r.headers["Content-Type"] == "image/jpeg"
    req = urllib.request.Request(base + "pics/cat.jpg", headers={"Range": "bytes=4-7"})
    r = NOPROXY.open(req)
    assert r.status == 206 and r.read() == b"meow"
    page = NOPROXY.open(base + "pics/").read().decode()
    assert 'href="cat.jpg"' in page and 'href="sub/"' in page, page
    for bad in (base + "secret/x", f"{EP}/s/NOSUCHKEY/public/pics/cat.jpg",
                f"{EP}/s/{KEY}/public/pics/cat.jpg"):  # a private key is no link
        try:
            NOPROXY.open(bad)
            raise AssertionError("served " + bad)
        except urllib.error.HTTPError as e:
            assert e.code in (403, 404), (bad, e.code)


def cleanup():
    step("delete everything, delete the bucket")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="boto"):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket="boto", Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket="boto")
    expect_error("NoSuchBucket", s3.list_objects_v2, Bucket="boto")


def log_lines():
    step("one log line per request")
    lines = [l for l in open(os.environ["GW_LOG"]) if " request id=" in l]
    assert len(lines) > 50, len(lines)
    assert any("op=PutObject status=200" in l for l in lines)
    assert any("code=NoSuchKey" in l for l in lines)


for fn in (buckets_and_objects, listing, copy_and_delete, presigned, sigv2, virtual_host,
           chunked_upload, multipart, auth_errors, linkshare, cleanup, log_lines):
    fn()
print("boto3: all passed")
