import { afterEach, describe, expect, it } from 'vitest';
import { itemToRecord } from '../../src/aws/identity-store.js';
import { clientPassword } from '../../src/commands/client-password.js';
import { deploy } from '../../src/commands/deploy.js';
import { verifyPassword } from '../../src/core/identity/password.js';
import { deployHarness } from '../helpers/deploy-harness.js';
import { useFakeDynamoDb } from '../helpers/fake-dynamodb.js';
import { scriptedPrompter } from '../helpers/prompter.js';

const TABLE = 'shop-dev-identity';
const SECRET = '/shop/dev/identity/passwords/bank-upload';
const dynamo = useFakeDynamoDb({ table: TABLE });
let harness: Awaited<ReturnType<typeof deployHarness>> | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const CERTIFICATE = 'arn:aws:acm:eu-west-2:111122223333:certificate/0b8e2f4c-5a2e-4d1b-9c3e-2f1a0d9e8c7b';
async function world(options: { lambda?: boolean; ftps?: boolean } = {}) {
  harness = await deployHarness();
  if (options.lambda ?? true) {
    const transfer =
      (options.ftps ?? true) ? `\n    transfer: { protocols: [SFTP, FTPS], certificate: "${CERTIFICATE}" }` : '';
    await harness.editConfig((text) =>
      text.replace(
        '    account: "111122223333"',
        `    account: "111122223333"\n    identity: { mode: lambda }${transfer}`,
      ),
    );
    expect((await harness.run(deploy, {})).code).toBe(0);
  }
  return harness;
}
async function setPassword(
  h: NonNullable<typeof harness>,
  options: object,
  prompter?: ReturnType<typeof scriptedPrompter>['prompter'],
) {
  return await h.run((o: object, context) => clientPassword('bank', o, context), options, prompter ? { prompter } : {});
}
const record = (name: string) => itemToRecord(dynamo.items.get(name)!)!;

describe('client password', () => {
  it('asks twice (hidden), stores only the scrypt hash under the environment key, and names the secret in the item', async () => {
    const h = await world();
    const { prompter, asked } = scriptedPrompter({
      password: 'a long enough secret',
      passwordAgain: 'a long enough secret',
    });
    const result = await setPassword(h, {}, prompter);
    expect(result.error).toBeUndefined();
    expect(asked).toEqual(['password', 'passwordAgain']);
    const create = h.aws.log.find((entry) => entry.call === 'CreateSecret')!.input;
    expect(create).toMatchObject({ Name: SECRET, KmsKeyId: 'alias/shop/dev/platform' });
    const { hash } = JSON.parse(String(create.SecretString)) as { hash: string };
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword(hash, 'a long enough secret')).toBe(true);
    expect(record('bank-upload').passwordSecret).toBe(SECRET);
    expect(`${result.stdout}${result.stderr}${JSON.stringify(h.aws.log)}`).not.toContain('a long enough secret');
    expect(JSON.stringify([...dynamo.items.values()])).not.toContain('scrypt');

    // A second time: a new version of the same secret.
    const again = scriptedPrompter({ password: 'another long secret', passwordAgain: 'another long secret' });
    expect((await setPassword(h, {}, again.prompter)).error).toBeUndefined();
    expect(h.aws.calls().filter((call) => /Secret/.test(call))).toEqual([
      'CreateSecret',
      'CreateSecret',
      'PutSecretValue',
    ]);
  });

  it('--generate shows a strong password once; --remove takes it away (item first, then the secret)', async () => {
    const h = await world();
    const result = await setPassword(h, { generate: true, user: 'download' });
    expect(result.error).toBeUndefined();
    const password = /shown once[^:]*: (\S+)/.exec(result.stdout)![1]!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const stored = h.aws.secrets.get('/shop/dev/identity/passwords/bank-download')!;
    expect(await verifyPassword((JSON.parse(stored[0]!) as { hash: string }).hash, password)).toBe(true);

    const removed = await setPassword(h, { remove: true, user: 'download' });
    expect(removed.error).toBeUndefined();
    expect(record('bank-download').passwordSecret).toBeUndefined();
    expect(h.aws.secrets.has('/shop/dev/identity/passwords/bank-download')).toBe(false);
    expect(h.aws.log.at(-1)).toMatchObject({ call: 'DeleteSecret', input: { ForceDeleteWithoutRecovery: true } });
  });

  it('refuses service-managed environments and lambda ones without FTPS, before any AWS call', async () => {
    const managed = await world({ lambda: false });
    const first = await setPassword(managed, { generate: true });
    expect(first.error).toMatchObject({ code: 'IDENTITY_MODE_NOT_LAMBDA' });
    expect(first.error?.hint).toContain('identity.mode: lambda');
    expect(managed.aws.log).toEqual([]);
    await managed.close();
    harness = undefined;
    const sftpOnly = await world({ ftps: false });
    const before = sftpOnly.aws.log.length;
    const second = await setPassword(sftpOnly, { generate: true });
    expect(second.error).toMatchObject({ code: 'FTPS_NOT_ENABLED' });
    expect(sftpOnly.aws.log.length).toBe(before);
  });

  it('mismatched entries, no terminal, or a user not deployed change nothing', async () => {
    const h = await world();
    const mismatch = scriptedPrompter({ password: 'a long enough secret', passwordAgain: 'a long enough secreT' });
    expect((await setPassword(h, {}, mismatch.prompter)).error).toMatchObject({ code: 'PASSWORD_MISMATCH' });
    expect((await setPassword(h, {})).error).toMatchObject({ code: 'INPUT_REQUIRED' });
    dynamo.items.delete('bank-upload');
    expect((await setPassword(h, { generate: true })).error).toMatchObject({ code: 'USER_NOT_DEPLOYED' });
    expect(h.aws.calls().filter((call) => /Secret/.test(call))).toEqual([]);
  });
});
