"""Buckets in given configurations for the `bucket check|plan|apply` tests, made on moto with
boto3 (a client independent of the aws-sdk-s3 under test), and what the tests read back.

Run with THINLEDGER_TEST_S3_PYTHON (moto's venv); the endpoint and region come from
THINLEDGER_TEST_S3_ENDPOINT / THINLEDGER_TEST_S3_REGION, as in s3_admin.py.

    make BUCKET SPEC     creates BUCKET configured as the JSON SPEC says (keys, all optional):
                           "lock": {"mode": "GOVERNANCE", "days": 30}   object lock + default
                           "versioning": true
                           "encryption": "AES256" | {"kms": KEY_ARN}
                           "public_access_block": true
                           "policy": [statement, ...]                    bucket policy
                           "lifecycle": [rule, ...]                      boto3's rule shape
                         A {bucket} in a policy statement's text is the bucket name.
    describe BUCKET      prints {"policy": {...} | null, "lifecycle": [rule, ...]}
    create-key           a KMS key; prints its ARN
    put BUCKET KEY FILE  uploads FILE's bytes as KEY (a repository's record, good or forged)
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


def make(bucket, spec):
    s3 = client("s3")
    lock = spec.get("lock")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=bool(lock))
    if spec.get("versioning"):
        s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        )
    if lock:
        s3.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": lock["mode"], "Days": lock["days"]}},
            },
        )
    encryption = spec.get("encryption")
    if encryption is not None:
        default = (
            {"SSEAlgorithm": "AES256"}
            if encryption == "AES256"
            else {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": encryption["kms"]}
        )
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": default}]
            },
        )
    if spec.get("public_access_block"):
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    if spec.get("policy"):
        text = json.dumps({"Version": "2012-10-17", "Statement": spec["policy"]})
        s3.put_bucket_policy(Bucket=bucket, Policy=text.replace("{bucket}", bucket))
    if spec.get("lifecycle"):
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": spec["lifecycle"]}
        )


def describe(bucket):
    s3 = client("s3")
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        policy = None
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except s3.exceptions.ClientError:
        rules = []
    print(json.dumps({"policy": policy, "lifecycle": rules}, default=str))


def main(argv):
    match argv:
        case ["make", bucket, spec]:
            make(bucket, json.loads(spec))
        case ["describe", bucket]:
            describe(bucket)
        case ["put", bucket, key, path]:
            with open(path, "rb") as body:
                client("s3").put_object(Bucket=bucket, Key=key, Body=body.read())
        case ["create-key"]:
            meta = client("kms").create_key(Description="thinledger bucket test")["KeyMetadata"]
            print(meta["Arn"])
        case _:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
