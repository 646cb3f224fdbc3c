import { environmentBucketName, identityTableName, platformKeyAlias } from '../core/config/naming.js';
import type { Config } from '../core/config/schema.js';
import { SftpctlError } from '../core/errors.js';
import { partitionOf } from '../templates/cfn.js';
import { synthesize } from '../templates/synthesize.js';
import { RESOURCE_HANDLER_PERMISSIONS } from './resource-permissions.js';

/**
 * The IAM policy `sftpctl deploy` needs for one environment, derived from two facts: the SDK commands the deploy
 * engine sends (ENGINE_CALLS, kept complete by test/deploy/deploy-policy.test.ts, which scans the engine's source)
 * and the resource types of the environment's synthesized templates × the permissions CloudFormation's handlers
 * need for them (resource-permissions.ts). Resources are scoped to the project/environment names where IAM can
 * scope the action; the rest (EC2 networking, Transfer servers, KMS key creation, listings) are on "*".
 *
 * Without --role-arn the caller needs both parts; with --role-arn the caller needs the engine's part plus
 * iam:PassRole on that role, and the service role needs the handlers' part.
 */

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** Every SDK command the deploy engine sends (src/deploy, src/aws, src/workflows), and the IAM actions it needs. */
export const ENGINE_CALLS: Readonly<Record<string, readonly string[]>> = {
  // CloudFormation reads a TemplateURL (templates over 51,200 bytes, in the assets bucket) with the caller's rights.
  CreateChangeSetCommand: ['cloudformation:CreateChangeSet', 's3:GetObject'],
  DescribeChangeSetCommand: ['cloudformation:DescribeChangeSet'],
  ExecuteChangeSetCommand: ['cloudformation:ExecuteChangeSet'],
  DeleteChangeSetCommand: ['cloudformation:DeleteChangeSet'],
  DescribeStacksCommand: ['cloudformation:DescribeStacks'],
  DescribeStackEventsCommand: ['cloudformation:DescribeStackEvents'],
  DeleteStackCommand: ['cloudformation:DeleteStack'],
  UpdateTerminationProtectionCommand: ['cloudformation:UpdateTerminationProtection'],
  // STS answers GetCallerIdentity for any credentials: no permission exists for it.
  GetCallerIdentityCommand: [],
  // The assets bucket is SSE-KMS with the environment key: writing needs a data key, reading the checksum decrypts.
  HeadObjectCommand: ['s3:GetObject', 'kms:Decrypt'],
  PutObjectCommand: ['s3:PutObject', 'kms:GenerateDataKey'],
  DescribeUserCommand: ['transfer:DescribeUser'],
  ImportSshPublicKeyCommand: ['transfer:ImportSshPublicKey'],
  DeleteSshPublicKeyCommand: ['transfer:DeleteSshPublicKey'],
  // Lambda identity mode: deploy reads the user roles' physical names and reconciles the user table (KMS-encrypted
  // with the environment key: DynamoDB decrypts the table key with the caller's rights).
  DescribeStackResourcesCommand: ['cloudformation:DescribeStackResources'],
  // An identity-mode change: the deployed server stack's template, to deploy it without its server first.
  GetTemplateCommand: ['cloudformation:GetTemplate'],
  ScanCommand: ['dynamodb:Scan', 'kms:Decrypt'],
  GetItemCommand: ['dynamodb:GetItem', 'kms:Decrypt'],
  BatchWriteItemCommand: ['dynamodb:BatchWriteItem', 'kms:Decrypt', 'kms:GenerateDataKey'],
  UpdateItemCommand: ['dynamodb:UpdateItem', 'kms:Decrypt', 'kms:GenerateDataKey'],
  // Sent only on the identity function's login path (a FTPS user's password hash), which shares the store module.
  GetSecretValueCommand: [],
};

/** What each side of a deploy needs. */
export type PolicyFor = 'caller' | 'service-role';

export interface DeployPolicyRequest {
  config: Config;
  env: string;
  /** The CloudFormation service role (--role-arn): the caller then needs only the engine's part and iam:PassRole. */
  roleArn?: string;
  for?: PolicyFor;
}

export function deployPolicy(request: DeployPolicyRequest): PolicyDocument {
  const { config, env } = request;
  const environment = config.environments[env];
  if (!environment) throw new Error(`no environment ${env}`);
  const scope: Scope = {
    partition: partitionOf(environment.region),
    region: environment.region,
    account: environment.account ?? '*',
    prefix: `${config.project}-${env}-`,
    logPrefix: `/sftpctl/${config.project}/${env}/`,
    secretPrefix: `/${config.project}/${env}/`,
    project: config.project,
    env,
  };
  const which = request.for ?? 'caller';
  if (which === 'service-role' && !request.roleArn)
    throw new SftpctlError(
      'INVALID_FLAG',
      '--print-policy service-role: there is no service role without --role-arn.',
      'Add --role-arn with the role CloudFormation should use, or print the caller policy (--print-policy).',
      { kind: 'usage' },
    );
  const statements: PolicyStatement[] = [];
  if (which === 'caller') {
    statements.push(...engineStatements(scope));
    if (request.roleArn)
      statements.push({
        Sid: 'PassServiceRoleToCloudFormation',
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: [request.roleArn],
        Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      });
  }
  if (which === 'service-role' || !request.roleArn)
    statements.push(...handlerStatements(scope, resourceTypes(config, env)));
  return { Version: '2012-10-17', Statement: statements };
}

/** Every resource type the environment's templates declare, in name order. */
export function resourceTypes(config: Config, env: string): string[] {
  const types = new Set<string>();
  for (const stack of synthesize(config, env, { format: 'json' }).stacks)
    for (const resource of Object.values(stack.template.Resources)) types.add(resource.Type);
  return [...types].sort();
}

interface Scope {
  partition: string;
  region: string;
  account: string;
  /** `<project>-<env>-`: every stack, bucket, and every name CloudFormation generates from a stack name. */
  prefix: string;
  logPrefix: string;
  secretPrefix: string;
  project: string;
  env: string;
}

function engineStatements(s: Scope): PolicyStatement[] {
  const assets = environmentBucketName(s.project, s.env, 'assets');
  const actions = new Set(Object.values(ENGINE_CALLS).flat());
  const of = (service: string) => [...actions].filter((action) => action.startsWith(`${service}:`)).sort();
  return [
    {
      Sid: 'DeployStacksOfThisEnvironment',
      Effect: 'Allow',
      Action: of('cloudformation'),
      Resource: [`arn:${s.partition}:cloudformation:${s.region}:${s.account}:stack/${s.prefix}*/*`],
    },
    {
      Sid: 'UploadBundlesAndTemplatesToAssetsBucket',
      Effect: 'Allow',
      Action: of('s3'),
      Resource: [`arn:${s.partition}:s3:::${assets}/functions/*`, `arn:${s.partition}:s3:::${assets}/templates/*`],
    },
    {
      Sid: 'UseEnvironmentKeyThroughS3AndDynamoDB',
      Effect: 'Allow',
      Action: of('kms'),
      Resource: [`arn:${s.partition}:kms:${s.region}:${s.account}:key/*`],
      Condition: {
        StringEquals: { 'kms:ViaService': [`s3.${s.region}.amazonaws.com`, `dynamodb.${s.region}.amazonaws.com`] },
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': platformKeyAlias(s.project, s.env) },
      },
    },
    {
      Sid: 'ReconcileUserTable',
      Effect: 'Allow',
      Action: of('dynamodb'),
      Resource: [`arn:${s.partition}:dynamodb:${s.region}:${s.account}:table/${identityTableName(s.project, s.env)}`],
    },
    {
      Sid: 'ReconcileUserSshKeys',
      Effect: 'Allow',
      Action: of('transfer'),
      Resource: [`arn:${s.partition}:transfer:${s.region}:${s.account}:user/*`],
    },
  ];
}

/**
 * How IAM can scope a service's actions to this environment's resources. Actions listed in `unscoped` take no
 * resource (or none sftpctl can name before the resource exists) and go on "*".
 */
const SCOPES: Record<string, { resources: (s: Scope) => string[]; unscoped?: readonly string[] }> = {
  s3: {
    resources: (s) => [`arn:${s.partition}:s3:::${s.prefix}*`, `arn:${s.partition}:s3:::${s.prefix}*/*`],
  },
  sqs: { resources: (s) => [`arn:${s.partition}:sqs:${s.region}:${s.account}:${s.prefix}*`] },
  sns: {
    resources: (s) => [`arn:${s.partition}:sns:${s.region}:${s.account}:${s.prefix}*`],
    unscoped: ['sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes', 'sns:Unsubscribe'],
  },
  lambda: {
    resources: (s) => [`arn:${s.partition}:lambda:${s.region}:${s.account}:function:${s.prefix}*`],
    unscoped: [
      'lambda:CreateEventSourceMapping',
      'lambda:DeleteEventSourceMapping',
      'lambda:GetEventSourceMapping',
      'lambda:UpdateEventSourceMapping',
      'lambda:GetCodeSigningConfig',
      'lambda:GetLayerVersion',
    ],
  },
  iam: { resources: (s) => [`arn:${s.partition}:iam::${s.account}:role/${s.prefix}*`] },
  logs: {
    resources: (s) => [`arn:${s.partition}:logs:${s.region}:${s.account}:log-group:${s.logPrefix}*`],
    unscoped: [
      'logs:CreateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:DescribeLogGroups',
      'logs:DescribeResourcePolicies',
      'logs:GetLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:UpdateLogDelivery',
    ],
  },
  secretsmanager: {
    resources: (s) => [`arn:${s.partition}:secretsmanager:${s.region}:${s.account}:secret:${s.secretPrefix}*`],
    unscoped: ['secretsmanager:GetRandomPassword'],
  },
  events: { resources: (s) => [`arn:${s.partition}:events:${s.region}:${s.account}:rule/${s.prefix}*`] },
  cloudwatch: {
    resources: (s) => [`arn:${s.partition}:cloudwatch:${s.region}:${s.account}:alarm:${s.prefix}*`],
    unscoped: ['cloudwatch:DescribeAlarms'],
  },
};

function handlerStatements(s: Scope, types: string[]): PolicyStatement[] {
  const missing = types.filter((type) => !RESOURCE_HANDLER_PERMISSIONS[type]);
  if (missing.length > 0)
    throw new Error(`no handler permissions for ${missing.join(', ')} (src/deploy/resource-permissions.ts)`);
  const actions = new Set(
    types.flatMap((type) => {
      const handlers = RESOURCE_HANDLER_PERMISSIONS[type]!;
      return [...handlers.create, ...handlers.read, ...handlers.update, ...handlers.delete];
    }),
  );
  const byService = new Map<string, string[]>();
  for (const action of [...actions].sort()) {
    const service = action.split(':')[0]!;
    byService.set(service, [...(byService.get(service) ?? []), action]);
  }
  const statements: PolicyStatement[] = [];
  const anywhere: string[] = [];
  for (const [service, list] of byService) {
    const scope = SCOPES[service];
    if (!scope) {
      anywhere.push(...list);
      continue;
    }
    const scoped = list.filter((action) => !scope.unscoped?.includes(action));
    anywhere.push(...list.filter((action) => scope.unscoped?.includes(action)));
    if (scoped.length > 0)
      statements.push({
        Sid: `Manage${SID_NAMES[service] ?? service}OfThisEnvironment`,
        Effect: 'Allow',
        Action: scoped,
        Resource: scope.resources(s),
      });
  }
  if (anywhere.length > 0)
    statements.push({ Sid: 'ManageUnnameableResources', Effect: 'Allow', Action: anywhere.sort(), Resource: ['*'] });
  return statements;
}

const SID_NAMES: Record<string, string> = {
  s3: 'Buckets',
  sqs: 'Queues',
  sns: 'Topics',
  lambda: 'Functions',
  iam: 'Roles',
  logs: 'LogGroups',
  secretsmanager: 'Secrets',
  events: 'Rules',
  cloudwatch: 'Alarms',
};
