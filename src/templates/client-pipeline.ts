import { clientStackName, functionLogGroupName } from '../core/config/naming.js';
import { MALLOC_TUNABLES, MALLOC_TUNABLES_VARIABLE } from '../core/crypto/malloc-tuning.js';
import { addFirstOccurrenceAlarm } from './alarms.js';
import { getAtt, type Intrinsic, ref, type TemplateBuilder } from './cfn.js';
import { functionRoleProperties } from './function-role.js';

/** Function settings shared by ingress and egress. */
/** The newest Node.js runtime Lambda offers (Node 24 LTS, supported to 2028); the bundles carry their own AWS SDK. */
export const FUNCTION_RUNTIME = 'nodejs24.x';
export const FUNCTION_ARCHITECTURE = 'arm64';
/** Seconds; PGP streams run at 130-160 MB/s, so 15 minutes carries files of many GB. */
export const FUNCTION_TIMEOUT = 900;
/** AWS's advice for SQS sources: visibility timeout at least six times the function timeout. */
export const QUEUE_VISIBILITY_TIMEOUT = FUNCTION_TIMEOUT * 6;
/** A message that failed this many times moves to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 3;
/** Concurrent invocations per function (event source mapping), without reserving account concurrency. */
export const MAX_CONCURRENCY = 5;
const QUEUE_RETENTION_SECONDS = 4 * 24 * 3600;
const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;

/**
 * Environment variable names the functions read (src/lambda reads the same names). Values are strings;
 * lists are comma-separated.
 */
export { FUNCTION_ENV } from '../core/pipeline/function-env.js';

export interface IamPolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: unknown[];
}

/** A queue policy statement denying every request to `queues` (logical ids) that does not come over TLS. */
export function denyInsecureTransport(queues: string[]) {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: 'sqs:*',
    Resource: queues.map((queue) => getAtt(queue, 'Arn')),
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  } as const;
}

/** The per-client metric of failed files of one function (from its `failed` log events). */
export function failureMetric(project: string, env: string, client: string, fn: 'ingress' | 'egress' | 'sweeper') {
  return { namespace: `sftpctl/${project}-${env}`, name: `${client}-${fn}-failed` };
}

export interface PipelineOptions {
  /** `Ingress` or `Egress`: prefixes every logical id. */
  prefix: 'Ingress' | 'Egress';
  project: string;
  env: string;
  client: string;
  memory: number;
  logRetentionDays: number;
  keyId: string;
  code: { bucket: Intrinsic; key: Intrinsic };
  environment: Record<string, unknown>;
  /** The environment's alarm topic: every alarm notifies it. */
  alarmTopic: Intrinsic;
  /** What the function may do besides its logs, its queue and the client key. */
  statements: IamPolicyStatement[];
}

export interface Pipeline {
  queue: string;
  deadLetterQueue: string;
  fn: string;
}

/**
 * Queue (KMS, dead-letter queue after MAX_RECEIVE_COUNT receives) → function (one per client and direction) with
 * an explicit encrypted log group, its own role, and alarms on dead letters and errors. The queue's sender and its
 * queue policy are the caller's: EventBridge for ingress, S3 for egress.
 */
export function addPipeline(builder: TemplateBuilder, options: PipelineOptions): Pipeline {
  const { prefix } = options;
  const keyArn = getAtt(options.keyId, 'Arn');
  const fnKind = prefix === 'Ingress' ? 'ingress' : 'egress';

  const deadLetterQueue = builder.add(`${prefix}DeadLetterQueue`, {
    Type: 'AWS::SQS::Queue',
    Properties: { KmsMasterKeyId: keyArn, MessageRetentionPeriod: DEAD_LETTER_RETENTION_SECONDS },
  });
  const queue = builder.add(`${prefix}Queue`, {
    Type: 'AWS::SQS::Queue',
    Properties: {
      KmsMasterKeyId: keyArn,
      VisibilityTimeout: QUEUE_VISIBILITY_TIMEOUT,
      MessageRetentionPeriod: QUEUE_RETENTION_SECONDS,
      RedrivePolicy: { deadLetterTargetArn: getAtt(deadLetterQueue, 'Arn'), maxReceiveCount: MAX_RECEIVE_COUNT },
    },
  });

  const logGroup = builder.add(`${prefix}LogGroup`, {
    Type: 'AWS::Logs::LogGroup',
    Properties: {
      LogGroupName: functionLogGroupName(options.project, options.env, options.client, fnKind),
      RetentionInDays: options.logRetentionDays,
      KmsKeyId: keyArn,
    },
  });

  const role = builder.add(`${prefix}FunctionRole`, {
    Type: 'AWS::IAM::Role',
    Properties: functionRoleProperties({
      description: `sftpctl ${options.project} ${options.env} ${options.client}: ${fnKind} function`,
      policyName: fnKind,
      logGroup,
      statements: [
        {
          Sid: 'ConsumeOwnQueue',
          Effect: 'Allow',
          Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
          Resource: [getAtt(queue, 'Arn')],
        },
        ...options.statements,
        {
          Sid: 'UseClientKey',
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: [keyArn],
        },
      ],
    }),
  });

  const fn = builder.add(`${prefix}Function`, {
    Type: 'AWS::Lambda::Function',
    Properties: {
      Description: `sftpctl ${options.project} ${options.env} ${options.client}: ${fnKind}`,
      Runtime: FUNCTION_RUNTIME,
      Architectures: [FUNCTION_ARCHITECTURE],
      Handler: `${fnKind}.handler`,
      Code: { S3Bucket: options.code.bucket, S3Key: options.code.key },
      MemorySize: options.memory,
      Timeout: FUNCTION_TIMEOUT,
      Role: getAtt(role, 'Arn'),
      KmsKeyArn: keyArn,
      Environment: { Variables: { ...options.environment, [MALLOC_TUNABLES_VARIABLE]: MALLOC_TUNABLES } },
      LoggingConfig: { LogGroup: ref(logGroup), LogFormat: 'JSON' },
    },
  });

  builder.add(`${prefix}EventSourceMapping`, {
    Type: 'AWS::Lambda::EventSourceMapping',
    Properties: {
      EventSourceArn: getAtt(queue, 'Arn'),
      FunctionName: ref(fn),
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: MAX_CONCURRENCY },
      Enabled: true,
    },
  });

  const alarmName = `${clientStackName(options.project, options.env, options.client)}-${fnKind}`;
  addFirstOccurrenceAlarm(builder, `${prefix}DeadLetterAlarm`, {
    name: `${alarmName}-dead-letters`,
    description: `${options.client}: ${fnKind} messages failed ${MAX_RECEIVE_COUNT} times and wait in the dead-letter queue`,
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    dimensions: [{ Name: 'QueueName', Value: getAtt(deadLetterQueue, 'QueueName') }],
    statistic: 'Maximum',
    topic: options.alarmTopic,
  });
  addFirstOccurrenceAlarm(builder, `${prefix}ErrorsAlarm`, {
    name: `${alarmName}-errors`,
    description: `${options.client}: the ${fnKind} function failed`,
    namespace: 'AWS/Lambda',
    metricName: 'Errors',
    dimensions: [{ Name: 'FunctionName', Value: ref(fn) }],
    topic: options.alarmTopic,
  });

  // A file that fails is a partial-batch failure, not a Lambda `Errors` datapoint: the function's own `failed` log
  // event (one JSON line per failed message, src/lambda/run-batch.ts) is counted per client and alarmed at once.
  const metric = failureMetric(options.project, options.env, options.client, fnKind);
  builder.add(`${prefix}FailuresMetricFilter`, {
    Type: 'AWS::Logs::MetricFilter',
    Properties: {
      LogGroupName: ref(logGroup),
      FilterName: `${fnKind}-failed`,
      // Lines the function writes itself stay as they are in a JSON-format log group; console output is wrapped in
      // a record whose `message` holds it. Either way a failure counts.
      FilterPattern: '{ ($.event = "failed") || ($.message.event = "failed") }',
      MetricTransformations: [
        { MetricNamespace: metric.namespace, MetricName: metric.name, MetricValue: '1', Unit: 'Count' },
      ],
    },
  });
  addFirstOccurrenceAlarm(builder, `${prefix}FailuresAlarm`, {
    name: `${alarmName}-failed-files`,
    description: `${options.client}: a file failed in ${fnKind} (quarantined, or retried until it reaches the dead-letter queue); see the function's log for the failed event`,
    namespace: metric.namespace,
    metricName: metric.name,
    topic: options.alarmTopic,
  });

  return { queue, deadLetterQueue, fn };
}
