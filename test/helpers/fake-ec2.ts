import { randomUUID } from 'node:crypto';
import { startFakeEndpoint } from './fake-endpoint.js';
import { evaluate, type PolicyDocument } from './iam-policy.js';

/**
 * The EC2 security-group-rule API over its wire protocol (EC2 Query: form-encoded POST, XML answers), for the function
 * that closes a VPC's default security group: DescribeSecurityGroups (by id), DescribeSecurityGroupRules (filter
 * group-id, paginated) and
 * RevokeSecurityGroupIngress/Egress by rule id. The caller's role policies (named by its session token) are enforced:
 * the describe on "*", the revokes on the group's ARN, as IAM authorises them.
 */
export interface FakeRule {
  id: string;
  egress: boolean;
  protocol: string;
  cidr?: string;
  cidrV6?: string;
  /** Another group (the default group's own members). */
  group?: string;
}

export interface Ec2Call {
  principal: string;
  action: string;
  resource: string;
  allowed: boolean;
}

export async function startFakeEc2(
  policiesOf: (principal: string) => PolicyDocument[] | undefined,
  options: { region: string; account: string; pageSize?: number },
) {
  const groups = new Map<string, FakeRule[]>();
  /** Group names ("default" for a VPC's default group); a group without one is named after its id. */
  const names = new Map<string, string>();
  const calls: Ec2Call[] = [];
  /** Actions that never answer (to test a caller's own deadline). */
  const hanging = new Set<string>();
  const arnOf = (group: string) => `arn:aws:ec2:${options.region}:${options.account}:security-group/${group}`;

  const { endpoint, stop } = await startFakeEndpoint((request, payload, response) => {
    const form = new URLSearchParams(payload.toString('utf8'));
    const action = form.get('Action') ?? '';
    const principal = String(request.headers['x-amz-security-token'] ?? '');
    const reply = (status: number, xml: string) => {
      response.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
      response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
    };
    const fail = (status: number, code: string, message: string) =>
      reply(
        status,
        `<Response><Errors><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`,
      );
    const authorize = (resource: string) => {
      const allowed = evaluate(policiesOf(principal) ?? [], { action: `ec2:${action}`, resource }).allowed;
      calls.push({ principal, action: `ec2:${action}`, resource, allowed });
      if (!allowed)
        fail(
          403,
          'UnauthorizedOperation',
          `You are not authorized to perform this operation. User: ${principal} is not authorized to perform: ec2:${action} on resource: ${resource}`,
        );
      return allowed;
    };
    if (hanging.has(action)) return; // never answered

    if (action === 'DescribeSecurityGroups') {
      if (!authorize('*')) return;
      const ids = [...form.entries()].filter(([key]) => key.startsWith('GroupId.')).map(([, v]) => v);
      const missing = ids.find((id) => !groups.has(id));
      if (missing) return fail(400, 'InvalidGroup.NotFound', `The security group '${missing}' does not exist`);
      return reply(
        200,
        `<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomUUID()}</requestId><securityGroupInfo>${ids
          .map(
            (id) =>
              `<item><ownerId>${options.account}</ownerId><groupId>${id}</groupId><groupName>${names.get(id) ?? id}</groupName><groupDescription>fake</groupDescription><vpcId>vpc-0fake</vpcId></item>`,
          )
          .join('')}</securityGroupInfo></DescribeSecurityGroupsResponse>`,
      );
    }
    if (action === 'DescribeSecurityGroupRules') {
      if (!authorize('*')) return;
      const filtered = form.get('Filter.1.Name') === 'group-id' ? form.get('Filter.1.Value.1') : undefined;
      const all = [...groups.entries()]
        .filter(([group]) => filtered === undefined || filtered === group)
        .flatMap(([group, rules]) => rules.map((rule) => ({ group, rule })));
      const start = Number(form.get('NextToken') ?? 0);
      const size = Math.min(Number(form.get('MaxResults') ?? 1000), options.pageSize ?? 1000);
      const page = all.slice(start, start + size);
      const next = start + size < all.length ? `<nextToken>${start + size}</nextToken>` : '';
      return reply(
        200,
        `<DescribeSecurityGroupRulesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomUUID()}</requestId><securityGroupRuleSet>${page
          .map(({ group, rule }) => ruleXml(group, rule, options.account))
          .join('')}</securityGroupRuleSet>${next}</DescribeSecurityGroupRulesResponse>`,
      );
    }
    if (action === 'RevokeSecurityGroupIngress' || action === 'RevokeSecurityGroupEgress') {
      const group = form.get('GroupId') ?? '';
      if (!authorize(arnOf(group))) return;
      const rules = groups.get(group);
      if (!rules) return fail(400, 'InvalidGroup.NotFound', `The security group '${group}' does not exist`);
      const ids = [...form.entries()].filter(([key]) => key.startsWith('SecurityGroupRuleId.')).map(([, v]) => v);
      const egress = action === 'RevokeSecurityGroupEgress';
      const unknown = ids.filter((id) => !rules.some((rule) => rule.id === id && rule.egress === egress));
      if (unknown.length > 0)
        return fail(
          400,
          'InvalidSecurityGroupRuleId.NotFound',
          `The security group rule ID '${unknown[0]}' does not exist`,
        );
      groups.set(
        group,
        rules.filter((rule) => !ids.includes(rule.id)),
      );
      return reply(
        200,
        `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomUUID()}</requestId><return>true</return></${action}Response>`,
      );
    }
    fail(400, 'InvalidAction', `${action} is not modelled by the fake EC2`);
  });
  return {
    endpoint,
    groups,
    names,
    calls,
    hanging,
    arnOf,
    /** A group as EC2 creates a VPC's default one: members talk to each other, all egress (IPv4) allowed. */
    addDefaultGroup(group: string, extra: FakeRule[] = []): void {
      names.set(group, 'default');
      groups.set(group, [
        { id: `sgr-${randomHex()}`, egress: false, protocol: '-1', group },
        { id: `sgr-${randomHex()}`, egress: true, protocol: '-1', cidr: '0.0.0.0/0' },
        ...extra,
      ]);
    },
    stop,
  };
}

export const randomHex = () => randomUUID().replace(/-/g, '').slice(0, 17);

function ruleXml(group: string, rule: FakeRule, account: string): string {
  const port = rule.protocol === '-1' ? -1 : 22;
  return `<item><securityGroupRuleId>${rule.id}</securityGroupRuleId><groupId>${group}</groupId><groupOwnerId>${account}</groupOwnerId><isEgress>${rule.egress}</isEgress><ipProtocol>${rule.protocol}</ipProtocol><fromPort>${port}</fromPort><toPort>${port}</toPort>${
    rule.cidr ? `<cidrIpv4>${rule.cidr}</cidrIpv4>` : ''
  }${rule.cidrV6 ? `<cidrIpv6>${rule.cidrV6}</cidrIpv6>` : ''}${
    rule.group
      ? `<referencedGroupInfo><groupId>${rule.group}</groupId><userId>${account}</userId></referencedGroupInfo>`
      : ''
  }<tagSet/></item>`;
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
