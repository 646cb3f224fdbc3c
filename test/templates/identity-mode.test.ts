import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Resource, Template } from '../../src/templates/cfn.js';
import { IDENTITY_FUNCTION_ENV, IDENTITY_RESERVED_CONCURRENCY } from '../../src/templates/identity.js';
import { blockingFindings, type SynthResult } from '../../src/templates/synthesize.js';
import { evaluate, type PolicyDocument } from '../helpers/iam-policy.js';
import { configFrom, synth, unsuppressed } from './fixtures.js';

const CERT = 'arn:aws:acm:eu-west-2:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

interface Options {
  identity?: Record<string, unknown>;
  protocols?: string[];
  clients?: number;
  cidrsPerClient?: number;
  limit?: number;
  protected?: boolean;
}

async function lambdaConfig(options: Options = {}) {
  const clients = Array.from({ length: options.clients ?? 2 }, (_, i) => ({
    name: `partner-${i}`,
    allowedIps: Array.from(
      { length: options.cidrsPerClient ?? 1 },
      (_, j) => `198.${18 + j}.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    ),
    upload: { sshKeys: [] },
    download: { sshKeys: [] },
  }));
  return configFrom(
    stringify({
      project: 'acme',
      defaults: {
        region: 'eu-west-2',
        vpc: { cidr: '10.42.0.0/24' },
        identity: { mode: 'lambda', ...options.identity },
        ...(options.protocols ? { transfer: { protocols: options.protocols, certificate: CERT } } : {}),
        ...(options.limit ? { securityGroupRuleLimit: options.limit } : {}),
      },
      environments: { prod: { protected: options.protected ?? false } },
      clients,
    }),
  );
}

const stack = (result: SynthResult, kind: string, client?: string) =>
  result.stacks.find((entry) => entry.kind === kind && (client === undefined || entry.client === client))!;
const resource = (template: Template, id: string): Resource => {
  const found = template.Resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
};
// biome-ignore lint/suspicious/noExplicitAny: tests reach into template JSON freely
const props = (template: Template, id: string) => resource(template, id).Properties as Record<string, any>;

/** Replaces Ref / Fn::GetAtt / Fn::Sub with the concrete values a deployed stack would have. */
function resolve(value: unknown, names: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(item, names));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if (typeof o.Ref === 'string') return names[o.Ref] ?? `unresolved:${o.Ref}`;
  if (Array.isArray(o['Fn::GetAtt'])) return names[(o['Fn::GetAtt'] as string[]).join('.')] ?? 'unresolved';
  if (o['Fn::Sub'] !== undefined) {
    const [text, vars] = Array.isArray(o['Fn::Sub'])
      ? (o['Fn::Sub'] as [string, Record<string, unknown>])
      : [o['Fn::Sub'] as string, {}];
    return text.replace(/\$\{([^}]+)\}/g, (_, key: string) =>
      String(key in vars ? resolve(vars[key], names) : (names[key] ?? `unresolved:${key}`)),
    );
  }
  return Object.fromEntries(Object.entries(o).map(([key, item]) => [key, resolve(item, names)]));
}

const ACCOUNT = '123456789012';
const KEY_ARN = `arn:aws:kms:eu-west-2:${ACCOUNT}:key/1111`;
const TABLE_ARN = `arn:aws:dynamodb:eu-west-2:${ACCOUNT}:table/acme-prod-identity`;
const LOG_ARN = `arn:aws:logs:eu-west-2:${ACCOUNT}:log-group:/sftpctl/acme/prod/identity:*`;
const NAMES = {
  'AWS::Region': 'eu-west-2',
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  PlatformKeyArn: KEY_ARN,
  'IdentityTable.Arn': TABLE_ARN,
  'IdentityLogGroup.Arn': LOG_ARN,
};

describe('lambda identity mode: the server stack', () => {
  it('has the user table, the identity function, its role and the invoke permission; the server asks the function', async () => {
    const result = synth(await lambdaConfig(), 'prod', { format: 'json' });
    const server = stack(result, 'server').template;

    expect(props(server, 'IdentityTable')).toMatchObject({
      TableName: 'acme-prod-identity',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'userName', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'userName', AttributeType: 'S' }],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { Ref: 'PlatformKeyArn' } },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: false,
    });
    expect(resource(server, 'IdentityTable').DeletionPolicy).toBeUndefined();

    const fn = props(server, 'IdentityFunction');
    expect(fn).toMatchObject({
      Runtime: 'nodejs24.x',
      Handler: 'identity.handler',
      ReservedConcurrentExecutions: IDENTITY_RESERVED_CONCURRENCY,
      Code: { S3Bucket: { Ref: 'CodeBucket' }, S3Key: { Ref: 'IdentityCodeKey' } },
      LoggingConfig: { LogGroup: { Ref: 'IdentityLogGroup' } },
      Role: { 'Fn::GetAtt': ['IdentityFunctionRole', 'Arn'] },
    });
    expect(fn.Environment.Variables).toEqual({
      [IDENTITY_FUNCTION_ENV.table]: { Ref: 'IdentityTable' },
      [IDENTITY_FUNCTION_ENV.cacheMs]: '30000',
      [IDENTITY_FUNCTION_ENV.passwordSecretPrefix]: '/acme/prod/identity/passwords/',
    });
    expect(props(server, 'IdentityLogGroup')).toMatchObject({
      LogGroupName: '/sftpctl/acme/prod/identity',
      KmsKeyId: { Ref: 'PlatformKeyArn' },
      RetentionInDays: 90,
    });
    expect(stack(result, 'server').parameters.IdentityCodeKey).toEqual({
      from: 'artifact',
      artifact: 'identity-function',
    });

    expect(props(server, 'IdentityInvokePermission')).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['IdentityFunction', 'Arn'] },
      Principal: 'transfer.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: { 'Fn::GetAtt': ['Server', 'Arn'] },
    });
    const transfer = props(server, 'Server');
    expect(transfer.IdentityProviderType).toBe('AWS_LAMBDA');
    expect(transfer.IdentityProviderDetails).toEqual({
      Function: { 'Fn::GetAtt': ['IdentityFunction', 'Arn'] },
      SftpAuthenticationMethods: 'PUBLIC_KEY',
    });
    expect(transfer.Protocols).toEqual(['SFTP']);
    expect(transfer.Certificate).toBeUndefined();
    expect(stack(result, 'server').outputs).toEqual(
      expect.arrayContaining(['IdentityTableName', 'IdentityFunctionName', 'ServerId']),
    );
  });

  it("the function's role reads only its table, decrypts only through DynamoDB and Secrets Manager, reads only password hashes", async () => {
    const result = synth(await lambdaConfig(), 'prod', { format: 'json' });
    const role = resource(stack(result, 'server').template, 'IdentityFunctionRole');
    const policies = resolve(
      (role.Properties as { Policies: { PolicyDocument: unknown }[] }).Policies.map((p) => p.PolicyDocument),
      NAMES,
    ) as PolicyDocument[];
    const allowed = (action: string, resource: string, context: Record<string, string> = {}) =>
      evaluate(policies, { action, resource, context }).allowed;
    const viaDynamo = { 'kms:ViaService': 'dynamodb.eu-west-2.amazonaws.com' };

    expect(allowed('dynamodb:GetItem', TABLE_ARN)).toBe(true);
    expect(allowed('dynamodb:GetItem', `arn:aws:dynamodb:eu-west-2:${ACCOUNT}:table/acme-test-identity`)).toBe(false);
    for (const action of ['dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:Query', 'dynamodb:DeleteItem'])
      expect(allowed(action, TABLE_ARN)).toBe(false);
    expect(allowed('kms:Decrypt', KEY_ARN, viaDynamo)).toBe(true);
    // FTPS password hashes are secrets under the same environment key (sftpctl client password).
    expect(allowed('kms:Decrypt', KEY_ARN, { 'kms:ViaService': 'secretsmanager.eu-west-2.amazonaws.com' })).toBe(true);
    expect(allowed('kms:Decrypt', KEY_ARN)).toBe(false);
    expect(allowed('kms:Decrypt', KEY_ARN, { 'kms:ViaService': 's3.eu-west-2.amazonaws.com' })).toBe(false);
    expect(allowed('kms:GenerateDataKey', KEY_ARN, viaDynamo)).toBe(false);
    const secret = `arn:aws:secretsmanager:eu-west-2:${ACCOUNT}:secret:/acme/prod/identity/passwords/partner-0-upload-AbCdEf`;
    expect(allowed('secretsmanager:GetSecretValue', secret)).toBe(true);
    expect(
      allowed(
        'secretsmanager:GetSecretValue',
        `arn:aws:secretsmanager:eu-west-2:${ACCOUNT}:secret:/acme/prod/partner-0/pgp/ingress-private-keys-AbCdEf`,
      ),
    ).toBe(false);
    expect(allowed('secretsmanager:PutSecretValue', secret)).toBe(false);
    expect(allowed('logs:PutLogEvents', LOG_ARN)).toBe(true);
    expect(
      allowed('logs:PutLogEvents', `arn:aws:logs:eu-west-2:${ACCOUNT}:log-group:/sftpctl/acme/prod/transfer:*`),
    ).toBe(false);
  });

  it('the environment key lets CloudWatch Logs encrypt the identity log group too', async () => {
    const result = synth(await lambdaConfig(), 'prod', { format: 'json' });
    const key = props(stack(result, 'assets').template, 'PlatformKey');
    const logs = key.KeyPolicy.Statement.find((s: { Sid: string }) => s.Sid === 'CloudWatchLogsEncryptsOwnLogGroups');
    const arns = resolve(logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn'], NAMES);
    expect(arns).toEqual([
      `arn:aws:logs:eu-west-2:${ACCOUNT}:log-group:/sftpctl/acme/prod/transfer*`,
      `arn:aws:logs:eu-west-2:${ACCOUNT}:log-group:/sftpctl/acme/prod/close-default-sg*`,
      `arn:aws:logs:eu-west-2:${ACCOUNT}:log-group:/sftpctl/acme/prod/identity*`,
    ]);
  });

  it('a protected environment keeps its table (deletion protection, retained)', async () => {
    const result = synth(await lambdaConfig({ protected: true }), 'prod', { format: 'json' });
    const table = resource(stack(result, 'server').template, 'IdentityTable');
    expect(table.Properties?.DeletionProtectionEnabled).toBe(true);
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('is rule-clean: every finding is suppressed with a written reason', async () => {
    const result = synth(await lambdaConfig(), 'prod', { format: 'json' });
    expect(unsuppressed(result)).toEqual([]);
    expect(blockingFindings(result, { strict: true })).toEqual([]);
    const identity = stack(result, 'server').findings.filter((f) => f.resource === 'IdentityFunction');
    expect(identity.map((f) => f.rule).sort()).toEqual(['LAMBDA_DLQ', 'LAMBDA_ENV_ENCRYPTION', 'LAMBDA_IN_VPC']);
  });
});

describe('lambda identity mode: client stacks', () => {
  it('have no Transfer users; the user roles are outputs, assumable by Transfer for this server only', async () => {
    const result = synth(await lambdaConfig(), 'prod', { format: 'json' });
    const client = stack(result, 'client', 'partner-0');
    const types = Object.values(client.template.Resources).map((r) => r.Type);
    expect(types).not.toContain('AWS::Transfer::User');
    expect(client.outputs).toEqual(
      expect.arrayContaining(['UploadUserRoleArn', 'DownloadUserRoleArn', 'UploadUserName', 'DownloadUserName']),
    );
    expect(client.template.Outputs?.UploadUserRoleArn?.Value).toEqual({ 'Fn::GetAtt': ['UploadUserRole', 'Arn'] });
    expect(client.template.Outputs?.UploadUserName?.Value).toBe('partner-0-upload');

    const trust = props(client.template, 'UploadUserRole').AssumeRolePolicyDocument.Statement[0];
    const names = { ...NAMES, ServerId: 's-0123456789abcdef0' };
    // A trust policy names no resource: the evaluator judges its action and conditions against any.
    const policy = resolve({ Statement: [{ ...trust, Resource: '*' }] }, names) as PolicyDocument;
    const assume = (sourceArn: string, account = ACCOUNT) =>
      evaluate([policy], {
        action: 'sts:AssumeRole',
        resource: '*',
        context: { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': account },
      }).allowed;
    const base = `arn:aws:transfer:eu-west-2:${ACCOUNT}`;
    expect(assume(`${base}:server/s-0123456789abcdef0`)).toBe(true);
    expect(assume(`${base}:user/s-0123456789abcdef0/partner-0-upload`)).toBe(true);
    expect(assume(`${base}:server/s-ffffffffffffffff0`)).toBe(false);
    expect(assume(`${base}:server/s-0123456789abcdef0`, '999999999999')).toBe(false);
  });

  it('grant the same permission model as service-managed users', async () => {
    const lambda = synth(await lambdaConfig(), 'prod', { format: 'json' });
    const managed = synth(await lambdaConfig({ identity: { mode: 'service-managed' } }), 'prod', { format: 'json' });
    for (const role of ['UploadUserRole', 'DownloadUserRole']) {
      expect(props(stack(lambda, 'client', 'partner-0').template, role).Policies).toEqual(
        props(stack(managed, 'client', 'partner-0').template, role).Policies,
      );
    }
  });
});

describe('lambda identity mode: the security group', () => {
  const ingress = (result: SynthResult) =>
    props(stack(result, 'network').template, 'SftpSecurityGroup').SecurityGroupIngress as {
      FromPort: number;
      ToPort: number;
      CidrIp: string;
      Description: string;
    }[];

  it('keeps its create-only GroupDescription in every mode (a new one would replace the group under the endpoint)', async () => {
    const description = async (options: Options) =>
      props(
        stack(synth(await lambdaConfig(options), 'prod', { format: 'json' }), 'network').template,
        'SftpSecurityGroup',
      ).GroupDescription;
    const managed = await description({ identity: { mode: 'service-managed' } });
    expect(await description({})).toBe(managed);
    expect(await description({ identity: { securityGroup: 'open' }, protocols: ['SFTP', 'FTPS'] })).toBe(managed);
  });

  it('is the union of the CIDRs while it fits', async () => {
    const result = synth(await lambdaConfig({ clients: 3 }), 'prod', { format: 'json' });
    expect(ingress(result).map((r) => `${r.FromPort} ${r.CidrIp}`)).toEqual([
      '22 198.18.0.1/32',
      '22 198.18.0.2/32',
      '22 198.18.0.3/32',
    ]);
    expect(unsuppressed(result)).toEqual([]);
  });

  it('with FTPS, admits each CIDR on 22, 21 and the passive range 8192-8200', async () => {
    const result = synth(await lambdaConfig({ clients: 2, protocols: ['SFTP', 'FTPS'] }), 'prod', { format: 'json' });
    expect(ingress(result).map((r) => `${r.FromPort}-${r.ToPort} ${r.CidrIp} ${r.Description}`)).toEqual([
      '22-22 198.18.0.1/32 SFTP from partner-0',
      '22-22 198.18.0.2/32 SFTP from partner-1',
      '21-21 198.18.0.1/32 FTPS control from partner-0',
      '21-21 198.18.0.2/32 FTPS control from partner-1',
      '8192-8200 198.18.0.1/32 FTPS passive data from partner-0',
      '8192-8200 198.18.0.2/32 FTPS passive data from partner-1',
    ]);
    const narrow = stack(result, 'network').findings.filter((f) => f.rule === 'SG_INGRESS_NARROW');
    expect(narrow.length).toBe(2);
    expect(narrow.every((f) => f.suppressed?.includes('passive ports'))).toBe(true);
    expect(unsuppressed(result)).toEqual([]);
  });

  it('over the rule quota, by default, is open on the served ports (suppressed with the reason)', async () => {
    const result = synth(await lambdaConfig({ clients: 61 }), 'prod', { format: 'json' });
    expect(ingress(result).map((r) => `${r.FromPort} ${r.CidrIp}`)).toEqual(['22 0.0.0.0/0']);
    const open = stack(result, 'network').findings.find((f) => f.rule === 'SG_OPEN_TO_WORLD')!;
    expect(open.suppressed).toMatch(/needs 61 rules, over securityGroupRuleLimit 60/);
    expect(unsuppressed(result)).toEqual([]);
  });

  it('is open when chosen, even when the union would fit', async () => {
    const result = synth(
      await lambdaConfig({ clients: 2, identity: { securityGroup: 'open' }, protocols: ['SFTP', 'FTPS'] }),
      'prod',
      {
        format: 'json',
      },
    );
    expect(ingress(result).map((r) => `${r.FromPort}-${r.ToPort} ${r.CidrIp}`)).toEqual([
      '22-22 0.0.0.0/0',
      '21-21 0.0.0.0/0',
      '8192-8200 0.0.0.0/0',
    ]);
    expect(stack(result, 'network').findings.find((f) => f.rule === 'SG_OPEN_TO_WORLD')?.suppressed).toMatch(
      /identity.securityGroup is open/,
    );
  });
});

describe('lambda identity mode: FTPS', () => {
  it('serves FTPS with the certificate, automatic passive address and enforced TLS session resumption', async () => {
    const result = synth(await lambdaConfig({ protocols: ['SFTP', 'FTPS'] }), 'prod', { format: 'json' });
    const server = props(stack(result, 'server').template, 'Server');
    expect(server.Protocols).toEqual(['SFTP', 'FTPS']);
    expect(server.Certificate).toBe(CERT);
    expect(server.ProtocolDetails).toEqual({
      SetStatOption: 'ENABLE_NO_OP',
      PassiveIp: 'AUTO',
      TlsSessionResumptionMode: 'ENFORCED',
    });
  });
});

describe('service-managed mode is unchanged', () => {
  it('keeps Transfer users and no identity resources', async () => {
    const result = synth(await lambdaConfig({ identity: { mode: 'service-managed' } }), 'prod', { format: 'json' });
    const server = stack(result, 'server').template;
    expect(Object.keys(server.Resources).sort()).toEqual(['Server', 'ServerLogGroup']);
    expect(props(server, 'Server').IdentityProviderType).toBe('SERVICE_MANAGED');
    const types = Object.values(stack(result, 'client', 'partner-0').template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === 'AWS::Transfer::User')).toHaveLength(2);
  });
});
