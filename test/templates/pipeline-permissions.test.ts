import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../src/core/config/validate.js';
import {
  type ClientBucket,
  FUNCTION_OBJECT_STORE_USES,
  type ObjectStoreUse,
  S3_OPERATION_ACTIONS,
} from '../../src/core/permissions.js';
import { synthesize } from '../../src/templates/synthesize.js';
import { evaluate, type PolicyDocument } from '../helpers/iam-policy.js';

/**
 * The functions' roles are derived from the operations the pipeline makes (core/permissions.ts): every declared
 * operation is allowed by the rendered role, as IAM evaluates it, and nothing more than the operations need.
 */
async function clientStack() {
  const text = await readFile(new URL('../../examples/sftpctl.yaml', import.meta.url), 'utf8');
  const { config } = await validateConfigText(text, 'sftpctl.yaml');
  return synthesize(config!, 'prod', { format: 'json' }).stacks.find(
    (entry) => entry.name === 'acme-sftp-prod-client-northwind-bank',
  )!;
}

type Role = { Type: string; Properties: { Policies?: { PolicyDocument: PolicyDocument }[] } };

function rolePolicies(template: unknown, roleId: string): PolicyDocument[] {
  const role = (template as { Resources: Record<string, Role> }).Resources[roleId]!;
  return (role.Properties.Policies ?? []).map((policy) => policy.PolicyDocument);
}

const bucketArn = (bucket: ClientBucket) => `arn:aws:s3:::acme-sftp-prod-northwind-bank-${bucket}`;

/** Every (action, resource) a use needs, from the one table. */
function needs(use: ObjectStoreUse): { action: string; resource: string }[] {
  const grants = S3_OPERATION_ACTIONS[use.operation];
  const target = use.operation === 'copy' ? use.to : use.bucket;
  const out = [
    ...grants.target.bucket.map((action) => ({ action, resource: bucketArn(target) })),
    ...grants.target.object.map((action) => ({ action, resource: `${bucketArn(target)}/some/key` })),
  ];
  if (use.operation === 'copy' && grants.source) {
    out.push(...grants.source.bucket.map((action) => ({ action, resource: bucketArn(use.from) })));
    out.push(...grants.source.object.map((action) => ({ action, resource: `${bucketArn(use.from)}/some/key` })));
  }
  return out;
}

describe('function roles are derived from the operations the pipeline makes', () => {
  const ROLES = { ingress: 'IngressFunctionRole', egress: 'EgressFunctionRole', sweeper: 'SweeperFunctionRole' };
  for (const fn of ['ingress', 'egress', 'sweeper'] as const) {
    it(`${fn}: every declared ObjectStore operation is allowed by the rendered role`, async () => {
      const stack = await clientStack();
      const policies = rolePolicies(stack.template, ROLES[fn]);
      for (const use of FUNCTION_OBJECT_STORE_USES[fn])
        for (const need of needs(use))
          expect({ use, ...need, allowed: evaluate(policies, need).allowed }).toMatchObject({ allowed: true });
    });
  }

  it('copies start untagged (TaggingDirective REPLACE): no tagging permission on either side', () => {
    expect(S3_OPERATION_ACTIONS.copy.source?.object).toEqual(['s3:GetObject']);
    expect(S3_OPERATION_ACTIONS.copy.target.object).not.toContain('s3:PutObjectTagging');
  });

  it('grants ingress no tagging in raw (copies carry no tags) and never a delete on partner originals', async () => {
    const policies = rolePolicies((await clientStack()).template, 'IngressFunctionRole');
    const allowed = (action: string, bucket: ClientBucket) =>
      evaluate(policies, { action, resource: `${bucketArn(bucket)}/a.csv` }).allowed;
    expect(allowed('s3:PutObjectTagging', 'raw')).toBe(false);
    expect(allowed('s3:DeleteObject', 'upload')).toBe(false);
    expect(allowed('s3:PutObject', 'upload')).toBe(false);
    expect(allowed('s3:GetObject', 'export')).toBe(false);
  });

  it('egress cannot touch ingress buckets, nor delete anything', async () => {
    const policies = rolePolicies((await clientStack()).template, 'EgressFunctionRole');
    for (const bucket of ['upload', 'raw'] as const)
      expect(evaluate(policies, { action: 's3:GetObject', resource: `${bucketArn(bucket)}/x` }).allowed).toBe(false);
    for (const bucket of ['export', 'download'] as const)
      expect(evaluate(policies, { action: 's3:DeleteObject', resource: `${bucketArn(bucket)}/x` }).allowed).toBe(false);
  });

  it('grants no S3 action that no declared operation needs (least privilege, no wildcard)', async () => {
    const stack = await clientStack();
    const roles = { ingress: 'IngressFunctionRole', egress: 'EgressFunctionRole', sweeper: 'SweeperFunctionRole' };
    for (const fn of ['ingress', 'egress', 'sweeper'] as const) {
      const policies = rolePolicies(stack.template, roles[fn]);
      const granted = policies
        .flatMap((policy) => policy.Statement)
        .flatMap((statement) => [statement.Action ?? []].flat())
        .filter((action) => action.startsWith('s3:'));
      const needed = new Set(FUNCTION_OBJECT_STORE_USES[fn].flatMap((use) => needs(use).map((need) => need.action)));
      expect(granted.filter((action) => !needed.has(action))).toEqual([]);
      expect(granted.some((action) => action.includes('*'))).toBe(false);
    }
  });
});
