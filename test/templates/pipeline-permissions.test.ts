import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../src/core/config/validate.js';
import { synthesize } from '../../src/templates/synthesize.js';

/**
 * The functions' roles must allow exactly what core/pipeline does: ingest reads and tags originals (never deletes
 * them), publishes to raw and may take a raw copy back; egress reads and tags exports and publishes downloads.
 */
describe('function roles match what the pipeline calls', () => {
  it('grants tagging and the raw take-back, and no delete on partner originals', async () => {
    const text = await readFile(new URL('../../examples/sftpctl.yaml', import.meta.url), 'utf8');
    const { config } = await validateConfigText(text, 'sftpctl.yaml');
    const stack = synthesize(config!, 'prod', { format: 'json' }).stacks.find(
      (entry) => entry.name === 'acme-sftp-prod-client-northwind-bank',
    )!;
    const statements = Object.values(
      stack.template.Resources as Record<
        string,
        {
          Type: string;
          Properties: { Policies?: { PolicyDocument: { Statement: { Sid: string; Action: string[] }[] } }[] };
        }
      >,
    )
      .filter((resource) => resource.Type === 'AWS::IAM::Role')
      .flatMap((role) => (role.Properties.Policies ?? []).flatMap((policy) => policy.PolicyDocument.Statement));
    const actions = (sid: string) => statements.find((statement) => statement.Sid === sid)?.Action;
    expect(actions('ReadAndTagUploads')).toEqual(['s3:GetObject', 's3:GetObjectTagging', 's3:PutObjectTagging']);
    expect(actions('PublishRaw')).toEqual([
      's3:AbortMultipartUpload',
      's3:DeleteObject',
      's3:GetObject',
      's3:PutObject',
    ]);
    expect(actions('ReadAndTagExports')).toEqual(['s3:GetObject', 's3:GetObjectTagging', 's3:PutObjectTagging']);
  });
});
