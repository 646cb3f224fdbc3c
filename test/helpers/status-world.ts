import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStacksCommand,
  type Output,
} from '@aws-sdk/client-cloudformation';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DescribeServerCommand, DescribeUserCommand, TransferClient } from '@aws-sdk/client-transfer';
import { mockClient } from 'aws-sdk-client-mock';
import type { Config } from '../../src/core/config/schema.js';
import { synthesize } from '../../src/templates/synthesize.js';
import { useFakeCredentials } from './aws-fakes.js';

export const ACCOUNT = '111122223333';
export const SERVER_ID = 's-0123456789abcdef0';
/** The world's clock unless told otherwise. */
export const NOW = new Date('2026-11-24T12:00:00Z');
export const DAY = 86_400_000;

export interface FakeStack {
  StackStatus: string;
  StackStatusReason?: string;
  Outputs: Record<string, string>;
  EnableTerminationProtection: boolean;
  LastUpdatedTime?: Date;
}

/**
 * AWS as the status command sees it, faked with aws-sdk-client-mock: stacks with outputs, one Transfer server, users
 * with keys, dead-letter queue depths and Lambda error datapoints. Every call is logged with its input; `fail` makes
 * every call of one name (optionally for one key: stack, queue URL, user) throw. The credentials in the process
 * environment are fake too while the world stands; `restore` puts back what was there.
 */
export function fakeWorld(options: { account?: string; delayMs?: number; now?: Date } = {}) {
  const now = options.now ?? NOW;
  const log: { call: string; input: Record<string, unknown> }[] = [];
  const stacks = new Map<string, FakeStack>();
  const listed: { StackName: string; StackStatus: string; CreationTime: Date }[] = [];
  const server = { State: 'ONLINE', SecurityPolicyName: 'TransferSecurityPolicy-2025-03', Protocols: ['SFTP'] };
  const users = new Map<string, { body: string; imported: Date }[]>();
  const depths = new Map<string, number>();
  const errors = new Map<string, number[]>();
  const failures = new Map<string, Error>();
  let inFlight = 0;
  let maxInFlight = 0;

  const restoreCredentials = useFakeCredentials();

  const handle = async <T>(call: string, input: object, key: string, answer: () => T): Promise<T> => {
    log.push({ call, input: input as Record<string, unknown> });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const failure = failures.get(`${call}:${key}`) ?? failures.get(call);
      if (failure) throw failure;
      return answer();
    } finally {
      inFlight--;
    }
  };

  const sts = mockClient(STSClient);
  sts
    .on(GetCallerIdentityCommand)
    .callsFake((input) => handle('GetCallerIdentity', input, '', () => ({ Account: options.account ?? ACCOUNT })));
  const cfn = mockClient(CloudFormationClient);
  cfn.on(DescribeStacksCommand).callsFake((input) =>
    handle('DescribeStacks', input, input.StackName, () => {
      const stack = stacks.get(input.StackName);
      if (!stack)
        throw Object.assign(new Error(`Stack with id ${input.StackName} does not exist`), { name: 'ValidationError' });
      return {
        Stacks: [
          {
            StackName: input.StackName,
            StackStatus: stack.StackStatus,
            StackStatusReason: stack.StackStatusReason,
            CreationTime: new Date(now.getTime() - 30 * DAY),
            LastUpdatedTime: stack.LastUpdatedTime,
            EnableTerminationProtection: stack.EnableTerminationProtection,
            Outputs: Object.entries(stack.Outputs).map(
              ([OutputKey, OutputValue]): Output => ({ OutputKey, OutputValue }),
            ),
          },
        ],
      };
    }),
  );
  cfn.on(ListStacksCommand).callsFake((input) =>
    handle('ListStacks', input, '', () => ({
      StackSummaries: [
        ...[...stacks].map(([StackName, stack]) => ({
          StackName,
          StackStatus: stack.StackStatus,
          CreationTime: new Date(now.getTime() - 30 * DAY),
        })),
        ...listed,
      ],
    })),
  );
  const transfer = mockClient(TransferClient);
  transfer.on(DescribeServerCommand).callsFake((input) =>
    handle('DescribeServer', input, input.ServerId, () => ({
      Server: { Arn: 'arn', ServerId: input.ServerId, EndpointType: 'VPC', ...server },
    })),
  );
  transfer.on(DescribeUserCommand).callsFake((input) =>
    handle('DescribeUser', input, input.UserName, () => {
      const found = users.get(input.UserName);
      if (!found) throw Object.assign(new Error('Unknown user'), { name: 'ResourceNotFoundException' });
      return {
        ServerId: input.ServerId,
        User: {
          Arn: 'arn',
          UserName: input.UserName,
          SshPublicKeys: found.map((key, index) => ({
            SshPublicKeyId: `key-${index}`,
            SshPublicKeyBody: key.body,
            DateImported: key.imported,
          })),
        },
      };
    }),
  );
  const sqs = mockClient(SQSClient);
  sqs.on(GetQueueAttributesCommand).callsFake((input) =>
    handle('GetQueueAttributes', input, input.QueueUrl, () => {
      const depth = depths.get(input.QueueUrl);
      if (depth === undefined)
        throw Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' });
      return { Attributes: { ApproximateNumberOfMessages: String(depth) } };
    }),
  );
  const cloudWatch = mockClient(CloudWatchClient);
  cloudWatch.on(GetMetricDataCommand).callsFake((input) =>
    handle('GetMetricData', input, '', () => ({
      MetricDataResults: (input.MetricDataQueries ?? []).map((query: { Id: string; MetricStat: unknown }) => {
        const name = (query.MetricStat as { Metric: { Dimensions: { Value: string }[] } }).Metric.Dimensions[0]!.Value;
        return { Id: query.Id, StatusCode: 'Complete', Values: errors.get(name) ?? [] };
      }),
    })),
  );

  /** Alarms in state ALARM, as DescribeAlarms returns them. */
  const alarms: MetricAlarm[] = [];
  cloudWatch.on(DescribeAlarmsCommand).callsFake((input) =>
    handle('DescribeAlarms', input, '', () => ({
      MetricAlarms: alarms.filter(
        (alarm) => alarm.AlarmName?.startsWith(input.AlarmNamePrefix ?? '') && input.StateValue === 'ALARM',
      ),
    })),
  );

  return {
    now,
    log,
    alarms,
    stacks,
    listed,
    server,
    users,
    depths,
    errors,
    calls: () => log.map((entry) => entry.call),
    inputs: (call: string) => log.filter((entry) => entry.call === call).map((entry) => entry.input),
    maxInFlight: () => maxInFlight,
    /** When a key `days` old (and an hour, so its age in whole days is `days`) was imported. */
    importedAgo: (days: number) => new Date(now.getTime() - days * DAY - 3_600_000),
    /** Every call of `call` (for `key` only, when given) throws `error`. */
    fail(call: string, error: Error, key?: string) {
      failures.set(key === undefined ? call : `${call}:${key}`, error);
    },
    restore() {
      for (const mock of [sts, cfn, transfer, sqs, cloudWatch]) mock.restore();
      restoreCredentials();
    },
  };
}

export type World = ReturnType<typeof fakeWorld>;

export const dlqUrl = (client: string, chain: string) =>
  `https://sqs.eu-west-2.amazonaws.com/${ACCOUNT}/acme-prod-${client}-${chain}-dlq`;
export const functionName = (client: string, chain: string) => `acme-prod-${client}-${chain}`;

/**
 * Deploys the environment as the config says: every stack complete with its outputs (empty dead-letter queues,
 * functions without errors), and each user named in `keys` holding those keys, imported `ageDays` ago.
 */
export function deploy(
  world: World,
  config: Config,
  options: { env?: string; keys?: Record<string, { text: string; ageDays: number }[]> } = {},
) {
  for (const stack of synthesize(config, options.env ?? 'prod', { format: 'json' }).stacks) {
    const outputs: Record<string, string> = {};
    for (const name of stack.outputs) outputs[name] = `${stack.name}-${name}`;
    if (stack.kind === 'server') {
      Object.assign(outputs, {
        ServerId: SERVER_ID,
        EndpointHostName: `${SERVER_ID}.server.transfer.eu-west-2.amazonaws.com`,
        PublicIps: '203.0.113.10,203.0.113.11',
      });
    }
    if (stack.kind === 'client') {
      const client = stack.client!;
      for (const chain of ['ingress', 'egress']) {
        const Chain = chain === 'ingress' ? 'Ingress' : 'Egress';
        if (`${Chain}FunctionName` in outputs) {
          outputs[`${Chain}FunctionName`] = functionName(client, chain);
          outputs[`${Chain}DeadLetterQueueUrl`] = dlqUrl(client, chain);
          world.depths.set(dlqUrl(client, chain), 0);
          world.errors.set(functionName(client, chain), [0, 0]);
        }
      }
      for (const role of ['upload', 'download'] as const) {
        const key = role === 'upload' ? 'UploadUserName' : 'DownloadUserName';
        if (key in outputs) outputs[key] = `${client}-${role}`;
      }
    }
    world.stacks.set(stack.name, {
      StackStatus: 'CREATE_COMPLETE',
      Outputs: outputs,
      EnableTerminationProtection: stack.terminationProtection,
    });
  }
  for (const [user, keys] of Object.entries(options.keys ?? {}))
    world.users.set(
      user,
      keys.map((key) => ({ body: key.text, imported: world.importedAgo(key.ageDays) })),
    );
}
