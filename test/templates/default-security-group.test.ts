import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Template } from '../../src/templates/cfn.js';
import { DEFAULT_SG_SUPPRESSIONS, defaultSgLogGroupName } from '../../src/templates/default-security-group.js';
import { validateTemplate } from '../helpers/cfn-schema.js';
import { evaluate, type PolicyDocument } from '../helpers/iam-policy.js';
import { clone, exampleConfig, synth } from './fixtures.js';

// biome-ignore lint/suspicious/noExplicitAny: tests reach into template JSON freely
type Json = Record<string, any>;
const ENVS = ['dev', 'test', 'prod'] as const;
const config = await exampleConfig();
const rendered = (env: string) => synth(config, env, { format: 'json' });
const network = (env: string) => rendered(env).stacks.find((stack) => stack.kind === 'network')!;
const ofType = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

describe("the VPC's default security group is closed by a custom resource", () => {
  it.each(ENVS)('%s: one custom resource, given the default group of the VPC, answered within minutes', (env) => {
    const { template } = network(env);
    const custom = ofType(template, 'AWS::CloudFormation::CustomResource');
    expect(custom.map(([id]) => id)).toEqual(['DefaultSecurityGroupClosed']);
    const properties = custom[0]![1].Properties as Json;
    expect(properties.GroupId).toEqual({ 'Fn::GetAtt': ['Vpc', 'DefaultSecurityGroup'] });
    expect(properties.ServiceToken).toEqual({ 'Fn::GetAtt': ['CloseDefaultSgFunction', 'Arn'] });
    const fn = template.Resources.CloseDefaultSgFunction!.Properties as Json;
    // CloudFormation gives up on an unanswered request after ServiceTimeout (not its default hour), and only after
    // the function itself has timed out and could have answered.
    expect(properties.ServiceTimeout).toBeLessThanOrEqual(600);
    expect(properties.ServiceTimeout).toBeGreaterThan(fn.Timeout);
    expect(fn.Handler).toBe('close-default-sg.handler');
    expect(fn.Code.S3Key).toEqual({ Ref: 'CloseDefaultSgCodeKey' });
    expect(network(env).parameters.CloseDefaultSgCodeKey).toEqual({
      from: 'artifact',
      artifact: 'close-default-sg-function',
    });
    expect(validateTemplate(template)).toEqual([]);
  });

  it('the handler it names is in a built bundle (dist/lambda/manifest.json)', () => {
    const manifest = JSON.parse(readFileSync('dist/lambda/manifest.json', 'utf8')) as Record<string, Json>;
    expect(manifest['close-default-sg']).toMatchObject({ handler: 'close-default-sg.handler' });
  });

  it('its role may revoke rules of that one group and read groups and rules, and write its own log group: nothing else', () => {
    const { template } = network('prod');
    const role = template.Resources.CloseDefaultSgRole!.Properties as Json;
    const statements = role.Policies.flatMap((policy: Json) => policy.PolicyDocument.Statement);
    expect(statements).toEqual([
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [{ 'Fn::GetAtt': ['CloseDefaultSgLogGroup', 'Arn'] }],
      },
      {
        Sid: 'RevokeDefaultGroupRules',
        Effect: 'Allow',
        Action: ['ec2:RevokeSecurityGroupEgress', 'ec2:RevokeSecurityGroupIngress'],
        Resource: [
          {
            'Fn::Sub': `arn:aws:ec2:\${AWS::Region}:\${AWS::AccountId}:security-group/\${Vpc.DefaultSecurityGroup}`,
          },
        ],
      },
      {
        Sid: 'ReadGroupRules',
        Effect: 'Allow',
        Action: ['ec2:DescribeSecurityGroupRules', 'ec2:DescribeSecurityGroups'],
        Resource: ['*'],
      },
    ]);
    // Resolved as CloudFormation would, the policy allows revoking on the default group and refuses any other.
    const resolved = JSON.parse(
      JSON.stringify(statements)
        .replaceAll(`\${AWS::Region}`, 'eu-west-2')
        .replaceAll(`\${AWS::AccountId}`, '111122223333')
        .replaceAll(`\${Vpc.DefaultSecurityGroup}`, 'sg-0default0000000'),
    ).map((statement: Json) => ({ ...statement, Resource: statement.Resource.map((r: Json) => r['Fn::Sub'] ?? r) }));
    const policy: PolicyDocument = { Version: '2012-10-17', Statement: resolved };
    const arn = (group: string) => `arn:aws:ec2:eu-west-2:111122223333:security-group/${group}`;
    expect(
      evaluate([policy], { action: 'ec2:RevokeSecurityGroupIngress', resource: arn('sg-0default0000000') }),
    ).toMatchObject({ allowed: true });
    expect(
      evaluate([policy], { action: 'ec2:RevokeSecurityGroupEgress', resource: arn('sg-0other00000000') }),
    ).toMatchObject({ allowed: false });
    expect(
      evaluate([policy], { action: 'ec2:AuthorizeSecurityGroupIngress', resource: arn('sg-0default0000000') }),
    ).toMatchObject({ allowed: false });
  });

  it('its log group has retention and the environment key, whose policy lets CloudWatch Logs encrypt it', () => {
    const result = rendered('prod');
    const { template } = network('prod');
    const group = template.Resources.CloseDefaultSgLogGroup!.Properties as Json;
    expect(group.LogGroupName).toBe(defaultSgLogGroupName(config.project, 'prod'));
    expect(group.RetentionInDays).toBeGreaterThan(0);
    expect(group.KmsKeyId).toEqual({ Ref: 'PlatformKeyArn' });
    const assets = result.stacks.find((stack) => stack.kind === 'assets')!.template;
    const keyPolicy = (assets.Resources.PlatformKey!.Properties as Json).KeyPolicy.Statement as Json[];
    const logs = keyPolicy.find((statement) => statement.Sid === 'CloudWatchLogsEncryptsOwnLogGroups')!;
    const patterns = [logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']]
      .flat()
      .map((p: Json) => p['Fn::Sub']);
    expect(patterns).toContain(`arn:aws:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${group.LogGroupName}*`);
  });

  it('its findings are suppressed with a reason, for these resources only; the rest of the stack has none', () => {
    for (const env of ENVS) {
      const { findings } = network(env);
      const suppressed = findings.filter((finding) => finding.suppressed !== undefined);
      expect(suppressed.map((finding) => `${finding.resource} ${finding.rule}`).sort()).toEqual(
        DEFAULT_SG_SUPPRESSIONS.map((s) => `${s.logicalId} ${s.rule}`).sort(),
      );
      expect(findings.filter((finding) => finding.suppressed === undefined)).toEqual([]);
    }
  });

  it('the schema check reads the custom properties too: a GroupId naming a missing attribute is caught', () => {
    const template = clone(network('dev').template);
    (template.Resources.DefaultSecurityGroupClosed!.Properties as Json).GroupId = {
      'Fn::GetAtt': ['Vpc', 'DefaultSecurityGroupId'],
    };
    expect(
      validateTemplate(template)
        .map((issue) => issue.message)
        .join('\n'),
    ).toMatch(/has no attribute "DefaultSecurityGroupId"/);
    (template.Resources.DefaultSecurityGroupClosed!.Properties as Json).GroupId = { Ref: 'NoSuchVpc' };
    expect(
      validateTemplate(template)
        .map((issue) => issue.message)
        .join('\n'),
    ).toMatch(/NoSuchVpc/);
  });
});
