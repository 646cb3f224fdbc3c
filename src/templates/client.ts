import {
  BUCKET_PURPOSES,
  type BucketPurpose,
  bucketName,
  clientKeyAlias,
  clientLogGroupPrefix,
  secretNames,
} from '../core/config/naming.js';
import { userNameOf } from '../core/config/resolve.js';
import type { Client } from '../core/config/schema.js';
import { functionS3Statements } from '../core/permissions.js';
import { pipelineEnvironment } from '../core/pipeline/function-env.js';
import { pipelineSettingsFor } from '../core/pipeline/settings.js';
import { S3_ACCESS_LOG_PREFIX } from './assets.js';
import { addSecureBucket } from './buckets.js';
import { getAtt, type Intrinsic, ref, s3BucketArn, sub, TemplateBuilder } from './cfn.js';
import { addPipeline, denyInsecureTransport, FUNCTION_ENV, type IamPolicyStatement } from './client-pipeline.js';
import { addSweeper } from './client-sweeper.js';
import { addTransferUser, addUserRole } from './client-users.js';
import { type EnvContext, OUTPUTS } from './context.js';
import { addKey, logsStatement, serviceSendsToQueueStatement } from './kms.js';

/** Client stack output with the ARN of a user's IAM role (lambda mode): deploy writes it into the identity table. */
export function userRoleOutput(role: 'upload' | 'download'): 'UploadUserRoleArn' | 'DownloadUserRoleArn' {
  return role === 'upload' ? 'UploadUserRoleArn' : 'DownloadUserRoleArn';
}

/** Transfer's EventBridge event for a finished upload: the only trigger of ingress (never a partial object). */
export const UPLOAD_COMPLETED_DETAIL_TYPE = 'SFTP Server File Upload Completed';

/**
 * Per-bucket retention (days until current objects expire). The config schema has no such field yet; when
 * `clients[].retentionDays` is added the renderer honours it without change.
 */
type ClientWithRetention = Client & { retentionDays?: Partial<Record<BucketPurpose, number>> };

const BUCKET_IDS: Record<BucketPurpose, string> = {
  upload: 'UploadBucket',
  raw: 'RawBucket',
  export: 'ExportBucket',
  download: 'DownloadBucket',
};

/**
 * Everything of one client: its key, four buckets, the ingress chain (Transfer upload-completed event → queue →
 * function, when it has an upload user) and the egress chain (export bucket ObjectCreated → queue → function, when
 * it has a download user), the PGP secrets (created empty: the CLI writes their values), Transfer users and alarms.
 */
export function renderClient(ctx: EnvContext, client: Client): TemplateBuilder {
  const { project, env, partition } = ctx;
  const envName = env.name;
  const builder = new TemplateBuilder(`sftpctl ${project} ${envName}: client ${client.name}`);
  const uploadUser = userNameOf(client, 'upload');
  const downloadUser = userNameOf(client, 'download');
  const ingress = uploadUser !== undefined;
  const egress = downloadUser !== undefined;
  // The per-client pipeline settings (empty-file policy, decompression limit, checksum policy, temporary names): the
  // same values `local up` uses, read back by settingsFromEnvironment.
  const pipelineSettings = pipelineEnvironment(pipelineSettingsFor(ctx.config, envName, client));

  const serverId = builder.parameter(
    'ServerId',
    { Type: 'String', Description: 'Transfer server id (server stack output)', AllowedPattern: '^s-[0-9a-f]{17}$' },
    { from: 'output', stack: ctx.stacks.server, output: OUTPUTS.server.serverId },
  );
  const logBucket = builder.parameter(
    'AccessLogBucketName',
    { Type: 'String', Description: 'Bucket receiving S3 server access logs (assets stack output)', MinLength: 3 },
    { from: 'output', stack: ctx.stacks.assets, output: OUTPUTS.assets.accessLogBucket },
  );
  let codeBucket: Intrinsic | undefined;
  let alarmTopic: Intrinsic | undefined;
  if (ingress || egress) {
    alarmTopic = builder.parameter(
      'AlarmTopicArn',
      { Type: 'String', Description: 'SNS topic every alarm notifies (assets stack output)', MinLength: 20 },
      { from: 'output', stack: ctx.stacks.assets, output: OUTPUTS.assets.alarmTopicArn },
    );
    codeBucket = builder.parameter(
      'CodeBucket',
      { Type: 'String', Description: 'Bucket holding the function bundles (assets stack output)', MinLength: 3 },
      { from: 'output', stack: ctx.stacks.assets, output: OUTPUTS.assets.assetsBucket },
    );
  }

  const key = addKey(builder, {
    logicalId: 'ClientKey',
    description: `sftpctl ${project} ${envName} ${client.name}: buckets, queues, secrets and logs`,
    alias: clientKeyAlias(project, envName, client.name),
    partition,
    statements: [
      logsStatement(partition, clientLogGroupPrefix(project, envName, client.name)),
      ...(ingress
        ? [
            serviceSendsToQueueStatement('EventBridgeSendsToIngressQueue', 'events.amazonaws.com', {
              // The rule's name is generated, and naming its ARN here would make the key depend on the rule, which
              // depends on the queue, which depends on the key: the account's rules in this region, and the queue
              // policy names the one rule that may send.
              ArnLike: { 'aws:SourceArn': sub(`arn:${partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/*`) },
            }),
          ]
        : []),
      ...(egress
        ? [
            serviceSendsToQueueStatement('S3NotifiesEgressQueue', 's3.amazonaws.com', {
              ArnEquals: {
                'aws:SourceArn': s3BucketArn(partition, bucketName(project, envName, client.name, 'export')),
              },
            }),
          ]
        : []),
    ],
  });
  const keyArn = getAtt(key, 'Arn');

  const names = Object.fromEntries(
    BUCKET_PURPOSES.map((purpose) => [purpose, bucketName(project, envName, client.name, purpose)]),
  ) as Record<BucketPurpose, string>;
  const arns = {} as Record<BucketPurpose, string>;
  const retention = (client as ClientWithRetention).retentionDays ?? {};
  for (const purpose of BUCKET_PURPOSES) {
    const bucket = addSecureBucket(builder, {
      logicalId: BUCKET_IDS[purpose],
      name: names[purpose],
      partition,
      encryption: { kms: keyArn },
      accessLogs: { bucket: logBucket, prefix: `${S3_ACCESS_LOG_PREFIX}${names[purpose]}/` },
      ...(retention[purpose] !== undefined ? { expireAfterDays: retention[purpose] } : {}),
      ...(purpose === 'export' && egress
        ? { notifyQueue: { arn: getAtt('EgressQueue', 'Arn'), dependsOn: 'EgressQueuePolicy' } }
        : {}),
    });
    arns[purpose] = bucket.arn;
  }
  const extensions = client.encryptedExtensions.join(',');
  const secrets = secretNames(project, envName, client.name);
  /** What the ingress and egress functions share: naming, sizing, logs, the client key and where their code is. */
  const pipelineBase = (kind: 'ingress' | 'egress') => {
    const Kind = kind === 'ingress' ? 'Ingress' : 'Egress';
    return {
      prefix: Kind,
      project,
      env: envName,
      client: client.name,
      memory: client.memory,
      logRetentionDays: env.logRetentionDays,
      keyId: key,
      alarmTopic: alarmTopic!,
      code: {
        bucket: codeBucket!,
        key: builder.parameter(
          `${Kind}CodeKey`,
          { Type: 'String', Description: `S3 key of the ${kind} function bundle`, MinLength: 1 },
          { from: 'artifact', artifact: `${kind}-function` },
        ),
      },
    } as const;
  };

  if (ingress) {
    const secret = builder.add('IngressPrivateKeysSecret', {
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Name: secrets.ingressPrivateKeys,
        Description: `${client.name}: the platform's ingress PGP private key(s); written by sftpctl, never by CloudFormation`,
        KmsKeyId: keyArn,
      },
    });
    const statements: IamPolicyStatement[] = [
      ...functionS3Statements('ingress', (bucket) => arns[bucket]),
      {
        Sid: 'ReadIngressPrivateKeys',
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        Resource: [ref(secret)],
      },
    ];
    const ingressEnvironment = {
      [FUNCTION_ENV.client]: client.name,
      [FUNCTION_ENV.uploadBucket]: names.upload,
      [FUNCTION_ENV.rawBucket]: names.raw,
      [FUNCTION_ENV.ingressPrivateKeysSecretArn]: ref(secret),
      [FUNCTION_ENV.encryptedExtensions]: extensions,
      [FUNCTION_ENV.checksumAlgorithm]: client.checksum,
      [FUNCTION_ENV.requireEncryption]: String(client.requireEncryption),
      ...pipelineSettings,
    };
    const pipeline = addPipeline(builder, { ...pipelineBase('ingress'), environment: ingressEnvironment, statements });
    builder.add('IngressRule', {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: `${client.name}: uploads completed by ${uploadUser} go to the ingress queue`,
        EventPattern: {
          source: ['aws.transfer'],
          'detail-type': [UPLOAD_COMPLETED_DETAIL_TYPE],
          detail: { 'server-id': [serverId], username: [uploadUser] },
        },
        State: 'ENABLED',
        Targets: [
          {
            Id: 'IngressQueue',
            Arn: getAtt(pipeline.queue, 'Arn'),
            // Events EventBridge cannot deliver (e.g. a key policy mistake) wait in the dead-letter queue.
            DeadLetterConfig: { Arn: getAtt(pipeline.deadLetterQueue, 'Arn') },
          },
        ],
      },
    });
    builder.add('IngressQueuePolicy', {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [ref(pipeline.queue), ref(pipeline.deadLetterQueue)],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'UploadCompletedRuleSends',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: [getAtt(pipeline.queue, 'Arn'), getAtt(pipeline.deadLetterQueue, 'Arn')],
              Condition: { ArnEquals: { 'aws:SourceArn': getAtt('IngressRule', 'Arn') } },
            },
            denyInsecureTransport([pipeline.queue, pipeline.deadLetterQueue]),
          ],
        },
      },
    });
    const sweeper = addSweeper(builder, {
      project,
      env: envName,
      client: client.name,
      logRetentionDays: env.logRetentionDays,
      keyId: key,
      code: { bucket: codeBucket!, key: ref('IngressCodeKey') },
      ingressEnvironment,
      bucketArns: { upload: arns.upload, raw: arns.raw },
      ingressQueue: pipeline.queue,
      alarmTopic: alarmTopic!,
    });
    builder.output('SweeperFunctionName', 'Upload sweeper function', ref(sweeper));
    builder.output('IngressFunctionName', 'Ingress function', ref(pipeline.fn));
    builder.output('IngressQueueUrl', 'Ingress queue', ref(pipeline.queue));
    builder.output('IngressDeadLetterQueueUrl', 'Ingress dead-letter queue', ref(pipeline.deadLetterQueue));
    builder.output('IngressPrivateKeysSecretArn', 'Secret holding the ingress PGP private key(s)', ref(secret));
  }

  if (egress) {
    const secret = builder.add('PartnerPublicKeySecret', {
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Name: secrets.partnerPublicKey,
        Description: `${client.name}: the partner's PGP public key for egress; written by sftpctl, never by CloudFormation`,
        KmsKeyId: keyArn,
      },
    });
    const statements: IamPolicyStatement[] = [
      ...functionS3Statements('egress', (bucket) => arns[bucket]),
      {
        Sid: 'ReadPartnerPublicKey',
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        Resource: [ref(secret)],
      },
    ];
    const pipeline = addPipeline(builder, {
      ...pipelineBase('egress'),
      environment: {
        [FUNCTION_ENV.client]: client.name,
        [FUNCTION_ENV.exportBucket]: names.export,
        [FUNCTION_ENV.downloadBucket]: names.download,
        [FUNCTION_ENV.partnerPublicKeySecretArn]: ref(secret),
        [FUNCTION_ENV.encryptedExtensions]: extensions,
        [FUNCTION_ENV.checksumAlgorithm]: client.checksum,
        ...pipelineSettings,
      },
      statements,
    });
    builder.add('EgressQueuePolicy', {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [ref(pipeline.queue), ref(pipeline.deadLetterQueue)],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'ExportBucketNotifies',
              Effect: 'Allow',
              Principal: { Service: 's3.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: [getAtt(pipeline.queue, 'Arn')],
              Condition: {
                ArnEquals: { 'aws:SourceArn': arns.export },
                StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
              },
            },
            denyInsecureTransport([pipeline.queue, pipeline.deadLetterQueue]),
          ],
        },
      },
    });
    builder.output('EgressFunctionName', 'Egress function', ref(pipeline.fn));
    builder.output('EgressQueueUrl', 'Egress queue', ref(pipeline.queue));
    builder.output('EgressDeadLetterQueueUrl', 'Egress dead-letter queue', ref(pipeline.deadLetterQueue));
    builder.output('PartnerPublicKeySecretArn', "Secret holding the partner's PGP public key", ref(secret));
  }

  for (const [role, userName] of [
    ['upload', uploadUser],
    ['download', downloadUser],
  ] as const) {
    if (userName === undefined) continue;
    const purpose: BucketPurpose = role;
    const userOptions = {
      role,
      bucketName: names[purpose],
      bucketArn: arns[purpose],
      keyId: key,
      serverId,
      partition,
      description: `sftpctl ${project} ${envName} ${client.name}: Transfer ${role} user ${userName}`,
    };
    const Role = role === 'upload' ? 'Upload' : 'Download';
    if (env.identity.mode === 'lambda') {
      // No Transfer user: the identity function answers with this role, which deploy writes into the user table.
      const userRole = addUserRole(builder, userOptions, 'server');
      builder.output(`${Role}UserName`, `${role} user (in the identity table)`, userName);
      builder.output(userRoleOutput(role), `IAM role of the ${role} user`, getAtt(userRole, 'Arn'));
      continue;
    }
    const { user } = addTransferUser(builder, { ...userOptions, userName });
    builder.output(`${Role}UserName`, `Transfer ${role} user`, getAtt(user, 'UserName'));
  }

  builder.output('KeyArn', 'Client KMS key', keyArn);
  for (const purpose of BUCKET_PURPOSES) {
    builder.output(`${BUCKET_IDS[purpose]}Name`, `${purpose} bucket`, ref(BUCKET_IDS[purpose]));
  }
  return builder;
}
