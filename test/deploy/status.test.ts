import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import type { KeyFacts } from '../../src/core/config/key-checks.js';
import type { Config } from '../../src/core/config/schema.js';
import { generateSshKeyPair, type SshKeyPair } from '../../src/core/crypto/ssh-keygen.js';
import { type EnvironmentStatus, gatherStatus, type StatusDeps } from '../../src/deploy/status.js';
import { validateYaml } from '../helpers/config.js';
import {
  ACCOUNT,
  DAY,
  deploy as deployWorld,
  dlqUrl,
  fakeWorld,
  functionName,
  NOW,
  SERVER_ID,
  type World,
} from '../helpers/status-world.js';

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

/** Deploys the environment as the config says, with the config's keys on the server (400, 12 and 0 days old). */
function deploy(world: World, config: Config) {
  deployWorld(world, config, {
    keys: {
      'bank-upload': [{ text: keys.bankUpload.info.text, ageDays: 400 }],
      'bank-download': [{ text: keys.bankDownload.info.text, ageDays: 12 }],
      'shipper-upload': [{ text: keys.shipperUpload.info.text, ageDays: 0 }],
    },
  });
}

let world: World;
beforeEach(() => {
  world = fakeWorld();
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
    // Open alarms: one DescribeAlarms for the environment's prefix, firing ones only.
    expect(world.inputs('DescribeAlarms')).toEqual([
      { AlarmNamePrefix: 'acme-prod-', StateValue: 'ALARM', AlarmTypes: ['MetricAlarm'] },
    ]);
    expect(world.calls()).toHaveLength(1 + 5 + 1 + 1 + 3 + 3 + 1 + 1);
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

  it('open alarms are shown with their client and are problems', async () => {
    const loaded = await load();
    deploy(world, loaded.config);
    world.alarms.push({
      AlarmName: 'acme-prod-client-bank-ingress-failed-files',
      AlarmDescription: 'bank: a file failed in ingress',
      StateValue: 'ALARM',
      StateReason: 'Threshold Crossed: 1 datapoint [1.0] was >= the threshold (1.0).',
      StateUpdatedTimestamp: new Date('2026-11-24T11:58:00Z'),
    });
    const report = await gather(loaded);
    expect(report.alarms).toEqual([
      {
        name: 'acme-prod-client-bank-ingress-failed-files',
        client: 'bank',
        description: 'bank: a file failed in ingress',
        reason: 'Threshold Crossed: 1 datapoint [1.0] was >= the threshold (1.0).',
        since: '2026-11-24T11:58:00.000Z',
      },
    ]);
    expect(report.problems).toContain(
      'alarm acme-prod-client-bank-ingress-failed-files is firing since 2026-11-24T11:58:00.000Z: bank: a file failed in ingress',
    );
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
    // … and one DescribeAlarms for the whole environment.
    expect(world.calls().filter((call) => call !== 'GetCallerIdentity' && call !== 'ListStacks')).toHaveLength(66);
  });
});
