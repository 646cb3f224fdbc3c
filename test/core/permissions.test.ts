import { describe, expect, it } from 'vitest';
import {
  IMPLIED_BY,
  iamStatementsFor,
  isAllowed,
  permissionsFor,
  S3_ACTIONS,
  SFTP_ACTIONS,
  type SftpRole,
} from '../../src/core/permissions.js';

const BUCKET = 'arn:aws:s3:::acme-dev-bank-upload';
const KEY = { 'Fn::GetAtt': ['ClientKey', 'Arn'] };

describe('permissionsFor', () => {
  it('lets an upload user put, resume, rename, list and tidy up its uploads', () => {
    expect([...permissionsFor('upload')].sort()).toEqual(['delete', 'list', 'mkdir', 'read', 'rename', 'write']);
  });

  it('lets a download user only list and read', () => {
    expect([...permissionsFor('download')].sort()).toEqual(['list', 'read']);
    for (const action of ['write', 'delete', 'rename', 'mkdir'] as const)
      expect(isAllowed('download', action)).toBe(false);
  });

  it('never grants an action without the S3 actions it is carried out with (rename = copy + delete)', () => {
    for (const role of ['upload', 'download'] as const) {
      const granted = permissionsFor(role);
      for (const action of granted) {
        for (const needed of IMPLIED_BY[action] ?? [])
          expect(granted.has(needed), `${role}: ${action} needs ${needed}`).toBe(true);
      }
    }
  });

  it('returns a set callers cannot use to widen the model', () => {
    (permissionsFor('download') as Set<string>).add('write');
    expect(permissionsFor('download').has('write')).toBe(false);
  });
});

describe('iamStatementsFor', () => {
  const actionsOf = (role: SftpRole) => iamStatementsFor(role, BUCKET, KEY).flatMap((statement) => statement.Action);

  it('maps the upload permissions to list on the bucket, object read/write/delete and the key', () => {
    expect(iamStatementsFor('upload', BUCKET, KEY)).toEqual([
      { Sid: 'ListHomeBucket', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [BUCKET] },
      {
        Sid: 'HomeBucketObjects',
        Effect: 'Allow',
        Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: [`${BUCKET}/*`],
      },
      { Sid: 'HomeBucketKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: [KEY] },
    ]);
  });

  it('gives a download user read-only access: no put, delete or data-key generation', () => {
    expect(actionsOf('download').sort()).toEqual(['kms:Decrypt', 's3:GetObject', 's3:ListBucket']);
  });

  it('uses no wildcard action and no resource wider than the bucket and its objects', () => {
    for (const role of ['upload', 'download'] as const) {
      for (const statement of iamStatementsFor(role, BUCKET, KEY)) {
        for (const action of statement.Action) expect(action).not.toContain('*');
        for (const resource of statement.Resource) expect([BUCKET, `${BUCKET}/*`, KEY]).toContainEqual(resource);
      }
    }
  });

  it('grants object versions to nobody: SFTP never addresses them, lifecycle removes them', () => {
    for (const role of ['upload', 'download'] as const)
      expect(actionsOf(role).some((action) => action.includes('Version'))).toBe(false);
  });

  it('derives every S3 action from the SFTP actions the role has', () => {
    for (const role of ['upload', 'download'] as const) {
      const expected = [...permissionsFor(role)].flatMap((action) => [
        ...S3_ACTIONS[action].bucket,
        ...S3_ACTIONS[action].object,
      ]);
      expect(
        actionsOf(role)
          .filter((action) => action.startsWith('s3:'))
          .sort(),
      ).toEqual([...new Set(expected)].sort());
    }
    expect(SFTP_ACTIONS).toHaveLength(Object.keys(S3_ACTIONS).length);
  });

  it('refuses anything but a plain bucket ARN', () => {
    expect(() => iamStatementsFor('upload', 'arn:aws:s3:::bucket/*', KEY)).toThrow(/plain S3 bucket ARN/);
    expect(() => iamStatementsFor('upload', '*', KEY)).toThrow();
  });
});
