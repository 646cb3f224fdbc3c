import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { deploy } from '../../src/commands/deploy.js';
import { destroy } from '../../src/commands/destroy.js';
import { deployHarness } from '../helpers/deploy-harness.js';
import { scriptedPrompter } from '../helpers/prompter.js';

let harness: Awaited<ReturnType<typeof deployHarness>> | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Deploys, then creates in the S3 server every bucket the stacks hold (CloudFormation would have). */
async function deployed(options: Parameters<typeof deployHarness>[0] = {}) {
  const h = await deployHarness({ clients: ['bank', 'carrier'], ...options });
  harness = h;
  expect((await h.run(deploy, {})).code).toBe(0);
  for (const name of ['shop-dev-client-bank', 'shop-dev-client-carrier']) {
    for (const resource of Object.values(h.cloudFormation.stack(name)!.resources)) {
      if (resource.type === 'AWS::S3::Bucket')
        await h.s3.send(new CreateBucketCommand({ Bucket: resource.physicalId }));
    }
  }
  return h;
}

const bucketExists = async (h: NonNullable<typeof harness>, bucket: string) =>
  h.s3.send(new HeadBucketCommand({ Bucket: bucket })).then(
    () => true,
    () => false,
  );

const deletes = (h: NonNullable<typeof harness>) =>
  h.cloudFormation.calls.filter((call) => call.action === 'DeleteStack').map((call) => call.input.StackName);

describe('sftpctl destroy', () => {
  it('deletes clients first and assets last; empties only the assets bucket; deletes empty retained buckets', async () => {
    const h = await deployed();
    const result = await h.run(destroy, {}, { json: true });
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(0);
    const stackIds = Object.fromEntries(
      ['assets', 'network', 'server', 'client-bank', 'client-carrier'].map((suffix) => [suffix, `shop-dev-${suffix}`]),
    );
    const order = deletes(h).map((id) =>
      Object.keys(stackIds).find(
        (suffix) => String(id).includes(`:stack/shop-dev-${suffix}/`) || id === stackIds[suffix],
      ),
    );
    expect(order.slice(0, 2).sort()).toEqual(['client-bank', 'client-carrier']);
    expect(order.slice(2)).toEqual(['server', 'network', 'assets']);
    for (const name of Object.values(stackIds)) expect(h.cloudFormation.stack(name)).toBeUndefined();
    const parsed = JSON.parse(result.stdout) as {
      stack: string;
      action: string;
      emptied: { bucket: string }[];
      deletedBuckets: string[];
      retained: { type: string }[];
    }[];
    const assets = parsed.find((entry) => entry.stack === 'shop-dev-assets')!;
    expect(assets.emptied.map((entry) => entry.bucket)).toEqual(['shop-dev-assets']);
    const bank = parsed.find((entry) => entry.stack === 'shop-dev-client-bank')!;
    expect(bank.deletedBuckets.sort()).toEqual(
      ['shop-dev-bank-download', 'shop-dev-bank-export', 'shop-dev-bank-raw', 'shop-dev-bank-upload'].sort(),
    );
    expect(await bucketExists(h, 'shop-dev-bank-upload')).toBe(false);
    expect(bank.retained.map((entry) => entry.type)).toEqual(
      expect.arrayContaining(['AWS::KMS::Key', 'AWS::SecretsManager::Secret']),
    );
  });

  it('refuses buckets holding data before deleting anything; --empty-buckets removes every version first', async () => {
    const h = await deployed();
    await h.s3.send(new PutObjectCommand({ Bucket: 'shop-dev-bank-raw', Key: 'in/statement.csv', Body: 'data' }));
    const refused = await h.run(destroy, {});
    expect(refused.error).toMatchObject({
      code: 'BUCKETS_NOT_EMPTY',
      message: expect.stringContaining('shop-dev-bank-raw (shop-dev-client-bank)'),
      hint: expect.stringContaining('--empty-buckets'),
    });
    expect(deletes(h)).toEqual([]);

    const result = await h.run(destroy, { emptyBuckets: true });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('shop-dev-client-bank: emptied shop-dev-bank-raw (1 versions)');
    expect(await bucketExists(h, 'shop-dev-bank-raw')).toBe(false);
  });

  it('--role-arn: stacks are deleted as the CloudFormation service role', async () => {
    const h = await deployed();
    const role = 'arn:aws:iam::111122223333:role/sftpctl-deploy';
    expect((await h.run(destroy, { client: ['bank'], roleArn: role })).code).toBe(0);
    const deleted = h.cloudFormation.calls.filter((call) => call.action === 'DeleteStack');
    expect(deleted.map((call) => call.input.RoleARN)).toEqual([role]);
  });

  it('--client deletes only that client stack', async () => {
    const h = await deployed();
    const result = await h.run(destroy, { client: ['carrier'] });
    expect(result.code).toBe(0);
    expect(h.cloudFormation.stack('shop-dev-client-carrier')).toBeUndefined();
    expect(h.cloudFormation.stack('shop-dev-client-bank')?.status).toBe('CREATE_COMPLETE');
    expect(h.cloudFormation.stack('shop-dev-server')?.status).toBe('CREATE_COMPLETE');
  });

  it('asks for the environment name; a wrong answer deletes nothing', async () => {
    const h = await deployed();
    const { prompter } = scriptedPrompter({ environment: 'prod' });
    const result = await h.run(destroy, {}, { yes: false, prompter });
    expect(result.error).toMatchObject({ code: 'DESTROY_NOT_CONFIRMED' });
    expect(deletes(h)).toEqual([]);
    const typed = await h.run(destroy, {}, { yes: false, prompter: scriptedPrompter({ environment: 'dev' }).prompter });
    expect(typed.code).toBe(0);
  });

  it('without a terminal and without --yes, fails naming --yes', async () => {
    const h = await deployed();
    const result = await h.run(destroy, {}, { yes: false });
    expect(result.error).toMatchObject({ code: 'INPUT_REQUIRED', hint: expect.stringContaining('--yes') });
  });

  it('refuses a protected environment, and stacks with termination protection', async () => {
    const h = await deployed({ protected: true });
    const result = await h.run(destroy, {});
    expect(result.error).toMatchObject({ code: 'DESTROY_PROTECTED' });
    expect(deletes(h)).toEqual([]);
  });

  it('a failed delete stops the stacks it depends on: exit 1, the reason named', async () => {
    const h = await deployed();
    h.cloudFormation.failDelete('shop-dev-client-bank', 'IngressFunction', 'Lambda was unable to delete the function');
    const result = await h.run(destroy, {});
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/shop-dev-client-bank ended DELETE_FAILED: IngressFunction .*Lambda was unable/);
    expect(result.stdout).toMatch(/shop-dev-server\s+skipped/);
    expect(h.cloudFormation.stack('shop-dev-server')?.status).toBe('CREATE_COMPLETE');
    expect(h.cloudFormation.stack('shop-dev-client-carrier')).toBeUndefined();
  });

  it('refuses to destroy the platform under client stacks the config no longer has; --client removes them', async () => {
    const h = await deployed();
    await h.editConfig((text) => text.slice(0, text.indexOf('  - name: carrier')));
    const refused = await h.run(destroy, {});
    expect(refused.error).toMatchObject({
      code: 'ORPHAN_CLIENT_STACKS',
      message: expect.stringContaining('shop-dev-client-carrier'),
      hint: expect.stringContaining('sftpctl destroy --client carrier'),
    });
    expect(deletes(h)).toEqual([]);

    const orphan = await h.run(destroy, { client: ['carrier'] }, { json: true });
    expect(orphan.code).toBe(0);
    expect(h.cloudFormation.stack('shop-dev-client-carrier')).toBeUndefined();
    const [result] = JSON.parse(orphan.stdout) as { retained: { type: string }[]; deletedBuckets: string[] }[];
    // Retained resources are judged by the template CloudFormation holds: the config has nothing left of carrier.
    expect(result!.retained.map((entry) => entry.type)).toContain('AWS::KMS::Key');
    expect(result!.deletedBuckets).toHaveLength(4);
    expect((await h.run(destroy, {})).code).toBe(0);
  });
});
