import { getAtt, type Intrinsic, ref, sub, type TemplateBuilder } from './cfn.js';
import { FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME } from './client-pipeline.js';
import { functionRoleProperties } from './function-role.js';
import type { Suppression } from './security-rules.js';

/** Log group of the function that closes the default security group (the environment key encrypts it). */
export function defaultSgLogGroupName(project: string, env: string): string {
  return `/sftpctl/${project}/${env}/close-default-sg`;
}

/** Seconds CloudFormation waits for the function's answer before failing the resource (its default is an hour). */
export const DEFAULT_SG_SERVICE_TIMEOUT = 300;
const FUNCTION_TIMEOUT = 120;

export interface DefaultSgOptions {
  project: string;
  env: string;
  partition: string;
  logRetentionDays: number;
  /** The environment key (assets stack): encrypts the function's log group. */
  keyArn: Intrinsic;
  /** Where the close-default-sg bundle is. */
  code: { bucket: Intrinsic; key: Intrinsic };
  /** Logical id of the VPC whose default security group is closed. */
  vpc: string;
}

/**
 * EC2 gives every VPC a default security group that lets its members talk to each other and reach anywhere, and
 * CloudFormation cannot edit it. A custom resource (src/lambda/close-default-sg.ts) revokes every rule it has on
 * create and on every update, so nothing attached to it by default gets a path in or out. Its role may revoke rules
 * of that one group only, and read groups and rules (EC2 offers no resource scope for those reads).
 */
export function addClosedDefaultSecurityGroup(builder: TemplateBuilder, options: DefaultSgOptions): string {
  const groupId = getAtt(options.vpc, 'DefaultSecurityGroup');
  const groupArn = sub(
    `arn:${options.partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:security-group/\${${options.vpc}.DefaultSecurityGroup}`,
  );
  const logGroup = builder.add('CloseDefaultSgLogGroup', {
    Type: 'AWS::Logs::LogGroup',
    Properties: {
      LogGroupName: defaultSgLogGroupName(options.project, options.env),
      RetentionInDays: options.logRetentionDays,
      KmsKeyId: options.keyArn,
    },
  });
  const role = builder.add('CloseDefaultSgRole', {
    Type: 'AWS::IAM::Role',
    Properties: functionRoleProperties({
      description: `sftpctl ${options.project} ${options.env}: closes the VPC's default security group`,
      policyName: 'close-default-sg',
      logGroup,
      statements: [
        {
          Sid: 'RevokeDefaultGroupRules',
          Effect: 'Allow',
          Action: ['ec2:RevokeSecurityGroupEgress', 'ec2:RevokeSecurityGroupIngress'],
          Resource: [groupArn],
        },
        {
          Sid: 'ReadGroupRules',
          Effect: 'Allow',
          Action: ['ec2:DescribeSecurityGroupRules', 'ec2:DescribeSecurityGroups'],
          Resource: ['*'],
        },
      ],
    }),
  });
  const fn = builder.add('CloseDefaultSgFunction', {
    Type: 'AWS::Lambda::Function',
    Properties: {
      Description: `sftpctl ${options.project} ${options.env}: revokes every rule of the VPC's default security group`,
      Runtime: FUNCTION_RUNTIME,
      Architectures: [FUNCTION_ARCHITECTURE],
      Handler: 'close-default-sg.handler',
      Code: { S3Bucket: options.code.bucket, S3Key: options.code.key },
      MemorySize: 256,
      Timeout: FUNCTION_TIMEOUT,
      Role: getAtt(role, 'Arn'),
      LoggingConfig: { LogGroup: ref(logGroup), LogFormat: 'JSON' },
    },
  });
  return builder.add('DefaultSecurityGroupClosed', {
    Type: 'AWS::CloudFormation::CustomResource',
    Properties: {
      ServiceToken: getAtt(fn, 'Arn'),
      ServiceTimeout: DEFAULT_SG_SERVICE_TIMEOUT,
      GroupId: groupId,
    },
  });
}

/** What the security rules would flag on this function, with why it is right here. */
export const DEFAULT_SG_SUPPRESSIONS: readonly Suppression[] = [
  {
    rule: 'IAM_NO_WILDCARD_RESOURCES',
    resourceType: 'AWS::IAM::Role',
    logicalId: 'CloseDefaultSgRole',
    stackKinds: ['network'],
    reason:
      'ec2:DescribeSecurityGroups and ec2:DescribeSecurityGroupRules are reads that IAM authorises on Resource "*" only; the revoke actions, the only writes, are scoped to the ARN of the VPC default security group.',
  },
  {
    rule: 'LAMBDA_DLQ',
    resourceType: 'AWS::Lambda::Function',
    logicalId: 'CloseDefaultSgFunction',
    stackKinds: ['network'],
    reason:
      'Invoked only by CloudFormation for its custom resource: the function answers every request (FAILED with the reason on any error or timeout), and an unanswered one fails the stack after ServiceTimeout; a dead-letter queue would hold nothing anyone acts on.',
  },
  {
    rule: 'LAMBDA_IN_VPC',
    resourceType: 'AWS::Lambda::Function',
    logicalId: 'CloseDefaultSgFunction',
    stackKinds: ['network'],
    reason:
      'It calls only the EC2 API and the CloudFormation response URL (S3); the VPC has no NAT gateway or endpoints to reach them, and the function runs once per deploy of the network stack.',
  },
  {
    rule: 'LAMBDA_CONCURRENCY',
    resourceType: 'AWS::Lambda::Function',
    logicalId: 'CloseDefaultSgFunction',
    stackKinds: ['network'],
    reason:
      'It runs once per create or update of the network stack; reserving concurrency would take from the account pool for nothing.',
  },
];
