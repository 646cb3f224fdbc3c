import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { createChangeSet, requiredCapabilities } from '../../src/deploy/change-set.js';
import type { EngineDeps } from '../../src/deploy/engine-deps.js';
import { watchOperation } from '../../src/deploy/stack-watch.js';

expect.extend(allCustomMatcher);

const cfn = mockClient(CloudFormationClient);
let sleeps: number;
const deps: EngineDeps = {
  clients: new AwsClients({ region: 'eu-west-2', profile: undefined }),
  sleep: async () => {
    sleeps++;
  },
  now: () => new Date('2026-11-24T08:00:00Z'),
  pollMs: 3000,
};

beforeEach(() => {
  cfn.reset();
  sleeps = 0;
});
afterEach(() => cfn.reset());

const request = {
  stackName: 'shop-dev-network',
  type: 'UPDATE' as const,
  template: { body: 'Resources: {}' },
  parameters: { AccessLogBucketName: 'shop-dev-access-logs' },
  tags: { 'sftpctl:project': 'shop' },
  description: 'sftpctl shop dev network',
};
const ID = 'arn:aws:cloudformation:eu-west-2:111122223333:changeSet/sftpctl-x/1';

describe('createChangeSet', () => {
  it('sends the template, parameters, tags and IAM capabilities, then polls until computed and reads every page', async () => {
    cfn.on(CreateChangeSetCommand).resolves({ Id: ID, StackId: 'stack-id' });
    cfn
      .on(DescribeChangeSetCommand)
      .resolvesOnce({ Status: 'CREATE_PENDING' })
      .resolvesOnce({ Status: 'CREATE_IN_PROGRESS' })
      .resolvesOnce({
        Status: 'CREATE_COMPLETE',
        NextToken: 'page-2',
        Changes: [
          {
            Type: 'Resource',
            ResourceChange: {
              Action: 'Modify',
              LogicalResourceId: 'SecurityGroup',
              PhysicalResourceId: 'sg-1',
              ResourceType: 'AWS::EC2::SecurityGroup',
              Replacement: 'False',
              Scope: ['Properties'],
            },
          },
        ],
      })
      .resolvesOnce({
        Status: 'CREATE_COMPLETE',
        Changes: [
          {
            Type: 'Resource',
            ResourceChange: { Action: 'Add', LogicalResourceId: 'Subnet3', ResourceType: 'AWS::EC2::Subnet' },
          },
        ],
      });
    const created = await createChangeSet(request, deps);
    expect(cfn).toHaveReceivedCommandWith(CreateChangeSetCommand, {
      StackName: 'shop-dev-network',
      ChangeSetName: 'sftpctl-20261124T080000000Z',
      ChangeSetType: 'UPDATE',
      TemplateBody: 'Resources: {}',
      Parameters: [{ ParameterKey: 'AccessLogBucketName', ParameterValue: 'shop-dev-access-logs' }],
      Tags: [{ Key: 'sftpctl:project', Value: 'shop' }],
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
    });
    expect(cfn).toHaveReceivedNthCommandWith(DescribeChangeSetCommand, 4, { ChangeSetName: ID, NextToken: 'page-2' });
    expect(cfn.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'CreateChangeSetCommand',
      'DescribeChangeSetCommand',
      'DescribeChangeSetCommand',
      'DescribeChangeSetCommand',
      'DescribeChangeSetCommand',
    ]);
    expect(sleeps).toBe(2);
    expect(created.changes).toEqual([
      {
        action: 'Modify',
        logicalId: 'SecurityGroup',
        physicalId: 'sg-1',
        type: 'AWS::EC2::SecurityGroup',
        replacement: 'False',
        scope: ['Properties'],
      },
      { action: 'Add', logicalId: 'Subnet3', type: 'AWS::EC2::Subnet', scope: [] },
    ]);
  });

  it('passes a TemplateURL for a template in the assets bucket', async () => {
    cfn.on(CreateChangeSetCommand).resolves({ Id: ID, StackId: 'stack-id' });
    cfn.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', Changes: [] });
    await createChangeSet({ ...request, template: { url: 'https://b.s3.eu-west-2.amazonaws.com/t.yaml' } }, deps);
    const input = cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input;
    expect(input.TemplateURL).toBe('https://b.s3.eu-west-2.amazonaws.com/t.yaml');
    expect(input.TemplateBody).toBeUndefined();
  });

  it('treats "no changes" as an empty result and deletes the change set', async () => {
    cfn.on(CreateChangeSetCommand).resolves({ Id: ID, StackId: 'stack-id' });
    cfn.on(DescribeChangeSetCommand).resolves({
      Status: 'FAILED',
      StatusReason:
        "The submitted information didn't contain changes. Submit different information to create a change set.",
    });
    cfn.on(DeleteChangeSetCommand).resolves({});
    expect((await createChangeSet(request, deps)).changes).toEqual([]);
    expect(cfn).toHaveReceivedCommandWith(DeleteChangeSetCommand, { ChangeSetName: ID });
  });

  it("raises any other failure with CloudFormation's reason, after deleting the change set", async () => {
    cfn.on(CreateChangeSetCommand).resolves({ Id: ID, StackId: 'stack-id' });
    cfn.on(DescribeChangeSetCommand).resolves({ Status: 'FAILED', StatusReason: 'Template error: unresolved Ref X' });
    cfn.on(DeleteChangeSetCommand).resolves({});
    await expect(createChangeSet(request, deps)).rejects.toMatchObject({
      code: 'CHANGE_SET_FAILED',
      message: expect.stringContaining('unresolved Ref X'),
    });
    expect(cfn).toHaveReceivedCommandTimes(DeleteChangeSetCommand, 1);
  });

  it('reports a refused request without a stack trace', async () => {
    cfn
      .on(CreateChangeSetCommand)
      .rejects(Object.assign(new Error('Parameters: [ServerId] must have values'), { name: 'ValidationError' }));
    await expect(createChangeSet(request, deps)).rejects.toMatchObject({
      code: 'CHANGE_SET_REFUSED',
      message: expect.stringContaining('[ServerId] must have values'),
    });
  });
});

describe('watchOperation', () => {
  const event = (id: number, logicalId: string, status: string, token: string, reason?: string): StackEvent => ({
    EventId: `e${id}`,
    StackId: 'stack-id',
    StackName: 'shop-dev-server',
    LogicalResourceId: logicalId,
    ResourceType: logicalId === 'shop-dev-server' ? 'AWS::CloudFormation::Stack' : 'AWS::Transfer::Server',
    ResourceStatus: status as StackEvent['ResourceStatus'],
    ...(reason ? { ResourceStatusReason: reason } : {}),
    Timestamp: new Date(Date.UTC(2026, 10, 24, 8, 0, id)),
    ClientRequestToken: token,
  });

  it("follows only its own operation's events, page by page, and names the first real failure", async () => {
    const older = event(1, 'shop-dev-server', 'UPDATE_COMPLETE', 'earlier-deploy');
    const e2 = event(2, 'shop-dev-server', 'UPDATE_IN_PROGRESS', 'tok', 'User Initiated');
    const e3 = event(3, 'Server', 'UPDATE_FAILED', 'tok', 'Invalid security policy');
    const e4 = event(4, 'LogGroup', 'UPDATE_FAILED', 'tok', 'Resource update cancelled');
    const e5 = event(5, 'shop-dev-server', 'UPDATE_ROLLBACK_IN_PROGRESS', 'tok');
    const e6 = event(6, 'shop-dev-server', 'UPDATE_ROLLBACK_COMPLETE', 'tok');
    cfn
      .on(DescribeStacksCommand)
      .resolvesOnce({ Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'UPDATE_IN_PROGRESS' }] })
      .resolves({
        Stacks: [
          {
            StackName: 'x',
            CreationTime: new Date(),
            StackStatus: 'UPDATE_ROLLBACK_COMPLETE',
            StackStatusReason: 'The following resource(s) failed to update: [Server].',
          },
        ],
      });
    cfn
      .on(DescribeStackEventsCommand)
      .resolvesOnce({ StackEvents: [e2, older] })
      .resolvesOnce({ StackEvents: [e6, e5], NextToken: 'more' })
      .resolvesOnce({ StackEvents: [e4, e3, e2, older] });
    const progress: string[] = [];
    const result = await watchOperation(
      {
        stackId: 'stack-id',
        stackName: 'shop-dev-server',
        token: 'tok',
        total: 2,
        onProgress: (update) =>
          progress.push(`${update.done}/${update.total} ${update.latest.logicalId} ${update.latest.status}`),
      },
      deps,
    );
    expect(progress).toEqual([
      '0/2 shop-dev-server UPDATE_IN_PROGRESS',
      '1/2 Server UPDATE_FAILED',
      '2/2 LogGroup UPDATE_FAILED',
      '2/2 shop-dev-server UPDATE_ROLLBACK_IN_PROGRESS',
      '2/2 shop-dev-server UPDATE_ROLLBACK_COMPLETE',
    ]);
    expect(result.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(result.firstFailure).toMatchObject({ logicalId: 'Server', reason: 'Invalid security policy' });
    expect(cfn).toHaveReceivedNthCommandWith(DescribeStackEventsCommand, 3, {
      StackName: 'stack-id',
      NextToken: 'more',
    });
    expect(sleeps).toBe(1);
  });
});

describe('requiredCapabilities', () => {
  const role = (properties: Record<string, unknown> = {}) => ({ Type: 'AWS::IAM::Role', Properties: properties });
  it('asks for no more than the template needs', () => {
    expect(requiredCapabilities({ body: '', resources: { Bucket: { Type: 'AWS::S3::Bucket' } } })).toEqual([]);
    expect(requiredCapabilities({ body: '', resources: { Role: role() } })).toEqual(['CAPABILITY_IAM']);
    expect(requiredCapabilities({ body: '', resources: { Role: role({ RoleName: 'x' }) } })).toEqual([
      'CAPABILITY_NAMED_IAM',
    ]);
    expect(requiredCapabilities({ body: '' })).toEqual(['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']);
  });
});
