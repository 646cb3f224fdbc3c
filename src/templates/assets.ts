import {
  environmentBucketName,
  identityLogGroupName,
  platformKeyAlias,
  serverLogGroupName,
} from '../core/config/naming.js';
import { addAlarmTopic } from './alarms.js';
import { addSecureBucket, type BucketPolicyStatement } from './buckets.js';
import { getAtt, ref, s3BucketArn, sub, TemplateBuilder } from './cfn.js';
import { type EnvContext, OUTPUTS } from './context.js';
import { defaultSgLogGroupName } from './default-security-group.js';
import { addKey, alarmsPublishStatement, logsStatement } from './kms.js';

/** Prefix of S3 server access logs in the access-log bucket (`s3/<source bucket>/`). */
export const S3_ACCESS_LOG_PREFIX = 's3/';
/** Prefix of VPC flow logs in the access-log bucket. */
export const FLOW_LOG_PREFIX = 'vpc-flow-logs/';

/**
 * The environment's shared storage: the assets bucket (function bundles, templates over 51,200 bytes), the
 * access-log bucket every other bucket and the VPC flow log write to, and the environment key (assets bucket,
 * Transfer server logs).
 */
export function renderAssets(ctx: EnvContext): TemplateBuilder {
  const { project, env, partition } = ctx;
  const builder = new TemplateBuilder(
    `sftpctl ${project} ${env.name}: assets bucket, access-log bucket, environment key and alarm topic`,
  );

  const key = addKey(builder, {
    logicalId: 'PlatformKey',
    description:
      env.identity.mode === 'lambda'
        ? `sftpctl ${project} ${env.name}: assets bucket, Transfer server and identity logs, identity table`
        : `sftpctl ${project} ${env.name}: assets bucket and Transfer server logs`,
    alias: platformKeyAlias(project, env.name),
    partition,
    statements: [
      logsStatement(
        partition,
        serverLogGroupName(project, env.name),
        defaultSgLogGroupName(project, env.name),
        ...(env.identity.mode === 'lambda' ? [identityLogGroupName(project, env.name)] : []),
      ),
      alarmsPublishStatement(partition),
    ],
  });
  const topic = addAlarmTopic(builder, {
    name: `${project}-${env.name}-alarms`,
    keyId: key,
    partition,
    alerts: ctx.config.alerts ?? { email: [], https: [] },
  });

  const logBucketName = environmentBucketName(project, env.name, 'access-logs');
  const logBucketArn = s3BucketArn(partition, logBucketName);
  const sourceAccount = { 'aws:SourceAccount': ref('AWS::AccountId') };
  const logDelivery: BucketPolicyStatement[] = [
    {
      Sid: 'S3ServerAccessLogDelivery',
      Effect: 'Allow',
      Principal: { Service: 'logging.s3.amazonaws.com' },
      Action: 's3:PutObject',
      Resource: `${logBucketArn}/${S3_ACCESS_LOG_PREFIX}*`,
      Condition: {
        StringEquals: sourceAccount,
        ArnLike: { 'aws:SourceArn': s3BucketArn(partition, `${project}-${env.name}-*`) },
      },
    },
    {
      Sid: 'VpcFlowLogDelivery',
      Effect: 'Allow',
      Principal: { Service: 'delivery.logs.amazonaws.com' },
      Action: 's3:PutObject',
      Resource: sub(`${logBucketArn}/${FLOW_LOG_PREFIX}AWSLogs/\${AWS::AccountId}/*`),
      Condition: {
        StringEquals: { ...sourceAccount, 's3:x-amz-acl': 'bucket-owner-full-control' },
        ArnLike: { 'aws:SourceArn': sub(`arn:${partition}:logs:\${AWS::Region}:\${AWS::AccountId}:*`) },
      },
    },
    {
      Sid: 'VpcFlowLogAclCheck',
      Effect: 'Allow',
      Principal: { Service: 'delivery.logs.amazonaws.com' },
      Action: ['s3:GetBucketAcl', 's3:ListBucket'],
      Resource: logBucketArn,
      Condition: {
        StringEquals: sourceAccount,
        ArnLike: { 'aws:SourceArn': sub(`arn:${partition}:logs:\${AWS::Region}:\${AWS::AccountId}:*`) },
      },
    },
  ];
  const logBucket = addSecureBucket(builder, {
    logicalId: 'AccessLogBucket',
    name: logBucketName,
    partition,
    // S3 server access logging delivers only to SSE-S3 buckets.
    encryption: 's3',
    expireAfterDays: env.logRetentionDays,
    policyStatements: logDelivery,
  });

  const assetsBucketName = environmentBucketName(project, env.name, 'assets');
  addSecureBucket(builder, {
    logicalId: 'AssetsBucket',
    name: assetsBucketName,
    partition,
    encryption: { kms: getAtt(key, 'Arn') },
    accessLogs: { bucket: ref(logBucket.id), prefix: `${S3_ACCESS_LOG_PREFIX}${assetsBucketName}/` },
  });

  builder.output(OUTPUTS.assets.assetsBucket, 'Bucket of function bundles and large templates', ref('AssetsBucket'));
  builder.output(OUTPUTS.assets.accessLogBucket, 'Bucket of S3 access logs and VPC flow logs', ref(logBucket.id));
  builder.output(
    OUTPUTS.assets.platformKeyArn,
    'Environment key (assets bucket, Transfer server logs)',
    getAtt(key, 'Arn'),
  );
  builder.output(OUTPUTS.assets.alarmTopicArn, 'SNS topic every alarm of the environment notifies', ref(topic));
  return builder;
}
