import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  ExecuteChangeSetCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AwsClients } from '../../src/aws/clients.js';
import { createChangeSet } from '../../src/deploy/change-set.js';
import { serverReplacementNoteFor } from '../../src/deploy/diff.js';
import type { EngineDeps } from '../../src/deploy/engine-deps.js';
import type { Template } from '../../src/templates/cfn.js';
import { serialize } from '../../src/templates/serialize.js';
import {
  identityProviderTypeOf,
  serverReplacement,
  serverReplacementNote,
  withoutServer,
} from '../../src/templates/server-migration.js';
import type { SynthStack } from '../../src/templates/synthesize.js';
import { validateTemplate } from '../helpers/cfn-schema.js';
import { FakeCloudFormation, type FakeCloudFormationStub } from '../helpers/fake-cloudformation.js';
import { configFrom, synth } from './fixtures.js';

const ACCOUNT = '123456789012';
const PARAMETERS = {
  VpcId: 'vpc-0a1b2c3d4e5f60718',
  SubnetIds: 'subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718',
  AddressAllocationIds: 'eipalloc-0a1b2c3d4e5f60718,eipalloc-1a1b2c3d4e5f60718',
  SecurityGroupId: 'sg-0a1b2c3d4e5f60718',
  PublicIps: '198.51.100.10,198.51.100.11',
  PlatformKeyArn: `arn:aws:kms:eu-west-2:${ACCOUNT}:key/0b8e2f4c-5a2e-4d1b-9c3e-2f1a0d9e8c7b`,
  CodeBucket: 'acme-dev-assets',
  IdentityCodeKey: 'functions/identity-0123456789abcdef.zip',
  CloseDefaultSgCodeKey: 'functions/close-default-sg-0123456789abcdef.zip',
  AlarmTopicArn: `arn:aws:sns:eu-west-2:${ACCOUNT}:acme-dev-alarms`,
  AccessLogBucketName: 'acme-dev-access-logs',
};

async function stacksFor(mode: 'service-managed' | 'lambda') {
  const config = await configFrom(
    stringify({
      project: 'acme',
      defaults: { region: 'eu-west-2', vpc: { cidr: '10.42.0.0/24' }, identity: { mode } },
      environments: { dev: {} },
      clients: [{ name: 'bank', allowedIps: ['203.0.113.0/24'], upload: { sshKeys: [] } }],
    }),
  );
  const result = synth(config, 'dev', { format: 'yaml' });
  const of = (kind: string) => result.stacks.find((stack) => stack.kind === kind)!;
  return { server: of('server'), network: of('network') };
}

const parametersOf = (template: Template) =>
  Object.fromEntries(Object.keys(template.Parameters ?? {}).map((name) => [name, PARAMETERS[name as never] as string]));

let fake: FakeCloudFormation;
let stub: FakeCloudFormationStub;
let tick = 0;
const deps: EngineDeps = {
  clients: new AwsClients({ region: 'eu-west-2', profile: undefined }),
  sleep: async () => {},
  // Each change set gets its own name (the name is the time).
  now: () => new Date(Date.UTC(2026, 11, 4, 12, 0, tick++)),
  pollMs: 1,
};

beforeEach(() => {
  fake = new FakeCloudFormation({ account: ACCOUNT });
  stub = fake.install();
});
afterEach(() => stub.restore());

async function deploy(stackName: string, template: Template) {
  const changeSet = await createChangeSet(
    {
      stackName,
      type: 'UPDATE',
      template: { body: serialize(template, 'yaml'), resources: template.Resources },
      parameters: parametersOf(template),
      tags: {},
      description: 'test',
    },
    deps,
  );
  await new CloudFormationClient({ region: 'eu-west-2' }).send(
    new ExecuteChangeSetCommand({ ChangeSetName: changeSet.id }),
  );
  fake.settle();
  return changeSet;
}

async function events(stackName: string): Promise<StackEvent[]> {
  const cfn = new CloudFormationClient({ region: 'eu-west-2' });
  const all: StackEvent[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new DescribeStackEventsCommand({ StackName: stackName, NextToken: token }));
    all.push(...(page.StackEvents ?? []));
    token = page.NextToken;
  } while (token);
  return all.reverse();
}

function seed(name: string, stack: SynthStack) {
  fake.seed(name, { status: 'CREATE_COMPLETE', templateBody: stack.body, parameters: parametersOf(stack.template) });
}

describe('moving a deployed environment between identity modes', () => {
  it('the server is create-only in its identity provider type: a direct update replaces it, creating the new one first', async () => {
    const before = await stacksFor('service-managed');
    const after = await stacksFor('lambda');
    expect(serverReplacement(before.server.template, after.server.template)).toEqual({
      from: 'SERVICE_MANAGED',
      to: 'AWS_LAMBDA',
    });
    seed('acme-dev-server', before.server);
    const oldServer = fake.stack('acme-dev-server')!.resources.Server!.physicalId;

    const direct = await deploy('acme-dev-server', after.server.template);
    expect(direct.changes.find((change) => change.logicalId === 'Server')).toMatchObject({
      action: 'Modify',
      replacement: 'True',
    });
    expect(serverReplacementNoteFor(after.server, direct.changes)).toBe(serverReplacementNote('AWS_LAMBDA'));
    expect(serverReplacementNoteFor(after.server, direct.changes)).toMatch(
      /the server is replaced .* Elastic IPs are kept .* host key and the host name .* are new/,
    );

    // CloudFormation's order: the new server exists (with the same AddressAllocationIds) before the old one is
    // deleted in cleanup. On AWS that step fails: the Elastic IPs are still associated with the old endpoint.
    const server = (await events('acme-dev-server')).filter((event) => event.LogicalResourceId === 'Server');
    const created = server.findIndex(
      (event) => event.ResourceStatus === 'UPDATE_COMPLETE' && event.PhysicalResourceId !== oldServer,
    );
    const oldDeleted = server.findIndex(
      (event) => event.ResourceStatus === 'DELETE_COMPLETE' && event.PhysicalResourceId === oldServer,
    );
    expect(created).toBeGreaterThanOrEqual(0);
    expect(oldDeleted).toBeGreaterThan(created);
  });

  it('two phases: the old server goes first (its Elastic IPs are free), then the new one is created; the network stack is untouched', async () => {
    for (const [from, to] of [
      ['service-managed', 'lambda'],
      ['lambda', 'service-managed'],
    ] as const) {
      fake = new FakeCloudFormation({ account: ACCOUNT });
      stub.restore();
      stub = fake.install();
      const before = await stacksFor(from);
      const after = await stacksFor(to);
      seed('acme-dev-network', before.network);
      seed('acme-dev-server', before.server);
      const network = fake.stack('acme-dev-network')!.resources;
      const oldServer = fake.stack('acme-dev-server')!.resources.Server!.physicalId;

      const phaseOne = withoutServer(before.server.template);
      expect(validateTemplate(phaseOne)).toEqual([]);
      expect(identityProviderTypeOf(phaseOne)).toBeUndefined();
      const first = await deploy('acme-dev-server', phaseOne);
      expect(first.changes.filter((change) => change.action !== 'Remove')).toEqual([]);
      expect(first.changes.map((change) => change.logicalId)).toContain('Server');
      expect(fake.stack('acme-dev-server')).toMatchObject({ status: 'UPDATE_COMPLETE' });
      expect(fake.stack('acme-dev-server')!.resources.Server).toBeUndefined();

      const second = await deploy('acme-dev-server', after.server.template);
      expect(second.changes.find((change) => change.logicalId === 'Server')).toMatchObject({ action: 'Add' });
      expect(serverReplacementNoteFor(after.server, second.changes)).toBeUndefined();
      const server = fake.stack('acme-dev-server')!;
      expect(server.status).toBe('UPDATE_COMPLETE');
      expect(server.resources.Server!.physicalId).not.toBe(oldServer);
      // The old server's deletion (phase one) came before the new server's creation (phase two).
      const serverEvents = (await events('acme-dev-server')).filter((event) => event.LogicalResourceId === 'Server');
      expect(serverEvents.map((event) => event.ResourceStatus)).toEqual([
        'DELETE_IN_PROGRESS',
        'DELETE_COMPLETE',
        'CREATE_IN_PROGRESS',
        'CREATE_COMPLETE',
      ]);
      expect(fake.stack('acme-dev-network')!.resources).toEqual(network);
    }
  });

  it('phase one drops exactly the server and what refers to it; a stack without a mode change needs no phases', async () => {
    const lambda = await stacksFor('lambda');
    const phaseOne = withoutServer(lambda.server.template);
    expect(Object.keys(lambda.server.template.Resources).filter((id) => !(id in phaseOne.Resources))).toEqual([
      'IdentityInvokePermission',
      'Server',
    ]);
    expect(Object.keys(phaseOne.Outputs ?? {})).toEqual([
      'IdentityTableName',
      'IdentityFunctionName',
      'PublicIps',
      'LogGroupName',
    ]);
    expect(phaseOne.Resources.IdentityTable).toEqual(lambda.server.template.Resources.IdentityTable);
    expect(serverReplacement(lambda.server.template, lambda.server.template)).toBeUndefined();
    expect(serverReplacement(undefined, lambda.server.template)).toBeUndefined();
  });
});
