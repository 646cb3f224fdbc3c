import { serverLogGroupName } from '../core/config/naming.js';
import { getAtt, join, ref, sub, TemplateBuilder } from './cfn.js';
import { type EnvContext, OUTPUTS } from './context.js';
import { addIdentityProvider } from './identity.js';

/** FTPS settings (lambda mode only). */
export const FTPS_PROTOCOL_DETAILS = {
  // The internet-facing VPC endpoint answers PASV with one of its own (Elastic) addresses: no NAT or load balancer
  // sits in front of it, so Transfer's automatic choice is the right one.
  PassiveIp: 'AUTO',
  // A data connection must resume the control connection's TLS session: nobody else can inject a data channel.
  TlsSessionResumptionMode: 'ENFORCED',
} as const;

/**
 * The Transfer Family server: an internet-facing VPC endpoint (the network stack's subnets, Elastic IPs and
 * security group), an explicit security policy (CloudFormation would otherwise pick TransferSecurityPolicy-2018-11)
 * and structured JSON logs in a retained, encrypted log group. `service-managed` mode: SFTP with Transfer's own users
 * (the client stacks). `lambda` mode: the identity function and its user table (identity.ts) decide every login,
 * and FTPS may be served beside SFTP with the configured ACM certificate.
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

  const lambdaMode = env.identity.mode === 'lambda';
  let identityProvider: Record<string, unknown> = { IdentityProviderType: 'SERVICE_MANAGED' };
  if (lambdaMode) {
    const assets = (name: keyof typeof OUTPUTS.assets) => ({
      from: 'output' as const,
      stack: ctx.stacks.assets,
      output: OUTPUTS.assets[name],
    });
    const provider = addIdentityProvider(builder, ctx, {
      keyArn,
      code: {
        bucket: builder.parameter(
          'CodeBucket',
          { Type: 'String', Description: 'Bucket holding the function bundles (assets stack output)', MinLength: 3 },
          assets('assetsBucket'),
        ),
        key: builder.parameter(
          'IdentityCodeKey',
          { Type: 'String', Description: 'S3 key of the identity function bundle', MinLength: 1 },
          { from: 'artifact', artifact: 'identity-function' },
        ),
      },
      alarmTopic: builder.parameter(
        'AlarmTopicArn',
        { Type: 'String', Description: 'SNS topic every alarm notifies (assets stack output)', MinLength: 20 },
        assets('alarmTopicArn'),
      ),
    });
    builder.add('IdentityInvokePermission', {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt(provider.fn, 'Arn'),
        Principal: 'transfer.amazonaws.com',
        SourceAccount: ref('AWS::AccountId'),
        SourceArn: getAtt('Server', 'Arn'),
      },
    });
    identityProvider = {
      IdentityProviderType: 'AWS_LAMBDA',
      // SFTP users log in with keys only; FTPS users with their password (FTPS has no keys).
      IdentityProviderDetails: { Function: getAtt(provider.fn, 'Arn'), SftpAuthenticationMethods: 'PUBLIC_KEY' },
    };
    builder.output(OUTPUTS.server.identityTable, 'DynamoDB table of the users (deploy writes it)', ref(provider.table));
    builder.output(OUTPUTS.server.identityFunction, 'Identity function Transfer asks at every login', ref(provider.fn));
  }
  const ftps = env.transfer.protocols.includes('FTPS');

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
      ...identityProvider,
      Protocols: env.transfer.protocols,
      ...(ftps && env.transfer.certificate ? { Certificate: env.transfer.certificate } : {}),
      SecurityPolicyName: env.transfer.securityPolicy,
      StructuredLogDestinations: [getAtt('ServerLogGroup', 'Arn')],
      // Clients that set times or modes after an upload (WinSCP, `put -p`) would fail on S3, which has neither.
      ProtocolDetails: { SetStatOption: 'ENABLE_NO_OP', ...(ftps ? FTPS_PROTOCOL_DETAILS : {}) },
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
