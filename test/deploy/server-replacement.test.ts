import { CloudFormationClient, DescribeStackEventsCommand, type StackEvent } from '@aws-sdk/client-cloudformation';
import { afterEach, describe, expect, it } from 'vitest';
import { deploy } from '../../src/commands/deploy.js';
import { deployHarness } from '../helpers/deploy-harness.js';
import { useFakeDynamoDb } from '../helpers/fake-dynamodb.js';
import { scriptedPrompter } from '../helpers/prompter.js';

// An environment moved from service-managed users to the lambda identity provider, through `deploy` itself: the
// server's identity provider type is create-only, so the engine removes the old server first (phase 1) and the
// normal plan then creates the new one (phase 2) on the same Elastic IPs.

const SERVER_STACK = 'shop-dev-server';
const dynamo = useFakeDynamoDb({ table: 'shop-dev-identity' });
let harness: Awaited<ReturnType<typeof deployHarness>> | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function serverEvents(): Promise<StackEvent[]> {
  const cfn = new CloudFormationClient({ region: 'eu-west-2' });
  const all: StackEvent[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new DescribeStackEventsCommand({ StackName: SERVER_STACK, NextToken: token }));
    all.push(...(page.StackEvents ?? []));
    token = page.NextToken;
  } while (token);
  return all.reverse().filter((event) => event.LogicalResourceId === 'Server');
}

async function deployedServiceManaged() {
  harness = await deployHarness();
  expect((await harness.run(deploy, {})).code).toBe(0);
  await harness.editConfig((text) =>
    text.replace('    account: "111122223333"', '    account: "111122223333"\n    identity: { mode: lambda }'),
  );
  return harness;
}

describe('deploy moves an environment between identity modes', () => {
  it('without --allow-replacement: refused, naming the flag; the old server is untouched', async () => {
    const h = await deployedServiceManaged();
    const before = h.cloudFormation.stack(SERVER_STACK)!.resources.Server!.physicalId;
    const result = await h.run(deploy, {});
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain(`--allow-replacement ${SERVER_STACK}/Server`);
    expect(h.cloudFormation.stack(SERVER_STACK)!.resources.Server!.physicalId).toBe(before);
  });

  it('with it: the old server is deleted before the new one is created, and the user table is written', async () => {
    const h = await deployedServiceManaged();
    const before = h.cloudFormation.stack(SERVER_STACK)!.resources.Server!.physicalId;
    const result = await h.run(deploy, { allowReplacement: [`${SERVER_STACK}/Server`] });
    expect(result.error).toBeUndefined();
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toMatch(/phase 1 of 2 done: the SERVICE_MANAGED server is deleted/);

    const server = h.cloudFormation.stack(SERVER_STACK)!.resources.Server!;
    expect(server.physicalId).not.toBe(before);
    const events = (await serverEvents()).map((event) => `${event.PhysicalResourceId} ${event.ResourceStatus}`);
    const oldDeleted = events.indexOf(`${before} DELETE_COMPLETE`);
    const newCreated = events.indexOf(`${server.physicalId} CREATE_COMPLETE`);
    expect(oldDeleted).toBeGreaterThanOrEqual(0);
    expect(newCreated).toBeGreaterThan(oldDeleted);
    // The template now serves logins through the identity function, and every user is in the table.
    expect(h.cloudFormation.stack(SERVER_STACK)!.templateBody).toContain('AWS_LAMBDA');
    expect([...dynamo.items.keys()].sort()).toContain('bank-upload');
  });

  it('declining phase 1 leaves the old server and deploys nothing after it', async () => {
    const h = await deployedServiceManaged();
    const before = h.cloudFormation.stack(SERVER_STACK)!.resources.Server!.physicalId;
    const asked: string[] = [];
    const { prompter } = scriptedPrompter({});
    prompter.confirm = async (question) => {
      asked.push(question.message);
      return !question.message.includes('Phase 1 of 2');
    };
    const result = await h.run(deploy, { allowReplacement: [`${SERVER_STACK}/Server`] }, { yes: false, prompter });
    expect(asked.some((message) => message.includes('Phase 1 of 2'))).toBe(true);
    expect(result.code).not.toBe(0);
    expect(h.cloudFormation.stack(SERVER_STACK)!.resources.Server!.physicalId).toBe(before);
    expect(dynamo.items.size).toBe(0);
  });
});
