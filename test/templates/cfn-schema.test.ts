import { describe, expect, it } from 'vitest';
import { loadResourceSpec, validateTemplate } from '../helpers/cfn-schema.js';

const base = (): Json => ({
  AWSTemplateFormatVersion: '2010-09-09',
  Parameters: { Names: { Type: 'CommaDelimitedList', Description: 'x' }, One: { Type: 'String', Description: 'x' } },
  Resources: {
    Key: { Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } },
    Queue: {
      Type: 'AWS::SQS::Queue',
      Properties: { KmsMasterKeyId: { 'Fn::GetAtt': ['Key', 'Arn'] }, VisibilityTimeout: 60 },
    },
    Group: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } },
  },
  Outputs: { QueueArn: { Description: 'x', Value: { 'Fn::Sub': `\${Queue.Arn}/\${AWS::Region}/\${One}` } } },
});

// biome-ignore lint/suspicious/noExplicitAny: tests reach into template JSON freely
type Json = Record<string, any>;
type T = Json;
const messages = (template: unknown) => validateTemplate(template).map((issue) => `${issue.path}: ${issue.message}`);

describe('the CloudFormation schema validator (test helper over @aws-cdk/aws-service-spec)', () => {
  it('loads the schema database with the resource types sftpctl uses', () => {
    const spec = loadResourceSpec();
    expect(spec.resources.size).toBeGreaterThan(1000);
    for (const type of [
      'AWS::Transfer::Server',
      'AWS::Transfer::User',
      'AWS::Lambda::EventSourceMapping',
      'AWS::EC2::FlowLog',
    ]) {
      expect(spec.resources.has(type), type).toBe(true);
    }
  });

  it('accepts a valid template', () => {
    expect(messages(base())).toEqual([]);
  });

  const cases: [string, (t: T) => void, RegExp][] = [
    [
      'unknown resource type',
      (t) => (t.Resources.Key.Type = 'AWS::KMS::Keys'),
      /unknown resource type "AWS::KMS::Keys"/,
    ],
    [
      'unknown property',
      (t) => (t.Resources.Key.Properties.EnableRotation = true),
      /AWS::KMS::Key has no property "EnableRotation"/,
    ],
    [
      'unknown nested property',
      (t) =>
        (t.Resources.Bucket = {
          Type: 'AWS::S3::Bucket',
          Properties: { VersioningConfiguration: { Status: 'Enabled', Mfa: true } },
        }),
      /VersioningConfiguration has no property "Mfa"/,
    ],
    [
      'missing required property',
      (t) => (t.Resources.Alias = { Type: 'AWS::KMS::Alias', Properties: { AliasName: 'alias/x' } }),
      /requires property "TargetKeyId"/,
    ],
    [
      'missing required nested property',
      (t) => (t.Resources.Bucket = { Type: 'AWS::S3::Bucket', Properties: { VersioningConfiguration: {} } }),
      /requires property "Status"/,
    ],
    [
      'string where a boolean goes',
      (t) => (t.Resources.Key.Properties.EnableKeyRotation = 'true'),
      /expected a boolean/,
    ],
    [
      'string where an integer goes',
      (t) => (t.Resources.Queue.Properties.VisibilityTimeout = '60'),
      /expected an integer/,
    ],
    [
      'value outside the allowed values',
      (t) => (t.Resources.Group.Properties.RetentionInDays = 31),
      /31 is not one of/,
    ],
    [
      'scalar where a list goes',
      (t) =>
        (t.Resources.Sg = {
          Type: 'AWS::EC2::SecurityGroup',
          Properties: { GroupDescription: 'x', SecurityGroupIngress: { IpProtocol: 'tcp' } },
        }),
      /expected a list/,
    ],
    [
      'Ref to a list where a string goes',
      (t) => (t.Resources.Queue.Properties.KmsMasterKeyId = { Ref: 'Names' }),
      /yields a list/,
    ],
    [
      'Ref to a single value where a list goes',
      (t) => (t.Resources.Server = { Type: 'AWS::Transfer::Server', Properties: { Protocols: { Ref: 'One' } } }),
      /expected a list, but the intrinsic yields a single value/,
    ],
    [
      'Ref to nothing',
      (t) => (t.Resources.Queue.Properties.KmsMasterKeyId = { Ref: 'Nope' }),
      /Ref "Nope" resolves to no parameter/,
    ],
    [
      'GetAtt of an unknown attribute',
      (t) => (t.Resources.Queue.Properties.KmsMasterKeyId = { 'Fn::GetAtt': ['Key', 'KeyArn'] }),
      /AWS::KMS::Key has no attribute "KeyArn"/,
    ],
    [
      'GetAtt of a missing resource',
      (t) => (t.Resources.Queue.Properties.KmsMasterKeyId = { 'Fn::GetAtt': ['Nope', 'Arn'] }),
      /"Nope", which is not a resource/,
    ],
    [
      'Sub with an unknown attribute',
      (t) => (t.Outputs.QueueArn.Value = { 'Fn::Sub': `\${Queue.Name}` }),
      /AWS::SQS::Queue has no attribute "Name"/,
    ],
    [
      'Sub with an unresolved variable',
      (t) => (t.Outputs.QueueArn.Value = { 'Fn::Sub': `\${Missing}` }),
      /Ref "Missing" resolves to no/,
    ],
    [
      'unknown intrinsic',
      (t) => (t.Outputs.QueueArn.Value = { 'Fn::Concat': ['a'] }),
      /unknown intrinsic function Fn::Concat/,
    ],
    [
      'DependsOn a missing resource',
      (t) => ((t.Resources.Key as Json).DependsOn = ['Nope']),
      /DependsOn "Nope" is not a resource/,
    ],
    [
      'circular references',
      (t) => ((t.Resources.Key as Json).DependsOn = ['Queue']),
      /circular dependency: .*Key.*Queue|circular dependency: .*Queue.*Key/,
    ],
    ['unknown parameter type', (t) => (t.Parameters.One.Type = 'Text'), /unknown parameter type "Text"/],
    ['output without a value', (t) => (t.Outputs.QueueArn = { Description: 'x' } as Json), /needs a Value/],
    ['bad tag', (t) => (t.Resources.Key.Properties.Tags = [{ Name: 'a', Value: 'b' }]), /expected a tag/],
    ['unknown top-level section', (t) => (t.Resource = {}), /unknown top-level section "Resource"/],
  ];
  it.each(cases)('catches %s', (_name, mutate, expected) => {
    const template = base() as T;
    mutate(template);
    const found = messages(template);
    expect(
      found.some((message) => expected.test(message)),
      found.join('\n'),
    ).toBe(true);
  });

  it('validates references inside JSON properties such as policy documents', () => {
    const template = base() as T;
    template.Resources.Key.Properties.KeyPolicy = { Statement: [{ Resource: { 'Fn::GetAtt': ['Group', 'Url'] } }] };
    expect(messages(template)).toEqual([
      expect.stringMatching(/KeyPolicy.*AWS::Logs::LogGroup has no attribute "Url"/),
    ]);
  });
});
