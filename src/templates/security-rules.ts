import { clientsInEnvironment } from '../core/config/resolve.js';
import { type Config, LEGACY_SECURITY_POLICIES } from '../core/config/schema.js';
import { FTPS_PASSIVE_PORTS, securityGroupPlan } from '../core/config/security-group.js';
import type { Resource, StackKind, Template } from './cfn.js';
import { DEFAULT_SG_SUPPRESSIONS } from './default-security-group.js';

/**
 * The security rule set `sftpctl synth` reports and `--strict` fails on: the cfn-nag, checkov and cfn-guard
 * (AWS Guard Rules Registry) rules that apply to the resources sftpctl creates, re-implemented over the template
 * objects (no Ruby/Python/Rust tools needed), plus a few of our own. docs/security-rules.md is the table.
 *
 * A rule may be suppressed only here, with a written reason; a suppressed finding is still reported (as
 * suppressed), and the resource gets the matching cfn_nag / checkov / cfn-guard metadata so those tools, run on
 * the synthesized templates, agree.
 */

export interface UpstreamIds {
  cfnNag?: readonly string[];
  checkov?: readonly string[];
  guard?: readonly string[];
}

export interface SecurityRule {
  id: string;
  title: string;
  /** `error` for what upstream tools call a failure (cfn-nag F*), `warning` otherwise. */
  level: 'error' | 'warning';
  resourceTypes: readonly string[];
  /** Upstream rule ids that check the same thing on CloudFormation templates. */
  upstream: UpstreamIds;
  /** Upstream checks for Terraform only (no CloudFormation check exists): named in the docs, not in metadata. */
  terraformOnly?: readonly string[];
  /** Messages describing each violation on this resource; empty when it complies. */
  check(resource: Resource, logicalId: string, template: Template): string[];
}

export interface SecurityFinding {
  rule: string;
  level: 'error' | 'warning';
  resource: string;
  type: string;
  message: string;
  /** The written reason, when this finding is suppressed. */
  suppressed?: string;
}

export interface Suppression {
  rule: string;
  resourceType: string;
  /** Only this resource; every resource of the type when omitted. */
  logicalId?: string;
  stackKinds?: readonly StackKind[];
  reason: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers over template values

type Json = Record<string, unknown>;

const props = (resource: Resource): Json => (resource.Properties ?? {}) as Json;
const asArray = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const obj = (value: unknown): Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};

/** The logical id a `Ref` or `Fn::GetAtt` points at. */
export function targetOf(value: unknown): string | undefined {
  const o = obj(value);
  if (typeof o.Ref === 'string') return o.Ref;
  const getAtt = o['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

function resourceOf(template: Template, value: unknown, type?: string): [string, Resource] | undefined {
  const id = targetOf(value);
  const resource = id === undefined ? undefined : template.Resources[id];
  if (id === undefined || resource === undefined || (type !== undefined && resource.Type !== type)) return undefined;
  return [id, resource];
}

interface Statement {
  Effect?: unknown;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: unknown;
  Sid?: unknown;
}

function statements(document: unknown): Statement[] {
  return asArray(obj(document).Statement).map((statement) => obj(statement) as Statement);
}

const allows = (statement: Statement) => statement.Effect === 'Allow';
const name = (statement: Statement, index: number) =>
  typeof statement.Sid === 'string' ? `statement ${statement.Sid}` : `statement ${index + 1}`;

/** True when a principal is everyone (`"*"` or `{ AWS: "*" }`). */
function isAnyone(principal: unknown): boolean {
  if (principal === '*') return true;
  return asArray(obj(principal).AWS).includes('*');
}

function actions(statement: Statement): string[] {
  return asArray(statement.Action).filter((action): action is string => typeof action === 'string');
}

function hasCondition(statement: Statement, key: string): boolean {
  return Object.values(obj(statement.Condition)).some((operator) => key in obj(operator));
}

/** The inline and attached policy documents of an IAM resource (not its trust policy). */
function permissionDocuments(resource: Resource): unknown[] {
  const p = props(resource);
  if (resource.Type === 'AWS::IAM::Role') return asArray(p.Policies).map((policy) => obj(policy).PolicyDocument);
  return [p.PolicyDocument];
}

function policyStatements(resource: Resource): Statement[] {
  return permissionDocuments(resource).flatMap(statements);
}

const IAM_TYPES = ['AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'] as const;

function bucketRules(resource: Resource): Json[] {
  return asArray(obj(props(resource).BucketEncryption).ServerSideEncryptionConfiguration).map(obj);
}

function securityGroupIngress(resource: Resource): Json[] {
  if (resource.Type === 'AWS::EC2::SecurityGroupIngress') return [props(resource)];
  return asArray(props(resource).SecurityGroupIngress).map(obj);
}

function securityGroupEgress(resource: Resource): Json[] {
  if (resource.Type === 'AWS::EC2::SecurityGroupEgress') return [props(resource)];
  return asArray(props(resource).SecurityGroupEgress).map(obj);
}

const describeRule = (rule: Json) =>
  `${String(rule.IpProtocol)}/${String(rule.FromPort ?? '*')} from ${String(rule.CidrIp ?? rule.CidrIpv6 ?? rule.SourceSecurityGroupId ?? '?')}`;

function publicAccessRule(id: string, flag: string, checkov: string): SecurityRule {
  return {
    id,
    title: `S3 bucket public access block sets ${flag}`,
    level: 'error',
    resourceTypes: ['AWS::S3::Bucket'],
    upstream: { checkov: [checkov], guard: ['S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED'] },
    check: (resource) =>
      obj(props(resource).PublicAccessBlockConfiguration)[flag] === true
        ? []
        : [`PublicAccessBlockConfiguration.${flag} is not true`],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The rules

export const SECURITY_RULES: readonly SecurityRule[] = [
  // S3 ------------------------------------------------------------------------------------------------------------
  {
    id: 'S3_ENCRYPTION',
    title: 'S3 bucket has default server-side encryption',
    level: 'error',
    resourceTypes: ['AWS::S3::Bucket'],
    upstream: { cfnNag: ['W41'], checkov: ['CKV_AWS_19'], guard: ['S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED'] },
    check: (resource) =>
      bucketRules(resource).some((rule) => typeof obj(rule.ServerSideEncryptionByDefault).SSEAlgorithm === 'string')
        ? []
        : ['no BucketEncryption default (SSEAlgorithm)'],
  },
  {
    id: 'S3_ENCRYPTION_KMS',
    title: 'S3 bucket encrypts with a customer managed KMS key and a bucket key',
    level: 'warning',
    resourceTypes: ['AWS::S3::Bucket'],
    upstream: { guard: ['S3_DEFAULT_ENCRYPTION_KMS'] },
    terraformOnly: ['CKV_AWS_145'],
    check: (resource) => {
      const rules = bucketRules(resource);
      const kms = rules.find((rule) =>
        String(obj(rule.ServerSideEncryptionByDefault).SSEAlgorithm).startsWith('aws:kms'),
      );
      if (!kms) return ['default encryption is not SSE-KMS'];
      if (obj(kms.ServerSideEncryptionByDefault).KMSMasterKeyID === undefined)
        return ['SSE-KMS without KMSMasterKeyID uses the AWS managed key'];
      if (kms.BucketKeyEnabled !== true) return ['SSE-KMS without BucketKeyEnabled: one KMS request per object'];
      return [];
    },
  },
  publicAccessRule('S3_BLOCK_PUBLIC_ACLS', 'BlockPublicAcls', 'CKV_AWS_53'),
  publicAccessRule('S3_BLOCK_PUBLIC_POLICY', 'BlockPublicPolicy', 'CKV_AWS_54'),
  publicAccessRule('S3_IGNORE_PUBLIC_ACLS', 'IgnorePublicAcls', 'CKV_AWS_55'),
  publicAccessRule('S3_RESTRICT_PUBLIC_BUCKETS', 'RestrictPublicBuckets', 'CKV_AWS_56'),
  {
    id: 'S3_ACLS_DISABLED',
    title: 'S3 bucket disables ACLs (BucketOwnerEnforced) and grants no canned ACL',
    level: 'error',
    resourceTypes: ['AWS::S3::Bucket'],
    upstream: {
      cfnNag: ['W31', 'F14'],
      checkov: ['CKV_AWS_20', 'CKV_AWS_57'],
      guard: [
        'S3_BUCKET_PUBLIC_READ_ACL',
        'S3_BUCKET_NO_PUBLIC_RW_ACL',
        'S3_BUCKET_PUBLIC_READ_PROHIBITED',
        'S3_BUCKET_PUBLIC_WRITE_PROHIBITED',
      ],
    },
    check: (resource) => {
      const p = props(resource);
      const found: string[] = [];
      if (p.AccessControl !== undefined && p.AccessControl !== 'Private')
        found.push(`AccessControl is ${String(p.AccessControl)}`);
      const ownership = asArray(obj(p.OwnershipControls).Rules).map((rule) => obj(rule).ObjectOwnership);
      if (!ownership.includes('BucketOwnerEnforced')) found.push('OwnershipControls is not BucketOwnerEnforced');
      return found;
    },
  },
  {
    id: 'S3_TLS_ONLY',
    title: 'S3 bucket policy denies requests without TLS',
    level: 'error',
    resourceTypes: ['AWS::S3::Bucket'],
    upstream: { cfnNag: ['W51'], guard: ['S3_BUCKET_SSL_REQUESTS_ONLY'] },
    check: (resource, logicalId, template) => {
      const bucketName = props(resource).BucketName;
      const policies = Object.values(template.Resources).filter((candidate) => {
        if (candidate.Type !== 'AWS::S3::BucketPolicy') return false;
        const bucket = props(candidate).Bucket;
        return targetOf(bucket) === logicalId || (typeof bucketName === 'string' && bucket === bucketName);
      });
      const denies = policies
        .flatMap((policy) => statements(props(policy).PolicyDocument))
        .some((statement) => {
          if (statement.Effect !== 'Deny' || !isAnyone(statement.Principal)) return false;
          const secure = obj(obj(statement.Condition).Bool)['aws:SecureTransport'];
          const all = actions(statement).some((action) => action === 's3:*' || action === '*');
          const resources = asArray(statement.Resource);
          const coversObjects = resources.some((r) =>
            typeof r === 'string' ? r.endsWith('/*') : JSON.stringify(r).includes('/*'),
          );
          return (secure === 'false' || secure === false) && all && coversObjects && resources.length >= 2;
        });
      return denies ? [] : ['no bucket policy denies aws:SecureTransport=false for the bucket and its objects'];
    },
  },
  {
    id: 'S3_VERSIONING',
    title: 'S3 bucket has versioning enabled',
    level: 'warning',
    resourceTypes: ['AWS::S3::Bucket'],
    upstream: { checkov: ['CKV_AWS_21'], guard: ['S3_BUCKET_VERSIONING_ENABLED'] },
    check: (resource) =>
      obj(props(resource).VersioningConfiguration).Status === 'Enabled'
        ? []
        : ['VersioningConfiguration.Status is not Enabled'],
  },
  {
    id: 'S3_ACCESS_LOGGING',
    title: 'S3 bucket has server access logging',
    level: 'warning',
    resourceTypes: ['AWS::S3::Bucket'],
    upstream: { cfnNag: ['W35'], checkov: ['CKV_AWS_18'], guard: ['S3_BUCKET_LOGGING_ENABLED'] },
    check: (resource) =>
      obj(props(resource).LoggingConfiguration).DestinationBucketName === undefined
        ? ['no LoggingConfiguration.DestinationBucketName']
        : [],
  },
  {
    id: 'S3_LIFECYCLE',
    title: 'S3 bucket aborts incomplete multipart uploads and expires noncurrent versions',
    level: 'warning',
    resourceTypes: ['AWS::S3::Bucket'],
    upstream: {},
    terraformOnly: ['CKV_AWS_300'],
    check: (resource) => {
      const rules = asArray(obj(props(resource).LifecycleConfiguration).Rules)
        .map(obj)
        .filter((rule) => rule.Status === 'Enabled');
      const found: string[] = [];
      if (!rules.some((rule) => rule.AbortIncompleteMultipartUpload !== undefined))
        found.push('no rule aborts incomplete multipart uploads');
      const versioned = obj(props(resource).VersioningConfiguration).Status === 'Enabled';
      if (
        versioned &&
        !rules.some(
          (rule) =>
            rule.NoncurrentVersionExpiration !== undefined || rule.NoncurrentVersionExpirationInDays !== undefined,
        )
      ) {
        found.push('versioned, but no rule expires noncurrent versions');
      }
      return found;
    },
  },
  {
    id: 'S3_POLICY_NO_PUBLIC_ALLOW',
    title: 'S3 bucket policy allows no wildcard principal or action, and no Allow+NotPrincipal/NotAction',
    level: 'error',
    resourceTypes: ['AWS::S3::BucketPolicy'],
    upstream: {
      cfnNag: ['F15', 'F16', 'F9', 'W20'],
      guard: [
        'S3_BUCKET_POLICY_NO_WILDCARD_PRINCIPAL',
        'S3_BUCKET_POLICY_NO_WILDCARD_ACTION',
        'S3_BUCKETPOLICY_NO_ALLOW_PLUS_NOTPRINCIPAL',
        'S3_BUCKET_POLICY_NO_ALLOW_PLUS_NOT_ACTION',
      ],
    },
    check: (resource) => allowProblems(statements(props(resource).PolicyDocument), ['*', 's3:*']),
  },

  // KMS -----------------------------------------------------------------------------------------------------------
  {
    id: 'KMS_ROTATION',
    title: 'KMS key has automatic rotation',
    level: 'error',
    resourceTypes: ['AWS::KMS::Key'],
    upstream: { cfnNag: ['F19'], checkov: ['CKV_AWS_7'], guard: ['CMK_BACKING_KEY_ROTATION_ENABLED'] },
    check: (resource) => (props(resource).EnableKeyRotation === true ? [] : ['EnableKeyRotation is not true']),
  },
  {
    id: 'KMS_NO_WILDCARD_PRINCIPAL',
    title: 'KMS key policy allows no wildcard principal',
    level: 'error',
    resourceTypes: ['AWS::KMS::Key'],
    upstream: { cfnNag: ['F76'], checkov: ['CKV_AWS_33'], guard: ['KMS_NO_WILDCARD_PRINCIPAL'] },
    check: (resource) =>
      statements(props(resource).KeyPolicy).flatMap((statement, index) =>
        allows(statement) && (isAnyone(statement.Principal) || statement.NotPrincipal !== undefined)
          ? [`${name(statement, index)} allows any principal`]
          : [],
      ),
  },

  // IAM -----------------------------------------------------------------------------------------------------------
  {
    id: 'IAM_NO_WILDCARD_ACTIONS',
    title: 'IAM policies allow no wildcard actions',
    level: 'error',
    resourceTypes: IAM_TYPES,
    upstream: {
      cfnNag: ['F3', 'F4', 'F5'],
      checkov: ['CKV_AWS_62', 'CKV_AWS_63'],
      guard: [
        'IAM_ROLE_NO_WILDCARD_ACTIONS_ON_PERMISSIONS',
        'IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS',
        'IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS',
      ],
    },
    check: (resource) =>
      policyStatements(resource).flatMap((statement, index) =>
        allows(statement)
          ? actions(statement)
              .filter((action) => action.includes('*'))
              .map((action) => `${name(statement, index)} allows action "${action}"`)
          : [],
      ),
  },
  {
    id: 'IAM_NO_WILDCARD_RESOURCES',
    title: 'IAM policies allow no "*" resource',
    level: 'warning',
    resourceTypes: IAM_TYPES,
    upstream: {
      cfnNag: ['W11', 'W12', 'W13', 'F38', 'F39', 'F40'],
      checkov: ['CKV_AWS_111'],
      guard: ['IAM_POLICYDOCUMENT_NO_WILDCARD_RESOURCE'],
    },
    check: (resource) =>
      policyStatements(resource).flatMap((statement, index) =>
        allows(statement) && asArray(statement.Resource).includes('*')
          ? [`${name(statement, index)} allows Resource "*"`]
          : [],
      ),
  },
  {
    id: 'IAM_NO_ALLOW_NOT',
    title: 'IAM policies use no Allow+NotAction or Allow+NotResource',
    level: 'warning',
    resourceTypes: IAM_TYPES,
    upstream: {
      cfnNag: ['W15', 'W16', 'W17', 'W21', 'W22', 'W23'],
      guard: ['IAM_ROLE_OR_POLICY_NO_ALLOW_PLUS_NOT_ACTION', 'IAM_ROLE_OR_POLICY_NO_ALLOW_PLUS_NOT_RESOURCE'],
    },
    check: (resource) =>
      policyStatements(resource).flatMap((statement, index) =>
        allows(statement) && (statement.NotAction !== undefined || statement.NotResource !== undefined)
          ? [`${name(statement, index)} combines Allow with NotAction/NotResource`]
          : [],
      ),
  },
  {
    id: 'IAM_TRUST_POLICY',
    title: 'IAM role trust policy names a service, with no wildcard principal or action',
    level: 'error',
    resourceTypes: ['AWS::IAM::Role'],
    upstream: {
      cfnNag: ['F2', 'F6', 'W14'],
      checkov: ['CKV_AWS_60', 'CKV_AWS_61'],
      guard: [
        'IAM_ROLE_NO_FULL_ACCESS_ON_TRUST_POLICY',
        'IAM_ROLE_NO_ALLOW_PLUS_NOT_PRINCIPAL',
        'IAM_ROLE_NO_ALLOW_PLUS_NOT_ACTION_ON_TRUST_POLICY',
      ],
    },
    check: (resource) =>
      statements(props(resource).AssumeRolePolicyDocument).flatMap((statement, index) => {
        if (!allows(statement)) return [];
        const found: string[] = [];
        if (statement.NotPrincipal !== undefined || statement.NotAction !== undefined)
          found.push(`${name(statement, index)} uses NotPrincipal/NotAction`);
        if (isAnyone(statement.Principal)) found.push(`${name(statement, index)} trusts any principal`);
        else if (obj(statement.Principal).Service === undefined)
          found.push(`${name(statement, index)} trusts a principal that is not an AWS service`);
        if (actions(statement).some((action) => action.includes('*')))
          found.push(`${name(statement, index)} allows a wildcard action`);
        return found;
      }),
  },
  {
    id: 'TRANSFER_ROLE_SCOPED',
    title: 'Roles Transfer assumes are limited to this account and server (confused deputy)',
    level: 'warning',
    resourceTypes: ['AWS::IAM::Role'],
    upstream: {},
    check: (resource) =>
      statements(props(resource).AssumeRolePolicyDocument).flatMap((statement, index) => {
        const services = asArray(obj(statement.Principal).Service);
        if (!allows(statement) || !services.includes('transfer.amazonaws.com')) return [];
        return hasCondition(statement, 'aws:SourceAccount') && hasCondition(statement, 'aws:SourceArn')
          ? []
          : [
              `${name(statement, index)} lets Transfer assume the role without aws:SourceAccount and aws:SourceArn conditions`,
            ];
      }),
  },

  // Lambda --------------------------------------------------------------------------------------------------------
  {
    id: 'LAMBDA_DLQ',
    title: 'Lambda function has a dead-letter queue',
    level: 'warning',
    resourceTypes: ['AWS::Lambda::Function'],
    upstream: { checkov: ['CKV_AWS_116'], guard: ['LAMBDA_DLQ_CHECK'] },
    check: (resource) =>
      obj(props(resource).DeadLetterConfig).TargetArn === undefined ? ['no DeadLetterConfig.TargetArn'] : [],
  },
  {
    id: 'LAMBDA_SQS_EVENT_SOURCE',
    title:
      'SQS event sources report partial batch failures, cap concurrency, and read a queue with a DLQ and a long enough visibility timeout',
    level: 'warning',
    resourceTypes: ['AWS::Lambda::EventSourceMapping'],
    upstream: {},
    check: (resource, _id, template) => {
      const p = props(resource);
      const source = resourceOf(template, p.EventSourceArn, 'AWS::SQS::Queue');
      if (!source) return [];
      const found: string[] = [];
      if (!asArray(p.FunctionResponseTypes).includes('ReportBatchItemFailures'))
        found.push('FunctionResponseTypes lacks ReportBatchItemFailures');
      if (obj(p.ScalingConfig).MaximumConcurrency === undefined) found.push('no ScalingConfig.MaximumConcurrency');
      const queue = props(source[1]);
      if (obj(queue.RedrivePolicy).deadLetterTargetArn === undefined)
        found.push(`queue ${source[0]} has no RedrivePolicy`);
      const fn = resourceOf(template, p.FunctionName, 'AWS::Lambda::Function');
      const timeout = Number(fn ? (props(fn[1]).Timeout ?? 3) : 0);
      const visibility = Number(queue.VisibilityTimeout ?? 30);
      if (fn && visibility < 6 * timeout)
        found.push(
          `queue ${source[0]} visibility timeout ${visibility}s is under 6 × the function timeout (${timeout}s)`,
        );
      return found;
    },
  },
  {
    id: 'LAMBDA_LOG_RETENTION',
    title: 'Lambda function logs to an explicit log group with retention',
    level: 'warning',
    resourceTypes: ['AWS::Lambda::Function'],
    upstream: {},
    check: (resource, _id, template) => {
      const group = resourceOf(template, obj(props(resource).LoggingConfig).LogGroup, 'AWS::Logs::LogGroup');
      if (!group) return ['no LoggingConfig.LogGroup in this template: Lambda would create one that never expires'];
      return props(group[1]).RetentionInDays === undefined ? [`log group ${group[0]} has no RetentionInDays`] : [];
    },
  },
  {
    id: 'LAMBDA_LOGS_PERMISSION',
    title: 'Lambda function role may write its logs',
    level: 'warning',
    resourceTypes: ['AWS::Lambda::Function'],
    upstream: { cfnNag: ['W58'] },
    check: (resource, _id, template) => {
      const role = resourceOf(template, props(resource).Role, 'AWS::IAM::Role');
      if (!role) return ['execution role is not defined in this template'];
      const granted = policyStatements(role[1]).filter(allows).flatMap(actions);
      const managed = asArray(props(role[1]).ManagedPolicyArns).some((arn) =>
        JSON.stringify(arn).includes('AWSLambdaBasicExecutionRole'),
      );
      return managed || (granted.includes('logs:PutLogEvents') && granted.includes('logs:CreateLogStream'))
        ? []
        : [`role ${role[0]} cannot write CloudWatch Logs`];
    },
  },
  {
    id: 'LAMBDA_IN_VPC',
    title: 'Lambda function runs in a VPC',
    level: 'warning',
    resourceTypes: ['AWS::Lambda::Function'],
    upstream: { cfnNag: ['W89'], checkov: ['CKV_AWS_117'], guard: ['LAMBDA_INSIDE_VPC'] },
    check: (resource) => (obj(props(resource).VpcConfig).SubnetIds === undefined ? ['no VpcConfig'] : []),
  },
  {
    id: 'LAMBDA_CONCURRENCY',
    title: 'Lambda function reserves concurrency',
    level: 'warning',
    resourceTypes: ['AWS::Lambda::Function'],
    upstream: { cfnNag: ['W92'], checkov: ['CKV_AWS_115'], guard: ['LAMBDA_CONCURRENCY_CHECK'] },
    check: (resource) =>
      props(resource).ReservedConcurrentExecutions === undefined ? ['no ReservedConcurrentExecutions'] : [],
  },
  {
    id: 'LAMBDA_ENV_ENCRYPTION',
    title: 'Lambda environment variables are encrypted with a customer managed key',
    level: 'warning',
    resourceTypes: ['AWS::Lambda::Function'],
    upstream: { checkov: ['CKV_AWS_173'] },
    check: (resource) => {
      const p = props(resource);
      const variables = Object.keys(obj(obj(p.Environment).Variables));
      return variables.length > 0 && p.KmsKeyArn === undefined ? ['environment variables without KmsKeyArn'] : [];
    },
  },

  // CloudWatch Logs -----------------------------------------------------------------------------------------------
  {
    id: 'LOG_GROUP_RETENTION',
    title: 'Log group has a retention period',
    level: 'warning',
    resourceTypes: ['AWS::Logs::LogGroup'],
    upstream: { cfnNag: ['W86'], checkov: ['CKV_AWS_66'], guard: ['CW_LOGGROUP_RETENTION_PERIOD_CHECK'] },
    check: (resource) => (props(resource).RetentionInDays === undefined ? ['no RetentionInDays'] : []),
  },
  {
    id: 'LOG_GROUP_KMS',
    title: 'Log group is encrypted with a customer managed key',
    level: 'warning',
    resourceTypes: ['AWS::Logs::LogGroup'],
    upstream: { cfnNag: ['W84'], checkov: ['CKV_AWS_158'], guard: ['CLOUDWATCH_LOG_GROUP_ENCRYPTED'] },
    check: (resource) => (props(resource).KmsKeyId === undefined ? ['no KmsKeyId'] : []),
  },

  // SQS -----------------------------------------------------------------------------------------------------------
  {
    id: 'SQS_KMS',
    title: 'SQS queue is encrypted with a customer managed key',
    level: 'warning',
    resourceTypes: ['AWS::SQS::Queue'],
    upstream: { cfnNag: ['W48'], checkov: ['CKV_AWS_27'], guard: ['SQS_QUEUE_KMS_MASTER_KEY_ID_RULE'] },
    check: (resource) => (props(resource).KmsMasterKeyId === undefined ? ['no KmsMasterKeyId'] : []),
  },
  {
    id: 'SQS_DEAD_LETTER',
    title: 'SQS queue has a dead-letter queue (or is one)',
    level: 'warning',
    resourceTypes: ['AWS::SQS::Queue'],
    upstream: {},
    check: (resource, logicalId, template) => {
      if (obj(props(resource).RedrivePolicy).deadLetterTargetArn !== undefined) return [];
      const isTarget = Object.values(template.Resources).some(
        (other) =>
          other.Type === 'AWS::SQS::Queue' &&
          targetOf(obj(props(other).RedrivePolicy).deadLetterTargetArn) === logicalId,
      );
      return isTarget ? [] : ['no RedrivePolicy, and no queue uses it as its dead-letter queue'];
    },
  },
  {
    id: 'ALARM_HAS_ACTION',
    title: 'CloudWatch alarm notifies someone when it fires',
    level: 'error',
    resourceTypes: ['AWS::CloudWatch::Alarm'],
    upstream: { checkov: ['CKV_AWS_319'] },
    check: (resource) => {
      const p = props(resource);
      if (p.ActionsEnabled === false) return ['ActionsEnabled is false'];
      return asArray(p.AlarmActions).length > 0 ? [] : ['no AlarmActions: the alarm fires and nobody hears it'];
    },
  },
  {
    id: 'SQS_TLS_ONLY',
    title: 'SQS queue policy denies requests without TLS',
    level: 'error',
    resourceTypes: ['AWS::SQS::Queue'],
    upstream: { guard: ['SQS_QUEUE_SSL_REQUESTS_ONLY'] },
    check: (_resource, logicalId, template) => {
      const denies = Object.values(template.Resources)
        .filter(
          (candidate) =>
            candidate.Type === 'AWS::SQS::QueuePolicy' &&
            asArray(props(candidate).Queues).some((queue) => targetOf(queue) === logicalId),
        )
        .flatMap((policy) => statements(props(policy).PolicyDocument))
        .some((statement) => {
          if (statement.Effect !== 'Deny' || !isAnyone(statement.Principal)) return false;
          const secure = obj(obj(statement.Condition).Bool)['aws:SecureTransport'];
          const all = actions(statement).some((action) => action === 'sqs:*' || action === '*');
          const covers = asArray(statement.Resource).some((resource) => targetOf(resource) === logicalId);
          return (secure === 'false' || secure === false) && all && covers;
        });
      return denies ? [] : ['no queue policy denies aws:SecureTransport=false for this queue'];
    },
  },
  {
    id: 'SQS_POLICY_SCOPED',
    title: 'SQS queue policy allows no wildcard principal or action, and service senders are scoped by source',
    level: 'error',
    resourceTypes: ['AWS::SQS::QueuePolicy'],
    upstream: {
      cfnNag: ['F20', 'F21', 'F7', 'W18'],
      guard: [
        'SQS_QUEUEPOLICY_NO_WILDCARD_ACTION',
        'SQS_QUEUEPOLICY_NO_WILDCARD_PRINCIPAL',
        'SQS_QUEUEPOLICY_NO_ALLOW_PLUS_NOTPRINCIPAL',
        'SQS_QUEUEPOLICY_NO_ALLOW_PLUS_NOT_ACTION',
      ],
    },
    check: (resource) => {
      const list = statements(props(resource).PolicyDocument);
      const found = allowProblems(list, ['*', 'sqs:*']);
      list.forEach((statement, index) => {
        if (
          allows(statement) &&
          obj(statement.Principal).Service !== undefined &&
          !hasCondition(statement, 'aws:SourceArn')
        ) {
          found.push(`${name(statement, index)} lets a service send without an aws:SourceArn condition`);
        }
      });
      return found;
    },
  },

  // Secrets Manager -----------------------------------------------------------------------------------------------
  {
    id: 'SECRET_CMK',
    title: 'Secret is encrypted with a customer managed key',
    level: 'warning',
    resourceTypes: ['AWS::SecretsManager::Secret'],
    upstream: { cfnNag: ['W77'], checkov: ['CKV_AWS_149'], guard: ['SECRETSMANAGER_USING_CMK'] },
    check: (resource) => (props(resource).KmsKeyId === undefined ? ['no KmsKeyId'] : []),
  },
  {
    id: 'SECRET_NOT_IN_TEMPLATE',
    title: 'No secret value is written into a template',
    level: 'error',
    resourceTypes: ['AWS::SecretsManager::Secret'],
    upstream: {},
    check: (resource) =>
      props(resource).SecretString !== undefined ? ['SecretString puts the value into the template'] : [],
  },

  // Transfer Family -----------------------------------------------------------------------------------------------
  {
    id: 'TRANSFER_SECURITY_POLICY_SET',
    title: 'Transfer server names its security policy',
    level: 'error',
    resourceTypes: ['AWS::Transfer::Server'],
    upstream: {},
    terraformOnly: ['CKV_AWS_380'],
    check: (resource) =>
      props(resource).SecurityPolicyName === undefined
        ? ['no SecurityPolicyName: CloudFormation would use TransferSecurityPolicy-2018-11']
        : [],
  },
  {
    id: 'TRANSFER_SECURITY_POLICY_CURRENT',
    title: 'Transfer server security policy is not a legacy one',
    level: 'warning',
    resourceTypes: ['AWS::Transfer::Server'],
    upstream: {},
    terraformOnly: ['CKV_AWS_380'],
    check: (resource) => {
      const policy = props(resource).SecurityPolicyName;
      return typeof policy === 'string' && LEGACY_SECURITY_POLICIES.has(policy)
        ? [`${policy} still offers SHA-1 or CBC algorithms`]
        : [];
    },
  },
  {
    id: 'TRANSFER_VPC_ENDPOINT',
    title: 'Transfer server uses a VPC endpoint (security group, Elastic IPs)',
    level: 'warning',
    resourceTypes: ['AWS::Transfer::Server'],
    upstream: { checkov: ['CKV_AWS_164'] },
    check: (resource) =>
      props(resource).EndpointType === 'VPC'
        ? []
        : [`EndpointType is ${String(props(resource).EndpointType ?? 'PUBLIC')}`],
  },
  {
    id: 'TRANSFER_LOGGING',
    title: 'Transfer server logs (structured logs or a logging role)',
    level: 'warning',
    resourceTypes: ['AWS::Transfer::Server'],
    upstream: {},
    check: (resource) => {
      const p = props(resource);
      return asArray(p.StructuredLogDestinations).length > 0 || p.LoggingRole !== undefined
        ? []
        : ['no StructuredLogDestinations or LoggingRole'];
    },
  },
  {
    id: 'TRANSFER_SECURE_PROTOCOLS',
    title: 'Transfer server offers no plain FTP',
    level: 'error',
    resourceTypes: ['AWS::Transfer::Server'],
    upstream: {},
    terraformOnly: ['CKV_AWS_357'],
    check: (resource) => (asArray(props(resource).Protocols).includes('FTP') ? ['Protocols includes FTP'] : []),
  },
  {
    id: 'TRANSFER_USER_CHROOT',
    title: 'Transfer user is confined to a logical home directory',
    level: 'error',
    resourceTypes: ['AWS::Transfer::User'],
    upstream: {},
    check: (resource) =>
      props(resource).HomeDirectoryType === 'LOGICAL'
        ? []
        : ['HomeDirectoryType is not LOGICAL: the user sees bucket paths'],
  },

  // EC2 -----------------------------------------------------------------------------------------------------------
  {
    id: 'SG_OPEN_TO_WORLD',
    title: 'Security group ingress is not open to the world',
    level: 'warning',
    resourceTypes: ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress'],
    upstream: {
      cfnNag: ['W2'],
      checkov: ['CKV_AWS_24', 'CKV_AWS_25', 'CKV_AWS_260'],
      guard: ['EC2_SECURITY_GROUP_INGRESS_OPEN_TO_WORLD_RULE', 'INCOMING_SSH_DISABLED'],
    },
    check: (resource) =>
      securityGroupIngress(resource)
        .filter((rule) => rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0')
        .map((rule) => `ingress ${describeRule(rule)} (${String(rule.Description ?? 'no description')})`),
  },
  {
    id: 'SG_EXPLICIT_EGRESS',
    title: 'Security group has explicit egress, not open to the world',
    level: 'warning',
    resourceTypes: ['AWS::EC2::SecurityGroup'],
    upstream: {
      cfnNag: ['F1000', 'W5', 'W40'],
      guard: [
        'SECURITY_GROUP_MISSING_EGRESS_RULE',
        'EC2_SECURITY_GROUP_EGRESS_OPEN_TO_WORLD_RULE',
        'SECURITY_GROUP_EGRESS_ALL_PROTOCOLS_RULE',
      ],
    },
    check: (resource) => {
      const egress = securityGroupEgress(resource);
      if (egress.length === 0) return ['no SecurityGroupEgress: EC2 allows all outbound traffic'];
      return egress
        .filter((rule) => rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0' || String(rule.IpProtocol) === '-1')
        .map((rule) => `egress ${describeRule(rule)} is open`);
    },
  },
  {
    id: 'SG_INGRESS_NARROW',
    title: 'Security group ingress names one protocol and one port',
    level: 'warning',
    resourceTypes: ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress'],
    upstream: {
      cfnNag: ['W27', 'W42'],
      guard: ['SECURITY_GROUP_INGRESS_ALL_PROTOCOLS_RULE', 'SECURITY_GROUP_INGRESS_PORT_RANGE_RULE'],
    },
    check: (resource) =>
      securityGroupIngress(resource)
        .filter((rule) => String(rule.IpProtocol) === '-1' || rule.FromPort !== rule.ToPort)
        .map((rule) => `ingress ${describeRule(rule)} spans protocols or ports`),
  },
  {
    id: 'SG_RULE_DESCRIPTION',
    title: 'Every security group rule has a description',
    level: 'warning',
    resourceTypes: ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress'],
    upstream: { cfnNag: ['W36'], checkov: ['CKV_AWS_23'], guard: ['SECURITY_GROUP_DESCRIPTION_RULE'] },
    check: (resource) =>
      [...securityGroupIngress(resource), ...securityGroupEgress(resource)]
        .filter((rule) => typeof rule.Description !== 'string' || rule.Description === '')
        .map((rule) => `rule ${describeRule(rule)} has no description`),
  },
  {
    id: 'SUBNET_NO_AUTO_PUBLIC_IP',
    title: 'Subnet does not give instances public IPs by default',
    level: 'warning',
    resourceTypes: ['AWS::EC2::Subnet'],
    upstream: { cfnNag: ['W33'], guard: ['SUBNET_AUTO_ASSIGN_PUBLIC_IP_DISABLED'] },
    terraformOnly: ['CKV_AWS_130'],
    check: (resource) => (props(resource).MapPublicIpOnLaunch === true ? ['MapPublicIpOnLaunch is true'] : []),
  },
  {
    id: 'VPC_FLOW_LOG',
    title: 'VPC has a flow log',
    level: 'warning',
    resourceTypes: ['AWS::EC2::VPC'],
    upstream: { cfnNag: ['W60'] },
    terraformOnly: ['CKV2_AWS_11'],
    check: (_resource, logicalId, template) =>
      Object.values(template.Resources).some(
        (other) => other.Type === 'AWS::EC2::FlowLog' && targetOf(props(other).ResourceId) === logicalId,
      )
        ? []
        : ['no AWS::EC2::FlowLog for this VPC'],
  },
];

/** Allow statements with a wildcard principal or action, or combined with NotPrincipal/NotAction. */
function allowProblems(list: Statement[], wildcardActions: readonly string[]): string[] {
  return list.flatMap((statement, index) => {
    if (!allows(statement)) return [];
    const found: string[] = [];
    if (isAnyone(statement.Principal)) found.push(`${name(statement, index)} allows any principal`);
    if (statement.NotPrincipal !== undefined) found.push(`${name(statement, index)} combines Allow with NotPrincipal`);
    if (statement.NotAction !== undefined) found.push(`${name(statement, index)} combines Allow with NotAction`);
    for (const action of actions(statement)) {
      if (wildcardActions.includes(action)) found.push(`${name(statement, index)} allows action "${action}"`);
    }
    return found;
  });
}

const RULES_BY_ID = new Map(SECURITY_RULES.map((rule) => [rule.id, rule]));

export function securityRule(id: string): SecurityRule | undefined {
  return RULES_BY_ID.get(id);
}

// ---------------------------------------------------------------------------------------------------------------
// Suppressions: the only place a rule may be waived, each with its reason.

export const SUPPRESSIONS: readonly Suppression[] = [
  {
    rule: 'LAMBDA_DLQ',
    resourceType: 'AWS::Lambda::Function',
    stackKinds: ['client'],
    reason:
      'Ingress and egress are invoked only by an SQS event source mapping: failed messages return to the queue and move to its dead-letter queue after 3 receives (LAMBDA_SQS_EVENT_SOURCE); DeadLetterConfig covers asynchronous invocations only. The sweeper is invoked by its schedule with no payload worth keeping: a failed run is alarmed (SweeperErrorsAlarm) and the next run, 5 minutes later, does the same work.',
  },
  {
    rule: 'LAMBDA_IN_VPC',
    resourceType: 'AWS::Lambda::Function',
    stackKinds: ['client'],
    reason:
      'The functions reach only S3, SQS, Secrets Manager, KMS and CloudWatch Logs (TLS, IAM-authorised); the VPC holds only the public Transfer endpoint, and attaching it would need a NAT gateway or five interface endpoints per AZ.',
  },
  {
    rule: 'LAMBDA_CONCURRENCY',
    resourceType: 'AWS::Lambda::Function',
    stackKinds: ['client'],
    reason:
      'Concurrency is capped by the event source mapping (ScalingConfig.MaximumConcurrency, LAMBDA_SQS_EVENT_SOURCE); reserving concurrency for two functions per client would exhaust the account pool.',
  },
  {
    rule: 'LAMBDA_DLQ',
    resourceType: 'AWS::Lambda::Function',
    logicalId: 'IdentityFunction',
    stackKinds: ['server'],
    reason:
      'Transfer invokes the identity function synchronously at each login and waits for its answer; there is no asynchronous event to keep. A failure refuses that login and is alarmed (IdentityErrorsAlarm).',
  },
  {
    rule: 'LAMBDA_IN_VPC',
    resourceType: 'AWS::Lambda::Function',
    logicalId: 'IdentityFunction',
    stackKinds: ['server'],
    reason:
      'The identity function reaches only DynamoDB, Secrets Manager and CloudWatch Logs (TLS, IAM-authorised); attaching it to the endpoint VPC would need a NAT gateway or interface endpoints per AZ for no gain.',
  },
  {
    rule: 'LAMBDA_ENV_ENCRYPTION',
    resourceType: 'AWS::Lambda::Function',
    logicalId: 'IdentityFunction',
    stackKinds: ['server'],
    reason:
      "The identity function's variables are its table name and a cache duration, nothing secret; its role may use the environment key only through DynamoDB (kms:ViaService), which a Lambda-side decryption would have to widen.",
  },
  {
    rule: 'S3_ACCESS_LOGGING',
    resourceType: 'AWS::S3::Bucket',
    logicalId: 'AccessLogBucket',
    stackKinds: ['assets'],
    reason: 'This is the access-log bucket: logging it into itself would loop.',
  },
  {
    rule: 'S3_ENCRYPTION_KMS',
    resourceType: 'AWS::S3::Bucket',
    logicalId: 'AccessLogBucket',
    stackKinds: ['assets'],
    reason:
      'S3 server access log delivery supports only SSE-S3 target buckets; it holds request metadata, never file contents.',
  },
  ...DEFAULT_SG_SUPPRESSIONS,
];

/**
 * The fixed suppressions plus those a config decision justifies: a client's `allowAnyIp: true`; in `lambda` identity
 * mode an open security group (chosen, or the union over the rule quota) and FTPS's passive port range.
 */
export function suppressionsFor(config: Config, env: string): Suppression[] {
  const open = clientsInEnvironment(config, env)
    .filter((client) => client.allowAnyIp)
    .map((client) => client.name);
  const list = [...SUPPRESSIONS];
  const plan = config.environments[env] ? securityGroupPlan(config, env) : undefined;
  const securityGroup = { resourceType: 'AWS::EC2::SecurityGroup', logicalId: 'SftpSecurityGroup' } as const;
  if (plan?.mode === 'open') {
    list.push({
      rule: 'SG_OPEN_TO_WORLD',
      ...securityGroup,
      stackKinds: ['network'],
      reason: plan.fellBackToOpen
        ? `identity.mode is lambda and the union of the clients' CIDRs needs ${plan.unionRules} rules, over securityGroupRuleLimit ${plan.limit}: the endpoint is open to any address and the identity function refuses every login from outside the user's client's CIDRs.`
        : "identity.securityGroup is open (identity.mode lambda): the endpoint is open to any address and the identity function refuses every login from outside the user's client's CIDRs.",
    });
  } else if (open.length > 0) {
    list.push({
      rule: 'SG_OPEN_TO_WORLD',
      ...securityGroup,
      stackKinds: ['network'],
      reason: `sftpctl.yaml sets allowAnyIp: true for ${open.join(', ')}: SFTP is deliberately open to any address (key authentication still applies).`,
    });
  }
  if (plan?.ports.some((port) => port.from !== port.to)) {
    list.push({
      rule: 'SG_INGRESS_NARROW',
      ...securityGroup,
      stackKinds: ['network'],
      reason: `FTPS data connections use Transfer Family's passive ports ${FTPS_PASSIVE_PORTS.from}-${FTPS_PASSIVE_PORTS.to}: one range rule per source instead of nine single-port rules, on tcp only.`,
    });
  }
  return list;
}

function matches(suppression: Suppression, finding: SecurityFinding, kind: StackKind): boolean {
  return (
    suppression.rule === finding.rule &&
    suppression.resourceType === finding.type &&
    (suppression.logicalId === undefined || suppression.logicalId === finding.resource) &&
    (suppression.stackKinds === undefined || suppression.stackKinds.includes(kind))
  );
}

/** Every rule over every resource of the template; suppressed findings carry their reason. */
export function checkTemplate(
  template: Template,
  kind: StackKind,
  suppressions: readonly Suppression[] = SUPPRESSIONS,
): SecurityFinding[] {
  for (const suppression of suppressions) {
    if (!RULES_BY_ID.has(suppression.rule)) throw new Error(`suppression names unknown rule ${suppression.rule}`);
    if (suppression.reason.trim().length < 20)
      throw new Error(`suppression of ${suppression.rule} needs a written reason`);
  }
  const findings: SecurityFinding[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    for (const rule of SECURITY_RULES) {
      if (!rule.resourceTypes.includes(resource.Type)) continue;
      for (const message of rule.check(resource, logicalId, template)) {
        const finding: SecurityFinding = {
          rule: rule.id,
          level: rule.level,
          resource: logicalId,
          type: resource.Type,
          message,
        };
        const suppression = suppressions.find((candidate) => matches(candidate, finding, kind));
        if (suppression) finding.suppressed = suppression.reason;
        findings.push(finding);
      }
    }
  }
  return findings;
}

/**
 * Writes each suppressed finding into its resource's Metadata the way cfn_nag (`rules_to_suppress`), checkov
 * (`skip`) and cfn-guard (`SuppressedRules`) read it, so those tools agree with `sftpctl synth` on these templates.
 */
export function annotateSuppressions(template: Template, findings: readonly SecurityFinding[]): void {
  for (const finding of findings) {
    if (finding.suppressed === undefined) continue;
    const rule = RULES_BY_ID.get(finding.rule);
    const resource = template.Resources[finding.resource];
    if (!rule || !resource) continue;
    resource.Metadata ??= {};
    const metadata = resource.Metadata as {
      cfn_nag?: { rules_to_suppress: { id: string; reason: string }[] };
      checkov?: { skip: { id: string; comment: string }[] };
      guard?: { SuppressedRules: string[] };
    };
    const reason = finding.suppressed;
    for (const id of rule.upstream.cfnNag ?? []) {
      metadata.cfn_nag ??= { rules_to_suppress: [] };
      if (!metadata.cfn_nag.rules_to_suppress.some((entry) => entry.id === id))
        metadata.cfn_nag.rules_to_suppress.push({ id, reason });
    }
    for (const id of rule.upstream.checkov ?? []) {
      metadata.checkov ??= { skip: [] };
      if (!metadata.checkov.skip.some((entry) => entry.id === id)) metadata.checkov.skip.push({ id, comment: reason });
    }
    for (const id of rule.upstream.guard ?? []) {
      metadata.guard ??= { SuppressedRules: [] };
      if (!metadata.guard.SuppressedRules.includes(id)) metadata.guard.SuppressedRules.push(id);
    }
  }
}
