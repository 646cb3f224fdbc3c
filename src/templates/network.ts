import { parseCidr, splitCidr } from '../core/config/cidr.js';
import {
  type AllowedSource,
  allowedSources,
  type SecurityGroupPlan,
  SFTP_PORT,
  securityGroupPlan,
} from '../core/config/security-group.js';
import { FLOW_LOG_PREFIX } from './assets.js';
import { getAtt, getAZs, join, type Resource, ref, select, sub, TemplateBuilder } from './cfn.js';
import { type EnvContext, OUTPUTS } from './context.js';
import { addClosedDefaultSecurityGroup } from './default-security-group.js';

export { SFTP_PORT } from '../core/config/security-group.js';

const AZ_LETTERS = ['A', 'B', 'C'] as const;
const MAX_DESCRIPTION = 255;

/** One security group rule: a CIDR and the clients that asked for it (two clients may share an address). */
export type IngressRule = AllowedSource;

/** The union allow-list of the environment (see allowedSources). */
export function ingressRules(ctx: EnvContext): IngressRule[] {
  return allowedSources(ctx.config, ctx.env.name);
}

/** "SFTP from a, b" within the 255 characters EC2 allows, naming as many clients as fit. */
export function ruleDescription(clients: readonly string[], purpose = 'SFTP'): string {
  const prefix = `${purpose} from `;
  let text = prefix + clients.join(', ');
  if (text.length <= MAX_DESCRIPTION) return text;
  for (let shown = clients.length - 1; shown >= 1; shown--) {
    text = `${prefix}${clients.slice(0, shown).join(', ')} and ${clients.length - shown} more`;
    if (text.length <= MAX_DESCRIPTION) return text;
  }
  return `${prefix}${clients.length} clients`;
}

/**
 * VPC with one public subnet per AZ (2-3), an internet gateway and its route, one Elastic IP per subnet (the
 * addresses partners allow-list), the security group holding every client's CIDRs on tcp/22, a flow log, and the
 * VPC's default security group closed (src/templates/default-security-group.ts).
 */
export function renderNetwork(ctx: EnvContext): TemplateBuilder {
  const { project, env, partition } = ctx;
  const builder = new TemplateBuilder(
    `sftpctl ${project} ${env.name}: VPC, ${env.vpc.azCount} public subnets, Elastic IPs and the SFTP allow-list`,
  );
  const logBucket = builder.parameter(
    'AccessLogBucketName',
    { Type: 'String', Description: 'Bucket receiving the VPC flow log (assets stack output)', MinLength: 3 },
    { from: 'output', stack: ctx.stacks.assets, output: OUTPUTS.assets.accessLogBucket },
  );

  const parsed = parseCidr(env.vpc.cidr);
  if (!parsed.ok) throw new Error(`environment ${env.name}: VPC CIDR ${env.vpc.cidr} ${parsed.reason}`);
  const subnets = splitCidr(parsed.cidr, env.vpc.azCount);

  builder.add('Vpc', {
    Type: 'AWS::EC2::VPC',
    Properties: { CidrBlock: parsed.cidr.text, EnableDnsHostnames: true, EnableDnsSupport: true },
  });
  addClosedDefaultSecurityGroup(builder, {
    project,
    env: env.name,
    partition,
    logRetentionDays: env.logRetentionDays,
    vpc: 'Vpc',
    keyArn: builder.parameter(
      'PlatformKeyArn',
      { Type: 'String', Description: 'Environment KMS key that encrypts the function log group', MinLength: 20 },
      { from: 'output', stack: ctx.stacks.assets, output: OUTPUTS.assets.platformKeyArn },
    ),
    code: {
      bucket: builder.parameter(
        'CodeBucket',
        { Type: 'String', Description: 'Bucket holding the function bundles (assets stack output)', MinLength: 3 },
        { from: 'output', stack: ctx.stacks.assets, output: OUTPUTS.assets.assetsBucket },
      ),
      key: builder.parameter(
        'CloseDefaultSgCodeKey',
        { Type: 'String', Description: 'S3 key of the close-default-sg function bundle', MinLength: 1 },
        { from: 'artifact', artifact: 'close-default-sg-function' },
      ),
    },
  });
  builder.add('InternetGateway', { Type: 'AWS::EC2::InternetGateway' });
  builder.add('GatewayAttachment', {
    Type: 'AWS::EC2::VPCGatewayAttachment',
    Properties: { VpcId: ref('Vpc'), InternetGatewayId: ref('InternetGateway') },
  });
  builder.add('PublicRouteTable', { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: ref('Vpc') } });
  builder.add('DefaultRoute', {
    Type: 'AWS::EC2::Route',
    DependsOn: ['GatewayAttachment'],
    Properties: {
      RouteTableId: ref('PublicRouteTable'),
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: ref('InternetGateway'),
    },
  });
  builder.add('FlowLog', {
    Type: 'AWS::EC2::FlowLog',
    Properties: {
      ResourceType: 'VPC',
      ResourceId: ref('Vpc'),
      TrafficType: 'ALL',
      LogDestinationType: 's3',
      LogDestination: sub(`arn:${partition}:s3:::\${AccessLogBucketName}/${FLOW_LOG_PREFIX}`, {
        AccessLogBucketName: logBucket,
      }),
    },
  });

  const subnetIds: string[] = [];
  const eipIds: string[] = [];
  subnets.forEach((subnet, index) => {
    const letter = AZ_LETTERS[index];
    if (letter === undefined) throw new Error(`at most ${AZ_LETTERS.length} AZs are supported`);
    subnetIds.push(
      builder.add(`Subnet${letter}`, {
        Type: 'AWS::EC2::Subnet',
        Properties: {
          VpcId: ref('Vpc'),
          CidrBlock: subnet.text,
          AvailabilityZone: select(index, getAZs()),
          MapPublicIpOnLaunch: false,
        },
      }),
    );
    builder.add(`Subnet${letter}RouteTableAssociation`, {
      Type: 'AWS::EC2::SubnetRouteTableAssociation',
      Properties: { SubnetId: ref(`Subnet${letter}`), RouteTableId: ref('PublicRouteTable') },
    });
    // Partners allow-list these addresses: a protected environment keeps them even if the stack goes.
    const eip: Resource = { Type: 'AWS::EC2::EIP', DependsOn: ['GatewayAttachment'], Properties: { Domain: 'vpc' } };
    if (env.protected) Object.assign(eip, { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    eipIds.push(builder.add(`Eip${letter}`, eip));
  });

  const plan = securityGroupPlan(ctx.config, env.name);
  builder.add('SftpSecurityGroup', {
    Type: 'AWS::EC2::SecurityGroup',
    Properties: {
      // GroupDescription is create-only: a new text would replace the group under the running endpoint. It stays the
      // same in every mode; each rule's own description says what it admits.
      GroupDescription: `sftpctl ${project} ${env.name}: SFTP (tcp/${SFTP_PORT}) from allow-listed client addresses`,
      VpcId: ref('Vpc'),
      SecurityGroupIngress: securityGroupIngress(plan),
      // The endpoint only answers connections (stateful): an explicit egress rule that matches nothing
      // replaces EC2's default allow-all.
      SecurityGroupEgress: [
        {
          IpProtocol: 'icmp',
          FromPort: 252,
          ToPort: 86,
          CidrIp: '255.255.255.255/32',
          Description: 'Disallow all traffic',
        },
      ],
    },
  });

  builder.output(OUTPUTS.network.vpcId, 'VPC of the Transfer endpoint', ref('Vpc'));
  builder.output(OUTPUTS.network.subnetIds, 'Public subnets, one per AZ', join(',', subnetIds.map(ref)));
  builder.output(
    OUTPUTS.network.addressAllocationIds,
    'Elastic IP allocations, one per subnet',
    join(
      ',',
      eipIds.map((id) => getAtt(id, 'AllocationId')),
    ),
  );
  builder.output(OUTPUTS.network.publicIps, 'Public IPs partners allow-list', join(',', eipIds.map(ref)));
  builder.output(
    OUTPUTS.network.securityGroupId,
    'Security group of the endpoint',
    getAtt('SftpSecurityGroup', 'GroupId'),
  );
  return builder;
}

/**
 * The inbound rules: per served port, one rule per allowed CIDR (union) or one 0.0.0.0/0 rule (open). Service-managed
 * environments serve SFTP only, so their rules are what they always were.
 */
function securityGroupIngress(plan: SecurityGroupPlan) {
  return plan.ports.flatMap((port) => {
    const rule = (cidr: string, description: string) => ({
      IpProtocol: 'tcp',
      FromPort: port.from,
      ToPort: port.to,
      CidrIp: cidr,
      Description: description,
    });
    if (plan.mode === 'open')
      return [
        rule('0.0.0.0/0', `${port.purpose} from any address: the identity function enforces each client's CIDRs`),
      ];
    return plan.sources.map((source) => rule(source.cidr, ruleDescription(source.clients, port.purpose)));
  });
}
