import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerKeyStore } from '../../src/aws/secrets-key-store.js';
import { SftpctlError } from '../../src/core/errors.js';
import { serializeSecret } from '../../src/core/secrets.js';

const client = new SecretsManagerClient({
  region: 'eu-west-2',
  credentials: { accessKeyId: 'AKIAFAKEFAKEFAKEFAKE', secretAccessKey: 'fake' },
});
const sm = mockClient(client);
afterAll(() => sm.restore());

const ids = (name: string) => ({ ingress: `sftpctl/${name}/ingress`, partner: `sftpctl/${name}/partner` });

const ingress = serializeSecret({
  format: 'sftpctl.ingress-keys/v1',
  keys: [
    { fingerprint: 'AAAA', role: 'retiring', armoredPrivateKey: 'OLD KEY 1' },
    { fingerprint: 'BBBB', role: 'current', armoredPrivateKey: 'CURRENT KEY' },
    { fingerprint: 'CCCC', role: 'retiring', armoredPrivateKey: 'OLD KEY 2' },
  ],
});
const partner = serializeSecret({ format: 'sftpctl.partner-key/v1', fingerprint: 'DDDD', armoredPublicKey: 'PARTNER' });

let now: number;
let store: SecretsManagerKeyStore;
const gets = () => sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId);

beforeEach(() => {
  sm.reset();
  sm.on(GetSecretValueCommand, { SecretId: 'sftpctl/bank/ingress' }).resolves({ SecretString: ingress });
  sm.on(GetSecretValueCommand, { SecretId: 'sftpctl/bank/partner' }).resolves({ SecretString: partner });
  now = 1_000_000;
  store = new SecretsManagerKeyStore(client, ids, { ttlMs: 60_000, now: () => now });
});

describe('SecretsManagerKeyStore', () => {
  it('returns the ingress keys current first, then the retiring ones in their order; and the partner key', async () => {
    expect(await store.ingressPrivateKeys('bank')).toEqual(['CURRENT KEY', 'OLD KEY 1', 'OLD KEY 2']);
    expect(await store.partnerPublicKey('bank')).toBe('PARTNER');
    expect(gets()).toEqual(['sftpctl/bank/ingress', 'sftpctl/bank/partner']);
  });

  it('fetches each secret once per TTL, then again after it', async () => {
    for (let i = 0; i < 5; i++) {
      await store.ingressPrivateKeys('bank');
      await store.partnerPublicKey('bank');
      now += 10_000;
    }
    expect(gets()).toEqual(['sftpctl/bank/ingress', 'sftpctl/bank/partner']);
    now += 20_000; // 70 s after the first fetch
    await store.ingressPrivateKeys('bank');
    await store.ingressPrivateKeys('bank');
    expect(gets()).toEqual(['sftpctl/bank/ingress', 'sftpctl/bank/partner', 'sftpctl/bank/ingress']);
  });

  it('defaults to a 5-minute TTL', async () => {
    const defaults = new SecretsManagerKeyStore(client, ids, { now: () => now });
    await defaults.partnerPublicKey('bank');
    now += 299_000;
    await defaults.partnerPublicKey('bank');
    expect(gets()).toHaveLength(1);
    now += 2_000;
    await defaults.partnerPublicKey('bank');
    expect(gets()).toHaveLength(2);
  });

  it('shares one in-flight request between concurrent callers', async () => {
    let release!: () => void;
    sm.on(GetSecretValueCommand, { SecretId: 'sftpctl/bank/ingress' }).callsFake(
      () =>
        new Promise((resolve) => {
          release = () => resolve({ SecretString: ingress });
        }),
    );
    const callers = Array.from({ length: 10 }, () => store.ingressPrivateKeys('bank'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(gets()).toEqual(['sftpctl/bank/ingress']);
    release();
    const results = await Promise.all(callers);
    expect(new Set(results.map((keys) => keys.join()))).toEqual(new Set(['CURRENT KEY,OLD KEY 1,OLD KEY 2']));
    expect(gets()).toHaveLength(1);
  });

  it('does not cache a failure: every waiting caller sees it, the next call asks again', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'sftpctl/bank/partner' })
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ SecretString: partner });
    const [a, b] = await Promise.allSettled([store.partnerPublicKey('bank'), store.partnerPublicKey('bank')]);
    expect(a).toMatchObject({ status: 'rejected', reason: { code: 'SECRET_READ_FAILED' } });
    expect(b).toMatchObject({ status: 'rejected', reason: { code: 'SECRET_READ_FAILED' } });
    expect(gets()).toHaveLength(1);
    expect(await store.partnerPublicKey('bank')).toBe('PARTNER');
    expect(gets()).toHaveLength(2);
  });

  it('a failed refresh of an expired entry is not cached either: the next call asks again', async () => {
    let calls = 0;
    sm.on(GetSecretValueCommand, { SecretId: 'sftpctl/bank/partner' }).callsFake(async () => {
      calls++;
      if (calls === 2) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      return { SecretString: partner };
    });
    expect(await store.partnerPublicKey('bank')).toBe('PARTNER');
    now += 61_000;
    await expect(store.partnerPublicKey('bank')).rejects.toMatchObject({ code: 'SECRET_READ_FAILED' });
    expect(await store.partnerPublicKey('bank')).toBe('PARTNER');
    expect(await store.partnerPublicKey('bank')).toBe('PARTNER');
    expect(calls).toBe(3);
  });

  it('caches per client and per secret id', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'sftpctl/shop/partner' }).resolves({
      SecretString: serializeSecret({
        format: 'sftpctl.partner-key/v1',
        fingerprint: 'EEEE',
        armoredPublicKey: 'SHOP',
      }),
    });
    expect(await store.partnerPublicKey('bank')).toBe('PARTNER');
    expect(await store.partnerPublicKey('shop')).toBe('SHOP');
    expect(await store.partnerPublicKey('bank')).toBe('PARTNER');
    expect(gets()).toEqual(['sftpctl/bank/partner', 'sftpctl/shop/partner']);
  });

  it.each([
    ['not JSON', 'not json', /not JSON.*sftpctl\/bank\/ingress/],
    [
      'another format',
      JSON.stringify({ format: 'other', keys: [] }),
      /not in the sftpctl format.*sftpctl\/bank\/ingress/,
    ],
    ['no key', JSON.stringify({ format: 'sftpctl.ingress-keys/v1', keys: [] }), /holds no key/],
    [
      'a key without its private key',
      JSON.stringify({ format: 'sftpctl.ingress-keys/v1', keys: [{ fingerprint: 'A', role: 'current' }] }),
      /without its armored private key/,
    ],
    [
      'a key with an unknown role',
      JSON.stringify({
        format: 'sftpctl.ingress-keys/v1',
        keys: [{ fingerprint: 'A', role: 'next', armoredPrivateKey: 'K' }],
      }),
      /without a role/,
    ],
  ])(
    'an ingress secret with %s is a SECRET_FORMAT error naming the secret, and is not cached',
    async (_, text, message) => {
      sm.on(GetSecretValueCommand, { SecretId: 'sftpctl/bank/ingress' })
        .resolvesOnce({ SecretString: text })
        .resolves({ SecretString: ingress });
      const error = await store.ingressPrivateKeys('bank').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SftpctlError);
      expect(error).toMatchObject({ code: 'SECRET_FORMAT', message: expect.stringMatching(message) });
      expect((error as SftpctlError).hint).toContain('sftpctl secrets load');
      expect(await store.ingressPrivateKeys('bank')).toEqual(['CURRENT KEY', 'OLD KEY 1', 'OLD KEY 2']);
    },
  );

  it('a partner secret in the wrong format, or binary, is a SECRET_FORMAT error', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'sftpctl/bank/partner' })
      .resolvesOnce({ SecretString: ingress })
      .resolvesOnce({ SecretBinary: new Uint8Array([1]) });
    await expect(store.partnerPublicKey('bank')).rejects.toMatchObject({
      code: 'SECRET_FORMAT',
      message: expect.stringContaining('sftpctl/bank/partner'),
    });
    await expect(store.partnerPublicKey('bank')).rejects.toMatchObject({
      code: 'SECRET_FORMAT',
      message: expect.stringContaining('binary'),
    });
  });

  it.each([
    ['ResourceNotFoundException', 'SECRET_NOT_FOUND', 'sftpctl secrets load'],
    ['AccessDeniedException', 'SECRET_ACCESS_DENIED', 'kms:Decrypt'],
    ['DecryptionFailure', 'SECRET_ACCESS_DENIED', 'kms:Decrypt'],
    ['ExpiredTokenException', 'AWS_CREDENTIALS', 'Sign in'],
    ['InternalServiceError', 'SECRET_READ_FAILED', 'retry'],
  ])('%s becomes %s', async (name, code, hint) => {
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: 400, requestId: 'r-1' } }),
    );
    const error = (await store.ingressPrivateKeys('bank').catch((e: unknown) => e)) as SftpctlError;
    expect(error).toBeInstanceOf(SftpctlError);
    expect(error.code).toBe(code);
    expect(error.message).toContain('sftpctl/bank/ingress');
    expect(error.hint).toContain(hint);
  });

  it('clear() forgets cached secrets', async () => {
    await store.partnerPublicKey('bank');
    store.clear();
    await store.partnerPublicKey('bank');
    expect(gets()).toHaveLength(2);
  });
});
