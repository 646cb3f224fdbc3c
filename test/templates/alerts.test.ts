import { describe, expect, it } from 'vitest';
import { BASE, validateYaml } from '../helpers/config.js';
import { configFrom, synth, unsuppressed } from './fixtures.js';

const WITH_ALERTS = `${BASE}alerts:
  email: [ops@example.com, oncall@example.com]
  https: [https://hooks.example.com/sftpctl]
`;

describe('alerts: every alarm reaches the environment topic and its subscribers', () => {
  it('renders one encrypted, TLS-only topic per environment with a subscription per configured address', async () => {
    const result = synth(await configFrom(WITH_ALERTS), 'dev', { format: 'json' });
    const assets = result.stacks.find((stack) => stack.kind === 'assets')!.template as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    expect(assets.Resources.AlarmTopic?.Properties).toMatchObject({
      TopicName: 'acme-dev-alarms',
      KmsMasterKeyId: { 'Fn::GetAtt': ['PlatformKey', 'Arn'] },
    });
    const subscriptions = Object.values(assets.Resources)
      .filter((resource) => resource.Type === 'AWS::SNS::Subscription')
      .map((resource) => [resource.Properties.Protocol, resource.Properties.Endpoint]);
    expect(subscriptions).toEqual([
      ['email', 'ops@example.com'],
      ['email', 'oncall@example.com'],
      ['https', 'https://hooks.example.com/sftpctl'],
    ]);
    const policy = assets.Resources.AlarmTopicPolicy!.Properties.PolicyDocument as { Statement: unknown[] };
    const statements = policy.Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(unsuppressed(result)).toEqual([]);
    // Every client stack takes the topic from the assets stack's output.
    const client = result.stacks.find((stack) => stack.kind === 'client')!;
    expect(client.parameters.AlarmTopicArn).toEqual({
      from: 'output',
      stack: 'acme-dev-assets',
      output: 'AlarmTopicArn',
    });
  });

  it('without alerts the topic still exists (alarms keep their actions), with no subscription', async () => {
    const result = synth(await configFrom(BASE), 'dev', { format: 'json' });
    const assets = result.stacks.find((stack) => stack.kind === 'assets')!.template as {
      Resources: Record<string, { Type: string }>;
    };
    expect(assets.Resources.AlarmTopic?.Type).toBe('AWS::SNS::Topic');
    expect(Object.values(assets.Resources).some((resource) => resource.Type === 'AWS::SNS::Subscription')).toBe(false);
  });

  it('refuses an address that is not e-mail and a webhook that is not https, saying where', async () => {
    const result = await validateYaml(`${BASE}alerts:
  email: [not-an-address]
  https: [http://hooks.example.com/x]
`);
    expect(result.config).toBeUndefined();
    expect(result.errors.map((error) => error.message)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('alerts.email entries must be e-mail addresses'),
        expect.stringContaining('alerts.https entries must be https:// webhook URLs'),
      ]),
    );
  });
});
