import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Template } from '../../src/templates/cfn.js';
import { checkTemplateLimits, LIMITS, policyLength } from '../../src/templates/limits.js';
import { blockingFindings } from '../../src/templates/synthesize.js';
import { validateYaml } from '../helpers/config.js';
import { configFrom, synth } from './fixtures.js';

const template = (resources: number): Template => ({
  AWSTemplateFormatVersion: '2010-09-09',
  Description: 'limits',
  Resources: Object.fromEntries(
    Array.from({ length: resources }, (_, i) => [`Topic${i}`, { Type: 'AWS::SNS::Topic' }]),
  ),
});
const rules = (t: Template, bytes = 1000, options = {}) => checkTemplateLimits(t, bytes, options).map((f) => f.rule);

describe('limits checked at synth', () => {
  it('refuses more than 500 resources, 200 parameters or 200 outputs', () => {
    expect(rules(template(500))).toEqual([]);
    expect(rules(template(501))).toEqual(['TEMPLATE_RESOURCES']);
    const many = template(1);
    many.Parameters = Object.fromEntries(
      Array.from({ length: 201 }, (_, i) => [`P${i}`, { Type: 'String', Description: 'x' }]),
    );
    many.Outputs = Object.fromEntries(
      Array.from({ length: 201 }, (_, i) => [`O${i}`, { Description: 'x', Value: 'v' }]),
    );
    expect(rules(many)).toEqual(['TEMPLATE_PARAMETERS', 'TEMPLATE_OUTPUTS']);
  });

  it('errors above 1 MB, and above 51,200 bytes for the assets stack (it cannot upload itself)', () => {
    expect(rules(template(1), LIMITS.s3TemplateBytes + 1)).toEqual(['TEMPLATE_SIZE']);
    expect(rules(template(1), LIMITS.inlineTemplateBytes + 1)).toEqual([]);
    expect(rules(template(1), LIMITS.inlineTemplateBytes + 1, { inlineOnly: true })).toEqual(['TEMPLATE_SIZE']);
  });

  it('estimates IAM policy size with intrinsics at their longest, and refuses oversized role policies', () => {
    expect(policyLength({ Resource: { 'Fn::Sub': `arn:aws:iam::\${AWS::AccountId}:root` } })).toBe(
      JSON.stringify({ Resource: 'arn:aws:iam::123456789012:root' }).length,
    );
    const t = template(0);
    const statement = {
      Effect: 'Allow',
      Action: ['s3:GetObject'],
      Resource: Array.from({ length: 70 }, (_, i) => `arn:aws:s3:::bucket-number-${i}-with-a-long-name/*`),
    };
    t.Resources.Role = {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
        Policies: [
          { PolicyName: 'p', PolicyDocument: { Version: '2012-10-17', Statement: [statement, statement, statement] } },
        ],
      },
    };
    expect(checkTemplateLimits(t, 1000)).toEqual([
      expect.objectContaining({
        rule: 'IAM_POLICY_SIZE',
        resource: 'Role',
        message: expect.stringMatching(/inline policies/),
      }),
    ]);
  });

  it('checks bucket and Transfer user names', () => {
    const t = template(0);
    t.Resources.Bucket = { Type: 'AWS::S3::Bucket', Properties: { BucketName: `${'a'.repeat(60)}-upload` } };
    t.Resources.User = { Type: 'AWS::Transfer::User', Properties: { UserName: 'root', ServerId: 's', Role: 'r' } };
    t.Resources.Short = { Type: 'AWS::Transfer::User', Properties: { UserName: 'ab', ServerId: 's', Role: 'r' } };
    expect(checkTemplateLimits(t, 1000).map((f) => `${f.rule} ${f.resource}`)).toEqual([
      'BUCKET_NAME Bucket',
      'USER_NAME User',
      'USER_NAME Short',
    ]);
  });

  it('reports names that collide across environments (env "a" + client "b-c" vs env "a-b" + client "c")', async () => {
    const config = await configFrom(`project: acme
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 } }
environments: { a: {}, a-b: {} }
clients:
  - { name: b-c, environments: [a], upload: { sshKeys: [] } }
  - { name: c, environments: [a-b], upload: { sshKeys: [] } }
`);
    const result = synth(config, 'a', { format: 'yaml' });
    const collisions = blockingFindings(result, { strict: false }).map(
      ({ stack, finding }) => `${stack}: ${finding.message}`,
    );
    expect(collisions).toContain(
      'acme-a-client-b-c: bucket name "acme-a-b-c-upload" of the upload bucket of client b-c in a is also the name of the upload bucket of client c in a-b',
    );
    expect(collisions.every((line) => line.startsWith('acme-a-client-b-c:'))).toBe(true);
  });
});

describe('500 clients', () => {
  it('render, each client stack far below the limits; the network stack goes to S3 when it outgrows 51,200 bytes', async () => {
    const clients = Array.from({ length: 500 }, (_, i) => ({
      name: `partner-${i}`,
      allowedIps: [`198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`],
      upload: { sshKeys: [] },
      download: { sshKeys: [] },
    }));
    const config = await configFrom(
      stringify({
        project: 'bench',
        defaults: { region: 'eu-west-2', vpc: { cidr: '10.40.0.0/24', azCount: 3 }, securityGroupRuleLimit: 1000 },
        environments: { prod: {} },
        clients,
      }),
    );
    const result = synth(config, 'prod', { format: 'json' });
    expect(result.stacks).toHaveLength(503);
    expect(blockingFindings(result, { strict: true })).toEqual([]);
    for (const stack of result.stacks.filter((s) => s.kind === 'client')) {
      expect(stack.resources).toBeLessThanOrEqual(60);
      expect(stack.bytes).toBeLessThan(LIMITS.s3TemplateBytes / 10);
    }
    const network = result.stacks.find((s) => s.kind === 'network')!;
    expect(network.needsUpload).toBe(true);
    expect(network.bytes).toBeLessThan(LIMITS.s3TemplateBytes);
    expect(result.deployOrder.at(-1)).toHaveLength(500);
  });
});

describe('lambda identity mode at scale: 500 and 1,000 partners × 2 CIDRs', () => {
  const partners = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      name: `partner-${i}`,
      allowedIps: [`198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`, `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`],
      upload: { sshKeys: [] },
      download: { sshKeys: [] },
    }));
  const CERT = 'arn:aws:acm:eu-west-2:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

  for (const count of [500, 1000]) {
    it(`${count} partners: config validate is clean, every stack is schema-valid, within the limits and rule-clean`, async () => {
      const text = stringify({
        project: 'bench',
        defaults: {
          region: 'eu-west-2',
          vpc: { cidr: '10.40.0.0/24', azCount: 3 },
          identity: { mode: 'lambda', securityGroup: 'open' },
          transfer: { protocols: ['SFTP', 'FTPS'], certificate: CERT },
        },
        environments: { prod: { protected: true } },
        clients: partners(count),
      });
      const validated = await validateYaml(text);
      expect(validated.errors).toEqual([]);
      expect(validated.warnings).toEqual([]);
      const result = synth(validated.config!, 'prod', { format: 'json' });
      expect(result.stacks).toHaveLength(count + 3);
      expect(blockingFindings(result, { strict: true })).toEqual([]);
      for (const stack of result.stacks) {
        expect(stack.resources).toBeLessThanOrEqual(60);
        // Over 51,200 bytes a stack's body is uploaded (needsUpload); only the assets stack must stay inline.
        expect(stack.bytes).toBeLessThan(stack.kind === 'assets' ? LIMITS.inlineTemplateBytes : LIMITS.s3TemplateBytes);
        expect(Object.keys(stack.template.Parameters ?? {}).length).toBeLessThanOrEqual(LIMITS.parameters);
        expect(stack.outputs.length).toBeLessThanOrEqual(LIMITS.outputs);
      }
      const network = result.stacks.find((s) => s.kind === 'network')!;
      // Open on the three served port rules, whatever the number of partners.
      expect(network.template.Resources.SftpSecurityGroup?.Properties?.SecurityGroupIngress).toHaveLength(3);
      const clientTypes = result.stacks
        .filter((s) => s.kind === 'client')
        .flatMap((s) => Object.values(s.template.Resources).map((r) => r.Type));
      expect(clientTypes).not.toContain('AWS::Transfer::User');
    });
  }

  it('500 partners with the union kept (quota raised to 1,000 rules): the network stack stays within the limits', async () => {
    const text = stringify({
      project: 'bench',
      defaults: {
        region: 'eu-west-2',
        vpc: { cidr: '10.40.0.0/24' },
        identity: { mode: 'lambda', securityGroup: 'union' },
        securityGroupRuleLimit: 1000,
      },
      environments: { prod: {} },
      clients: partners(500),
    });
    const validated = await validateYaml(text);
    expect(validated.errors).toEqual([]);
    const result = synth(validated.config!, 'prod', { format: 'json' });
    expect(blockingFindings(result, { strict: true })).toEqual([]);
    const network = result.stacks.find((s) => s.kind === 'network')!;
    expect(network.template.Resources.SftpSecurityGroup?.Properties?.SecurityGroupIngress).toHaveLength(1000);
    expect(network.needsUpload).toBe(true);
    expect(network.bytes).toBeLessThan(LIMITS.s3TemplateBytes);
  });
});
