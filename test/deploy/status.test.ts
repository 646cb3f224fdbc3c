import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStacksCommand,
  type Output,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DescribeServerCommand, DescribeUserCommand, TransferClient } from '@aws-sdk/client-transfer';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import type { KeyFacts } from '../../src/core/config/key-checks.js';
import type { Config } from '../../src/core/config/schema.js';
import { generateSshKeyPair, type SshKeyPair } from '../../src/core/crypto/ssh-keygen.js';
import { type EnvironmentStatus, gatherStatus, type StatusDeps } from '../../src/deploy/status.js';
import { synthesize } from '../../src/templates/synthesize.js';
import { validateYaml } from '../helpers/config.js';

const ACCOUNT = '111122223333';
const SERVER_ID = 's-0123456789abcdef0';
const NOW = new Date('2026-11-24T12:00:00Z');
const DAY = 86_400_000;

let keys: Record<'bankUpload' | 'bankDownload' | 'shipperUpload' | 'stranger' | 'fresh', SshKeyPair>;
beforeAll(async () => {
  const pair = (comment: string) => generateSshKeyPair({ type: 'ed25519', comment });
  keys = {
    bankUpload: await pair('bank-upload'),
    bankDownload: await pair('bank-download'),
    shipperUpload: await pair('shipper-upload'),
    stranger: await pair('stranger'),
    fresh: await pair('fresh'),
  };
});

/** Two clients: bank (upload + download) and shipper (upload only, so no egress chain). */
function configText(options: { protected?: boolean; bankUploadKeys?: string[]; rotation?: string } = {}) {
  const bankUpload = options.bankUploadKeys ?? [keys.bankUpload.info.text];
  return `project: acme
defaults:
  region: eu-west-2
  vpc: { cidr: 10.42.0.0/24 }
environments:
  prod:
    account: "${ACCOUNT}"
    protected: ${options.protected ?? true}
  dev: {}
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload:
      sshKeys: [${bankUpload.map((key) => JSON.stringify(key)).join(', ')}]
${options.rotation ?? ''}    download:
      sshKeys: ["${keys.bankDownload.info.text}"]
  - name: shipper
    allowedIps: [198.51.100.7]
    upload:
      sshKeys: ["${keys.shipperUpload.info.text}"]
`;
}

async function load(text = configText()): Promise<{ config: Config; keys: KeyFacts }> {
  const result = await validateYaml(text, {});
  expect(result.errors).toEqual([]);
  return { config: result.config!, keys: result.keys! };
}

interface FakeStack {
  StackStatus: string;
  StackStatusReason?: string;
  Outputs: Record<string, string>;
  EnableTerminationProtection: boolean;
  LastUpdatedTime?: Date;
}

/**
 * AWS as the status command sees it, faked with aws-sdk-client-mock: stacks with outputs, one Transfer server, users
 * with keys, dead-letter queue depths and Lambda error datapoints. Every call is logged with its input; `fail` makes
 * every call of one name (optionally for one key: stack, queue URL, user) throw.
 */
function fakeWorld(options: { account?: string; delayMs?: number } = {}) {
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
            CreationTime: new Date(NOW.getTime() - 30 * DAY),
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
          CreationTime: new Date(NOW.getTime() - 30 * DAY),
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

  return {
    log,
    stacks,
    listed,
    server,
    users,
    depths,
    errors,
    calls: () => log.map((entry) => entry.call),
    inputs: (call: string) => log.filter((entry) => entry.call === call).map((entry) => entry.input),
    maxInFlight: () => maxInFlight,
    /** Every call of `call` (for `key` only, when given) throws `error`. */
    fail(call: string, error: Error, key?: string) {
      failures.set(key === undefined ? call : `${call}:${key}`, error);
    },
    restore() {
      for (const mock of [sts, cfn, transfer, sqs, cloudWatch]) mock.restore();
    },
  };
}

type World = ReturnType<typeof fakeWorld>;

const dlqUrl = (client: string, chain: string) =>
  `https://sqs.eu-west-2.amazonaws.com/${ACCOUNT}/acme-prod-${client}-${chain}-dlq`;
const functionName = (client: string, chain: string) => `acme-prod-${client}-${chain}`;

/** Deploys the environment as the config says: every stack complete with its outputs, users with the config's keys. */
function deploy(world: World, config: Config, env = 'prod') {
  for (const stack of synthesize(config, env, { format: 'json' }).stacks) {
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
  const imported = (days: number) => new Date(NOW.getTime() - days * DAY - 3_600_000);
  world.users.set('bank-upload', [{ body: keys.bankUpload.info.text, imported: imported(400) }]);
  world.users.set('bank-download', [{ body: keys.bankDownload.info.text, imported: imported(12) }]);
  world.users.set('shipper-upload', [{ body: keys.shipperUpload.info.text, imported: imported(0) }]);
}

let world: World;
beforeEach(() => {
  world = fakeWorld();
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake';
});
afterEach(() => world.restore());

async function gather(
  loaded: { config: Config; keys?: KeyFacts },
  extra: Partial<StatusDeps> = {},
): Promise<EnvironmentStatus> {
  return gatherStatus({
    config: loaded.config,
    ...(loaded.keys ? { keys: loaded.keys } : {}),
    env: 'prod',
    clients: new AwsClients({ region: 'eu-west-2', profile: undefined }),
    now: NOW,
    ...extra,
  });
}

describe('gatherStatus', () => {
  it('a healthy environment: every stack, the server, users with key ages, empty queues, no errors', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    const report = await gather(loaded);

    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      project: 'acme',
      environment: 'prod',
      region: 'eu-west-2',
      account: ACCOUNT,
      checkedAt: NOW.toISOString(),
    });
    expect(report.stacks.map((stack) => [stack.name, stack.kind, stack.client, stack.status])).toEqual([
      ['acme-prod-assets', 'assets', undefined, 'CREATE_COMPLETE'],
      ['acme-prod-network', 'network', undefined, 'CREATE_COMPLETE'],
      ['acme-prod-server', 'server', undefined, 'CREATE_COMPLETE'],
      ['acme-prod-client-bank', 'client', 'bank', 'CREATE_COMPLETE'],
      ['acme-prod-client-shipper', 'client', 'shipper', 'CREATE_COMPLETE'],
    ]);
    expect(report.stacks.every((stack) => stack.terminationProtection === true)).toBe(true);
    expect(report.server).toEqual({
      id: SERVER_ID,
      state: 'ONLINE',
      endpoint: `${SERVER_ID}.server.transfer.eu-west-2.amazonaws.com`,
      publicIps: ['203.0.113.10', '203.0.113.11'],
      securityPolicy: 'TransferSecurityPolicy-2025-03',
      protocols: ['SFTP'],
    });
    expect(report.users).toEqual([
      {
        client: 'bank',
        role: 'upload',
        userName: 'bank-upload',
        expected: 1,
        keys: [
          {
            fingerprint: keys.bankUpload.info.fingerprint,
            ageDays: 400,
            importedAt: new Date(NOW.getTime() - 400 * DAY - 3_600_000).toISOString(),
            inConfig: true,
          },
        ],
      },
      {
        client: 'bank',
        role: 'download',
        userName: 'bank-download',
        expected: 1,
        keys: [expect.objectContaining({ fingerprint: keys.bankDownload.info.fingerprint, ageDays: 12 })],
      },
      {
        client: 'shipper',
        role: 'upload',
        userName: 'shipper-upload',
        expected: 1,
        keys: [expect.objectContaining({ ageDays: 0, inConfig: true })],
      },
    ]);
    // shipper has no download user, so no egress chain: three queues and three functions.
    expect(report.queues).toEqual([
      { client: 'bank', chain: 'ingress', deadLetterUrl: dlqUrl('bank', 'ingress'), depth: 0 },
      { client: 'bank', chain: 'egress', deadLetterUrl: dlqUrl('bank', 'egress'), depth: 0 },
      { client: 'shipper', chain: 'ingress', deadLetterUrl: dlqUrl('shipper', 'ingress'), depth: 0 },
    ]);
    expect(report.functionErrors).toEqual([
      { client: 'bank', chain: 'ingress', functionName: 'acme-prod-bank-ingress', errors: 0 },
      { client: 'bank', chain: 'egress', functionName: 'acme-prod-bank-egress', errors: 0 },
      { client: 'shipper', chain: 'ingress', functionName: 'acme-prod-shipper-ingress', errors: 0 },
    ]);
  });

  it('makes exactly the expected calls, with these inputs', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    await gather(loaded);

    const count = (call: string) => world.calls().filter((name) => name === call).length;
    expect(world.calls()[0]).toBe('GetCallerIdentity');
    expect(count('DescribeStacks')).toBe(5);
    expect(world.inputs('DescribeStacks').map((input) => input.StackName)).toEqual([
      'acme-prod-assets',
      'acme-prod-network',
      'acme-prod-server',
      'acme-prod-client-bank',
      'acme-prod-client-shipper',
    ]);
    expect(count('ListStacks')).toBe(1);
    expect(world.inputs('ListStacks')[0]?.StackStatusFilter).not.toContain('DELETE_COMPLETE');
    expect(world.inputs('DescribeServer')).toEqual([{ ServerId: SERVER_ID }]);
    expect(world.inputs('DescribeUser')).toEqual([
      { ServerId: SERVER_ID, UserName: 'bank-upload' },
      { ServerId: SERVER_ID, UserName: 'bank-download' },
      { ServerId: SERVER_ID, UserName: 'shipper-upload' },
    ]);
    expect(world.inputs('GetQueueAttributes')).toEqual([
      { QueueUrl: dlqUrl('bank', 'ingress'), AttributeNames: ['ApproximateNumberOfMessages'] },
      { QueueUrl: dlqUrl('bank', 'egress'), AttributeNames: ['ApproximateNumberOfMessages'] },
      { QueueUrl: dlqUrl('shipper', 'ingress'), AttributeNames: ['ApproximateNumberOfMessages'] },
    ]);
    // One GetMetricData for every function: Errors, Sum, hourly, the 24 hours before `now`.
    const query = (id: string, name: string) => ({
      Id: id,
      MetricStat: {
        Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: name }] },
        Period: 3600,
        Stat: 'Sum',
      },
      ReturnData: true,
    });
    expect(world.inputs('GetMetricData')).toEqual([
      {
        MetricDataQueries: [
          query('e0', 'acme-prod-bank-ingress'),
          query('e1', 'acme-prod-bank-egress'),
          query('e2', 'acme-prod-shipper-ingress'),
        ],
        StartTime: new Date('2026-11-23T12:00:00Z'),
        EndTime: NOW,
      },
    ]);
    expect(world.calls()).toHaveLength(1 + 5 + 1 + 1 + 3 + 3 + 1);
  });

  it('an environment not deployed at all: every stack NOT_DEPLOYED, one problem, nothing else looked up', async () => {
    const loaded = await load();
    const report = await gather(loaded);
    expect(report.stacks.map((stack) => stack.status)).toEqual(Array(5).fill('NOT_DEPLOYED'));
    expect(report.stacks.every((stack) => stack.terminationProtection === null)).toBe(true);
    expect(report.server).toBeNull();
    expect(report.users).toEqual([]);
    expect(report.queues).toEqual([]);
    expect(report.functionErrors).toEqual([]);
    expect(report.problems).toEqual([
      `environment prod is not deployed: none of its 5 stacks exist in account ${ACCOUNT} (eu-west-2); run sftpctl deploy`,
    ]);
    expect([...new Set(world.calls())]).toEqual(['GetCallerIdentity', 'DescribeStacks', 'ListStacks']);
  });

  it('a missing client stack is NOT_DEPLOYED and its users, queues and functions are not looked up', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    world.stacks.delete('acme-prod-client-shipper');
    const report = await gather(loaded);
    expect(report.stacks.find((stack) => stack.client === 'shipper')?.status).toBe('NOT_DEPLOYED');
    expect(report.problems).toEqual(['stack acme-prod-client-shipper is not deployed: run sftpctl deploy']);
    expect(report.users.map((user) => user.userName)).toEqual(['bank-upload', 'bank-download']);
    expect(report.queues.map((queue) => queue.client)).toEqual(['bank', 'bank']);
    expect(world.inputs('DescribeUser').map((input) => input.UserName)).not.toContain('shipper-upload');
    expect(JSON.stringify(world.inputs('GetMetricData'))).not.toContain('shipper');
  });

  it('dead letters and function errors are problems, with the numbers', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    world.depths.set(dlqUrl('bank', 'egress'), 3);
    world.errors.set(functionName('shipper', 'ingress'), [0, 2, 0, 5]);
    const report = await gather(loaded);
    expect(report.queues.find((queue) => queue.chain === 'egress')?.depth).toBe(3);
    expect(report.functionErrors.find((fn) => fn.client === 'shipper')?.errors).toBe(7);
    expect(report.problems).toEqual([
      "the egress dead-letter queue of bank holds 3 messages: events that failed processing (see the egress function's logs)",
      'function acme-prod-shipper-ingress (shipper ingress) had 7 errors in the last 24 h',
    ]);
  });

  it('one AccessDenied on a queue records unknown and a problem; everything else is still reported', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    world.fail(
      'GetQueueAttributes',
      Object.assign(
        new Error('User: arn:aws:iam::111122223333:user/ops is not authorized to perform: sqs:GetQueueAttributes'),
        {
          name: 'AccessDenied',
        },
      ),
      dlqUrl('bank', 'ingress'),
    );
    const report = await gather(loaded);
    const denied = report.queues.find((queue) => queue.client === 'bank' && queue.chain === 'ingress');
    expect(denied).toMatchObject({
      depth: 'unknown',
      problem: expect.stringMatching(
        /^could not read the ingress dead-letter queue of bank: AccessDenied: User: .* is not authorized/,
      ),
    });
    expect(report.problems).toEqual([denied!.problem]);
    expect(report.queues.filter((queue) => queue.depth === 0)).toHaveLength(2);
    expect(report.users).toHaveLength(3);
    expect(report.functionErrors.every((fn) => fn.errors === 0)).toBe(true);
    expect(report.server?.state).toBe('ONLINE');
  });

  it('failures of other lookups are contained the same way: a stack, the server, a user, the metrics', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    const denied = (what: string) =>
      Object.assign(new Error(`not authorized to perform: ${what}`), { name: 'AccessDeniedException' });
    world.fail('DescribeStacks', denied('cloudformation:DescribeStacks'), 'acme-prod-network');
    world.fail('DescribeServer', denied('transfer:DescribeServer'));
    world.fail('DescribeUser', denied('transfer:DescribeUser'), 'bank-download');
    world.fail('GetMetricData', denied('cloudwatch:GetMetricData'));
    world.fail('ListStacks', denied('cloudformation:ListStacks'));
    const report = await gather(loaded);
    expect(report.stacks.find((stack) => stack.kind === 'network')).toMatchObject({
      status: 'unknown',
      terminationProtection: null,
    });
    expect(report.server).toMatchObject({
      id: SERVER_ID,
      state: 'unknown',
      publicIps: ['203.0.113.10', '203.0.113.11'],
    });
    expect(report.users.map((user) => (user.keys === 'unknown' ? 'unknown' : user.keys.length))).toEqual([
      1,
      'unknown',
      1,
    ]);
    expect(report.functionErrors.map((fn) => fn.errors)).toEqual(['unknown', 'unknown', 'unknown']);
    expect(report.queues.map((queue) => queue.depth)).toEqual([0, 0, 0]);
    expect(report.problems).toEqual([
      'could not read stack acme-prod-network: AccessDeniedException: not authorized to perform: cloudformation:DescribeStacks',
      'could not list the stacks of removed clients: AccessDeniedException: not authorized to perform: cloudformation:ListStacks',
      `could not read server ${SERVER_ID}: AccessDeniedException: not authorized to perform: transfer:DescribeServer`,
      'could not read user bank-download: AccessDeniedException: not authorized to perform: transfer:DescribeUser',
      'could not read the errors of acme-prod-bank-ingress: AccessDeniedException: not authorized to perform: cloudwatch:GetMetricData',
      'could not read the errors of acme-prod-bank-egress: AccessDeniedException: not authorized to perform: cloudwatch:GetMetricData',
      'could not read the errors of acme-prod-shipper-ingress: AccessDeniedException: not authorized to perform: cloudwatch:GetMetricData',
    ]);
  });

  it('keys on the server and in the config that differ: each one named, both ways', async () => {
    const loaded = await load(configText({ bankUploadKeys: [keys.bankUpload.info.text, keys.fresh.info.text] }));
    deploy(world, loaded.config);
    world.users.set('bank-download', [
      { body: keys.bankDownload.info.text, imported: new Date(NOW.getTime() - 2 * DAY) },
      { body: keys.stranger.info.text, imported: new Date('2026-01-05T08:00:00Z') },
    ]);
    const report = await gather(loaded);
    const upload = report.users.find((user) => user.userName === 'bank-upload')!;
    expect(upload.expected).toBe(2);
    expect(upload.keys).toHaveLength(1);
    const download = report.users.find((user) => user.userName === 'bank-download')!;
    expect(download.keys).toMatchObject([
      { fingerprint: keys.bankDownload.info.fingerprint, inConfig: true, ageDays: 2 },
      { fingerprint: keys.stranger.info.fingerprint, inConfig: false, ageDays: 323 },
    ]);
    expect(report.problems).toEqual([
      `config key ${keys.fresh.info.fingerprint} of bank-upload is not on the server (run sftpctl deploy)`,
      `user bank-download has a key not in the config: ${keys.stranger.info.fingerprint} (imported 2026-01-05)`,
    ]);
    expect(upload.problem).toBe(report.problems[0]);
  });

  it('without key facts only counts are compared', async () => {
    const { config } = await load();
    deploy(world, config);
    world.users.set('shipper-upload', []);
    const report = await gather({ config });
    expect(report.users.find((user) => user.userName === 'bank-upload')?.keys).toMatchObject([{ inConfig: null }]);
    expect(report.problems).toEqual(['user shipper-upload has 0 keys on the server, the config lists 1']);
  });

  it('a user the client stack should have but Transfer does not: a problem, not a crash', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    world.users.delete('bank-download');
    const report = await gather(loaded);
    expect(report.users.find((user) => user.role === 'download')).toMatchObject({ keys: 'unknown' });
    expect(report.problems).toEqual([
      `user bank-download (bank download) does not exist on server ${SERVER_ID}: run sftpctl deploy`,
    ]);
  });

  it('a rotation past its grace period whose retiring key still logs in is a problem', async () => {
    const rotation = `      rotation:
        since: "2026-11-01T00:00:00Z"
        until: "2026-11-08T00:00:00Z"
        retiring: ["${keys.bankUpload.info.fingerprint}"]
`;
    const loaded = await load(
      configText({ bankUploadKeys: [keys.bankUpload.info.text, keys.fresh.info.text], rotation }),
    );
    deploy(world, loaded.config);
    world.users.get('bank-upload')!.push({ body: keys.fresh.info.text, imported: new Date('2026-11-01T00:00:00Z') });
    const report = await gather(loaded);
    expect(report.users[0]?.keys).toMatchObject([{ retiring: true, ageDays: 400 }, { ageDays: 23 }]);
    expect(report.problems).toEqual([
      'the key rotation of bank-upload passed its grace period on 2026-11-08 and the retiring key still logs in: run sftpctl keys rotate bank --ssh upload --finish',
    ]);
  });

  it('failed and rolled-back stacks, an offline server, a stale policy and missing protection are problems', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    Object.assign(world.stacks.get('acme-prod-client-bank')!, {
      StackStatus: 'UPDATE_ROLLBACK_COMPLETE',
      StackStatusReason: 'Resource IngressFunction failed',
    });
    world.stacks.get('acme-prod-assets')!.EnableTerminationProtection = false;
    world.stacks.get('acme-prod-client-shipper')!.StackStatus = 'UPDATE_IN_PROGRESS';
    Object.assign(world.server, { State: 'OFFLINE', SecurityPolicyName: 'TransferSecurityPolicy-2018-11' });
    const report = await gather(loaded);
    expect(report.stacks.find((stack) => stack.client === 'bank')).toMatchObject({
      status: 'UPDATE_ROLLBACK_COMPLETE',
      statusReason: 'Resource IngressFunction failed',
    });
    expect(report.problems).toEqual([
      'stack acme-prod-assets has no termination protection, but environment prod is protected: run sftpctl deploy',
      'stack acme-prod-client-bank is UPDATE_ROLLBACK_COMPLETE (Resource IngressFunction failed)',
      `server ${SERVER_ID} is OFFLINE: partners cannot connect`,
      `server ${SERVER_ID} uses security policy TransferSecurityPolicy-2018-11, the config says TransferSecurityPolicy-2025-03: run sftpctl deploy`,
    ]);
    // A stack in the middle of an update is not a problem; its outputs are still used.
    expect(report.users.map((user) => user.userName)).toContain('shipper-upload');
  });

  it('a client stack whose creation rolled back is a problem, and nothing behind it is looked up', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    Object.assign(world.stacks.get('acme-prod-client-shipper')!, {
      StackStatus: 'ROLLBACK_COMPLETE',
      StackStatusReason: 'The following resource(s) failed to create: [UploadBucket].',
      Outputs: {},
    });
    const report = await gather(loaded);
    expect(report.problems).toEqual([
      'stack acme-prod-client-shipper is ROLLBACK_COMPLETE (The following resource(s) failed to create: [UploadBucket].)',
    ]);
    expect(world.inputs('DescribeUser').map((input) => input.UserName)).toEqual(['bank-upload', 'bank-download']);
    expect(report.queues.map((queue) => queue.client)).toEqual(['bank', 'bank']);
  });

  it('a stack behind the config (an output the template now has is missing) says so', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    const shipper = world.stacks.get('acme-prod-client-shipper')!;
    shipper.Outputs = { ...shipper.Outputs, DownloadUserName: 'shipper-download' };
    const report = await gather(loaded);
    expect(report.problems).toEqual([
      'stack acme-prod-client-shipper does not match the config (outputs not in the config: DownloadUserName): run sftpctl deploy',
    ]);
  });

  it('a client stack of this environment that no client of the config owns is reported (its users still log in)', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    world.listed.push(
      { StackName: 'acme-prod-client-oldbank', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date('2025-01-01') },
      { StackName: 'acme-dev-client-oldbank', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date('2025-01-01') },
      { StackName: 'other-prod-client-x', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date('2025-01-01') },
    );
    const report = await gather(loaded);
    expect(report.stacks.at(-1)).toMatchObject({ name: 'acme-prod-client-oldbank', client: 'oldbank', orphan: true });
    expect(report.stacks).toHaveLength(6);
    expect(report.problems).toEqual([
      'stack acme-prod-client-oldbank belongs to no client of the config (removed client "oldbank"?): its users can still log in until it is deleted',
    ]);
  });

  it('--client reports only those clients (and the platform stacks), without looking for removed ones', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    const report = await gather(loaded, { clientFilter: ['shipper'] });
    expect(report.stacks.map((stack) => stack.name)).toEqual([
      'acme-prod-assets',
      'acme-prod-network',
      'acme-prod-server',
      'acme-prod-client-shipper',
    ]);
    expect(report.users.map((user) => user.userName)).toEqual(['shipper-upload']);
    expect(world.calls()).not.toContain('ListStacks');
    await expect(gather(loaded, { clientFilter: ['nobody'] })).rejects.toMatchObject({
      code: 'CLIENT_NOT_IN_ENV',
      kind: 'usage',
    });
  });

  it('refuses another account before reading anything else', async () => {
    world.restore();
    world = fakeWorld({ account: '999999999999' });
    const loaded = await load();
    await expect(gather(loaded)).rejects.toMatchObject({ code: 'AWS_ACCOUNT_MISMATCH' });
    expect(world.calls()).toEqual(['GetCallerIdentity']);
  });

  it('runs lookups concurrently, never more than the limit at once', async () => {
    world.restore();
    world = fakeWorld({ delayMs: 5 });
    const clients = Array.from(
      { length: 20 },
      (_, index) => `  - name: c${index}
    allowedIps: [198.51.100.${index + 1}]
    upload:
      sshKeys: []
`,
    ).join('');
    const text = configText().replace(/clients:\n[\s\S]*$/, `clients:\n${clients}`);
    const loaded = await load(text);
    deploy(world, loaded.config);
    for (let index = 0; index < 20; index++) world.users.set(`c${index}-upload`, []);
    const report = await gather(loaded);
    expect(report.problems).toEqual([]);
    // 23 stack reads, then 1 server + 20 users + 20 queues + 1 metrics request: 8 at a time, never more.
    expect(world.maxInFlight()).toBe(8);
    expect(world.calls().filter((call) => call !== 'GetCallerIdentity' && call !== 'ListStacks')).toHaveLength(65);
  });
});
