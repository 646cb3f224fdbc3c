import { beforeAll, describe, expect, it } from 'vitest';
import { generateSshKeyPair } from '../../../src/core/crypto/ssh-keygen.js';
import type { IdentityRecord } from '../../../src/core/identity/record.js';
import { fingerprintOf, planUserTable } from '../../../src/core/identity/table-plan.js';

const keys: string[] = [];
beforeAll(async () => {
  for (let index = 0; index < 3; index++)
    keys.push((await generateSshKeyPair({ type: 'ed25519' })).publicKey.trim().split(' ').slice(0, 2).join(' '));
});

function user(userName: string, client: string, over: Partial<IdentityRecord> = {}): IdentityRecord {
  return {
    userName,
    client,
    role: 'upload',
    enabled: true,
    homeDirectoryMappings: [{ entry: '/', target: `/acme-dev-${client}-upload` }],
    sshKeys: [{ publicKey: keys[0]! }],
    allowedCidrs: ['203.0.113.0/24'],
    allowAnyIp: false,
    ...over,
  };
}

describe('planning the user table', () => {
  it('carries the password secret and (without one given) the role ARN over from the item', () => {
    const old = user('bank-upload', 'bank', {
      roleArn: 'arn:old',
      passwordSecret: '/acme/dev/identity/passwords/bank-upload',
    });
    const plan = planUserTable({ records: [old], malformed: [] }, [user('bank-upload', 'bank')], () => true);
    expect(plan.writes).toEqual([]);
    expect(plan.changes).toEqual([expect.objectContaining({ userName: 'bank-upload', action: 'unchanged' })]);
    const moved = planUserTable(
      { records: [old], malformed: [] },
      [user('bank-upload', 'bank', { roleArn: 'arn:new' })],
      () => true,
    );
    expect(moved.writes).toEqual([{ ...old, roleArn: 'arn:new' }]);
  });

  it('names key changes by fingerprint, an expiry set by a rotation included', () => {
    const old = user('bank-upload', 'bank', { sshKeys: [{ publicKey: keys[0]! }, { publicKey: keys[1]! }] });
    const next = user('bank-upload', 'bank', {
      sshKeys: [{ publicKey: keys[0]!, expiresAt: '2027-01-01T00:00:00Z' }, { publicKey: keys[2]! }],
    });
    const plan = planUserTable({ records: [old], malformed: [] }, [next], () => true);
    expect(plan.changes).toEqual([
      {
        userName: 'bank-upload',
        client: 'bank',
        action: 'update',
        addKeys: [fingerprintOf(keys[2]!)],
        removeKeys: [fingerprintOf(keys[1]!)],
        expiryChanged: [fingerprintOf(keys[0]!)],
      },
    ]);
  });

  it('an emptied key list keeps the item’s keys, and says so', () => {
    const old = user('bank-upload', 'bank');
    const plan = planUserTable(
      { records: [old], malformed: [] },
      [user('bank-upload', 'bank', { sshKeys: [] })],
      () => true,
    );
    expect(plan.writes).toEqual([]);
    expect(plan.changes[0]).toMatchObject({ action: 'unchanged', keptBecauseConfigIsEmpty: true });
  });

  it('deletes only stale items in scope; rewrites or deletes unreadable ones', () => {
    const plan = planUserTable(
      {
        records: [user('bank-upload', 'bank'), user('gone-upload', 'gone'), user('other-upload', 'other')],
        malformed: ['bank-download', 'junk'],
      },
      [user('bank-upload', 'bank'), user('bank-download', 'bank')],
      (_name, client) => client !== 'other',
    );
    expect(plan.writes.map((record) => record.userName)).toEqual(['bank-download']);
    expect(plan.deletes.sort()).toEqual(['gone-upload', 'junk']);
    expect(plan.changes.find((change) => change.userName === 'bank-download')?.action).toBe('update');
  });
});
