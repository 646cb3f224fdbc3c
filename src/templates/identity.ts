import { identityLogGroupName, identityTableName, passwordSecretName } from '../core/config/naming.js';
import { addFirstOccurrenceAlarm } from './alarms.js';
import { getAtt, type Intrinsic, ref, sub, type TemplateBuilder } from './cfn.js';
import { FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME } from './client-pipeline.js';
import type { EnvContext } from './context.js';
import { functionRoleProperties } from './function-role.js';

/**
 * Environment variables the identity function reads (src/lambda/identity.ts reads the same names).
 */
export const IDENTITY_FUNCTION_ENV = {
  table: 'SFTPCTL_IDENTITY_TABLE',
  cacheMs: 'SFTPCTL_IDENTITY_CACHE_MS',
  /** Where FTPS password hashes are named: a login of a user without one reads `<prefix><user>` all the same. */
  passwordSecretPrefix: 'SFTPCTL_PASSWORD_SECRET_PREFIX',
} as const;

/** How long a warm function reuses a user's item: a disabled user or removed key takes effect within this. */
export const IDENTITY_CACHE_MS = 30_000;
/**
 * Concurrent logins the function may serve. Reserved so a burst elsewhere in the account cannot starve logins
 * (Transfer treats a throttled invocation as a refused login), small enough for an account's default pool: a
 * login is a cached lookup of milliseconds (an FTPS password check tens of ms), so ten serve hundreds a second.
 */
export const IDENTITY_RESERVED_CONCURRENCY = 10;
/** Seconds: a DynamoDB read and, for FTPS, one scrypt check; far under Transfer's wait for its identity provider. */
export const IDENTITY_FUNCTION_TIMEOUT = 10;
/** MB: scrypt (N=2^15, r=8) needs 32 MiB; Lambda's CPU share grows with memory, which keeps a password check short. */
export const IDENTITY_FUNCTION_MEMORY = 512;

export interface IdentityProvider {
  table: string;
  fn: string;
}

/**
 * The custom identity provider of a `lambda`-mode environment, in the server stack: the user table (on demand,
 * encrypted with the environment key, point-in-time recovery), the identity function with its own encrypted log
 * group, and a role that reads exactly its table, decrypts with the environment key only through DynamoDB, reads
 * only the environment's password hashes and writes only its logs. The caller adds the invoke permission for the
 * server (it needs the server's ARN, which needs the function's).
 */
export function addIdentityProvider(
  builder: TemplateBuilder,
  ctx: EnvContext,
  options: { keyArn: Intrinsic; code: { bucket: Intrinsic; key: Intrinsic }; alarmTopic: Intrinsic },
): IdentityProvider {
  const { project, env, partition } = ctx;
  const table = builder.add('IdentityTable', {
    Type: 'AWS::DynamoDB::Table',
    // deploy writes every item from the config, so the table can be rebuilt; a protected environment keeps it anyway.
    ...(env.protected ? { DeletionPolicy: 'Retain' as const, UpdateReplacePolicy: 'Retain' as const } : {}),
    Properties: {
      TableName: identityTableName(project, env.name),
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'userName', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'userName', KeyType: 'HASH' }],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: options.keyArn },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: env.protected,
    },
  });

  const logGroup = builder.add('IdentityLogGroup', {
    Type: 'AWS::Logs::LogGroup',
    Properties: {
      LogGroupName: identityLogGroupName(project, env.name),
      RetentionInDays: env.logRetentionDays,
      KmsKeyId: options.keyArn,
    },
  });

  const passwordSecrets = `arn:${partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${passwordSecretName(project, env.name, '')}*`;
  const role = builder.add('IdentityFunctionRole', {
    Type: 'AWS::IAM::Role',
    Properties: functionRoleProperties({
      description: `sftpctl ${project} ${env.name}: identity function (Transfer custom identity provider)`,
      policyName: 'identity',
      logGroup,
      statements: [
        {
          Sid: 'ReadUserTable',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem'],
          Resource: [getAtt(table, 'Arn')],
        },
        {
          Sid: 'DecryptUserTableAndPasswordHashesThroughTheirServices',
          Effect: 'Allow',
          Action: ['kms:Decrypt'],
          Resource: [options.keyArn],
          Condition: {
            StringEquals: {
              'kms:ViaService': [
                sub(`dynamodb.\${AWS::Region}.\${AWS::URLSuffix}`),
                sub(`secretsmanager.\${AWS::Region}.\${AWS::URLSuffix}`),
              ],
            },
          },
        },
        {
          Sid: 'ReadPasswordHashes',
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue'],
          Resource: [sub(passwordSecrets)],
        },
      ],
    }),
  });

  const fn = builder.add('IdentityFunction', {
    Type: 'AWS::Lambda::Function',
    Properties: {
      Description: `sftpctl ${project} ${env.name}: identity provider (keys, source addresses, FTPS passwords)`,
      Runtime: FUNCTION_RUNTIME,
      Architectures: [FUNCTION_ARCHITECTURE],
      Handler: 'identity.handler',
      Code: { S3Bucket: options.code.bucket, S3Key: options.code.key },
      MemorySize: IDENTITY_FUNCTION_MEMORY,
      Timeout: IDENTITY_FUNCTION_TIMEOUT,
      ReservedConcurrentExecutions: IDENTITY_RESERVED_CONCURRENCY,
      Role: getAtt(role, 'Arn'),
      Environment: {
        Variables: {
          [IDENTITY_FUNCTION_ENV.table]: ref(table),
          [IDENTITY_FUNCTION_ENV.cacheMs]: String(IDENTITY_CACHE_MS),
          [IDENTITY_FUNCTION_ENV.passwordSecretPrefix]: passwordSecretName(project, env.name, ''),
        },
      },
      LoggingConfig: { LogGroup: ref(logGroup), LogFormat: 'JSON' },
    },
  });

  const alarmName = `${project}-${env.name}-identity`;
  addFirstOccurrenceAlarm(builder, 'IdentityErrorsAlarm', {
    name: `${alarmName}-errors`,
    description: 'The identity function failed: Transfer refuses the logins it could not answer',
    namespace: 'AWS/Lambda',
    metricName: 'Errors',
    dimensions: [{ Name: 'FunctionName', Value: ref(fn) }],
    topic: options.alarmTopic,
  });
  addFirstOccurrenceAlarm(builder, 'IdentityThrottlesAlarm', {
    name: `${alarmName}-throttles`,
    description: `The identity function was throttled (over ${IDENTITY_RESERVED_CONCURRENCY} concurrent logins): Transfer refused those logins`,
    namespace: 'AWS/Lambda',
    metricName: 'Throttles',
    dimensions: [{ Name: 'FunctionName', Value: ref(fn) }],
    topic: options.alarmTopic,
  });
  return { table, fn };
}
