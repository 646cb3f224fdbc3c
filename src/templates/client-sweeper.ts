import { clientLogGroupPrefix, clientStackName } from '../core/config/naming.js';
import { functionS3Statements } from '../core/permissions.js';
import { SWEEPER_ENV } from '../lambda/sweeper.js';
import { addFirstOccurrenceAlarm } from './alarms.js';
import { getAtt, type Intrinsic, ref, type TemplateBuilder } from './cfn.js';
import { FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME, FUNCTION_TIMEOUT, failureMetric } from './client-pipeline.js';
import { functionRoleProperties } from './function-role.js';

/**
 * How often the sweeper runs, and how old an unmarked upload must be before it counts as lost: older than the longest
 * job can run (the ingress function's timeout) plus a margin, so a file still being processed is never sent again
 * and decrypted twice at once.
 */
export const SWEEP_SCHEDULE = 'rate(5 minutes)';
export const SWEEP_AFTER_MINUTES = FUNCTION_TIMEOUT / 60 + 5;
const SWEEPER_TIMEOUT = 300;
const SWEEPER_MEMORY = 256;

export interface SweeperOptions {
  project: string;
  env: string;
  client: string;
  logRetentionDays: number;
  keyId: string;
  /** The ingress bundle: the sweeper is its `sweep` export. */
  code: { bucket: Intrinsic; key: Intrinsic };
  /** The ingress function's environment: the sweeper reads the same pipeline settings. */
  ingressEnvironment: Record<string, unknown>;
  /** ARNs of the buckets it touches: upload (list, tags) and raw (quarantine records). */
  bucketArns: { upload: string; raw: string };
  ingressQueue: string;
  alarmTopic: Intrinsic;
}

/**
 * Transfer Family delivers upload-completed events best effort: a scheduled sweeper per client finds uploads no
 * function has marked and puts them back on the ingress queue. Its role is derived from the same operation list as
 * the Lambda's guarded store (core/permissions.ts); its finds are a metric, alarmed at the first one.
 */
export function addSweeper(builder: TemplateBuilder, options: SweeperOptions): string {
  const keyArn = getAtt(options.keyId, 'Arn');
  const logGroup = builder.add('SweeperLogGroup', {
    Type: 'AWS::Logs::LogGroup',
    Properties: {
      LogGroupName: `${clientLogGroupPrefix(options.project, options.env, options.client)}sweeper`,
      RetentionInDays: options.logRetentionDays,
      KmsKeyId: keyArn,
    },
  });
  const role = builder.add('SweeperFunctionRole', {
    Type: 'AWS::IAM::Role',
    Properties: functionRoleProperties({
      description: `sftpctl ${options.project} ${options.env} ${options.client}: upload sweeper`,
      policyName: 'sweeper',
      logGroup,
      statements: [
        ...functionS3Statements('sweeper', (bucket) => {
          if (bucket !== 'upload' && bucket !== 'raw') throw new Error(`sweeper: no ${bucket} bucket`);
          return options.bucketArns[bucket];
        }),
        {
          Sid: 'RequeueToIngress',
          Effect: 'Allow',
          Action: ['sqs:SendMessage'],
          Resource: [getAtt(options.ingressQueue, 'Arn')],
        },
        // The queue is SSE-KMS with the client key; S3 reads (tags) of SSE-KMS objects need no key use.
        {
          Sid: 'UseClientKey',
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: [keyArn],
        },
      ],
    }),
  });
  const fn = builder.add('SweeperFunction', {
    Type: 'AWS::Lambda::Function',
    Properties: {
      Description: `sftpctl ${options.project} ${options.env} ${options.client}: sweeper (lost upload events)`,
      Runtime: FUNCTION_RUNTIME,
      Architectures: [FUNCTION_ARCHITECTURE],
      Handler: 'ingress.sweep',
      Code: { S3Bucket: options.code.bucket, S3Key: options.code.key },
      MemorySize: SWEEPER_MEMORY,
      Timeout: SWEEPER_TIMEOUT,
      Role: getAtt(role, 'Arn'),
      KmsKeyArn: keyArn,
      Environment: {
        Variables: {
          ...options.ingressEnvironment,
          [SWEEPER_ENV.ingressQueueUrl]: ref(options.ingressQueue),
          [SWEEPER_ENV.olderThanMinutes]: String(SWEEP_AFTER_MINUTES),
        },
      },
      LoggingConfig: { LogGroup: ref(logGroup), LogFormat: 'JSON' },
    },
  });
  const schedule = builder.add('SweeperSchedule', {
    Type: 'AWS::Events::Rule',
    Properties: {
      Description: `${options.client}: sweep the upload bucket for uploads whose event was lost`,
      ScheduleExpression: SWEEP_SCHEDULE,
      State: 'ENABLED',
      Targets: [{ Id: 'Sweeper', Arn: getAtt(fn, 'Arn') }],
    },
  });
  builder.add('SweeperInvokePermission', {
    Type: 'AWS::Lambda::Permission',
    Properties: {
      Action: 'lambda:InvokeFunction',
      FunctionName: ref(fn),
      Principal: 'events.amazonaws.com',
      SourceArn: getAtt(schedule, 'Arn'),
      SourceAccount: ref('AWS::AccountId'),
    },
  });

  const alarmName = `${clientStackName(options.project, options.env, options.client)}-sweeper`;
  const metric = {
    namespace: failureMetric(options.project, options.env, options.client, 'sweeper').namespace,
    name: `${options.client}-sweeper-found`,
  };
  builder.add('SweeperFindsMetricFilter', {
    Type: 'AWS::Logs::MetricFilter',
    Properties: {
      LogGroupName: ref(logGroup),
      FilterName: 'sweeper-found',
      FilterPattern: '{ ($.event = "swept") && ($.found > 0) }',
      MetricTransformations: [
        { MetricNamespace: metric.namespace, MetricName: metric.name, MetricValue: '$.found', Unit: 'Count' },
      ],
    },
  });
  addFirstOccurrenceAlarm(builder, 'SweeperFindsAlarm', {
    name: `${alarmName}-found-lost-uploads`,
    description: `${options.client}: the sweeper found uploads whose upload-completed event never arrived and re-queued them`,
    namespace: metric.namespace,
    metricName: metric.name,
    topic: options.alarmTopic,
  });
  addFirstOccurrenceAlarm(builder, 'SweeperErrorsAlarm', {
    name: `${alarmName}-errors`,
    description: `${options.client}: the upload sweeper failed (lost uploads are not being found)`,
    namespace: 'AWS/Lambda',
    metricName: 'Errors',
    dimensions: [{ Name: 'FunctionName', Value: ref(fn) }],
    topic: options.alarmTopic,
  });
  return fn;
}
