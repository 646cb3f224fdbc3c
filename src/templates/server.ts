import { serverLogGroupName } from '../core/config/naming.js';
import { getAtt, join, ref, sub, TemplateBuilder } from './cfn.js';
import { type EnvContext, OUTPUTS } from './context.js';

/**
 * The Transfer Family server: an internet-facing VPC endpoint (the network stack's subnets, Elastic IPs and
 * security group), SFTP only, service-managed users, an explicit security policy (CloudFormation would otherwise
 * pick TransferSecurityPolicy-2018-11) and structured JSON logs in a retained, encrypted log group.
 */
export function renderServer(ctx: EnvContext): TemplateBuilder {
  const { project, env } = ctx;
  const builder = new TemplateBuilder(`sftpctl ${project} ${env.name}: Transfer Family SFTP server`);
  const network = (name: keyof typeof OUTPUTS.network) => ({
    from: 'output' as const,
    stack: ctx.stacks.network,
    output: OUTPUTS.network[name],
  });

  const vpcId = builder.parameter(
    'VpcId',
    { Type: 'AWS::EC2::VPC::Id', Description: 'VPC of the endpoint' },
    network('vpcId'),
  );
  const subnetIds = builder.parameter(
    'SubnetIds',
    { Type: 'List<AWS::EC2::Subnet::Id>', Description: 'Public subnets, one per AZ' },
    network('subnetIds'),
  );
  const allocationIds = builder.parameter(
    'AddressAllocationIds',
    { Type: 'CommaDelimitedList', Description: 'Elastic IP allocation ids, one per subnet' },
    network('addressAllocationIds'),
  );
  const securityGroupId = builder.parameter(
    'SecurityGroupId',
    { Type: 'AWS::EC2::SecurityGroup::Id', Description: 'Security group with the SFTP allow-list' },
    network('securityGroupId'),
  );
  const publicIps = builder.parameter(
    'PublicIps',
    { Type: 'CommaDelimitedList', Description: 'Public IPs of the Elastic IPs (reported as an output)' },
    network('publicIps'),
  );
  const keyArn = builder.parameter(
    'PlatformKeyArn',
    { Type: 'String', Description: 'Environment KMS key that encrypts the server log group', MinLength: 20 },
    { from: 'output', stack: ctx.stacks.assets, output: OUTPUTS.assets.platformKeyArn },
  );

  builder.add('ServerLogGroup', {
    Type: 'AWS::Logs::LogGroup',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      LogGroupName: serverLogGroupName(project, env.name),
      RetentionInDays: env.logRetentionDays,
      KmsKeyId: keyArn,
    },
  });

  builder.add('Server', {
    Type: 'AWS::Transfer::Server',
    Properties: {
      Domain: 'S3',
      EndpointType: 'VPC',
      EndpointDetails: {
        VpcId: vpcId,
        SubnetIds: subnetIds,
        AddressAllocationIds: allocationIds,
        SecurityGroupIds: [securityGroupId],
      },
      IdentityProviderType: 'SERVICE_MANAGED',
      Protocols: env.transfer.protocols,
      SecurityPolicyName: env.transfer.securityPolicy,
      StructuredLogDestinations: [getAtt('ServerLogGroup', 'Arn')],
      // Clients that set times or modes after an upload (WinSCP, `put -p`) would fail on S3, which has neither.
      ProtocolDetails: { SetStatOption: 'ENABLE_NO_OP' },
      S3StorageOptions: { DirectoryListingOptimization: 'ENABLED' },
    },
  });

  builder.output(OUTPUTS.server.serverId, 'Transfer server id', getAtt('Server', 'ServerId'));
  builder.output(OUTPUTS.server.serverArn, 'Transfer server ARN', getAtt('Server', 'Arn'));
  builder.output(
    OUTPUTS.server.endpointHostName,
    'Host name partners connect to',
    sub(`\${ServerId}.server.transfer.\${AWS::Region}.\${AWS::URLSuffix}`, { ServerId: getAtt('Server', 'ServerId') }),
  );
  builder.output(
    OUTPUTS.server.publicIps,
    'Public IPs of the endpoint (allow-list these at the partner)',
    join(',', publicIps),
  );
  builder.output(OUTPUTS.server.logGroup, 'Structured log group of the server', ref('ServerLogGroup'));
  return builder;
}
