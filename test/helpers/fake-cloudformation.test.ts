import {
  CloudFormationClient,
  ContinueUpdateRollbackCommand,
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  CreateStackCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  type DescribeChangeSetCommandOutput,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  ListChangeSetsCommand,
  ListStacksCommand,
  type StackEvent,
  UpdateTerminationProtectionCommand,
} from '@aws-sdk/client-cloudformation';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { synthesize } from '../../src/templates/synthesize.js';
import { exampleConfig } from '../templates/fixtures.js';
import {
  FakeCloudFormation,
  type FakeCloudFormationOptions,
  type FakeCloudFormationStub,
} from './fake-cloudformation.js';

const SERVER_ID = 's-0123456789abcdef0';
const OTHER_SERVER_ID = 's-fedcba98765432100';

/** Two parameters, a retained named bucket, a queue named from a parameter, a named role that references both. */
const TEMPLATE = `
AWSTemplateFormatVersion: "2010-09-09"
Description: Uploads for one partner
Parameters:
  ServerId:
    Type: String
    AllowedPattern: "^s-[0-9a-f]{17}$"
  Prefix:
    Type: String
    Default: inbox
    MinLength: 2
    MaxLength: 12
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      BucketName: acme-dev-uploads
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName:
        Fn::Sub: "acme-\${ServerId}"
      VisibilityTimeout: 30
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: acme-dev-role
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: { Service: transfer.amazonaws.com }
            Action: sts:AssumeRole
      Policies:
        - PolicyName: access
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: s3:PutObject
                Resource:
                  Fn::Sub: "arn:aws:s3:::\${Bucket}/\${Prefix}/*"
              - Effect: Allow
                Action: sqs:SendMessage
                Resource:
                  Fn::GetAtt: [Queue, Arn]
Outputs:
  BucketName:
    Description: Upload bucket
    Value: { Ref: Bucket }
  RoleArn:
    Value: { "Fn::GetAtt": [Role, Arn] }
`;

/** The same stack in JSON, one resource: an unnamed topic. */
const JSON_TEMPLATE = JSON.stringify({
  Resources: { Topic: { Type: 'AWS::SNS::Topic', Properties: { DisplayName: 'alerts' } } },
  Outputs: { TopicArn: { Value: { Ref: 'Topic' } } },
});

const client = () =>
  new CloudFormationClient({ region: 'eu-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });

let fake: FakeCloudFormation;
let mock: FakeCloudFormationStub;
let cfn: CloudFormationClient;

function setup(options?: FakeCloudFormationOptions) {
  mock?.restore();
  fake = new FakeCloudFormation(options);
  mock = fake.install();
  cfn = client();
}

beforeEach(() => setup());
afterEach(() => mock.restore());

const parameters = (values: Record<string, string>) =>
  Object.entries(values).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));

function changeSetInput(overrides: Partial<CreateChangeSetCommandInput> = {}): CreateChangeSetCommandInput {
  return {
    StackName: 'p-dev-client',
    ChangeSetName: 'cs-1',
    ChangeSetType: 'CREATE',
    TemplateBody: TEMPLATE,
    Parameters: parameters({ ServerId: SERVER_ID }),
    Capabilities: ['CAPABILITY_NAMED_IAM'],
    Tags: [{ Key: 'team', Value: 'platform' }],
    ...overrides,
  };
}

/** What a poller does: DescribeChangeSet until it settles. */
async function waitForChangeSet(id: string, stackName?: string): Promise<DescribeChangeSetCommandOutput> {
  for (let polls = 0; polls < 50; polls++) {
    const described = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: stackName }));
    if (described.Status !== 'CREATE_PENDING' && described.Status !== 'CREATE_IN_PROGRESS') return described;
  }
  throw new Error('change set never settled');
}

/** DescribeStacks until the stack leaves *_IN_PROGRESS; every status seen along the way. */
async function waitForStack(stackName: string): Promise<string[]> {
  const seen: string[] = [];
  for (let polls = 0; polls < 200; polls++) {
    const status = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks![0]!.StackStatus!;
    if (seen.at(-1) !== status) seen.push(status);
    if (!status.endsWith('_IN_PROGRESS') || status === 'REVIEW_IN_PROGRESS') return seen;
  }
  throw new Error('stack never settled');
}

/** Creates and executes a change set, follows the operation to its end, and returns the stack statuses it went through. */
async function deploy(
  overrides: Partial<CreateChangeSetCommandInput> = {},
  token?: string,
  execute: { RetainExceptOnCreate?: boolean } = {},
): Promise<string[]> {
  const { Id } = await cfn.send(new CreateChangeSetCommand(changeSetInput(overrides)));
  const settled = await waitForChangeSet(Id!);
  if (settled.Status !== 'CREATE_COMPLETE') throw new Error(`change set ${settled.Status}: ${settled.StatusReason}`);
  await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: Id, ClientRequestToken: token, ...execute }));
  const stackName = overrides.StackName ?? 'p-dev-client';
  await waitForStack(stackName);
  return (await lastOperation(stackName))
    .filter((event) => event.ResourceType === 'AWS::CloudFormation::Stack')
    .map((event) => event.ResourceStatus!);
}

const update = (overrides: Partial<CreateChangeSetCommandInput> = {}, token?: string) =>
  deploy({ ChangeSetType: 'UPDATE', ChangeSetName: 'cs-2', ...overrides }, token);

async function allEvents(stackName: string): Promise<StackEvent[]> {
  const events: StackEvent[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new DescribeStackEventsCommand({ StackName: stackName, NextToken: token }));
    events.push(...(page.StackEvents ?? []));
    token = page.NextToken;
  } while (token);
  return events;
}

/** Events oldest first as "LogicalId STATUS" lines: the operation as a person reads it. */
async function timeline(stackName: string): Promise<string[]> {
  return lines((await allEvents(stackName)).reverse());
}

const lines = (events: StackEvent[]) => events.map((event) => `${event.LogicalResourceId} ${event.ResourceStatus}`);

/** The events of the latest operation, oldest first: from its "User Initiated" stack event on. */
async function lastOperation(stackName: string): Promise<StackEvent[]> {
  const events = (await allEvents(stackName)).reverse();
  const start = events.findLastIndex(
    (event) => event.ResourceType === 'AWS::CloudFormation::Stack' && event.ResourceStatusReason === 'User Initiated',
  );
  return events.slice(start);
}

async function rejection(promise: Promise<unknown>): Promise<Error & { name: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { name: string };
  }
  throw new Error('expected a rejection');
}

const createChangeSet = (overrides: Partial<CreateChangeSetCommandInput> = {}) =>
  cfn.send(new CreateChangeSetCommand(changeSetInput(overrides)));

describe('installation and the call log', () => {
  it('logs every call in order with its input, including ones that fail', async () => {
    await createChangeSet();
    await rejection(cfn.send(new DescribeStacksCommand({ StackName: 'missing' })));
    expect(fake.calls.map((call) => call.action)).toEqual(['CreateChangeSet', 'DescribeStacks']);
    expect(fake.calls[0]!.input).toMatchObject({ StackName: 'p-dev-client', ChangeSetType: 'CREATE' });
    expect(fake.calls[1]!.input).toEqual({ StackName: 'missing' });
  });

  it('throws for commands and inputs it does not model, so a test notices', async () => {
    const error = await rejection(cfn.send(new CreateStackCommand({ StackName: 'x', TemplateBody: JSON_TEMPLATE })));
    expect(error.message).toBe('FakeCloudFormation does not model the CreateStack command');
    expect(fake.calls.at(-1)!.action).toBe('CreateStack');
    const unmodelled = await rejection(createChangeSet({ ResourcesToImport: [] }));
    expect(unmodelled.message).toBe('FakeCloudFormation does not model CreateChangeSet with ResourcesToImport');
    const shortForm = await rejection(createChangeSet({ TemplateBody: 'Resources:\n  T:\n    Type: !Ref X\n' }));
    expect(shortForm.message).toMatch(/does not model short-form YAML intrinsics/);
  });

  it('restore() puts the real client back', async () => {
    mock.restore();
    expect(typeof client().send).toBe('function');
    mock = fake.install();
  });
});

describe('time model', () => {
  it('advances only on DescribeStacks, DescribeStackEvents and DescribeChangeSet, one step per call', async () => {
    const { Id, StackId } = await createChangeSet();
    const listed = await cfn.send(new ListChangeSetsCommand({ StackName: 'p-dev-client' }));
    expect(listed.Summaries![0]).toMatchObject({ Status: 'CREATE_PENDING', ExecutionStatus: 'UNAVAILABLE' });
    expect(fake.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');

    const first = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: Id }));
    expect(first).toMatchObject({ Status: 'CREATE_IN_PROGRESS', ExecutionStatus: 'UNAVAILABLE' });
    const second = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: 'cs-1', StackName: StackId }));
    expect(second).toMatchObject({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE' });
    expect(fake.now().toISOString()).toBe('2026-01-01T00:00:02.000Z');

    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: Id }));
    expect(fake.stack('p-dev-client')!.resources).toEqual({});
    await cfn.send(new DescribeStackEventsCommand({ StackName: 'p-dev-client' }));
    expect(Object.keys(fake.stack('p-dev-client')!.resources)).toEqual(['Bucket']);
    await cfn.send(new DescribeStacksCommand({ StackName: 'p-dev-client' }));
    expect(Object.keys(fake.stack('p-dev-client')!.resources)).toEqual(['Bucket', 'Queue']);
    expect(fake.now().toISOString()).toBe('2026-01-01T00:00:04.000Z');
  });

  it('stamps events with the fake clock', async () => {
    await deploy();
    const events = (await allEvents('p-dev-client')).reverse();
    expect(events.slice(0, 2).map((event) => [event.ResourceStatus, event.Timestamp!.toISOString()])).toEqual([
      ['REVIEW_IN_PROGRESS', '2026-01-01T00:00:00.000Z'],
      ['CREATE_IN_PROGRESS', '2026-01-01T00:00:02.000Z'],
    ]);
    // Executed at 00:00:02; three resources and the final status are four steps.
    expect(events.at(-1)).toMatchObject({ ResourceStatus: 'CREATE_COMPLETE', LogicalResourceId: 'p-dev-client' });
    expect(events.at(-1)!.Timestamp!.toISOString()).toBe('2026-01-01T00:00:06.000Z');
  });

  it('settle() runs everything in progress to its end', async () => {
    const { Id } = await createChangeSet();
    fake.settle();
    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: Id }));
    fake.settle();
    expect(fake.stack('p-dev-client')!.status).toBe('CREATE_COMPLETE');
  });
});

describe('templates', () => {
  it('accepts JSON and YAML bodies', async () => {
    await deploy({ StackName: 'json-stack', TemplateBody: JSON_TEMPLATE, Parameters: [], Capabilities: [] });
    expect(fake.stack('json-stack')!.resources.Topic!.type).toBe('AWS::SNS::Topic');
    await deploy();
    expect(fake.stack('p-dev-client')!.resources.Role!.status).toBe('CREATE_COMPLETE');
  });

  it('refuses an inline body over 51,200 bytes', async () => {
    const body = `${JSON_TEMPLATE.slice(0, -1)}, "Description": "${'x'.repeat(51_200)}"}`;
    const error = await rejection(createChangeSet({ TemplateBody: body }));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toMatch(/Member must have length less than or equal to 51200$/);
  });

  it('reads a TemplateURL through fetchTemplate, up to 1 MB', async () => {
    const urls: string[] = [];
    setup({
      fetchTemplate: (url) => {
        urls.push(url);
        return url.endsWith('big.json') ? `${TEMPLATE}\n#${'x'.repeat(1_000_000)}` : TEMPLATE;
      },
    });
    await deploy({ TemplateBody: undefined, TemplateURL: 'https://assets.s3.amazonaws.com/t.yaml' });
    expect(urls).toEqual(['https://assets.s3.amazonaws.com/t.yaml']);
    const tooBig = await rejection(
      createChangeSet({ StackName: 'other', TemplateBody: undefined, TemplateURL: 'https://a/big.json' }),
    );
    expect(tooBig.message).toBe('Template may not exceed 1000000 bytes in size.');
  });

  it('without fetchTemplate, or when it fails, a TemplateURL is a ValidationError', async () => {
    const error = await rejection(createChangeSet({ TemplateBody: undefined, TemplateURL: 'https://a/t.yaml' }));
    expect(error.name).toBe('ValidationError');
    setup({
      fetchTemplate: () => {
        throw new Error('The specified key does not exist.');
      },
    });
    const missing = await rejection(createChangeSet({ TemplateBody: undefined, TemplateURL: 'https://a/t.yaml' }));
    expect(missing).toMatchObject({ name: 'ValidationError', message: 'S3 error: The specified key does not exist.' });
  });

  it('refuses malformed templates with CloudFormation format errors', async () => {
    const cases: [string, string][] = [
      ['Resources: [1', 'Template format error: YAML not well-formed. (line 1, column 14)'],
      ['{"Resources": ', 'Template format error: JSON not well-formed.'],
      ['Description: nothing', 'Template format error: At least one Resources member must be defined.'],
      [
        'Resources:\n  X:\n    Type: AWS::Nope::Thing',
        'Template format error: Unrecognized resource types: [AWS::Nope::Thing]',
      ],
      [
        'Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: { Ref: Missing }',
        'Template format error: Unresolved resource dependencies [Missing] in the Resources block of the template',
      ],
      [
        'Resources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  A:\n    Value: { "Fn::GetAtt": [Nope, Arn] }',
        'Template error: instance of Fn::GetAtt references undefined resource Nope',
      ],
      [
        'Resources:\n  A:\n    Type: AWS::SNS::Topic\n    DependsOn: B\n  B:\n    Type: AWS::SNS::Topic\n    DependsOn: A',
        'Circular dependency between resources: [A, B]',
      ],
    ];
    for (const [body, message] of cases) {
      const error = await rejection(
        createChangeSet({ StackName: 'bad', TemplateBody: body, Parameters: [], Capabilities: [] }),
      );
      expect({ name: error.name, message: error.message }).toEqual({ name: 'ValidationError', message });
    }
  });
});

describe('parameters', () => {
  const refused = async (values: Record<string, string>) =>
    (await rejection(createChangeSet({ Parameters: parameters(values) }))).message;

  it('checks keys and values against the template', async () => {
    expect(await refused({ ServerId: SERVER_ID, Nope: 'x', Other: 'y' })).toBe(
      'Parameters: [Nope, Other] do not exist in the template',
    );
    expect(await refused({ Prefix: 'abc' })).toBe('Parameters: [ServerId] must have values');
    expect(await refused({ ServerId: 's-123' })).toBe("Parameter 'ServerId' must match pattern ^s-[0-9a-f]{17}$");
    expect(await refused({ ServerId: SERVER_ID, Prefix: 'a' })).toBe(
      "Parameter 'Prefix' must contain at least 2 characters",
    );
    expect(await refused({ ServerId: SERVER_ID, Prefix: 'a'.repeat(13) })).toBe(
      "Parameter 'Prefix' must contain at most 12 characters",
    );
    const error = await rejection(createChangeSet({ Parameters: [] }));
    expect(error.name).toBe('ValidationError');
  });

  it('checks AllowedValues and prefers ConstraintDescription', async () => {
    const body = (extra: string) =>
      `Parameters:\n  Mode:\n    Type: String\n    AllowedValues: [push, pull]\n${extra}Resources:\n  T:\n    Type: AWS::SNS::Topic\n`;
    const send = (template: string) =>
      createChangeSet({ TemplateBody: template, Parameters: parameters({ Mode: 'poll' }), Capabilities: [] });
    expect((await rejection(send(body('')))).message).toBe("Parameter 'Mode' must be one of AllowedValues");
    expect((await rejection(send(body('    ConstraintDescription: push or pull\n')))).message).toBe(
      "Parameter 'Mode' failed to satisfy constraint: push or pull",
    );
  });

  it('fills defaults, and UsePreviousValue takes the deployed value', async () => {
    await deploy();
    expect(fake.stack('p-dev-client')!.parameters).toEqual({ ServerId: SERVER_ID, Prefix: 'inbox' });
    await update({
      Parameters: [
        { ParameterKey: 'ServerId', UsePreviousValue: true },
        { ParameterKey: 'Prefix', ParameterValue: 'outbox' },
      ],
    });
    expect(fake.stack('p-dev-client')!.parameters).toEqual({ ServerId: SERVER_ID, Prefix: 'outbox' });
    const described = await cfn.send(new DescribeStacksCommand({ StackName: 'p-dev-client' }));
    expect(described.Stacks![0]!.Parameters).toEqual(parameters({ ServerId: SERVER_ID, Prefix: 'outbox' }));
  });

  it('checks Number parameters and hides NoEcho values', async () => {
    const body = `
Parameters:
  Retention: { Type: Number, MinValue: 1, MaxValue: 3653 }
  Token: { Type: String, NoEcho: true }
Resources:
  T: { Type: AWS::SNS::Topic }
`;
    const send = (values: Record<string, string>) =>
      createChangeSet({ TemplateBody: body, Parameters: parameters(values), Capabilities: [] });
    expect((await rejection(send({ Retention: 'ten', Token: 'x' }))).message).toBe(
      "Parameter 'Retention' must be a number",
    );
    expect((await rejection(send({ Retention: '0', Token: 'x' }))).message).toBe(
      "Parameter 'Retention' must be a number not less than 1",
    );
    const { Id } = await send({ Retention: '90', Token: 'secret' });
    expect((await waitForChangeSet(Id!)).Parameters).toEqual(parameters({ Retention: '90', Token: '****' }));
  });

  it('refuses UsePreviousValue when there is no previous value', async () => {
    const error = await rejection(
      createChangeSet({ Parameters: [{ ParameterKey: 'ServerId', UsePreviousValue: true }] }),
    );
    expect(error.message).toMatch(/^Invalid input for parameter key ServerId\./);
  });
});

describe('capabilities', () => {
  it('named IAM resources need CAPABILITY_NAMED_IAM', async () => {
    for (const capabilities of [[], ['CAPABILITY_IAM']] as const) {
      const error = await rejection(createChangeSet({ Capabilities: [...capabilities] }));
      expect(error.name).toBe('InsufficientCapabilitiesException');
      expect(error.message).toBe('Requires capabilities : [CAPABILITY_NAMED_IAM]');
    }
  });

  it('unnamed IAM resources need CAPABILITY_IAM or CAPABILITY_NAMED_IAM', async () => {
    const body = TEMPLATE.replace('      RoleName: acme-dev-role\n', '');
    const error = await rejection(createChangeSet({ TemplateBody: body, Capabilities: [] }));
    expect(error.message).toBe('Requires capabilities : [CAPABILITY_IAM]');
    await createChangeSet({ TemplateBody: body, Capabilities: ['CAPABILITY_IAM'] });
    await createChangeSet({ TemplateBody: body, ChangeSetName: 'cs-2', Capabilities: ['CAPABILITY_NAMED_IAM'] });
  });
});

describe('CreateChangeSet', () => {
  it('CREATE on a missing stack makes a REVIEW_IN_PROGRESS stack and returns ARNs', async () => {
    const { Id, StackId } = await createChangeSet();
    expect(Id).toMatch(/^arn:aws:cloudformation:eu-west-2:123456789012:changeSet\/cs-1\/[0-9a-f-]{36}$/);
    expect(StackId).toMatch(/^arn:aws:cloudformation:eu-west-2:123456789012:stack\/p-dev-client\/[0-9a-f-]{36}$/);
    const stack = fake.stack('p-dev-client')!;
    expect(stack).toMatchObject({ status: 'REVIEW_IN_PROGRESS', resources: {}, changeSets: ['cs-1'] });
    expect(stack.templateBody).toBeUndefined();
    expect(await timeline('p-dev-client')).toEqual(['p-dev-client REVIEW_IN_PROGRESS']);
  });

  it('refuses CREATE on an existing stack and UPDATE on a missing one', async () => {
    await deploy();
    const twice = await rejection(createChangeSet({ ChangeSetName: 'again' }));
    expect(twice.message).toBe(
      'Stack [p-dev-client] already exists and cannot be created again with the changeSet [again].',
    );
    const missing = await rejection(createChangeSet({ StackName: 'nope', ChangeSetType: 'UPDATE' }));
    expect(missing).toMatchObject({ name: 'ValidationError', message: 'Stack [nope] does not exist' });
  });

  it('UPDATE is the default type, and CREATE may repeat on a REVIEW_IN_PROGRESS stack', async () => {
    const missing = await rejection(createChangeSet({ ChangeSetType: undefined }));
    expect(missing.message).toBe('Stack [p-dev-client] does not exist');
    await createChangeSet();
    await createChangeSet({ ChangeSetName: 'cs-2' });
    expect(fake.stack('p-dev-client')!.changeSets).toEqual(['cs-1', 'cs-2']);
  });

  it('refuses UPDATE on stacks that cannot be updated', async () => {
    for (const status of ['ROLLBACK_COMPLETE', 'UPDATE_ROLLBACK_FAILED', 'UPDATE_IN_PROGRESS', 'REVIEW_IN_PROGRESS']) {
      fake.seed('p-dev-client', {
        status,
        ...(status === 'REVIEW_IN_PROGRESS' ? {} : { templateBody: JSON_TEMPLATE }),
      });
      const stackId = fake.stack('p-dev-client')!.stackId;
      const error = await rejection(createChangeSet({ ChangeSetType: 'UPDATE' }));
      expect({ name: error.name, message: error.message }).toEqual({
        name: 'ValidationError',
        message: `Stack:${stackId} is in ${status} state and can not be updated.`,
      });
    }
  });

  it('refuses a duplicate change-set name', async () => {
    await createChangeSet();
    const error = await rejection(createChangeSet());
    expect(error.name).toBe('AlreadyExistsException');
  });

  it('fails with the real reason when nothing changes, and is then UNAVAILABLE', async () => {
    await deploy();
    const { Id } = await createChangeSet({ ChangeSetType: 'UPDATE', ChangeSetName: 'same' });
    expect(await waitForChangeSet(Id!)).toMatchObject({
      Status: 'FAILED',
      ExecutionStatus: 'UNAVAILABLE',
      StatusReason:
        "The submitted information didn't contain changes. Submit different information to create a change set.",
      Changes: [],
    });
    const error = await rejection(cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: Id })));
    expect(error.name).toBe('InvalidChangeSetStatusException');
  });

  it('fails when a logical id changes type', async () => {
    await deploy();
    const body = TEMPLATE.replace('Type: AWS::SQS::Queue', 'Type: AWS::SNS::Topic')
      .replace(/ {6}QueueName:\n.*\n {6}VisibilityTimeout: 30\n/, '')
      .replace('Fn::GetAtt: [Queue, Arn]', 'Ref: Queue');
    const { Id } = await createChangeSet({ ChangeSetType: 'UPDATE', ChangeSetName: 'retype', TemplateBody: body });
    expect(await waitForChangeSet(Id!)).toMatchObject({
      Status: 'FAILED',
      StatusReason:
        'Update of resource type is not permitted. The new template modifies resource type of the following resources: [Queue]',
    });
  });

  it('UsePreviousTemplate reuses the deployed body; an Outputs-only change has zero Changes', async () => {
    await deploy();
    const reuse = await createChangeSet({
      ChangeSetType: 'UPDATE',
      ChangeSetName: 'reuse',
      TemplateBody: undefined,
      UsePreviousTemplate: true,
      Parameters: parameters({ ServerId: SERVER_ID, Prefix: 'outbox' }),
    });
    expect((await waitForChangeSet(reuse.Id!)).Status).toBe('CREATE_COMPLETE');
    const outputsOnly = await createChangeSet({
      ChangeSetType: 'UPDATE',
      ChangeSetName: 'outputs',
      TemplateBody: TEMPLATE.replace('Description: Upload bucket', 'Description: Uploads'),
    });
    expect(await waitForChangeSet(outputsOnly.Id!)).toMatchObject({ Status: 'CREATE_COMPLETE', Changes: [] });
  });

  it('keeps the stack tags when an UPDATE passes no Tags', async () => {
    await deploy();
    const { Id } = await createChangeSet({ ChangeSetType: 'UPDATE', ChangeSetName: 'u', Tags: undefined });
    expect((await waitForChangeSet(Id!)).Status).toBe('FAILED');
  });
});

describe('changes', () => {
  const changesOf = async (overrides: Partial<CreateChangeSetCommandInput>) => {
    const { Id } = await createChangeSet({ ChangeSetType: 'UPDATE', ChangeSetName: 'cs-2', ...overrides });
    const described = await waitForChangeSet(Id!);
    expect(described.Status).toBe('CREATE_COMPLETE');
    return described.Changes!.map((change) => change.ResourceChange!);
  };

  it('a CREATE change set adds every resource', async () => {
    const { Id } = await createChangeSet();
    const described = await waitForChangeSet(Id!);
    expect(described.Changes!.map((change) => [change.Type, change.ResourceChange!.Action])).toEqual([
      ['Resource', 'Add'],
      ['Resource', 'Add'],
      ['Resource', 'Add'],
    ]);
    expect(described.Changes![0]!.ResourceChange).toMatchObject({
      LogicalResourceId: 'Bucket',
      ResourceType: 'AWS::S3::Bucket',
    });
    expect(described.Parameters).toEqual(parameters({ ServerId: SERVER_ID, Prefix: 'inbox' }));
  });

  it('Add, Modify and Remove, with physical ids', async () => {
    await deploy();
    const body = TEMPLATE.replace('VisibilityTimeout: 30', 'VisibilityTimeout: 60')
      .replace(/ {2}Bucket:\n[\s\S]*?BucketName: acme-dev-uploads\n/, '  Topic:\n    Type: AWS::SNS::Topic\n')
      .replace(`arn:aws:s3:::\${Bucket}/`, 'arn:aws:s3:::fixed/');
    const changes = await changesOf({ TemplateBody: body.replace('Value: { Ref: Bucket }', 'Value: { Ref: Topic }') });
    expect(changes).toEqual([
      {
        Action: 'Add',
        LogicalResourceId: 'Topic',
        ResourceType: 'AWS::SNS::Topic',
        Scope: [],
        Details: [],
      },
      {
        Action: 'Modify',
        LogicalResourceId: 'Queue',
        PhysicalResourceId: 'acme-s-0123456789abcdef0',
        ResourceType: 'AWS::SQS::Queue',
        Replacement: 'False',
        Scope: ['Properties'],
        Details: [
          {
            Target: { Attribute: 'Properties', Name: 'VisibilityTimeout', RequiresRecreation: 'Never' },
            Evaluation: 'Static',
            ChangeSource: 'DirectModification',
          },
        ],
      },
      expect.objectContaining({ Action: 'Modify', LogicalResourceId: 'Role', Replacement: 'False' }),
      {
        Action: 'Remove',
        LogicalResourceId: 'Bucket',
        PhysicalResourceId: 'acme-dev-uploads',
        ResourceType: 'AWS::S3::Bucket',
        Scope: [],
        Details: [],
      },
    ]);
  });

  it('Replacement: True for a create-only property, Conditional through a parameter, False otherwise', async () => {
    await deploy();
    const renamed = await changesOf({ TemplateBody: TEMPLATE.replace('acme-dev-uploads', 'acme-dev-uploads-2') });
    expect(renamed.map((change) => [change.LogicalResourceId, change.Replacement])).toEqual([['Bucket', 'True']]);
    expect(renamed[0]!.Details![0]!.Target).toEqual({
      Attribute: 'Properties',
      Name: 'BucketName',
      RequiresRecreation: 'Always',
    });

    const parameterChange = await changesOf({
      ChangeSetName: 'cs-3',
      Parameters: parameters({ ServerId: OTHER_SERVER_ID, Prefix: 'outbox' }),
    });
    expect(parameterChange.map((change) => [change.LogicalResourceId, change.Replacement])).toEqual([
      ['Queue', 'Conditional'],
      ['Role', 'False'],
    ]);
    expect(parameterChange[0]!.Details).toEqual([
      {
        Target: { Attribute: 'Properties', Name: 'QueueName', RequiresRecreation: 'Always' },
        Evaluation: 'Static',
        ChangeSource: 'ParameterReference',
        CausingEntity: 'ServerId',
      },
    ]);
  });

  it('a stack-tag change modifies every taggable resource with Scope Tags', async () => {
    await deploy();
    const changes = await changesOf({ Tags: [{ Key: 'team', Value: 'security' }] });
    expect(changes.map((change) => [change.LogicalResourceId, change.Scope, change.Replacement])).toEqual([
      ['Bucket', ['Tags'], 'False'],
      ['Queue', ['Tags'], 'False'],
      ['Role', ['Tags'], 'False'],
    ]);
  });

  it('Metadata and DeletionPolicy changes are their own Scope', async () => {
    await deploy();
    const body = TEMPLATE.replace(
      '    DeletionPolicy: Retain\n',
      '    DeletionPolicy: Delete\n    Metadata: { owner: me }\n',
    );
    const changes = await changesOf({ TemplateBody: body });
    expect(changes.map((change) => [change.LogicalResourceId, change.Scope, change.Replacement])).toEqual([
      ['Bucket', ['Metadata', 'DeletionPolicy'], 'False'],
    ]);
  });

  it('paginates Changes with NextToken', async () => {
    setup({ pageSize: 2 });
    const { Id } = await createChangeSet();
    await waitForChangeSet(Id!);
    const first = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: Id }));
    expect(first.Changes).toHaveLength(2);
    const second = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: Id, NextToken: first.NextToken }));
    expect(second.Changes!.map((change) => change.ResourceChange!.LogicalResourceId)).toEqual(['Role']);
    expect(second.NextToken).toBeUndefined();
  });
});

describe('ExecuteChangeSet', () => {
  it('refuses a change set that is not AVAILABLE', async () => {
    const { Id } = await createChangeSet();
    const error = await rejection(cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: Id })));
    expect(error.name).toBe('InvalidChangeSetStatusException');
    expect(error.message).toBe(`ChangeSet [${Id}] cannot be executed in its current status of [CREATE_PENDING]`);
  });

  it('runs the operation, deletes the other change sets and tracks ExecutionStatus', async () => {
    const { Id } = await createChangeSet();
    await createChangeSet({ ChangeSetName: 'cs-other' });
    await waitForChangeSet(Id!);
    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: 'cs-1', StackName: 'p-dev-client' }));
    expect(fake.stack('p-dev-client')).toMatchObject({ status: 'CREATE_IN_PROGRESS', changeSets: ['cs-1'] });
    expect((await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: Id }))).ExecutionStatus).toBe(
      'EXECUTE_IN_PROGRESS',
    );
    await waitForStack('p-dev-client');
    const executed = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: Id }));
    expect(executed).toMatchObject({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'EXECUTE_COMPLETE' });
    const again = await rejection(cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: Id })));
    expect(again.message).toBe(
      `ChangeSet [${Id}] cannot be executed in its current execution status of [EXECUTE_COMPLETE]`,
    );
  });

  it('stamps every event of the operation with its ClientRequestToken', async () => {
    await deploy({}, 'deploy-1');
    await update({ Parameters: parameters({ ServerId: SERVER_ID, Prefix: 'outbox' }) }, 'deploy-2');
    const events = await allEvents('p-dev-client');
    const tokens = events.reverse().map((event) => event.ClientRequestToken);
    expect(tokens[0]).toBeUndefined(); // REVIEW_IN_PROGRESS, before any execution
    expect(new Set(tokens.slice(1))).toEqual(new Set(['deploy-1', 'deploy-2']));
    expect(tokens.slice(1).indexOf('deploy-2')).toBe(tokens.slice(1).lastIndexOf('deploy-1') + 1);
  });
});

describe('progress', () => {
  it('a create: stack event first and last, each resource IN_PROGRESS then COMPLETE', async () => {
    expect(await deploy()).toEqual(['CREATE_IN_PROGRESS', 'CREATE_COMPLETE']);
    expect(await timeline('p-dev-client')).toEqual([
      'p-dev-client REVIEW_IN_PROGRESS',
      'p-dev-client CREATE_IN_PROGRESS',
      'Bucket CREATE_IN_PROGRESS',
      'Bucket CREATE_COMPLETE',
      'Queue CREATE_IN_PROGRESS',
      'Queue CREATE_COMPLETE',
      'Role CREATE_IN_PROGRESS',
      'Role CREATE_COMPLETE',
      'p-dev-client CREATE_COMPLETE',
    ]);
    const [start] = (await allEvents('p-dev-client'))
      .filter((event) => event.ResourceStatus === 'CREATE_IN_PROGRESS')
      .reverse();
    expect(start).toMatchObject({
      LogicalResourceId: 'p-dev-client',
      ResourceType: 'AWS::CloudFormation::Stack',
      ResourceStatusReason: 'User Initiated',
    });
  });

  it('creates a dependency before its dependent', async () => {
    const body = `
Resources:
  Subscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: { Ref: Topic }
      Protocol: sqs
      Endpoint: { "Fn::GetAtt": [Queue, Arn] }
  Alarm:
    Type: AWS::SNS::Topic
    DependsOn: Queue
  Topic:
    Type: AWS::SNS::Topic
  Queue:
    Type: AWS::SQS::Queue
`;
    await deploy({ TemplateBody: body, Parameters: [], Capabilities: [] });
    const created = (await timeline('p-dev-client')).filter((line) => line.endsWith(' CREATE_COMPLETE'));
    expect(created).toEqual([
      'Topic CREATE_COMPLETE',
      'Queue CREATE_COMPLETE',
      'Subscription CREATE_COMPLETE',
      'Alarm CREATE_COMPLETE',
      'p-dev-client CREATE_COMPLETE',
    ]);
  });

  it('an update touches only changed resources and deletes removed ones during cleanup', async () => {
    await deploy({
      TemplateBody: TEMPLATE.replace('Resources:\n', 'Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n'),
    });
    const body = TEMPLATE.replace('VisibilityTimeout: 30', 'VisibilityTimeout: 60');
    expect(await update({ TemplateBody: body })).toEqual([
      'UPDATE_IN_PROGRESS',
      'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_COMPLETE',
    ]);
    expect(lines(await lastOperation('p-dev-client'))).toEqual([
      'p-dev-client UPDATE_IN_PROGRESS',
      'Queue UPDATE_IN_PROGRESS',
      'Queue UPDATE_COMPLETE',
      'p-dev-client UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      'Topic DELETE_IN_PROGRESS',
      'Topic DELETE_COMPLETE',
      'p-dev-client UPDATE_COMPLETE',
    ]);
    expect(Object.keys(fake.stack('p-dev-client')!.resources)).toEqual(['Bucket', 'Queue', 'Role']);
  });

  it('a replacement creates a new physical resource and deletes the old one during cleanup', async () => {
    await deploy();
    await update({ Parameters: parameters({ ServerId: OTHER_SERVER_ID }) });
    const events = await allEvents('p-dev-client');
    const queue = events
      .reverse()
      .filter((event) => event.LogicalResourceId === 'Queue' && !event.ResourceStatus!.startsWith('CREATE'))
      .map((event) => `${event.ResourceStatus} ${event.PhysicalResourceId}`);
    expect(queue).toEqual([
      'UPDATE_IN_PROGRESS acme-s-0123456789abcdef0',
      'UPDATE_COMPLETE acme-s-fedcba98765432100',
      'DELETE_IN_PROGRESS acme-s-0123456789abcdef0',
      'DELETE_COMPLETE acme-s-0123456789abcdef0',
    ]);
    expect(fake.stack('p-dev-client')!.resources.Queue!.physicalId).toBe('acme-s-fedcba98765432100');
  });

  it('a replacement of a custom-named resource fails and rolls back, as real CloudFormation does', async () => {
    await deploy();
    const body = TEMPLATE.replace(
      'BucketName: acme-dev-uploads',
      'BucketName: acme-dev-uploads\n      ObjectLockEnabled: true',
    );
    expect(await update({ TemplateBody: body })).toEqual([
      'UPDATE_IN_PROGRESS',
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE',
    ]);
    const failed = (await allEvents('p-dev-client')).find((event) => event.ResourceStatus === 'UPDATE_FAILED');
    expect(failed!.ResourceStatusReason).toBe(
      'CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename acme-dev-uploads and update the stack again.',
    );
  });
});

describe('failure injection', () => {
  it('RetainExceptOnCreate on the execution: the rollback of a create deletes its Retain resources too', async () => {
    fake.failNext('p-dev-client', 'Role', 'Role acme-dev-role already exists');
    expect(await deploy({}, undefined, { RetainExceptOnCreate: true })).toEqual([
      'CREATE_IN_PROGRESS',
      'ROLLBACK_IN_PROGRESS',
      'ROLLBACK_COMPLETE',
    ]);
    const statuses = lines(await lastOperation('p-dev-client'));
    expect(statuses).toContain('Bucket DELETE_COMPLETE');
    expect(statuses).not.toContain('Bucket DELETE_SKIPPED');
  });

  it('failNext on a create: CREATE_FAILED, rollback, ROLLBACK_COMPLETE', async () => {
    fake.failNext('p-dev-client', 'Role', 'Role acme-dev-role already exists');
    expect(await deploy()).toEqual(['CREATE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_COMPLETE']);
    expect(lines(await lastOperation('p-dev-client')).slice(5)).toEqual([
      'Role CREATE_IN_PROGRESS',
      'Role CREATE_FAILED',
      'p-dev-client ROLLBACK_IN_PROGRESS',
      'Role DELETE_IN_PROGRESS',
      'Role DELETE_COMPLETE',
      'Queue DELETE_IN_PROGRESS',
      'Queue DELETE_COMPLETE',
      'Bucket DELETE_SKIPPED',
      'p-dev-client ROLLBACK_COMPLETE',
    ]);
    const events = await allEvents('p-dev-client');
    expect(events.find((event) => event.ResourceStatus === 'CREATE_FAILED')!.ResourceStatusReason).toBe(
      'Role acme-dev-role already exists',
    );
    expect(events.find((event) => event.ResourceStatus === 'ROLLBACK_IN_PROGRESS')!.ResourceStatusReason).toBe(
      'The following resource(s) failed to create: [Role]. Rollback requested by user.',
    );
    expect(fake.stack('p-dev-client')).toMatchObject({ status: 'ROLLBACK_COMPLETE', resources: {}, outputs: {} });
    const executed = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: 'cs-1', StackName: 'p-dev-client' }));
    expect(executed.ExecutionStatus).toBe('EXECUTE_FAILED');
  });

  it('failNext is used once', async () => {
    fake.failNext('p-dev-client', 'Queue', 'boom');
    await deploy();
    await cfn.send(new DeleteStackCommand({ StackName: 'p-dev-client' }));
    await rejection(waitForStack('p-dev-client'));
    expect(await deploy()).toEqual(['CREATE_IN_PROGRESS', 'CREATE_COMPLETE']);
  });

  it('failNext on an update: UPDATE_FAILED, revert, UPDATE_ROLLBACK_COMPLETE with the previous configuration', async () => {
    await deploy();
    const before = fake.stack('p-dev-client')!;
    fake.failNext('p-dev-client', 'Role', 'Policy document is malformed');
    const seen: Record<string, string>[] = [];
    const body = TEMPLATE.replace('VisibilityTimeout: 30', 'VisibilityTimeout: 60');
    const { Id } = await createChangeSet({
      ChangeSetType: 'UPDATE',
      ChangeSetName: 'cs-2',
      TemplateBody: body,
      Parameters: parameters({ ServerId: SERVER_ID, Prefix: 'outbox' }),
      Tags: [{ Key: 'team', Value: 'other' }],
    });
    await waitForChangeSet(Id!);
    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: Id }));
    for (;;) {
      const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'p-dev-client' }))).Stacks![0]!;
      seen.push({ [stack.StackStatus!]: stack.Parameters!.find((p) => p.ParameterKey === 'Prefix')!.ParameterValue! });
      if (stack.StackStatus === 'UPDATE_ROLLBACK_COMPLETE') break;
    }
    // Bucket and Queue update (one step each); Role fails, and the previous parameters are back at once.
    expect(seen.slice(0, 3)).toEqual([
      { UPDATE_IN_PROGRESS: 'outbox' },
      { UPDATE_IN_PROGRESS: 'outbox' },
      { UPDATE_ROLLBACK_IN_PROGRESS: 'inbox' },
    ]);
    const statuses = (await lastOperation('p-dev-client'))
      .filter((event) => event.ResourceType === 'AWS::CloudFormation::Stack')
      .map((event) => event.ResourceStatus);
    expect(statuses).toEqual([
      'UPDATE_IN_PROGRESS',
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE',
    ]);
    const lines = await timeline('p-dev-client');
    expect(lines.slice(lines.indexOf('p-dev-client UPDATE_IN_PROGRESS'))).toEqual([
      'p-dev-client UPDATE_IN_PROGRESS',
      'Bucket UPDATE_IN_PROGRESS',
      'Bucket UPDATE_COMPLETE',
      'Queue UPDATE_IN_PROGRESS',
      'Queue UPDATE_COMPLETE',
      'Role UPDATE_IN_PROGRESS',
      'Role UPDATE_FAILED',
      'p-dev-client UPDATE_ROLLBACK_IN_PROGRESS',
      'Role UPDATE_IN_PROGRESS',
      'Role UPDATE_COMPLETE',
      'Queue UPDATE_IN_PROGRESS',
      'Queue UPDATE_COMPLETE',
      'Bucket UPDATE_IN_PROGRESS',
      'Bucket UPDATE_COMPLETE',
      'p-dev-client UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'p-dev-client UPDATE_ROLLBACK_COMPLETE',
    ]);
    const after = fake.stack('p-dev-client')!;
    expect([after.templateBody, after.parameters, after.tags]).toEqual([
      before.templateBody,
      before.parameters,
      before.tags,
    ]);
    expect(after.outputs).toEqual(before.outputs);
  });

  it('a failed update that added a resource deletes it during rollback cleanup', async () => {
    await deploy();
    fake.failNext('p-dev-client', 'Topic', 'Topic limit reached');
    const body = TEMPLATE.replace('Resources:\n', 'Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n');
    await update({ TemplateBody: body });
    const lines = await timeline('p-dev-client');
    expect(lines.slice(lines.indexOf('p-dev-client UPDATE_IN_PROGRESS'))).toEqual([
      'p-dev-client UPDATE_IN_PROGRESS',
      'Topic CREATE_IN_PROGRESS',
      'Topic CREATE_FAILED',
      'p-dev-client UPDATE_ROLLBACK_IN_PROGRESS',
      'p-dev-client UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'Topic DELETE_IN_PROGRESS',
      'Topic DELETE_COMPLETE',
      'p-dev-client UPDATE_ROLLBACK_COMPLETE',
    ]);
    expect(Object.keys(fake.stack('p-dev-client')!.resources)).toEqual(['Bucket', 'Queue', 'Role']);
  });

  it('rollbackFails leaves the update in UPDATE_ROLLBACK_FAILED; ContinueUpdateRollback finishes it', async () => {
    await deploy();
    fake.failNext('p-dev-client', 'Role', 'Role is being deleted', { rollbackFails: true });
    const statuses = await update({ Parameters: parameters({ ServerId: SERVER_ID, Prefix: 'outbox' }) });
    expect(statuses).toEqual(['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_FAILED']);
    expect(lines(await lastOperation('p-dev-client'))).toEqual([
      'p-dev-client UPDATE_IN_PROGRESS',
      'Role UPDATE_IN_PROGRESS',
      'Role UPDATE_FAILED',
      'p-dev-client UPDATE_ROLLBACK_IN_PROGRESS',
      'Role UPDATE_IN_PROGRESS',
      'Role UPDATE_FAILED',
      'p-dev-client UPDATE_ROLLBACK_FAILED',
    ]);
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'p-dev-client' }))).Stacks![0]!;
    expect(stack.StackStatusReason).toBe('The following resource(s) failed to update: [Role].');
    expect(stack.Outputs).toBeUndefined();
    expect(fake.stack('p-dev-client')!.resources.Role!.status).toBe('UPDATE_FAILED');

    await cfn.send(new ContinueUpdateRollbackCommand({ StackName: 'p-dev-client' }));
    expect(await waitForStack('p-dev-client')).toEqual([
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE',
    ]);
    expect(fake.stack('p-dev-client')!.parameters.Prefix).toBe('inbox');
  });

  it('rollbackFails on a create leaves ROLLBACK_FAILED', async () => {
    fake.failNext('p-dev-client', 'Queue', 'Queue quota', { rollbackFails: true });
    expect(await deploy()).toEqual(['CREATE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_FAILED']);
    expect(fake.stack('p-dev-client')!.resources.Queue!.status).toBe('DELETE_FAILED');
  });
});

describe('outputs', () => {
  it('appear only in CREATE_COMPLETE, UPDATE_COMPLETE and UPDATE_ROLLBACK_COMPLETE', async () => {
    setup({ outputs: { BucketName: 'acme-dev-uploads' } });
    const { Id } = await createChangeSet();
    await waitForChangeSet(Id!);
    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: Id }));
    const outputsWhile: [string, number][] = [];
    for (;;) {
      const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'p-dev-client' }))).Stacks![0]!;
      outputsWhile.push([stack.StackStatus!, stack.Outputs?.length ?? 0]);
      if (stack.StackStatus === 'CREATE_COMPLETE') {
        expect(stack.Outputs).toEqual([
          { OutputKey: 'BucketName', OutputValue: 'acme-dev-uploads', Description: 'Upload bucket' },
          { OutputKey: 'RoleArn', OutputValue: 'fake-RoleArn-p-dev-client' },
        ]);
        break;
      }
    }
    expect(outputsWhile.filter(([status]) => status === 'CREATE_IN_PROGRESS').every(([, count]) => count === 0)).toBe(
      true,
    );
    fake.seed('rolled-back', { status: 'UPDATE_ROLLBACK_COMPLETE', templateBody: JSON_TEMPLATE });
    expect(fake.stack('rolled-back')!.outputs).toEqual({ TopicArn: 'fake-TopicArn-rolled-back' });
    fake.seed('failed', { status: 'ROLLBACK_COMPLETE', templateBody: JSON_TEMPLATE });
    expect(fake.stack('failed')!.outputs).toEqual({});
  });
});

describe('DescribeStacks', () => {
  it('by name or stack id, with every field', async () => {
    await deploy();
    const stackId = fake.stack('p-dev-client')!.stackId;
    const [byName, byId] = await Promise.all(
      ['p-dev-client', stackId].map(
        async (name) => (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks![0]!,
      ),
    );
    expect(byId!.StackId).toBe(byName!.StackId);
    expect(byName).toMatchObject({
      StackId: stackId,
      StackName: 'p-dev-client',
      Description: 'Uploads for one partner',
      StackStatus: 'CREATE_COMPLETE',
      CreationTime: new Date('2026-01-01T00:00:00Z'),
      Parameters: parameters({ ServerId: SERVER_ID, Prefix: 'inbox' }),
      Tags: [{ Key: 'team', Value: 'platform' }],
      EnableTerminationProtection: false,
      Capabilities: ['CAPABILITY_NAMED_IAM'],
    });
    expect(byName!.StackStatusReason).toBeUndefined();
    expect(byName!.LastUpdatedTime).toBeUndefined();
    await update({ Parameters: parameters({ ServerId: SERVER_ID, Prefix: 'outbox' }) });
    const updated = (await cfn.send(new DescribeStacksCommand({ StackName: 'p-dev-client' }))).Stacks![0]!;
    expect(updated.LastUpdatedTime).toBeInstanceOf(Date);
  });

  it('without StackName lists every live stack', async () => {
    fake.seed('a', { status: 'CREATE_COMPLETE', templateBody: JSON_TEMPLATE });
    fake.seed('b', { status: 'REVIEW_IN_PROGRESS' });
    const { Stacks } = await cfn.send(new DescribeStacksCommand({}));
    expect(Stacks!.map((stack) => [stack.StackName, stack.StackStatus])).toEqual([
      ['a', 'CREATE_COMPLETE'],
      ['b', 'REVIEW_IN_PROGRESS'],
    ]);
  });

  it('a missing stack is a ValidationError', async () => {
    const error = await rejection(cfn.send(new DescribeStacksCommand({ StackName: 'nope' })));
    expect({ name: error.name, message: error.message }).toEqual({
      name: 'ValidationError',
      message: 'Stack with id nope does not exist',
    });
  });

  it('after a delete: gone by name, DELETE_COMPLETE by stack id', async () => {
    await deploy();
    const stackId = fake.stack('p-dev-client')!.stackId;
    await cfn.send(new DeleteStackCommand({ StackName: 'p-dev-client' }));
    fake.settle();
    expect((await rejection(cfn.send(new DescribeStacksCommand({ StackName: 'p-dev-client' })))).message).toBe(
      'Stack with id p-dev-client does not exist',
    );
    const byId = (await cfn.send(new DescribeStacksCommand({ StackName: stackId }))).Stacks![0]!;
    expect(byId).toMatchObject({ StackStatus: 'DELETE_COMPLETE', DeletionTime: expect.any(Date) });
    expect(fake.stack('p-dev-client')).toBeUndefined();
  });
});

describe('DescribeStackEvents', () => {
  it('newest first, paginated, stable while new events arrive', async () => {
    setup({ pageSize: 3 });
    await deploy();
    const first = await cfn.send(new DescribeStackEventsCommand({ StackName: 'p-dev-client' }));
    expect(first.StackEvents!.map((event) => event.ResourceStatus)).toEqual([
      'CREATE_COMPLETE',
      'CREATE_COMPLETE',
      'CREATE_IN_PROGRESS',
    ]);
    expect(first.StackEvents![0]).toMatchObject({
      StackId: fake.stack('p-dev-client')!.stackId,
      EventId: expect.any(String),
      StackName: 'p-dev-client',
      LogicalResourceId: 'p-dev-client',
      PhysicalResourceId: fake.stack('p-dev-client')!.stackId,
      ResourceType: 'AWS::CloudFormation::Stack',
      Timestamp: expect.any(Date),
    });
    // Each page is a step: the delete runs while we page, and finishes, so page by stack id.
    const stackId = fake.stack('p-dev-client')!.stackId;
    const expected = await timeline('p-dev-client');
    await cfn.send(new DeleteStackCommand({ StackName: 'p-dev-client' }));
    const all = [...first.StackEvents!];
    let token = first.NextToken;
    while (token) {
      const page = await cfn.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: token }));
      expect(page.StackEvents!.length).toBeLessThanOrEqual(3);
      all.push(...page.StackEvents!);
      token = page.NextToken;
    }
    expect(lines(all).reverse()).toEqual(expected);
    expect(new Set(all.map((event) => event.EventId)).size).toBe(all.length);
  });

  it('a missing stack is a ValidationError', async () => {
    const error = await rejection(cfn.send(new DescribeStackEventsCommand({ StackName: 'nope' })));
    expect(error).toMatchObject({ name: 'ValidationError', message: 'Stack [nope] does not exist' });
  });
});

describe('DeleteStack', () => {
  it('a missing stack deletes silently', async () => {
    await cfn.send(new DeleteStackCommand({ StackName: 'nope' }));
  });

  it('deletes resources in reverse order, skips retained ones, stamps the token', async () => {
    await deploy();
    const before = (await allEvents('p-dev-client')).length;
    await cfn.send(new DeleteStackCommand({ StackName: 'p-dev-client', ClientRequestToken: 'destroy-1' }));
    expect(fake.stack('p-dev-client')!.status).toBe('DELETE_IN_PROGRESS');
    const stackId = fake.stack('p-dev-client')!.stackId;
    expect(await waitForStack(stackId)).toEqual(['DELETE_IN_PROGRESS', 'DELETE_COMPLETE']);
    const events = (await allEvents(stackId)).reverse().slice(before);
    expect(events.map((event) => `${event.LogicalResourceId} ${event.ResourceStatus}`)).toEqual([
      'p-dev-client DELETE_IN_PROGRESS',
      'Role DELETE_IN_PROGRESS',
      'Role DELETE_COMPLETE',
      'Queue DELETE_IN_PROGRESS',
      'Queue DELETE_COMPLETE',
      'Bucket DELETE_SKIPPED',
      'p-dev-client DELETE_COMPLETE',
    ]);
    expect(events.every((event) => event.ClientRequestToken === 'destroy-1')).toBe(true);
    expect(events[0]!.ResourceStatusReason).toBe('User Initiated');
  });

  it('refuses a protected stack and a stack in the middle of an operation', async () => {
    fake.seed('p-prod-server', { status: 'CREATE_COMPLETE', templateBody: JSON_TEMPLATE, terminationProtection: true });
    const protectedError = await rejection(cfn.send(new DeleteStackCommand({ StackName: 'p-prod-server' })));
    expect(protectedError).toMatchObject({
      name: 'ValidationError',
      message: 'Stack [p-prod-server] cannot be deleted while TerminationProtection is enabled',
    });
    fake.seed('p-dev-server', { status: 'UPDATE_IN_PROGRESS', templateBody: JSON_TEMPLATE });
    const busy = await rejection(cfn.send(new DeleteStackCommand({ StackName: 'p-dev-server' })));
    expect(busy.message).toBe('Stack [p-dev-server] cannot be deleted while in status UPDATE_IN_PROGRESS');
  });

  it('failDelete: DELETE_FAILED on the resource and the stack; a retry finishes', async () => {
    await deploy();
    fake.failDelete('p-dev-client', 'Queue', 'Queue is in use');
    await cfn.send(new DeleteStackCommand({ StackName: 'p-dev-client' }));
    expect(await waitForStack('p-dev-client')).toEqual(['DELETE_IN_PROGRESS', 'DELETE_FAILED']);
    expect(fake.stack('p-dev-client')).toMatchObject({
      status: 'DELETE_FAILED',
      statusReason: 'The following resource(s) failed to delete: [Queue].',
    });
    expect(fake.stack('p-dev-client')!.resources.Queue!.status).toBe('DELETE_FAILED');
    expect(Object.keys(fake.stack('p-dev-client')!.resources)).toEqual(['Bucket', 'Queue']);
    await cfn.send(new DeleteStackCommand({ StackName: 'p-dev-client', RetainResources: ['Queue'] }));
    fake.settle();
    expect(fake.stack('p-dev-client')).toBeUndefined();
  });

  it('a REVIEW_IN_PROGRESS stack deletes in one step', async () => {
    await createChangeSet();
    await cfn.send(new DeleteStackCommand({ StackName: 'p-dev-client' }));
    const error = await rejection(cfn.send(new DescribeStacksCommand({ StackName: 'p-dev-client' })));
    expect(error.message).toBe('Stack with id p-dev-client does not exist');
  });
});

describe('DeleteChangeSet', () => {
  it('by name and stack, or by ARN; leaves a REVIEW_IN_PROGRESS stack in place', async () => {
    const { Id } = await createChangeSet();
    await createChangeSet({ ChangeSetName: 'cs-2' });
    fake.settle();
    await cfn.send(new DeleteChangeSetCommand({ ChangeSetName: 'cs-2', StackName: 'p-dev-client' }));
    await cfn.send(new DeleteChangeSetCommand({ ChangeSetName: Id }));
    expect(fake.stack('p-dev-client')).toMatchObject({ status: 'REVIEW_IN_PROGRESS', changeSets: [] });
    const gone = await rejection(cfn.send(new DescribeChangeSetCommand({ ChangeSetName: Id })));
    expect(gone).toMatchObject({ name: 'ChangeSetNotFoundException', message: `ChangeSet [${Id}] does not exist` });
  });

  it('refuses while the change set is being created or its stack is executing', async () => {
    const { Id } = await createChangeSet();
    const creating = await rejection(cfn.send(new DeleteChangeSetCommand({ ChangeSetName: Id })));
    expect(creating).toMatchObject({
      name: 'InvalidChangeSetStatusException',
      message: 'Cannot delete ChangeSet in status CREATE_PENDING',
    });
    await waitForChangeSet(Id!);
    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: Id }));
    const executing = await rejection(cfn.send(new DeleteChangeSetCommand({ ChangeSetName: Id })));
    expect(executing.name).toBe('InvalidChangeSetStatusException');
  });
});

describe('other commands', () => {
  it('ListStacks lists live and deleted stacks, filtered by status', async () => {
    await deploy();
    await cfn.send(new DeleteStackCommand({ StackName: 'p-dev-client' }));
    await waitForStack('p-dev-client').catch(() => undefined);
    fake.settle();
    const all = (await cfn.send(new ListStacksCommand({}))).StackSummaries ?? [];
    expect(all.map((summary) => [summary.StackName, summary.StackStatus])).toEqual([
      ['p-dev-client', 'DELETE_COMPLETE'],
    ]);
    expect(all[0]!.DeletionTime).toBeInstanceOf(Date);
    const live = await cfn.send(new ListStacksCommand({ StackStatusFilter: ['CREATE_COMPLETE'] }));
    expect(live.StackSummaries).toEqual([]);
  });

  it('ListChangeSets summarises the change sets of a stack', async () => {
    const { Id, StackId } = await createChangeSet({ Description: 'first deploy' });
    expect((await cfn.send(new ListChangeSetsCommand({ StackName: 'p-dev-client' }))).Summaries).toEqual([
      {
        StackId,
        StackName: 'p-dev-client',
        ChangeSetId: Id,
        ChangeSetName: 'cs-1',
        ExecutionStatus: 'UNAVAILABLE',
        Status: 'CREATE_PENDING',
        CreationTime: new Date('2026-01-01T00:00:00Z'),
        Description: 'first deploy',
      },
    ]);
  });

  it('UpdateTerminationProtection, DescribeStackResources and GetTemplate', async () => {
    await deploy();
    const { StackId } = await cfn.send(
      new UpdateTerminationProtectionCommand({ StackName: 'p-dev-client', EnableTerminationProtection: true }),
    );
    expect(StackId).toBe(fake.stack('p-dev-client')!.stackId);
    expect(fake.stack('p-dev-client')!.terminationProtection).toBe(true);

    const { StackResources } = await cfn.send(new DescribeStackResourcesCommand({ StackName: 'p-dev-client' }));
    expect(
      StackResources!.map((resource) => [
        resource.LogicalResourceId,
        resource.PhysicalResourceId,
        resource.ResourceType,
        resource.ResourceStatus,
      ]),
    ).toEqual([
      ['Bucket', 'acme-dev-uploads', 'AWS::S3::Bucket', 'CREATE_COMPLETE'],
      ['Queue', 'acme-s-0123456789abcdef0', 'AWS::SQS::Queue', 'CREATE_COMPLETE'],
      ['Role', 'acme-dev-role', 'AWS::IAM::Role', 'CREATE_COMPLETE'],
    ]);
    expect((await cfn.send(new GetTemplateCommand({ StackName: 'p-dev-client' }))).TemplateBody).toBe(TEMPLATE);
  });

  it('physical ids: a literal name property, else <stack>-<LogicalId>-<suffix>, deterministically', async () => {
    const run = async () => {
      setup();
      await deploy({ StackName: 'alerts', TemplateBody: JSON_TEMPLATE, Parameters: [], Capabilities: [] });
      return fake.stack('alerts')!.resources.Topic!.physicalId;
    };
    const first = await run();
    expect(first).toMatch(/^alerts-Topic-[0-9A-F]{12}$/);
    expect(await run()).toBe(first);
  });
});

describe('seed', () => {
  it('puts a stack straight into a settled state', async () => {
    fake.seed('p-dev-server', {
      status: 'UPDATE_ROLLBACK_FAILED',
      statusReason: 'The following resource(s) failed to update: [Topic].',
      templateBody: JSON_TEMPLATE,
      tags: { team: 'platform' },
    });
    expect(fake.stack('p-dev-server')).toMatchObject({
      status: 'UPDATE_ROLLBACK_FAILED',
      statusReason: 'The following resource(s) failed to update: [Topic].',
      tags: { team: 'platform' },
      resources: { Topic: { type: 'AWS::SNS::Topic', status: 'UPDATE_COMPLETE' } },
      templateBody: JSON_TEMPLATE,
    });
    fake.seed('p-dev-network', { status: 'REVIEW_IN_PROGRESS' });
    expect(fake.stack('p-dev-network')).toMatchObject({ resources: {}, parameters: {} });
  });

  it('an in-progress state completes after a few steps', async () => {
    fake.seed('p-dev-server', { status: 'UPDATE_IN_PROGRESS', templateBody: JSON_TEMPLATE });
    expect(await waitForStack('p-dev-server')).toEqual([
      'UPDATE_IN_PROGRESS',
      'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_COMPLETE',
    ]);
    fake.seed('p-dev-assets', { status: 'DELETE_IN_PROGRESS', templateBody: JSON_TEMPLATE });
    fake.seed('p-dev-network', { status: 'ROLLBACK_IN_PROGRESS', templateBody: JSON_TEMPLATE });
    fake.seed('p-dev-client', { status: 'UPDATE_ROLLBACK_IN_PROGRESS', templateBody: JSON_TEMPLATE });
    fake.seed('p-dev-extra', { status: 'CREATE_IN_PROGRESS', templateBody: JSON_TEMPLATE });
    fake.settle();
    expect(fake.stack('p-dev-assets')).toBeUndefined();
    expect(fake.stack('p-dev-network')).toMatchObject({ status: 'ROLLBACK_COMPLETE', resources: {} });
    expect(fake.stack('p-dev-client')!.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(fake.stack('p-dev-extra')!.resources.Topic!.status).toBe('CREATE_COMPLETE');
  });

  it('validates what it is given', () => {
    expect(() => fake.seed('x', { status: 'CREATE_COMPLETE' })).toThrow(/templateBody is required/);
    expect(() => fake.seed('x', { status: 'IMPORT_COMPLETE', templateBody: JSON_TEMPLATE })).toThrow(/does not model/);
    expect(() => fake.seed('x', { status: 'CREATE_COMPLETE', templateBody: TEMPLATE })).toThrow(
      'Parameters: [ServerId] must have values',
    );
  });
});

describe('a real synthesized client template', () => {
  it('gets through CreateChangeSet with its parameters and deploys', async () => {
    const result = synthesize(await exampleConfig(), 'dev', { format: 'yaml' });
    const client = result.stacks.find((stack) => stack.kind === 'client')!;
    const values: Record<string, string> = {
      ServerId: SERVER_ID,
      AccessLogBucketName: 'acme-sftp-dev-access-logs',
      CodeBucket: 'acme-sftp-dev-assets',
      IngressCodeKey: 'functions/ingress.zip',
      EgressCodeKey: 'functions/egress.zip',
      AlarmTopicArn: 'arn:aws:sns:eu-west-2:111122223333:acme-sftp-dev-alarms',
    };
    expect(Object.keys(client.parameters).sort()).toEqual(Object.keys(values).sort());
    const input = {
      StackName: client.name,
      TemplateBody: client.body,
      Parameters: parameters(values),
      Tags: Object.entries(client.tags).map(([Key, Value]) => ({ Key, Value })),
    };
    const refused = await rejection(createChangeSet({ ...input, Capabilities: [] }));
    expect(refused.message).toBe('Requires capabilities : [CAPABILITY_IAM]');
    const wrongServer = await rejection(
      createChangeSet({ ...input, Parameters: parameters({ ...values, ServerId: 'server-1' }) }),
    );
    expect(wrongServer.message).toBe("Parameter 'ServerId' must match pattern ^s-[0-9a-f]{17}$");

    expect(await deploy({ ...input, Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] })).toEqual([
      'CREATE_IN_PROGRESS',
      'CREATE_COMPLETE',
    ]);
    const stack = fake.stack(client.name)!;
    expect(Object.keys(stack.resources).sort()).toEqual(Object.keys(client.template.Resources).sort());
    expect(Object.keys(stack.outputs).sort()).toEqual([...client.outputs].sort());
  });
});
