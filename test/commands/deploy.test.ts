import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { deploy } from '../../src/commands/deploy.js';
import { diff } from '../../src/commands/diff.js';
import { loadFunctionBundles } from '../../src/deploy/artifacts.js';
import { deployHarness, SERVER_ID } from '../helpers/deploy-harness.js';
import { scriptedPrompter } from '../helpers/prompter.js';

/** Answers every yes/no question with `answer`, recording the questions. */
function confirming(answer: boolean) {
  const asked: string[] = [];
  const { prompter } = scriptedPrompter({});
  prompter.confirm = async (question) => {
    asked.push(question.message);
    return answer;
  };
  return { prompter, asked };
}

let harness: Awaited<ReturnType<typeof deployHarness>> | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const STACKS = ['assets', 'network', 'server', 'client-bank', 'client-carrier', 'client-ministry'].map(
  (suffix) => `shop-dev-${suffix}`,
);

const actions = (h: NonNullable<typeof harness>, action: string) =>
  h.cloudFormation.calls.filter((call) => call.action === action).map((call) => call.input.StackName);

/** Every change set these calls created is gone again (executed ones of earlier deploys stay, as in AWS). */
function expectChangeSetsDeleted(h: NonNullable<typeof harness>, calls: typeof h.cloudFormation.calls) {
  const created = calls.filter((call) => call.action === 'CreateChangeSet' && call.input.ChangeSetType === 'UPDATE');
  expect(created.length).toBeGreaterThan(0);
  for (const call of created)
    expect(h.cloudFormation.stack(String(call.input.StackName))!.changeSets).not.toContain(call.input.ChangeSetName);
}

/** Puts a deployed stack into `status`, keeping its template and parameters. */
function seedStatus(h: NonNullable<typeof harness>, name: string, status: string) {
  const current = h.cloudFormation.stack(name)!;
  h.cloudFormation.seed(name, {
    status,
    ...(current.templateBody ? { templateBody: current.templateBody } : {}),
    parameters: current.parameters,
    tags: current.tags,
  });
}

async function firstDeploy() {
  harness = await deployHarness();
  const result = await harness.run(deploy, {});
  expect(result.error).toBeUndefined();
  expect(result.code).toBe(0);
  return { h: harness, result };
}

describe('sftpctl deploy: first deploy', () => {
  it('creates assets → network → server → clients, passing outputs on as parameters', async () => {
    const { h } = await firstDeploy();
    const creates = h.cloudFormation.calls.filter((call) => call.action === 'CreateChangeSet');
    expect(creates.map((call) => [call.input.StackName, call.input.ChangeSetType])).toEqual(
      expect.arrayContaining(STACKS.map((name) => [name, 'CREATE'])),
    );
    expect(creates.slice(0, 3).map((call) => call.input.StackName)).toEqual(STACKS.slice(0, 3));
    // Least privilege: no IAM capability where a stack has no IAM resource; never NAMED_IAM for unnamed roles.
    const capabilities = Object.fromEntries(creates.map((call) => [call.input.StackName, call.input.Capabilities]));
    expect(capabilities['shop-dev-assets']).toEqual([]);
    expect(capabilities['shop-dev-client-bank']).toEqual(['CAPABILITY_IAM']);
    // Each wave executes only after the previous one is complete.
    const executed = actions(h, 'ExecuteChangeSet');
    expect(executed.slice(0, 3)).toEqual(STACKS.slice(0, 3));
    for (const name of STACKS) expect(h.cloudFormation.stack(name)?.status).toBe('CREATE_COMPLETE');
    // A failed create must not leave named buckets and secrets behind to block the next one.
    for (const call of h.cloudFormation.calls.filter((entry) => entry.action === 'ExecuteChangeSet'))
      expect(call.input).toMatchObject({
        RetainExceptOnCreate: true,
        ClientRequestToken: expect.stringMatching(/^sftpctl-deploy-/),
      });

    const client = h.cloudFormation.stack('shop-dev-client-bank')!;
    const bundles = await loadFunctionBundles();
    expect(client.parameters).toMatchObject({
      ServerId: SERVER_ID,
      CodeBucket: 'shop-dev-assets',
      IngressCodeKey: bundles.ingress.key,
      EgressCodeKey: bundles.egress.key,
    });
    expect(client.tags).toMatchObject({
      'sftpctl:project': 'shop',
      'sftpctl:environment': 'dev',
      'sftpctl:stack': 'client',
      'sftpctl:client': 'bank',
    });
    expect(h.cloudFormation.stack('shop-dev-server')!.parameters.VpcId).toBe('vpc-0a1b2c3d4e5f60718');
  });

  it('uploads the function bundles to the assets bucket (a real S3 API) once', async () => {
    const { h, result } = await firstDeploy();
    const bundles = await loadFunctionBundles();
    for (const bundle of Object.values(bundles)) {
      const head = await h.s3.send(new HeadObjectCommand({ Bucket: 'shop-dev-assets', Key: bundle.key }));
      expect(head.ContentLength).toBe(bundle.bytes);
    }
    expect(result.stdout).toContain(`uploaded: ${bundles.ingress.key}`);
    const again = await h.run(deploy, {});
    expect(again.stdout).toContain(`already uploaded: ${bundles.ingress.key}`);
    expect(again.stdout).not.toMatch(/^uploaded:/m);
  });

  it("imports every user's SSH keys from the config after its stack is up", async () => {
    const { h } = await firstDeploy();
    const imports = h.aws.log.filter((entry) => entry.call === 'ImportSshPublicKey');
    expect(imports.map((entry) => [entry.input.UserName, entry.input.SshPublicKeyBody])).toEqual(
      expect.arrayContaining(
        ['bank', 'carrier', 'ministry'].flatMap((client) =>
          ['upload', 'download'].map((role) => [`${client}-${role}`, h.keys[`${client}-${role}`]]),
        ),
      ),
    );
    expect(imports).toHaveLength(6);
    expect(h.aws.log.every((entry) => entry.input.ServerId === undefined || entry.input.ServerId === SERVER_ID)).toBe(
      true,
    );
  });

  it('--json prints one result object per stack and nothing else on stdout', async () => {
    harness = await deployHarness({ clients: ['bank'] });
    const result = await harness.run(deploy, {}, { json: true });
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as { stack: string; action: string }[];
    expect(parsed.map((entry) => [entry.stack, entry.action])).toEqual(
      STACKS.slice(0, 4).map((name) => [name, 'created']),
    );
    expect(parsed[3]).toMatchObject({
      kind: 'client',
      client: 'bank',
      keys: { keys: { 'bank-upload': 1, 'bank-download': 1 } },
    });
  });

  it('turns termination protection on for a protected environment', async () => {
    harness = await deployHarness({ clients: ['bank'], protected: true });
    expect((await harness.run(deploy, {})).code).toBe(0);
    for (const name of STACKS.slice(0, 4)) expect(harness.cloudFormation.stack(name)!.terminationProtection).toBe(true);
  });

  it('--role-arn: every change set runs as the CloudFormation service role; a malformed ARN is a usage error', async () => {
    harness = await deployHarness({ clients: ['bank'] });
    const role = 'arn:aws:iam::111122223333:role/sftpctl-deploy';
    expect((await harness.run(deploy, { roleArn: role })).code).toBe(0);
    const creates = harness.cloudFormation.calls.filter((call) => call.action === 'CreateChangeSet');
    expect(creates.map((call) => call.input.RoleARN)).toEqual(Array(4).fill(role));
    const bad = await harness.run(deploy, { roleArn: 'sftpctl-deploy' });
    expect(bad.error).toMatchObject({ code: 'INVALID_FLAG', message: expect.stringContaining('--role-arn') });
    for (const roleArn of ['arn:aws:iam::111122223333:role/', 'arn:aws:iam::111122223333:user/deploy']) {
      expect((await harness.run(deploy, { roleArn })).error).toMatchObject({ code: 'INVALID_FLAG' });
    }
    const foreign = await harness.run(deploy, { roleArn: 'arn:aws:iam::999999999999:role/sftpctl-deploy' });
    expect(foreign.error).toMatchObject({ message: expect.stringContaining('account 999999999999') });
  });

  it('runs where the PGP private keys are kept out (CI): they are not needed to deploy or diff', async () => {
    harness = await deployHarness({ clients: ['bank'], pgp: true });
    const { rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await rm(join(harness.dir, 'keys/bank/ingress.key.asc'));
    expect((await harness.run(deploy, {})).code).toBe(0);
    expect((await harness.run(diff, {})).code).toBe(0);
    // A present but broken private key is still an error.
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(harness.dir, 'keys/bank/ingress.key.asc'), 'not a key');
    expect((await harness.run(deploy, {})).error).toMatchObject({ message: expect.stringContaining('1 error') });
  });

  it('refuses credentials of another account before any change', async () => {
    harness = await deployHarness({ callerAccount: '999999999999' });
    const result = await harness.run(deploy, {});
    expect(result.error).toMatchObject({ code: 'AWS_ACCOUNT_MISMATCH' });
    expect(harness.cloudFormation.calls).toEqual([]);
  });

  it('without a terminal and without --yes, fails naming --yes before touching AWS', async () => {
    harness = await deployHarness({ clients: ['bank'] });
    const result = await harness.run(deploy, {}, { yes: false });
    expect(result.error).toMatchObject({ code: 'INPUT_REQUIRED', hint: expect.stringContaining('--yes') });
    expect(harness.cloudFormation.calls).toEqual([]);
    expect(harness.aws.log).toEqual([]);
  });
});

describe('sftpctl deploy: later deploys', () => {
  it('a second deploy changes nothing: every change set is empty, deleted, never executed', async () => {
    const { h } = await firstDeploy();
    const before = h.cloudFormation.calls.length;
    const result = await h.run(deploy, {}, { json: true });
    expect(result.code).toBe(0);
    const calls = h.cloudFormation.calls.slice(before);
    expect(calls.filter((call) => call.action === 'ExecuteChangeSet')).toEqual([]);
    expect(calls.filter((call) => call.action === 'CreateChangeSet')).toHaveLength(6);
    expect(JSON.parse(result.stdout).every((entry: { action: string }) => entry.action === 'unchanged')).toBe(true);
    expectChangeSetsDeleted(h, calls);
    expect(h.aws.log.filter((entry) => entry.call === 'ImportSshPublicKey')).toHaveLength(6);
  });

  it('an allow-list change updates only the network stack and shows the change first', async () => {
    const { h } = await firstDeploy();
    await h.editConfig((text) => text.replace('203.0.113.8/29', '203.0.113.8/29, 192.0.2.7/32'));
    const result = await h.run(deploy, {}, { json: true });
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as { stack: string; action: string; changes?: { modify: number } }[];
    expect(parsed.filter((entry) => entry.action === 'updated').map((entry) => entry.stack)).toEqual([
      'shop-dev-network',
    ]);
    // --json: the result is the JSON; stderr is kept for real errors (the change list shows without --json).
    expect(result.stderr).toBe('');
    await h.editConfig((text) => text.replace('192.0.2.7/32', '192.0.2.8/32'));
    const human = await h.run(deploy, {});
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/shop-dev-network \(update\)/);
    expect(h.cloudFormation.stack('shop-dev-network')!.status).toBe('UPDATE_COMPLETE');
  });

  it('a key replaced in the config is imported and confirmed, then the old one deleted', async () => {
    const { h } = await firstDeploy();
    await h.editConfig((text) => text.replace('sshKeys: [keys/bank/download.pub]', 'sshKeys: [keys/bank/upload.pub]'));
    const before = h.aws.log.length;
    const result = await h.run(deploy, { client: ['bank'] });
    expect(result.code).toBe(0);
    expect(h.aws.users.get('bank-download')!.map((key) => key.body)).toEqual([h.keys['bank-upload']]);
    const calls = h.aws.log.slice(before).filter((entry) => entry.input.UserName === 'bank-download');
    expect(calls.map((entry) => entry.call)).toEqual([
      'DescribeUser',
      'ImportSshPublicKey',
      'DescribeUser',
      'DeleteSshPublicKey',
    ]);
    expect(result.stdout).toContain('deleted SSH key');
  });

  it('an empty key list in the config keeps the keys on the server and warns (no lock-out by mistake)', async () => {
    const { h } = await firstDeploy();
    await h.editConfig((text) => text.replace('sshKeys: [keys/bank/download.pub]', 'sshKeys: []'));
    const result = await h.run(deploy, { client: ['bank'] });
    expect(result.code).toBe(0);
    expect(h.aws.users.get('bank-download')).toHaveLength(1);
    expect(result.stderr).toContain(
      'bank-download: the config lists no SSH key, so its 1 key(s) on the server were kept',
    );
  });

  it('declining a wave changes nothing in it: no change executed, no key touched', async () => {
    const { h } = await firstDeploy();
    await h.editConfig((text) =>
      text
        .replace('203.0.113.8/29', '203.0.113.8/29, 192.0.2.7/32')
        .replace('sshKeys: [keys/bank/download.pub]', 'sshKeys: [keys/bank/upload.pub]'),
    );
    const before = h.aws.log.length;
    const { prompter } = confirming(false);
    const result = await h.run(deploy, {}, { yes: false, prompter });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Cancelled: nothing was changed.');
    expect(h.aws.log.slice(before).map((entry) => entry.call)).not.toContain('ImportSshPublicKey');
    expect(h.cloudFormation.stack('shop-dev-network')!.status).toBe('CREATE_COMPLETE');
  });

  it('an outputs-only change (no resource changes) is still executed', async () => {
    const { h } = await firstDeploy();
    const current = h.cloudFormation.stack('shop-dev-server')!;
    // The deployed template lacks one output: the rendered one adds it back without touching any resource.
    const template = current.templateBody!.replace(/\n {2}LogGroupName:\n(?: {4}.*\n)+/, '\n');
    expect(template).not.toEqual(current.templateBody);
    h.cloudFormation.seed('shop-dev-server', {
      status: 'UPDATE_COMPLETE',
      templateBody: template,
      parameters: current.parameters,
      tags: current.tags,
    });
    const result = await h.run(deploy, {}, { json: true });
    expect(result.code).toBe(0);
    const server = (JSON.parse(result.stdout) as { stack: string; action: string }[]).find(
      (entry) => entry.stack === 'shop-dev-server',
    );
    expect(server?.action).toBe('updated');
    expect(h.cloudFormation.stack('shop-dev-server')!.outputs.LogGroupName).toBeDefined();
  });

  it('a failed update rolls back: exit 1, the first failing resource and its reason, dependents skipped', async () => {
    const { h } = await firstDeploy();
    await h.editConfig((text) => text.replace('  region: eu-west-2', '  region: eu-west-2\n  logRetentionDays: 731'));
    h.cloudFormation.failNext(
      'shop-dev-server',
      'ServerLogGroup',
      'Resource handler returned message: "Invalid retention"',
    );
    const result = await h.run(deploy, {});
    expect(result.code).toBe(1);
    expect(h.cloudFormation.stack('shop-dev-server')!.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(result.stdout).toMatch(
      /shop-dev-server ended UPDATE_ROLLBACK_COMPLETE: ServerLogGroup \(AWS::Logs::LogGroup\) UPDATE_FAILED: .*Invalid retention/,
    );
    expect(result.stdout).toMatch(/shop-dev-client-bank\s+skipped/);
  });
});

describe('sftpctl deploy: recovery and parallel clients', () => {
  it('a stack left ROLLBACK_COMPLETE by a failed create is deleted and created again, after confirmation', async () => {
    const { h } = await firstDeploy();
    seedStatus(h, 'shop-dev-client-carrier', 'ROLLBACK_COMPLETE');
    const { prompter, asked } = confirming(true);
    const result = await h.run(deploy, { client: ['carrier'] }, { yes: false, prompter });
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(0);
    expect(asked[0]).toMatch(/ROLLBACK_COMPLETE .* Delete it and create it again\?/);
    const calls = h.cloudFormation.calls.filter((call) => call.input.StackName?.toString().includes('carrier'));
    const order = calls
      .map((call) => call.action)
      .filter((action) => ['DeleteStack', 'CreateChangeSet', 'ExecuteChangeSet'].includes(action));
    expect(order.slice(-3)).toEqual(['DeleteStack', 'CreateChangeSet', 'ExecuteChangeSet']);
    expect(h.cloudFormation.stack('shop-dev-client-carrier')!.status).toBe('CREATE_COMPLETE');
  });

  it('declining the recreate leaves the stack alone', async () => {
    const { h } = await firstDeploy();
    seedStatus(h, 'shop-dev-client-carrier', 'ROLLBACK_COMPLETE');
    const { prompter } = confirming(false);
    const result = await h.run(deploy, { client: ['carrier'] }, { yes: false, prompter });
    expect(result.code).toBe(1);
    expect(actions(h, 'DeleteStack')).toEqual([]);
    expect(h.cloudFormation.stack('shop-dev-client-carrier')!.status).toBe('ROLLBACK_COMPLETE');
  });

  it('an UPDATE_ROLLBACK_FAILED stack gets guidance, and nothing is executed', async () => {
    const { h } = await firstDeploy();
    seedStatus(h, 'shop-dev-client-bank', 'UPDATE_ROLLBACK_FAILED');
    const before = h.cloudFormation.calls.length;
    const result = await h.run(deploy, { client: ['bank'] });
    expect(result.code).toBe(1);
    expect(h.cloudFormation.calls.slice(before).map((call) => call.action)).not.toContain('CreateChangeSet');
    expect(result.stdout).toContain('continue-update-rollback --stack-name shop-dev-client-bank');
  });

  it('a busy stack is refused with guidance while the rest of its wave deploys', async () => {
    const { h } = await firstDeploy();
    seedStatus(h, 'shop-dev-client-bank', 'UPDATE_IN_PROGRESS');
    await h.editConfig((text) => text.replace('project: shop\n', 'project: shop\ntags: { team: payments }\n'));
    const result = await h.run(deploy, { client: ['bank', 'carrier'] });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/shop-dev-client-bank\s+failed/);
    expect(result.stdout).toContain('Stack shop-dev-client-bank is UPDATE_IN_PROGRESS');
    expect(result.stdout).toMatch(/shop-dev-client-carrier\s+updated/);
  });

  it('an empty REVIEW_IN_PROGRESS stack (an interrupted first deploy) is created with a CREATE change set', async () => {
    harness = await deployHarness({ clients: ['bank'] });
    harness.cloudFormation.seed('shop-dev-assets', { status: 'REVIEW_IN_PROGRESS' });
    const result = await harness.run(deploy, {});
    expect(result.code).toBe(0);
    const create = harness.cloudFormation.calls.find(
      (call) => call.action === 'CreateChangeSet' && call.input.StackName === 'shop-dev-assets',
    );
    expect(create?.input.ChangeSetType).toBe('CREATE');
    expect(harness.cloudFormation.stack('shop-dev-assets')!.status).toBe('CREATE_COMPLETE');
  });

  it('lifts termination protection when the config no longer protects the environment', async () => {
    harness = await deployHarness({ clients: ['bank'], protected: true });
    expect((await harness.run(deploy, {})).code).toBe(0);
    await harness.editConfig((text) => text.replace('    protected: true\n', ''));
    expect((await harness.run(deploy, {})).code).toBe(0);
    expect(harness.cloudFormation.stack('shop-dev-server')!.terminationProtection).toBe(false);
    const updates = harness.cloudFormation.calls.filter((call) => call.action === 'UpdateTerminationProtection');
    expect(updates.map((call) => call.input.EnableTerminationProtection)).toEqual([
      ...Array(4).fill(true),
      ...Array(4).fill(false),
    ]);
  });

  it('without a terminal, progress is plain lines: no spinner frames, no cursor movement, no colour', async () => {
    harness = await deployHarness({ clients: ['bank'] });
    const result = await harness.run(deploy, {});
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^shop-dev-server: \[2\/2\] Server CREATE_COMPLETE$/m);
    expect(result.stdout + result.stderr).not.toMatch(/[\u2800-\u28ff]|\u001b\[|\r/);
  });

  it('refuses to replace a guarded resource (a bucket) unless --allow-replacement names it', async () => {
    const { h } = await firstDeploy();
    const current = h.cloudFormation.stack('shop-dev-client-bank')!;
    // As if the bucket had been deployed under another name: the rendered template renames it, a replacement.
    h.cloudFormation.seed('shop-dev-client-bank', {
      status: 'UPDATE_COMPLETE',
      templateBody: current.templateBody!.replace('BucketName: shop-dev-bank-raw', 'BucketName: shop-dev-bank-raw-old'),
      parameters: current.parameters,
      tags: current.tags,
    });
    const refused = await h.run(deploy, { client: ['bank'] });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/RawBucket\s+AWS::S3::Bucket\s+REPLACED/);
    expect(refused.stdout).toContain('this change would replace RawBucket (AWS::S3::Bucket)');
    expect(refused.stdout).toContain('✖ shop-dev-client-bank: refused, it would replace RawBucket (AWS::S3::Bucket)');
    expect(refused.stdout).toContain('--allow-replacement shop-dev-client-bank/RawBucket');
    expect(h.cloudFormation.stack('shop-dev-client-bank')!.status).toBe('UPDATE_COMPLETE');
    expect(h.cloudFormation.stack('shop-dev-client-bank')!.changeSets).toEqual([]);

    const allowed = await h.run(deploy, { client: ['bank'], allowReplacement: ['shop-dev-client-bank/RawBucket'] });
    expect(allowed.code).toBe(0);
    expect(h.cloudFormation.stack('shop-dev-client-bank')!.resources.RawBucket!.physicalId).toBe('shop-dev-bank-raw');
  });

  it('an error that stops a wave (the assets bucket is gone) keeps the record: summary, failed and skipped stacks', async () => {
    harness = await deployHarness({ clients: ['bank'] });
    const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
    await harness.s3.send(new DeleteBucketCommand({ Bucket: 'shop-dev-assets' }));
    const result = await harness.run(deploy, {}, { json: true });
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout) as { stack: string; action: string; failure?: { code?: string } }[];
    expect(parsed.map((entry) => [entry.stack, entry.action])).toEqual([
      ['shop-dev-assets', 'created'],
      // The network stack is the first to take a function bundle (the default security group's closer).
      ['shop-dev-network', 'failed'],
      ['shop-dev-server', 'skipped'],
      ['shop-dev-client-bank', 'skipped'],
    ]);
    expect(parsed[1]!.failure?.code).toBe('ASSET_UPLOAD_FAILED');
  });

  it('parallel client stacks with one failing: the others finish, exit 1, a summary names the failure', async () => {
    harness = await deployHarness();
    harness.cloudFormation.failNext(
      'shop-dev-client-carrier',
      'UploadBucket',
      'shop-dev-carrier-upload already exists',
    );
    const result = await harness.run(deploy, { concurrency: '3' });
    expect(result.code).toBe(1);
    expect(harness.cloudFormation.stack('shop-dev-client-bank')!.status).toBe('CREATE_COMPLETE');
    expect(harness.cloudFormation.stack('shop-dev-client-ministry')!.status).toBe('CREATE_COMPLETE');
    expect(harness.cloudFormation.stack('shop-dev-client-carrier')!.status).toBe('ROLLBACK_COMPLETE');
    expect(result.stdout).toMatch(/shop-dev-client-carrier\s+failed\s+ROLLBACK_COMPLETE/);
    expect(result.stdout).toMatch(
      /UploadBucket \(AWS::S3::Bucket\) CREATE_FAILED: shop-dev-carrier-upload already exists/,
    );
    expect(result.stdout).toContain('1 of 6 stacks did not deploy.');
    expect(harness.aws.users.get('carrier-upload')).toBeUndefined();
  });

  it('a template over 51,200 bytes deploys by TemplateURL from the assets bucket', async () => {
    harness = await deployHarness({ clients: ['bank'], extraIps: 450 });
    const result = await harness.run(deploy, {});
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(0);
    const create = harness.cloudFormation.calls.find(
      (call) => call.action === 'CreateChangeSet' && call.input.StackName === 'shop-dev-network',
    )!;
    expect(create.input.TemplateBody).toBeUndefined();
    expect(create.input.TemplateURL).toMatch(
      /^https:\/\/shop-dev-assets\.s3\.eu-west-2\.amazonaws\.com\/templates\/shop-dev-network\/[0-9a-f]{32}\.template\.yaml$/,
    );
    expect(harness.fetched).toContain(create.input.TemplateURL);
    expect(harness.cloudFormation.stack('shop-dev-network')!.status).toBe('CREATE_COMPLETE');
  });
});

describe('sftpctl diff', () => {
  it('on a new environment: a change set for assets, the rest listed from templates; nothing is left behind', async () => {
    harness = await deployHarness({ clients: ['bank'] });
    const result = await harness.run(diff, { exitCode: true }, { json: true });
    expect(result.code).toBe(2);
    const parsed = JSON.parse(result.stdout) as { stack: string; state: string; source: string }[];
    expect(parsed.map((entry) => [entry.stack, entry.state, entry.source])).toEqual([
      ['shop-dev-assets', 'new', 'change-set'],
      ['shop-dev-network', 'new', 'template'],
      ['shop-dev-server', 'new', 'template'],
      ['shop-dev-client-bank', 'new', 'template'],
    ]);
    expect(harness.cloudFormation.stack('shop-dev-assets')).toBeUndefined();
    expect(actions(harness, 'ExecuteChangeSet')).toEqual([]);
  });

  it('after a deploy: no changes, exit 0 even with --exit-code', async () => {
    const { h } = await firstDeploy();
    const result = await h.run(diff, { exitCode: true });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('No changes in 6 stacks.');
    expectChangeSetsDeleted(h, h.cloudFormation.calls);
  });

  it('shows a change and exits 2 with --exit-code, without executing anything', async () => {
    const { h } = await firstDeploy();
    await h.editConfig((text) => text.replace('203.0.113.8/29', '203.0.113.8/29, 192.0.2.7/32'));
    const before = actions(h, 'ExecuteChangeSet').length;
    const result = await h.run(diff, { exitCode: true });
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/shop-dev-network \(update\)/);
    expect(actions(h, 'ExecuteChangeSet')).toHaveLength(before);
  });

  it("shows what the deploy would do to users' SSH keys, and counts it as a change", async () => {
    const { h } = await firstDeploy();
    await h.editConfig((text) => text.replace('sshKeys: [keys/bank/download.pub]', 'sshKeys: [keys/bank/upload.pub]'));
    const before = h.aws.log.length;
    const result = await h.run(diff, { exitCode: true });
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('shop-dev-client-bank: SSH keys only');
    expect(result.stdout).toMatch(/\+ SSH key SHA256:\S+ on bank-download/);
    expect(result.stdout).toMatch(/- SSH key SHA256:\S+ on bank-download/);
    expect(h.aws.log.slice(before).map((entry) => entry.call)).not.toContain('ImportSshPublicKey');
    expect(h.aws.log.slice(before).map((entry) => entry.call)).not.toContain('DeleteSshPublicKey');
  });

  it('a user that does not exist yet (a role just added) counts as new: all its keys would be imported', async () => {
    harness = await deployHarness({ clients: ['bank'] });
    expect((await harness.run(deploy, {})).code).toBe(0);
    harness.aws.failNext(
      'DescribeUser',
      Object.assign(new Error('Unknown user'), { name: 'ResourceNotFoundException' }),
    );
    const result = await harness.run(diff, { exitCode: true });
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(`+ SSH key`);
    expect(result.stdout).toMatch(/\+ SSH key SHA256:\S+ on bank-upload/);
  });
});
