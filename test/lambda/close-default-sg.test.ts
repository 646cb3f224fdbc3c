import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { synthesize } from '../../src/templates/synthesize.js';
import { type FakeRule, randomHex, startFakeEc2 } from '../helpers/fake-ec2.js';
import { startFakeEndpoint } from '../helpers/fake-endpoint.js';
import type { PolicyDocument } from '../helpers/iam-policy.js';
import { exampleConfig } from '../templates/fixtures.js';
import { ACCOUNT, REGION, resolver } from './harness/resolve.js';
import { unzip } from './harness/unzip.js';

/**
 * The built close-default-sg bundle (dist/lambda/close-default-sg.zip, unzipped) run as Lambda runs it, fed the
 * requests CloudFormation sends a custom resource, against a fake EC2 endpoint that enforces the rendered network
 * template's role policy, and a local HTTP server standing in for the presigned ResponseURL.
 */

const ROOT = join(import.meta.dirname, '../..');
const DEFAULT_GROUP = `sg-${randomHex()}`;
const ROLE = 'CloseDefaultSgRole';

interface Answer {
  Status: string;
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, string>;
}

let work: string;
let ec2: Awaited<ReturnType<typeof startFakeEc2>>;
let container: ChildProcess;
let responses: Awaited<ReturnType<typeof startFakeEndpoint>> | undefined;
let responseUrl: string;
/** What arrived on the ResponseURL: headers and body of every PUT. */
const received: { method: string; contentType: string | undefined; body: Answer }[] = [];
/** Statuses the ResponseURL answers with, one per request, then 200. */
const statuses: number[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sftpctl-close-sg-'));
  await unzip(join(ROOT, 'dist/lambda/close-default-sg.zip'), work);
  const network = synthesize(await exampleConfig(), 'dev', { format: 'json' }).stacks.find(
    (stack) => stack.kind === 'network',
  )!.template;
  const { resolve } = resolver(network, {}, {}, { 'Vpc.DefaultSecurityGroup': DEFAULT_GROUP });
  const role = network.Resources[ROLE]!.Properties as { Policies: { PolicyDocument: unknown }[] };
  const policies = role.Policies.map((policy) => resolve(policy.PolicyDocument) as PolicyDocument);
  ec2 = await startFakeEc2((principal) => (principal === ROLE ? policies : undefined), {
    region: REGION,
    account: ACCOUNT,
    pageSize: 2,
  });

  responses = await startFakeEndpoint((request, payload, response) => {
    const status = statuses.shift() ?? 200;
    if (status === 200)
      received.push({
        method: request.method ?? '',
        contentType: request.headers['content-type'],
        body: JSON.parse(payload.toString('utf8')) as Answer,
      });
    response.writeHead(status).end();
  });
  responseUrl = `${responses.endpoint}/cfn-response?X-Amz-Signature=abc`;

  container = fork(join(ROOT, 'test/lambda/harness/runner.mjs'), [work, 'close-default-sg.mjs', 'handler'], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      // The role's session, as Lambda hands it over: the fake reads the principal from it.
      AWS_SESSION_TOKEN: ROLE,
      AWS_ENDPOINT_URL_EC2: ec2.endpoint,
      TZ: 'UTC',
    },
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    container.once('message', () => resolve());
    container.once('exit', (code) => reject(new Error(`container exited (${code})`)));
  });
}, 60_000);

afterAll(async () => {
  container?.kill();
  await ec2?.stop();
  await responses?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  received.length = 0;
  statuses.length = 0;
  ec2.calls.length = 0;
  ec2.hanging.clear();
  ec2.groups.clear();
  ec2.names.clear();
});

interface Outcome {
  error?: string;
  logs: string[];
}

function invoke(event: Record<string, unknown>, remainingMs?: number): Promise<Outcome> {
  const id = randomUUID();
  return new Promise((resolve) => {
    const listener = (message: { id?: string } & Outcome) => {
      if (message.id !== id) return;
      container.off('message', listener);
      resolve(message);
    };
    container.on('message', listener);
    container.send({ id, event, ...(remainingMs ? { remainingMs } : {}) });
  });
}

const request = (type: 'Create' | 'Update' | 'Delete', properties: Record<string, unknown>, physical?: string) => ({
  RequestType: type,
  ServiceToken: 'arn:aws:lambda:eu-west-2:123456789012:function:CloseDefaultSgFunction',
  ResponseURL: responseUrl,
  StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/acme-sftp-dev-network/${randomUUID()}`,
  RequestId: randomUUID(),
  LogicalResourceId: 'DefaultSecurityGroupClosed',
  ResourceType: 'AWS::CloudFormation::CustomResource',
  ...(physical ? { PhysicalResourceId: physical } : {}),
  ResourceProperties: { ServiceToken: 'arn:aws:lambda:…', ...properties },
});

/** The one answer CloudFormation got for `event`, checked to be a well-formed response to it. */
function answerTo(event: ReturnType<typeof request>): Answer {
  expect(received).toHaveLength(1);
  const [answer] = received;
  expect(answer!.method).toBe('PUT');
  // The presigned URL is signed for an empty content type: anything else is refused by S3.
  expect(answer!.contentType ?? '').toBe('');
  expect(answer!.body).toMatchObject({
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  expect(answer!.body.PhysicalResourceId).toEqual(expect.any(String));
  return answer!.body;
}

const extraRules = (): FakeRule[] => [
  { id: `sgr-${randomHex()}`, egress: false, protocol: 'tcp', cidr: '10.0.0.0/8' },
  { id: `sgr-${randomHex()}`, egress: true, protocol: '-1', cidrV6: '::/0' },
  { id: `sgr-${randomHex()}`, egress: false, protocol: 'tcp', cidrV6: '2001:db8::/32' },
];

describe('close-default-sg (the built bundle, as a CloudFormation custom resource)', () => {
  it('Create: revokes every rule of the default group (across pages) and answers SUCCESS', async () => {
    ec2.addDefaultGroup(DEFAULT_GROUP, extraRules());
    const event = request('Create', { GroupId: DEFAULT_GROUP });
    const outcome = await invoke(event);
    expect(outcome.error).toBeUndefined();
    expect(ec2.groups.get(DEFAULT_GROUP)).toEqual([]);
    expect(answerTo(event)).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: `default-sg-closed-${DEFAULT_GROUP}`,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      Data: { GroupId: DEFAULT_GROUP, RevokedIngress: '3', RevokedEgress: '2' },
    });
    expect(ec2.calls.filter((call) => !call.allowed)).toEqual([]);
    expect(ec2.calls.map((call) => call.action)).toEqual([
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeSecurityGroupRules',
      'ec2:DescribeSecurityGroupRules',
      'ec2:DescribeSecurityGroupRules',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupEgress',
    ]);
  });

  it('Update: closes rules added since, and on an already closed group revokes nothing and succeeds', async () => {
    ec2.addDefaultGroup(DEFAULT_GROUP);
    ec2.groups.set(DEFAULT_GROUP, []);
    const physical = `default-sg-closed-${DEFAULT_GROUP}`;
    const event = request('Update', { GroupId: DEFAULT_GROUP }, physical);
    await invoke(event);
    expect(answerTo(event)).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: physical,
      Data: { RevokedIngress: '0', RevokedEgress: '0' },
    });
    expect(ec2.calls.map((call) => call.action)).toEqual([
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeSecurityGroupRules',
    ]);

    received.length = 0;
    ec2.groups.set(DEFAULT_GROUP, extraRules().slice(0, 1));
    const again = request('Update', { GroupId: DEFAULT_GROUP }, physical);
    await invoke(again);
    expect(answerTo(again)).toMatchObject({ Status: 'SUCCESS', Data: { RevokedIngress: '1', RevokedEgress: '0' } });
    expect(ec2.groups.get(DEFAULT_GROUP)).toEqual([]);
  });

  it('Delete: answers SUCCESS with the same physical id and touches nothing', async () => {
    ec2.addDefaultGroup(DEFAULT_GROUP);
    const physical = `default-sg-closed-${DEFAULT_GROUP}`;
    const event = request('Delete', { GroupId: DEFAULT_GROUP }, physical);
    await invoke(event);
    expect(answerTo(event)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physical });
    expect(ec2.calls).toEqual([]);
    expect(ec2.groups.get(DEFAULT_GROUP)).toHaveLength(2);
  });

  it('an EC2 error (the group does not exist): FAILED with EC2 reason, never a hanging stack', async () => {
    const event = request('Create', { GroupId: DEFAULT_GROUP });
    const outcome = await invoke(event);
    expect(outcome.error).toBeUndefined();
    const answer = answerTo(event);
    expect(answer.Status).toBe('FAILED');
    expect(answer.Reason).toMatch(
      /^Closing the default security group failed: InvalidGroup.NotFound: .*does not exist/,
    );
    // A failed Create is followed by a Delete of this physical id: it must be one the Delete accepts.
    expect(answer.PhysicalResourceId).toBe(`default-sg-closed-${DEFAULT_GROUP}`);
  });

  it('a group that is not a VPC default group: FAILED, its rules left alone', async () => {
    const other = `sg-${randomHex()}`;
    ec2.groups.set(other, extraRules());
    ec2.names.set(other, 'sftp');
    const event = request('Create', { GroupId: other });
    await invoke(event);
    const answer = answerTo(event);
    expect(answer.Status).toBe('FAILED');
    expect(answer.Reason).toMatch(/is "sftp", not a VPC's default security group/);
    expect(ec2.groups.get(other)).toHaveLength(3);
    expect(ec2.calls.map((call) => call.action)).toEqual(['ec2:DescribeSecurityGroups']);
  });

  it('the role allows only the default group: revoking any other group is denied by IAM and answered FAILED', async () => {
    const other = `sg-${randomHex()}`;
    ec2.addDefaultGroup(other);
    const event = request('Create', { GroupId: other });
    await invoke(event);
    const answer = answerTo(event);
    expect(answer.Status).toBe('FAILED');
    expect(answer.Reason).toMatch(/UnauthorizedOperation|not authorized/);
    expect(ec2.calls.filter((call) => !call.allowed)).toEqual([
      expect.objectContaining({ action: 'ec2:RevokeSecurityGroupIngress', resource: ec2.arnOf(other) }),
    ]);
    expect(ec2.groups.get(other)).toHaveLength(2);
  });

  it('a GroupId that is not a security group id: FAILED with the reason, no EC2 call', async () => {
    for (const GroupId of [undefined, 'vpc-0123456789abcdef0', { Ref: 'x' }]) {
      received.length = 0;
      const event = request('Create', GroupId === undefined ? {} : { GroupId });
      await invoke(event);
      const answer = answerTo(event);
      expect(answer.Status).toBe('FAILED');
      expect(answer.Reason).toMatch(/GroupId .* is not a security group id/);
    }
    expect(ec2.calls).toEqual([]);
  });

  it('EC2 never answering: FAILED before the invocation runs out of time', async () => {
    ec2.addDefaultGroup(DEFAULT_GROUP);
    ec2.hanging.add('DescribeSecurityGroups');
    const event = request('Create', { GroupId: DEFAULT_GROUP });
    // 36 s left: the function keeps 35 s to answer, so it gives EC2 one second.
    await invoke(event, 36_000);
    const answer = answerTo(event);
    expect(answer.Status).toBe('FAILED');
    expect(answer.Reason).toMatch(/did not finish revoking the rules of sg-\w+ within 1 s/);
  });

  it('the ResponseURL failing once: the answer is delivered on the next attempt', async () => {
    ec2.addDefaultGroup(DEFAULT_GROUP);
    statuses.push(503);
    const event = request('Create', { GroupId: DEFAULT_GROUP });
    const outcome = await invoke(event);
    expect(outcome.error).toBeUndefined();
    expect(answerTo(event).Status).toBe('SUCCESS');
    expect(outcome.logs.some((line) => line.includes('"response-retry"'))).toBe(true);
  });
});
