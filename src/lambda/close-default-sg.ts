import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { logJson } from './run-batch.js';

/**
 * A CloudFormation custom resource (src/templates/default-security-group.ts) that closes the VPC's default security
 * group: CloudFormation cannot edit that group, and EC2 creates it allowing all traffic between its members and all
 * egress. Create and Update revoke every rule it has (an Update also undoes rules added by hand since); Delete leaves
 * the group alone (it goes with the VPC). Every request is answered on its ResponseURL, also when the work throws or
 * runs out of time, so a stack never waits an hour for an answer.
 */

/** The request CloudFormation sends a Lambda-backed custom resource. */
export interface CustomResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  ResourceType?: string;
  PhysicalResourceId?: string;
  ResourceProperties?: { ServiceToken?: string; GroupId?: unknown };
}

/** The answer PUT to the ResponseURL (the presigned S3 URL CloudFormation reads). */
export interface CustomResourceResponse {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, string>;
}

export interface ClosedCounts {
  ingress: number;
  egress: number;
}

export interface CloseDeps {
  /** Revokes every rule of the group; resolves to how many of each kind it revoked. */
  close: (groupId: string) => Promise<ClosedCounts>;
  /** Delivers the answer to CloudFormation. */
  respond: (url: string, response: CustomResourceResponse) => Promise<void>;
  log: (event: Record<string, unknown>) => void;
  /** Milliseconds the work may take before the request is answered FAILED (time left to respond stays). */
  budgetMs: () => number;
}

const GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
/** CloudFormation shows at most this much of a reason (the response body is capped at 4 KiB). */
const MAX_REASON = 1000;

export function closeDefaultSgHandler(deps: CloseDeps) {
  return async (event: CustomResourceEvent): Promise<CustomResourceResponse> => {
    const groupId = event.ResourceProperties?.GroupId;
    const base = {
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    };
    // A failed Create is followed by a Delete with the physical id answered here: it must be one the Delete accepts.
    const physicalId =
      event.PhysicalResourceId ??
      (typeof groupId === 'string' ? `default-sg-closed-${groupId}` : `default-sg-closed-${event.RequestId}`);
    let response: CustomResourceResponse;
    try {
      if (event.RequestType === 'Delete') {
        response = { ...base, Status: 'SUCCESS', PhysicalResourceId: physicalId };
      } else {
        if (typeof groupId !== 'string' || !GROUP_ID.test(groupId))
          throw new Error(`GroupId ${JSON.stringify(groupId)} is not a security group id (sg-…)`);
        const counts = await withinBudget(deps.close(groupId), deps.budgetMs(), groupId);
        deps.log({ event: 'default-sg-closed', groupId, revoked: counts, request: event.RequestType });
        response = {
          ...base,
          Status: 'SUCCESS',
          // A new group (the VPC was replaced) is a new resource: CloudFormation then deletes the old one, a no-op.
          PhysicalResourceId: `default-sg-closed-${groupId}`,
          Data: { GroupId: groupId, RevokedIngress: String(counts.ingress), RevokedEgress: String(counts.egress) },
        };
      }
    } catch (error) {
      const reason = `Closing the default security group failed: ${messageOf(error)}`.slice(0, MAX_REASON);
      deps.log({ event: 'failed', reason, groupId, request: event.RequestType });
      response = { ...base, Status: 'FAILED', Reason: reason, PhysicalResourceId: physicalId };
    }
    await deps.respond(event.ResponseURL, response);
    return response;
  };
}

function messageOf(error: unknown): string {
  const name = (error as { name?: string })?.name;
  const message = (error as { message?: string })?.message ?? String(error);
  return name && name !== 'Error' && !message.includes(name) ? `${name}: ${message}` : message;
}

function withinBudget<T>(work: Promise<T>, budgetMs: number, groupId: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`EC2 did not finish revoking the rules of ${groupId} within ${Math.round(budgetMs / 1000)} s`),
        ),
      Math.max(0, budgetMs),
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Each attempt to deliver the answer gives up after this long; three attempts in all. */
const RESPONSE_TIMEOUT_MS = 10_000;
const RESPONSE_ATTEMPTS = 3;

/** PUTs the answer to the presigned ResponseURL: no content type (the signature covers an empty one), a timeout. */
export async function putResponse(url: string, response: CustomResourceResponse): Promise<void> {
  const body = Buffer.from(JSON.stringify(response));
  let last: unknown;
  for (let attempt = 1; attempt <= RESPONSE_ATTEMPTS; attempt++) {
    try {
      await putOnce(url, body);
      return;
    } catch (error) {
      last = error;
      logJson({ event: 'response-retry', attempt, reason: messageOf(error) });
      if (attempt < RESPONSE_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
  throw last;
}

function putOnce(url: string, body: Buffer): Promise<void> {
  const target = new URL(url);
  const send = target.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      { method: 'PUT', headers: { 'content-type': '', 'content-length': body.length }, timeout: RESPONSE_TIMEOUT_MS },
      (reply) => {
        reply.resume();
        reply.on('end', () =>
          (reply.statusCode ?? 0) >= 200 && (reply.statusCode ?? 0) < 300
            ? resolve()
            : reject(new Error(`the ResponseURL answered HTTP ${reply.statusCode}`)),
        );
        reply.on('error', reject);
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`no answer from the ResponseURL in ${RESPONSE_TIMEOUT_MS} ms`)),
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * Revokes every rule of the group, found by DescribeSecurityGroupRules and revoked by rule id. The group is looked up
 * first: a rule listing for a group that does not exist is just empty, and only a VPC's default group is emptied.
 */
export async function revokeAllRules(ec2: EC2Client, groupId: string): Promise<ClosedCounts> {
  const {
    DescribeSecurityGroupsCommand,
    DescribeSecurityGroupRulesCommand,
    RevokeSecurityGroupEgressCommand,
    RevokeSecurityGroupIngressCommand,
  } = await import('@aws-sdk/client-ec2');
  const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
  const group = described.SecurityGroups?.find((candidate) => candidate.GroupId === groupId);
  if (!group) throw new Error(`EC2 does not know security group ${groupId}`);
  if (group.GroupName !== 'default')
    throw new Error(`${groupId} is "${group.GroupName}", not a VPC's default security group: its rules are left alone`);
  const ingress: string[] = [];
  const egress: string[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'group-id', Values: [groupId] }],
        MaxResults: 1000,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    for (const rule of page.SecurityGroupRules ?? []) {
      if (!rule.SecurityGroupRuleId || rule.GroupId !== groupId) continue;
      (rule.IsEgress ? egress : ingress).push(rule.SecurityGroupRuleId);
    }
    token = page.NextToken;
  } while (token);
  // EC2 takes at most 1,000 rule ids a call; a default group holds far fewer (its quota is 60 + 60).
  for (let start = 0; start < ingress.length; start += 1000)
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        SecurityGroupRuleIds: ingress.slice(start, start + 1000),
      }),
    );
  for (let start = 0; start < egress.length; start += 1000)
    await ec2.send(
      new RevokeSecurityGroupEgressCommand({
        GroupId: groupId,
        SecurityGroupRuleIds: egress.slice(start, start + 1000),
      }),
    );
  return { ingress: ingress.length, egress: egress.length };
}

/** The part of Lambda's context object this handler reads. */
interface LambdaContext {
  getRemainingTimeInMillis?(): number;
}

/** Kept back from the invocation's time for answering CloudFormation (three PUT attempts at worst). */
const RESPONSE_RESERVE_MS = 35_000;
const DEFAULT_BUDGET_MS = 60_000;

let ec2: EC2Client | undefined;
export async function handler(event: CustomResourceEvent, context?: LambdaContext): Promise<void> {
  const remaining = context?.getRemainingTimeInMillis?.();
  const run = closeDefaultSgHandler({
    close: async (groupId) => {
      if (!ec2) {
        const { EC2Client } = await import('@aws-sdk/client-ec2');
        ec2 = new EC2Client({ maxAttempts: 3, requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 } });
      }
      return revokeAllRules(ec2, groupId);
    },
    respond: putResponse,
    log: logJson,
    budgetMs: () =>
      typeof remaining === 'number' && Number.isFinite(remaining)
        ? Math.max(1_000, remaining - RESPONSE_RESERVE_MS)
        : DEFAULT_BUDGET_MS,
  });
  await run(event);
}
