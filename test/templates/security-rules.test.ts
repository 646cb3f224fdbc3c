import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StackKind, Template } from '../../src/templates/cfn.js';
import {
  annotateSuppressions,
  checkTemplate,
  SECURITY_RULES,
  SUPPRESSIONS,
  type Suppression,
} from '../../src/templates/security-rules.js';
import { clone, exampleConfig, synth } from './fixtures.js';

// biome-ignore lint/suspicious/noExplicitAny: tests reach into template JSON freely
type Json = Record<string, any>;
interface Case {
  rule: string;
  kind: StackKind;
  resource: string;
  /** Breaks the (clean) rendered template. */
  bad: (t: Json) => void;
  /** For rules sftpctl suppresses: a change that satisfies the rule, to show it is a real check. */
  good?: (t: Json) => void;
}

const r = (t: Json, id: string): Json => t.Resources[id].Properties;
const statementsOf = (t: Json, id: string): Json[] => r(t, id).Policies[0].PolicyDocument.Statement;

const cases: Case[] = [
  {
    rule: 'S3_ENCRYPTION',
    kind: 'client',
    resource: 'UploadBucket',
    bad: (t) => delete r(t, 'UploadBucket').BucketEncryption,
  },
  {
    rule: 'S3_ENCRYPTION_KMS',
    kind: 'client',
    resource: 'RawBucket',
    bad: (t) =>
      (r(t, 'RawBucket').BucketEncryption.ServerSideEncryptionConfiguration = [
        { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
      ]),
  },
  {
    rule: 'S3_BLOCK_PUBLIC_ACLS',
    kind: 'client',
    resource: 'ExportBucket',
    bad: (t) => (r(t, 'ExportBucket').PublicAccessBlockConfiguration.BlockPublicAcls = false),
  },
  {
    rule: 'S3_BLOCK_PUBLIC_POLICY',
    kind: 'client',
    resource: 'ExportBucket',
    bad: (t) => delete r(t, 'ExportBucket').PublicAccessBlockConfiguration.BlockPublicPolicy,
  },
  {
    rule: 'S3_IGNORE_PUBLIC_ACLS',
    kind: 'client',
    resource: 'DownloadBucket',
    bad: (t) => (r(t, 'DownloadBucket').PublicAccessBlockConfiguration.IgnorePublicAcls = false),
  },
  {
    rule: 'S3_RESTRICT_PUBLIC_BUCKETS',
    kind: 'assets',
    resource: 'AssetsBucket',
    bad: (t) => delete r(t, 'AssetsBucket').PublicAccessBlockConfiguration,
  },
  {
    rule: 'S3_ACLS_DISABLED',
    kind: 'client',
    resource: 'UploadBucket',
    bad: (t) => (r(t, 'UploadBucket').AccessControl = 'PublicRead'),
  },
  {
    rule: 'S3_TLS_ONLY',
    kind: 'client',
    resource: 'UploadBucket',
    bad: (t) => (r(t, 'UploadBucketPolicy').PolicyDocument.Statement = []),
  },
  {
    rule: 'S3_VERSIONING',
    kind: 'client',
    resource: 'RawBucket',
    bad: (t) => (r(t, 'RawBucket').VersioningConfiguration.Status = 'Suspended'),
  },
  {
    rule: 'S3_ACCESS_LOGGING',
    kind: 'client',
    resource: 'DownloadBucket',
    bad: (t) => delete r(t, 'DownloadBucket').LoggingConfiguration,
  },
  {
    rule: 'S3_LIFECYCLE',
    kind: 'client',
    resource: 'UploadBucket',
    bad: (t) =>
      (r(t, 'UploadBucket').LifecycleConfiguration.Rules = [r(t, 'UploadBucket').LifecycleConfiguration.Rules[1]]),
  },
  {
    rule: 'S3_POLICY_NO_PUBLIC_ALLOW',
    kind: 'client',
    resource: 'DownloadBucketPolicy',
    bad: (t) =>
      r(t, 'DownloadBucketPolicy').PolicyDocument.Statement.push({
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: 'arn:aws:s3:::x/*',
      }),
  },
  {
    rule: 'KMS_ROTATION',
    kind: 'client',
    resource: 'ClientKey',
    bad: (t) => (r(t, 'ClientKey').EnableKeyRotation = false),
  },
  {
    rule: 'KMS_NO_WILDCARD_PRINCIPAL',
    kind: 'assets',
    resource: 'PlatformKey',
    bad: (t) =>
      r(t, 'PlatformKey').KeyPolicy.Statement.push({
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
  },
  {
    rule: 'IAM_NO_WILDCARD_ACTIONS',
    kind: 'client',
    resource: 'IngressFunctionRole',
    bad: (t) => statementsOf(t, 'IngressFunctionRole')[2]!.Action.push('s3:*'),
  },
  {
    rule: 'IAM_NO_WILDCARD_RESOURCES',
    kind: 'client',
    resource: 'UploadUserRole',
    bad: (t) => statementsOf(t, 'UploadUserRole')[1]!.Resource.push('*'),
  },
  {
    rule: 'IAM_NO_ALLOW_NOT',
    kind: 'client',
    resource: 'EgressFunctionRole',
    bad: (t) =>
      statementsOf(t, 'EgressFunctionRole').push({ Effect: 'Allow', NotAction: 'iam:*', Resource: 'arn:aws:s3:::x' }),
  },
  {
    rule: 'IAM_TRUST_POLICY',
    kind: 'client',
    resource: 'IngressFunctionRole',
    bad: (t) => (r(t, 'IngressFunctionRole').AssumeRolePolicyDocument.Statement[0].Principal = { AWS: '*' }),
  },
  {
    rule: 'TRANSFER_ROLE_SCOPED',
    kind: 'client',
    resource: 'DownloadUserRole',
    bad: (t) => delete r(t, 'DownloadUserRole').AssumeRolePolicyDocument.Statement[0].Condition,
  },
  {
    rule: 'LAMBDA_DLQ',
    kind: 'client',
    resource: 'IngressFunction',
    bad: () => {},
    good: (t) =>
      (r(t, 'IngressFunction').DeadLetterConfig = { TargetArn: { 'Fn::GetAtt': ['IngressDeadLetterQueue', 'Arn'] } }),
  },
  {
    rule: 'LAMBDA_SQS_EVENT_SOURCE',
    kind: 'client',
    resource: 'IngressEventSourceMapping',
    bad: (t) => delete r(t, 'IngressEventSourceMapping').FunctionResponseTypes,
  },
  {
    rule: 'LAMBDA_LOG_RETENTION',
    kind: 'client',
    resource: 'EgressFunction',
    bad: (t) => delete r(t, 'EgressFunction').LoggingConfig,
  },
  {
    rule: 'LAMBDA_LOGS_PERMISSION',
    kind: 'client',
    resource: 'IngressFunction',
    bad: (t) => statementsOf(t, 'IngressFunctionRole').shift(),
  },
  {
    rule: 'LAMBDA_IN_VPC',
    kind: 'client',
    resource: 'EgressFunction',
    bad: () => {},
    good: (t) => (r(t, 'EgressFunction').VpcConfig = { SubnetIds: ['subnet-1'], SecurityGroupIds: ['sg-1'] }),
  },
  {
    rule: 'LAMBDA_CONCURRENCY',
    kind: 'client',
    resource: 'EgressFunction',
    bad: () => {},
    good: (t) => (r(t, 'EgressFunction').ReservedConcurrentExecutions = 5),
  },
  {
    rule: 'LAMBDA_ENV_ENCRYPTION',
    kind: 'client',
    resource: 'IngressFunction',
    bad: (t) => delete r(t, 'IngressFunction').KmsKeyArn,
  },
  {
    rule: 'LOG_GROUP_RETENTION',
    kind: 'server',
    resource: 'ServerLogGroup',
    bad: (t) => delete r(t, 'ServerLogGroup').RetentionInDays,
  },
  {
    rule: 'LOG_GROUP_KMS',
    kind: 'client',
    resource: 'IngressLogGroup',
    bad: (t) => delete r(t, 'IngressLogGroup').KmsKeyId,
  },
  {
    rule: 'SQS_KMS',
    kind: 'client',
    resource: 'EgressDeadLetterQueue',
    bad: (t) => delete r(t, 'EgressDeadLetterQueue').KmsMasterKeyId,
  },
  {
    rule: 'SQS_DEAD_LETTER',
    kind: 'client',
    resource: 'IngressQueue',
    bad: (t) => delete r(t, 'IngressQueue').RedrivePolicy,
  },
  {
    rule: 'SQS_POLICY_SCOPED',
    kind: 'client',
    resource: 'EgressQueuePolicy',
    bad: (t) => delete r(t, 'EgressQueuePolicy').PolicyDocument.Statement[0].Condition,
  },
  {
    rule: 'SQS_TLS_ONLY',
    kind: 'client',
    resource: 'EgressDeadLetterQueue',
    bad: (t) => r(t, 'EgressQueuePolicy').Queues.pop(),
  },
  {
    rule: 'ALARM_HAS_ACTION',
    kind: 'client',
    resource: 'IngressFailuresAlarm',
    bad: (t) => delete r(t, 'IngressFailuresAlarm').AlarmActions,
  },
  {
    rule: 'SECRET_CMK',
    kind: 'client',
    resource: 'PartnerPublicKeySecret',
    bad: (t) => delete r(t, 'PartnerPublicKeySecret').KmsKeyId,
  },
  {
    rule: 'SECRET_NOT_IN_TEMPLATE',
    kind: 'client',
    resource: 'IngressPrivateKeysSecret',
    bad: (t) => (r(t, 'IngressPrivateKeysSecret').SecretString = 'a value written into the template'),
  },
  {
    rule: 'TRANSFER_SECURITY_POLICY_SET',
    kind: 'server',
    resource: 'Server',
    bad: (t) => delete r(t, 'Server').SecurityPolicyName,
  },
  {
    rule: 'TRANSFER_SECURITY_POLICY_CURRENT',
    kind: 'server',
    resource: 'Server',
    bad: (t) => (r(t, 'Server').SecurityPolicyName = 'TransferSecurityPolicy-2018-11'),
  },
  {
    rule: 'TRANSFER_VPC_ENDPOINT',
    kind: 'server',
    resource: 'Server',
    bad: (t) => (r(t, 'Server').EndpointType = 'PUBLIC'),
  },
  {
    rule: 'TRANSFER_LOGGING',
    kind: 'server',
    resource: 'Server',
    bad: (t) => delete r(t, 'Server').StructuredLogDestinations,
  },
  {
    rule: 'TRANSFER_SECURE_PROTOCOLS',
    kind: 'server',
    resource: 'Server',
    bad: (t) => (r(t, 'Server').Protocols = ['SFTP', 'FTP']),
  },
  {
    rule: 'TRANSFER_USER_CHROOT',
    kind: 'client',
    resource: 'UploadUser',
    bad: (t) => (r(t, 'UploadUser').HomeDirectoryType = 'PATH'),
  },
  {
    rule: 'SG_OPEN_TO_WORLD',
    kind: 'network',
    resource: 'SftpSecurityGroup',
    bad: (t) =>
      r(t, 'SftpSecurityGroup').SecurityGroupIngress.push({
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        CidrIp: '0.0.0.0/0',
        Description: 'x',
      }),
  },
  {
    rule: 'SG_EXPLICIT_EGRESS',
    kind: 'network',
    resource: 'SftpSecurityGroup',
    bad: (t) => delete r(t, 'SftpSecurityGroup').SecurityGroupEgress,
  },
  {
    rule: 'SG_INGRESS_NARROW',
    kind: 'network',
    resource: 'SftpSecurityGroup',
    bad: (t) => Object.assign(r(t, 'SftpSecurityGroup').SecurityGroupIngress[0], { FromPort: 0, ToPort: 65535 }),
  },
  {
    rule: 'SG_RULE_DESCRIPTION',
    kind: 'network',
    resource: 'SftpSecurityGroup',
    bad: (t) => delete r(t, 'SftpSecurityGroup').SecurityGroupIngress[1].Description,
  },
  {
    rule: 'SUBNET_NO_AUTO_PUBLIC_IP',
    kind: 'network',
    resource: 'SubnetA',
    bad: (t) => (r(t, 'SubnetA').MapPublicIpOnLaunch = true),
  },
  { rule: 'VPC_FLOW_LOG', kind: 'network', resource: 'Vpc', bad: (t) => delete t.Resources.FlowLog },
];

const templates = new Map<StackKind, Template>();

beforeAll(async () => {
  const result = synth(await exampleConfig(), 'prod', { format: 'json' });
  for (const stack of result.stacks) if (stack.client !== 'contoso-freight') templates.set(stack.kind, stack.template);
});

const fresh = (kind: StackKind): Json => {
  const template = clone(templates.get(kind)!) as Json;
  for (const resource of Object.values(template.Resources) as Json[]) delete resource.Metadata;
  return template;
};
const findingsOf = (template: Json, kind: StackKind, suppressions: readonly Suppression[] = []) =>
  checkTemplate(template as Template, kind, suppressions);

describe('security rules', () => {
  it('has a deliberately bad template for every rule', () => {
    expect(cases.map((c) => c.rule).sort()).toEqual(SECURITY_RULES.map((rule) => rule.id).sort());
  });

  it('are all in the docs table, with every upstream id', () => {
    const doc = readFileSync('docs/security-rules.md', 'utf8');
    for (const rule of SECURITY_RULES) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${rule.id}\` |`));
      expect(row, rule.id).toBeDefined();
      const upstream = [
        ...(rule.upstream.cfnNag ?? []),
        ...(rule.upstream.checkov ?? []),
        ...(rule.upstream.guard ?? []),
        ...(rule.terraformOnly ?? []),
      ];
      for (const id of upstream) expect(row, `${rule.id} ${id}`).toMatch(new RegExp(`\\b${id}\\b`));
    }
    for (const suppression of SUPPRESSIONS) expect(doc).toContain(`| \`${suppression.rule}\` |`);
  });

  it('names upstream rule ids for the rules that mirror cfn-nag, checkov or cfn-guard', () => {
    for (const rule of SECURITY_RULES) {
      for (const id of rule.upstream.cfnNag ?? []) expect(id).toMatch(/^[FW]\d+$/);
      for (const id of rule.upstream.checkov ?? []) expect(id).toMatch(/^CKV2?_AWS_\d+$/);
      for (const id of rule.upstream.guard ?? []) expect(id).toMatch(/^[A-Z0-9_]+$/);
    }
  });

  it.each(cases)('$rule catches $resource in a deliberately bad $kind template', (c) => {
    const before = findingsOf(fresh(c.kind), c.kind, SUPPRESSIONS).filter(
      (finding) => finding.rule === c.rule && !finding.suppressed,
    );
    expect(before, 'the rendered template complies').toEqual([]);

    const bad = fresh(c.kind);
    c.bad(bad);
    const caught = findingsOf(bad, c.kind).filter((finding) => finding.rule === c.rule);
    expect(caught.map((finding) => finding.resource)).toContain(c.resource);
    expect(caught.every((finding) => finding.message.length > 0)).toBe(true);

    if (c.good) {
      const good = fresh(c.kind);
      c.good(good);
      expect(
        findingsOf(good, c.kind).filter((finding) => finding.rule === c.rule && finding.resource === c.resource),
      ).toEqual([]);
    }
  });
});

describe('suppressions', () => {
  it('every suppression names a rule and carries a written reason', () => {
    for (const suppression of SUPPRESSIONS) {
      expect(SECURITY_RULES.map((rule) => rule.id)).toContain(suppression.rule);
      expect(suppression.reason.length).toBeGreaterThan(40);
    }
  });

  it('refuses a suppression without a reason or for an unknown rule', () => {
    const template = fresh('server') as Template;
    expect(() =>
      checkTemplate(template, 'server', [{ rule: 'LAMBDA_DLQ', resourceType: 'AWS::Lambda::Function', reason: '' }]),
    ).toThrow(/reason/);
    expect(() =>
      checkTemplate(template, 'server', [
        { rule: 'NOPE', resourceType: 'AWS::S3::Bucket', reason: 'a long enough reason here' },
      ]),
    ).toThrow(/unknown rule/);
  });

  it('reports suppressed findings with their reason instead of hiding them', () => {
    const findings = findingsOf(fresh('client'), 'client', SUPPRESSIONS);
    const dlq = findings.filter((finding) => finding.rule === 'LAMBDA_DLQ');
    expect(dlq.map((finding) => finding.resource).sort()).toEqual([
      'EgressFunction',
      'IngressFunction',
      'SweeperFunction',
    ]);
    for (const finding of dlq) expect(finding.suppressed).toMatch(/SQS event source mapping/);
  });

  it('applies only where it says: the log-bucket exemption does not cover a client bucket', () => {
    const template = fresh('client');
    delete r(template, 'UploadBucket').LoggingConfiguration;
    const finding = findingsOf(template, 'client', SUPPRESSIONS).find((f) => f.rule === 'S3_ACCESS_LOGGING');
    expect(finding?.resource).toBe('UploadBucket');
    expect(finding?.suppressed).toBeUndefined();
  });

  it('writes the suppression into the resource metadata for cfn_nag, checkov and cfn-guard', () => {
    const template = fresh('client') as Template;
    annotateSuppressions(template, checkTemplate(template, 'client', SUPPRESSIONS));
    const metadata = template.Resources.IngressFunction?.Metadata as Json;
    expect(metadata.cfn_nag.rules_to_suppress.map((entry: Json) => entry.id)).toEqual(['W89', 'W92']);
    expect(metadata.checkov.skip.map((entry: Json) => entry.id)).toEqual(['CKV_AWS_116', 'CKV_AWS_117', 'CKV_AWS_115']);
    expect(metadata.guard.SuppressedRules).toEqual([
      'LAMBDA_DLQ_CHECK',
      'LAMBDA_INSIDE_VPC',
      'LAMBDA_CONCURRENCY_CHECK',
    ]);
    for (const entry of metadata.cfn_nag.rules_to_suppress) expect(entry.reason.length).toBeGreaterThan(40);
  });
});
