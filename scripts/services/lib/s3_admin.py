"""Control-plane steps the S3 tests need on moto, and the headers they assert on.

Run with the Python of the venv that holds moto (boto3 comes with it); scripts/services/s3.sh
exports it as THINLEDGER_TEST_S3_PYTHON. The endpoint and region come from
THINLEDGER_TEST_S3_ENDPOINT / THINLEDGER_TEST_S3_REGION; moto accepts any key pair.

    create-key                 a KMS key on the same endpoint; prints its ARN
    create-bucket BUCKET       creates BUCKET (unless it exists)
    deny-puts BUCKET           creates BUCKET (unless it exists) with a policy that denies
                               every PutObject
    lock-bucket BUCKET         creates BUCKET with Object Lock enabled (and so versioning)
    lock-bucket-default BUCKET as lock-bucket, with a default retention (governance, 1 day)
    heads BUCKET PREFIX        one JSON object per line: each object under PREFIX with the
                               encryption and object-lock headers HeadObject reports
    delete-versions BUCKET PREFIX
                               tries to delete every version under PREFIX for good (with its
                               version id, no governance bypass); prints {"deleted": N,
                               "refused": M}
    record-start               clears moto's request recorder and starts it (it records
                               every request moto serves, whoever sends it)
    record-heads NEEDLE        stops the recorder; one JSON object per line for each
                               recorded HEAD request whose URL contains NEEDLE: its path and
                               the SSE-C headers it carried ({"path", "sse_c_algorithm",
                               "sse_c_key_md5"})
"""

import json
import os
import sys

import boto3


def client(service):
    return boto3.client(
        service,
        endpoint_url=os.environ["THINLEDGER_TEST_S3_ENDPOINT"],
        region_name=os.environ.get("THINLEDGER_TEST_S3_REGION", "us-east-1"),
        aws_access_key_id="thinledger-test",
        aws_secret_access_key="thinledger-test-secret",
    )


def create_key():
    meta = client("kms").create_key(Description="thinledger test key")["KeyMetadata"]
    print(meta["Arn"])


def create_bucket(bucket, **options):
    s3 = client("s3")
    try:
        s3.create_bucket(Bucket=bucket, **options)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    return s3


def deny_puts(bucket):
    s3 = create_bucket(bucket)
    # A bank's policy denies puts without its encryption (a Condition on
    # s3:x-amz-server-side-encryption); moto ignores Conditions, so this denies every put.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyUnencryptedPuts",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {
                    "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}
                },
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def lock_bucket(bucket):
    create_bucket(bucket, ObjectLockEnabledForBucket=True)


def lock_bucket_default(bucket):
    s3 = create_bucket(bucket, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )


def delete_versions(bucket, prefix):
    s3 = client("s3")
    deleted = refused = 0
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for version in page.get("Versions", []):
            try:
                s3.delete_object(
                    Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"]
                )
                deleted += 1
            except s3.exceptions.ClientError as e:
                if e.response["Error"]["Code"] != "AccessDenied":
                    raise
                refused += 1
    print(json.dumps({"deleted": deleted, "refused": refused}))


def heads(bucket, prefix):
    s3 = client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for obj in page.get("Contents", []):
            head = s3.head_object(Bucket=bucket, Key=obj["Key"])
            print(
                json.dumps(
                    {
                        "key": obj["Key"][len(prefix) :].lstrip("/"),
                        "sse": head.get("ServerSideEncryption"),
                        "kms_key_id": head.get("SSEKMSKeyId"),
                        "bucket_key": head.get("BucketKeyEnabled"),
                        "lock_mode": head.get("ObjectLockMode"),
                        "retain_until": head["ObjectLockRetainUntilDate"].isoformat()
                        if "ObjectLockRetainUntilDate" in head
                        else None,
                    }
                )
            )


def recorder(action):
    import urllib.request

    url = os.environ["THINLEDGER_TEST_S3_ENDPOINT"] + "/moto-api/recorder/" + action
    method = "GET" if action == "download-recording" else "POST"
    with urllib.request.urlopen(urllib.request.Request(url, method=method)) as answer:
        return answer.read().decode()


def record_start():
    recorder("reset-recording")
    recorder("start-recording")


def record_heads(needle):
    recorder("stop-recording")
    for line in recorder("download-recording").splitlines():
        entry = json.loads(line)
        if entry["method"] != "HEAD" or needle not in entry["url"]:
            continue
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        print(
            json.dumps(
                {
                    "path": entry["url"].split("?")[0],
                    "sse_c_algorithm": headers.get(
                        "x-amz-server-side-encryption-customer-algorithm"
                    ),
                    "sse_c_key_md5": headers.get(
                        "x-amz-server-side-encryption-customer-key-md5"
                    ),
                }
            )
        )


def main(argv):
    match argv:
        case ["create-key"]:
            create_key()
        case ["create-bucket", bucket]:
            create_bucket(bucket)
        case ["deny-puts", bucket]:
            deny_puts(bucket)
        case ["heads", bucket, prefix]:
            heads(bucket, prefix)
        case ["lock-bucket", bucket]:
            lock_bucket(bucket)
        case ["lock-bucket-default", bucket]:
            lock_bucket_default(bucket)
        case ["delete-versions", bucket, prefix]:
            delete_versions(bucket, prefix)
        case ["record-start"]:
            record_start()
        case ["record-heads", needle]:
            record_heads(needle)
        case _:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
