import { s3BucketArn, type TemplateBuilder } from './cfn.js';

/** How long replaced and deleted object versions are kept before the lifecycle removes them. */
export const NONCURRENT_VERSION_DAYS = 30;
/** Incomplete multipart uploads (an interrupted SFTP upload leaves one) are aborted after this many days. */
export const ABORT_MULTIPART_DAYS = 1;

export interface BucketPolicyStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface SecureBucketOptions {
  logicalId: string;
  name: string;
  partition: string;
  /** SSE-KMS with the given key (and a bucket key), or SSE-S3 where a service cannot write to SSE-KMS. */
  encryption: { kms: unknown } | 's3';
  /** Server access logging target; omitted only for the log bucket itself. */
  accessLogs?: { bucket: unknown; prefix: string };
  /** Expire current objects after this many days (per-bucket retention); kept forever when omitted. */
  expireAfterDays?: number;
  /** `ObjectCreated` notifications to a queue; `dependsOn` is the queue policy S3 validates against. */
  notifyQueue?: { arn: unknown; dependsOn: string };
  /** Statements besides the TLS-only deny (e.g. log delivery). */
  policyStatements?: BucketPolicyStatement[];
}

/**
 * A private, versioned, encrypted bucket with a TLS-only policy: all four public access blocks, ACLs disabled
 * (BucketOwnerEnforced), lifecycle for incomplete uploads and old versions. Retained when the stack goes: a stack
 * delete never deletes partner data.
 */
export function addSecureBucket(builder: TemplateBuilder, options: SecureBucketOptions): { id: string; arn: string } {
  const arn = s3BucketArn(options.partition, options.name);
  const rules: Record<string, unknown>[] = [
    {
      Id: 'abort-incomplete-multipart-uploads',
      Status: 'Enabled',
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: ABORT_MULTIPART_DAYS },
    },
    {
      Id: 'expire-noncurrent-versions',
      Status: 'Enabled',
      NoncurrentVersionExpiration: { NoncurrentDays: NONCURRENT_VERSION_DAYS },
      ExpiredObjectDeleteMarker: true,
    },
  ];
  if (options.expireAfterDays !== undefined) {
    rules.push({ Id: 'retention', Status: 'Enabled', ExpirationInDays: options.expireAfterDays });
  }
  const encryption =
    options.encryption === 's3'
      ? { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }
      : {
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: options.encryption.kms },
          BucketKeyEnabled: true,
        };

  const properties: Record<string, unknown> = {
    BucketName: options.name,
    BucketEncryption: { ServerSideEncryptionConfiguration: [encryption] },
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    },
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    VersioningConfiguration: { Status: 'Enabled' },
    LifecycleConfiguration: { Rules: rules },
  };
  if (options.accessLogs) {
    properties.LoggingConfiguration = {
      DestinationBucketName: options.accessLogs.bucket,
      LogFilePrefix: options.accessLogs.prefix,
    };
  }
  if (options.notifyQueue) {
    properties.NotificationConfiguration = {
      QueueConfigurations: [{ Event: 's3:ObjectCreated:*', Queue: options.notifyQueue.arn }],
    };
  }

  const id = builder.add(options.logicalId, {
    Type: 'AWS::S3::Bucket',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    ...(options.notifyQueue ? { DependsOn: [options.notifyQueue.dependsOn] } : {}),
    Properties: properties,
  });
  builder.add(`${options.logicalId}Policy`, {
    Type: 'AWS::S3::BucketPolicy',
    Properties: {
      Bucket: { Ref: id },
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [...(options.policyStatements ?? []), tlsOnlyStatement(arn)],
      },
    },
  });
  return { id, arn };
}

/** Refuses every request that does not arrive over TLS, for the bucket and its objects. */
export function tlsOnlyStatement(bucketArn: string): BucketPolicyStatement {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [bucketArn, `${bucketArn}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}
