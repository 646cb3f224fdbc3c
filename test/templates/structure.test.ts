import { describe, expect, it } from 'vitest';
import { bucketName, secretNames } from '../../src/core/config/naming.js';
import type { Config } from '../../src/core/config/schema.js';
import { MALLOC_TUNABLES } from '../../src/core/crypto/malloc-tuning.js';
import type { Resource, Template } from '../../src/templates/cfn.js';
import type { SynthResult } from '../../src/templates/synthesize.js';
import { configFrom, exampleConfig, synth } from './fixtures.js';

// biome-ignore lint/suspicious/noExplicitAny: tests reach into template JSON freely
type Json = Record<string, any>;
const props = (template: Template, id: string): Json => {
  const resource = template.Resources[id];
  if (!resource) throw new Error(`no resource ${id}; have ${Object.keys(template.Resources).join(', ')}`);
  return (resource.Properties ?? {}) as Json;
};
const stack = (result: SynthResult, kind: string, client?: string) => {
  const found = result.stacks.find((candidate) => candidate.kind === kind && candidate.client === client);
  if (!found) throw new Error(`no ${kind} stack ${client ?? ''}`);
  return found;
};
const ofType = (template: Template, type: string): [string, Resource][] =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

describe('rendered stacks of the example config', async () => {
  const config: Config = await exampleConfig();
  const prod = synth(config, 'prod', { format: 'yaml' });
  const dev = synth(config, 'dev', { format: 'yaml' });

  it('names stacks from naming.ts and orders them assets → network → server → clients (in parallel)', () => {
    expect(prod.deployOrder).toEqual([
      ['acme-sftp-prod-assets'],
      ['acme-sftp-prod-network'],
      ['acme-sftp-prod-server'],
      ['acme-sftp-prod-client-northwind-bank', 'acme-sftp-prod-client-contoso-freight'],
    ]);
    expect(dev.stacks.map((s) => s.name)).toEqual([
      'acme-sftp-dev-assets',
      'acme-sftp-dev-network',
      'acme-sftp-dev-server',
      'acme-sftp-dev-client-northwind-bank',
    ]);
  });

  it('fills every parameter from an upstream output that exists, or from an uploaded artifact; never Fn::ImportValue', () => {
    for (const result of [prod, dev]) {
      for (const s of result.stacks) {
        expect(s.body).not.toContain('ImportValue');
        expect(Object.keys(s.parameters).sort()).toEqual(Object.keys(s.template.Parameters ?? {}).sort());
        for (const [name, source] of Object.entries(s.parameters)) {
          if (source.from === 'artifact') {
            expect(['IngressCodeKey', 'EgressCodeKey', 'CloseDefaultSgCodeKey']).toContain(name);
            continue;
          }
          const upstream = result.stacks.find((candidate) => candidate.name === source.stack);
          expect(upstream, `${s.name}.${name} ← ${source.stack}`).toBeDefined();
          expect(upstream!.outputs, `${s.name}.${name} ← ${source.stack}.${source.output}`).toContain(source.output);
          expect(s.dependsOn).toContain(source.stack);
        }
      }
    }
  });

  describe('network', () => {
    const network = stack(prod, 'network').template;

    it('has one public subnet, route association and Elastic IP per AZ (3 in prod, 2 in dev)', () => {
      expect(ofType(network, 'AWS::EC2::Subnet')).toHaveLength(3);
      expect(ofType(network, 'AWS::EC2::EIP')).toHaveLength(3);
      expect(ofType(network, 'AWS::EC2::SubnetRouteTableAssociation')).toHaveLength(3);
      expect(ofType(stack(dev, 'network').template, 'AWS::EC2::EIP')).toHaveLength(2);
      expect(ofType(network, 'AWS::EC2::Subnet').map(([, subnet]) => (subnet.Properties as Json).CidrBlock)).toEqual([
        '10.44.0.0/26',
        '10.44.0.64/26',
        '10.44.0.128/26',
      ]);
      expect(props(network, 'SubnetB').AvailabilityZone).toEqual({ 'Fn::Select': [1, { 'Fn::GetAZs': '' }] });
      expect(props(network, 'DefaultRoute')).toMatchObject({
        DestinationCidrBlock: '0.0.0.0/0',
        GatewayId: { Ref: 'InternetGateway' },
      });
    });

    it('allows tcp/22 from each client CIDR, naming the client, and denies all egress explicitly', () => {
      const sg = props(network, 'SftpSecurityGroup');
      expect(sg.SecurityGroupIngress).toEqual([
        {
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          CidrIp: '203.0.113.0/28',
          Description: 'SFTP from northwind-bank',
        },
        {
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          CidrIp: '198.51.100.17/32',
          Description: 'SFTP from northwind-bank',
        },
        {
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          CidrIp: '192.0.2.64/27',
          Description: 'SFTP from contoso-freight',
        },
      ]);
      expect(sg.SecurityGroupEgress).toEqual([
        {
          IpProtocol: 'icmp',
          FromPort: 252,
          ToPort: 86,
          CidrIp: '255.255.255.255/32',
          Description: 'Disallow all traffic',
        },
      ]);
      // dev has only northwind-bank
      expect(props(stack(dev, 'network').template, 'SftpSecurityGroup').SecurityGroupIngress).toHaveLength(2);
    });

    it('keeps the Elastic IPs of a protected environment when the stack goes', () => {
      expect(network.Resources.EipA?.DeletionPolicy).toBe('Retain');
      expect(stack(dev, 'network').template.Resources.EipA?.DeletionPolicy).toBeUndefined();
    });
  });

  describe('server', () => {
    const server = stack(prod, 'server').template;

    it('is an SFTP-only VPC endpoint with the network outputs, an explicit policy and structured logs', () => {
      expect(props(server, 'Server')).toMatchObject({
        EndpointType: 'VPC',
        EndpointDetails: {
          VpcId: { Ref: 'VpcId' },
          SubnetIds: { Ref: 'SubnetIds' },
          AddressAllocationIds: { Ref: 'AddressAllocationIds' },
          SecurityGroupIds: [{ Ref: 'SecurityGroupId' }],
        },
        IdentityProviderType: 'SERVICE_MANAGED',
        Protocols: ['SFTP'],
        SecurityPolicyName: 'TransferSecurityPolicy-2025-03',
        StructuredLogDestinations: [{ 'Fn::GetAtt': ['ServerLogGroup', 'Arn'] }],
      });
      expect(props(server, 'ServerLogGroup')).toMatchObject({
        RetentionInDays: 365,
        KmsKeyId: { Ref: 'PlatformKeyArn' },
      });
    });

    it('outputs the server id, endpoint host name and public IPs', () => {
      expect(Object.keys(server.Outputs ?? {})).toEqual(
        expect.arrayContaining(['ServerId', 'EndpointHostName', 'PublicIps']),
      );
    });
  });

  describe('client', () => {
    const bank = stack(prod, 'client', 'northwind-bank').template;
    const freight = stack(prod, 'client', 'contoso-freight').template;

    it('has four private, KMS-encrypted, versioned, logged buckets with the derived names', () => {
      for (const purpose of ['upload', 'raw', 'export', 'download'] as const) {
        const id = `${purpose[0]!.toUpperCase()}${purpose.slice(1)}Bucket`;
        const bucket = props(bank, id);
        expect(bucket.BucketName).toBe(bucketName('acme-sftp', 'prod', 'northwind-bank', purpose));
        expect(bucket.BucketName.length).toBeLessThanOrEqual(63);
        expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0]).toEqual({
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': ['ClientKey', 'Arn'] },
          },
          BucketKeyEnabled: true,
        });
        expect(Object.values(bucket.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
        expect(bucket.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
        expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
        expect(bucket.LifecycleConfiguration.Rules).toEqual([
          expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
          expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
        ]);
        const policy = props(bank, `${id}Policy`).PolicyDocument.Statement;
        expect(policy).toContainEqual(
          expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        );
        expect(bank.Resources[id]?.DeletionPolicy).toBe('Retain');
      }
    });

    it('has a rotating key whose policy names no wildcard principal', () => {
      const key = props(bank, 'ClientKey');
      expect(key.EnableKeyRotation).toBe(true);
      for (const statement of key.KeyPolicy.Statement) expect(JSON.stringify(statement.Principal)).not.toMatch(/"\*"/);
      expect(props(bank, 'ClientKeyAlias').AliasName).toBe('alias/acme-sftp/prod/client/northwind-bank');
    });

    it("triggers ingress only on Transfer's upload-completed event for this client's upload user", () => {
      expect(props(bank, 'IngressRule').EventPattern).toEqual({
        source: ['aws.transfer'],
        'detail-type': ['SFTP Server File Upload Completed'],
        detail: { 'server-id': [{ Ref: 'ServerId' }], username: ['northwind-bank-upload'] },
      });
      const statement = props(bank, 'IngressQueuePolicy').PolicyDocument.Statement[0];
      expect(statement).toMatchObject({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['IngressRule', 'Arn'] } } },
      });
    });

    it('triggers egress on ObjectCreated in the export bucket, created only after the queue policy S3 validates', () => {
      expect(props(bank, 'ExportBucket').NotificationConfiguration).toEqual({
        QueueConfigurations: [{ Event: 's3:ObjectCreated:*', Queue: { 'Fn::GetAtt': ['EgressQueue', 'Arn'] } }],
      });
      expect(bank.Resources.ExportBucket?.DependsOn).toEqual(['EgressQueuePolicy']);
      expect(props(bank, 'EgressQueuePolicy').PolicyDocument.Statement[0].Condition).toEqual({
        ArnEquals: { 'aws:SourceArn': 'arn:aws:s3:::acme-sftp-prod-northwind-bank-export' },
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      });
    });

    it('gives both queues KMS, a dead-letter queue and a redrive policy', () => {
      for (const prefix of ['Ingress', 'Egress']) {
        const queue = props(bank, `${prefix}Queue`);
        expect(queue.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': ['ClientKey', 'Arn'] });
        expect(queue.RedrivePolicy).toEqual({
          deadLetterTargetArn: { 'Fn::GetAtt': [`${prefix}DeadLetterQueue`, 'Arn'] },
          maxReceiveCount: 3,
        });
        expect(props(bank, `${prefix}DeadLetterQueue`).KmsMasterKeyId).toBeDefined();
      }
    });

    it('runs nodejs24.x on arm64 with the configured memory, code from parameters and an explicit log group', () => {
      for (const [prefix, handler] of [
        ['Ingress', 'ingress.handler'],
        ['Egress', 'egress.handler'],
      ] as const) {
        const fn = props(bank, `${prefix}Function`);
        expect(fn).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: handler,
          MemorySize: 1024,
          Code: { S3Bucket: { Ref: 'CodeBucket' }, S3Key: { Ref: `${prefix}CodeKey` } },
          LoggingConfig: { LogGroup: { Ref: `${prefix}LogGroup` } },
        });
        expect(props(bank, `${prefix}LogGroup`).RetentionInDays).toBe(365);
        expect(props(bank, `${prefix}EventSourceMapping`)).toMatchObject({
          EventSourceArn: { 'Fn::GetAtt': [`${prefix}Queue`, 'Arn'] },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        });
      }
      expect(props(freight, 'IngressFunction').MemorySize).toBe(512);
      expect(props(bank, 'IngressFunction').Environment.Variables).toMatchObject({
        SFTPCTL_UPLOAD_BUCKET: 'acme-sftp-prod-northwind-bank-upload',
        SFTPCTL_RAW_BUCKET: 'acme-sftp-prod-northwind-bank-raw',
        SFTPCTL_INGRESS_PRIVATE_KEYS_SECRET_ARN: { Ref: 'IngressPrivateKeysSecret' },
        SFTPCTL_ENCRYPTED_EXTENSIONS: 'gpg,pgp',
        SFTPCTL_CHECKSUM_ALGORITHM: 'sha256',
        SFTPCTL_REQUIRE_ENCRYPTION: 'true',
      });
      // Both streaming functions start with glibc told to keep freed memory (their 1 MiB chunks reused, not refaulted).
      for (const prefix of ['Ingress', 'Egress'])
        expect(props(bank, `${prefix}Function`).Environment.Variables.GLIBC_TUNABLES).toBe(MALLOC_TUNABLES);
      expect(MALLOC_TUNABLES).toMatch(/^glibc\.malloc\.mmap_threshold=\d+:glibc\.malloc\.trim_threshold=\d+$/);
    });

    it("limits each function role to this client's buckets, key, secret, queue and log group", () => {
      const own = JSON.stringify(bank);
      for (const prefix of ['Ingress', 'Egress']) {
        const statements = props(bank, `${prefix}FunctionRole`).Policies[0].PolicyDocument.Statement as Json[];
        for (const statement of statements) {
          for (const resource of statement.Resource) {
            if (typeof resource === 'string')
              expect(resource).toMatch(
                /^arn:aws:s3:::acme-sftp-prod-northwind-bank-(upload|raw|export|download)(\/\*)?$/,
              );
            else expect(Object.keys(bank.Resources)).toContain(resource.Ref ?? resource['Fn::GetAtt'][0]);
          }
        }
      }
      expect(own).not.toContain('contoso');
    });

    it('creates the PGP secrets empty (no value in the template), encrypted with the client key', () => {
      const names = secretNames('acme-sftp', 'prod', 'northwind-bank');
      expect(props(bank, 'IngressPrivateKeysSecret')).toMatchObject({
        Name: names.ingressPrivateKeys,
        KmsKeyId: { 'Fn::GetAtt': ['ClientKey', 'Arn'] },
      });
      expect(props(bank, 'PartnerPublicKeySecret')).toMatchObject({ Name: names.partnerPublicKey });
      for (const [, secret] of ofType(bank, 'AWS::SecretsManager::Secret')) {
        expect(secret.Properties).not.toHaveProperty('SecretString');
        expect(secret.Properties).not.toHaveProperty('GenerateSecretString');
      }
    });

    it('chroots each Transfer user to its bucket, with no SSH keys in the template', () => {
      expect(props(bank, 'UploadUser')).toEqual({
        ServerId: { Ref: 'ServerId' },
        UserName: 'northwind-bank-upload',
        Role: { 'Fn::GetAtt': ['UploadUserRole', 'Arn'] },
        HomeDirectoryType: 'LOGICAL',
        HomeDirectoryMappings: [{ Entry: '/', Target: '/acme-sftp-prod-northwind-bank-upload' }],
      });
      expect(props(bank, 'DownloadUser').HomeDirectoryMappings).toEqual([
        { Entry: '/', Target: '/acme-sftp-prod-northwind-bank-download' },
      ]);
      for (const [, user] of ofType(bank, 'AWS::Transfer::User'))
        expect(user.Properties).not.toHaveProperty('SshPublicKeys');
    });

    it('gives the download user a read-only role and scopes both user roles to this server', () => {
      const statements = props(bank, 'DownloadUserRole').Policies[0].PolicyDocument.Statement as Json[];
      expect(statements.flatMap((statement) => statement.Action).sort()).toEqual([
        'kms:Decrypt',
        's3:GetObject',
        's3:ListBucket',
      ]);
      const trust = props(bank, 'UploadUserRole').AssumeRolePolicyDocument.Statement[0];
      expect(trust.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
      expect(trust.Condition.ArnLike['aws:SourceArn']['Fn::Sub'][0]).toMatch(/:user\/\$\{ServerId\}\/\*$/);
    });

    it('alarms on dead letters, function errors and the first failed file, each notifying the alarm topic', () => {
      const alarms = ofType(bank, 'AWS::CloudWatch::Alarm');
      expect(alarms.map(([id]) => id).sort()).toEqual([
        'EgressDeadLetterAlarm',
        'EgressErrorsAlarm',
        'EgressFailuresAlarm',
        'IngressDeadLetterAlarm',
        'IngressErrorsAlarm',
        'IngressFailuresAlarm',
        'SweeperErrorsAlarm',
        'SweeperFindsAlarm',
      ]);
      for (const [id, alarm] of alarms)
        expect({ id, ...alarm.Properties }).toMatchObject({
          id,
          ActionsEnabled: true,
          AlarmActions: [{ Ref: 'AlarmTopicArn' }],
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 1,
        });
      expect(props(bank, 'IngressFailuresMetricFilter')).toMatchObject({
        LogGroupName: { Ref: 'IngressLogGroup' },
        FilterPattern: '{ ($.event = "failed") || ($.message.event = "failed") }',
      });
    });

    it('sweeps every client with an upload user on a schedule, with a role derived from its declared operations', () => {
      for (const stack of [bank, freight]) {
        expect(props(stack, 'SweeperFunction')).toMatchObject({
          Handler: 'ingress.sweep',
          Code: { S3Key: { Ref: 'IngressCodeKey' } },
          Runtime: 'nodejs24.x',
        });
        expect(props(stack, 'SweeperSchedule')).toMatchObject({
          ScheduleExpression: 'rate(5 minutes)',
          State: 'ENABLED',
          Targets: [{ Arn: { 'Fn::GetAtt': ['SweeperFunction', 'Arn'] } }],
        });
        expect(props(stack, 'SweeperInvokePermission')).toMatchObject({
          Principal: 'events.amazonaws.com',
          SourceArn: { 'Fn::GetAtt': ['SweeperSchedule', 'Arn'] },
        });
        const statements = props(stack, 'SweeperFunctionRole').Policies[0].PolicyDocument.Statement;
        // biome-ignore lint/suspicious/noExplicitAny: template JSON
        const actions = statements.flatMap((statement: any) => statement.Action).sort();
        expect(actions).toEqual([
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          's3:AbortMultipartUpload',
          's3:GetObject', // putTags of one version heads it first
          's3:GetObjectTagging',
          's3:ListBucket',
          's3:PutObject',
          's3:PutObjectTagging',
          's3:PutObjectVersionTagging',
          'sqs:SendMessage',
        ]);
        // It reads the same pipeline settings as ingress (checksum deadline, temporary names): one sweep core.
        const variables = props(stack, 'SweeperFunction').Environment.Variables;
        expect(variables).toMatchObject({
          SFTPCTL_UPLOAD_BUCKET: expect.any(String),
          SFTPCTL_RAW_BUCKET: expect.any(String),
          SFTPCTL_CHECKSUM_POLICY: expect.any(String),
          // Older than the longest ingress job (15 min) can run: never a second job beside a running one.
          SFTPCTL_SWEEP_AFTER_MINUTES: '20',
        });
        expect(props(stack, 'SweeperFindsAlarm')).toMatchObject({ AlarmActions: [{ Ref: 'AlarmTopicArn' }] });
      }
    });

    it('makes every queue TLS-only, the dead-letter queues included', () => {
      const queues = ofType(bank, 'AWS::SQS::Queue').map(([id]) => id);
      expect(queues).toHaveLength(4);
      const denied = ofType(bank, 'AWS::SQS::QueuePolicy').flatMap(([id]) =>
        // biome-ignore lint/suspicious/noExplicitAny: template JSON
        (props(bank, id).PolicyDocument.Statement as any[])
          .filter(
            (statement) =>
              statement.Effect === 'Deny' && statement.Condition?.Bool?.['aws:SecureTransport'] === 'false',
          )
          // biome-ignore lint/suspicious/noExplicitAny: template JSON
          .flatMap((statement) => (statement.Resource as any[]).map((resource) => resource['Fn::GetAtt'][0])),
      );
      expect(denied.sort()).toEqual(queues.sort());
    });

    it('leaves out the egress chain of a client without a download user', () => {
      expect(freight.Resources).not.toHaveProperty('EgressFunction');
      expect(freight.Resources).not.toHaveProperty('DownloadUser');
      expect(freight.Resources).not.toHaveProperty('PartnerPublicKeySecret');
      expect(props(freight, 'ExportBucket')).not.toHaveProperty('NotificationConfiguration');
      expect(freight.Parameters).not.toHaveProperty('EgressCodeKey');
    });
  });

  it('a client that allows any IP opens tcp/22 to the world, reported as a suppressed finding with the reason', async () => {
    const open = await configFrom(`project: acme
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 } }
environments: { dev: {} }
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload: { sshKeys: [] }
  - name: open
    allowAnyIp: true
    download: { sshKeys: [] }
`);
    const result = synth(open, 'dev', { format: 'json' });
    const network = stack(result, 'network');
    expect(props(network.template, 'SftpSecurityGroup').SecurityGroupIngress.map((rule: Json) => rule.CidrIp)).toEqual([
      '203.0.113.0/24',
      '0.0.0.0/0',
    ]);
    const finding = network.findings.find((f) => f.rule === 'SG_OPEN_TO_WORLD');
    expect(finding?.suppressed).toMatch(/allowAnyIp: true for open/);
    expect(network.template.Resources.SftpSecurityGroup?.Metadata).toMatchObject({
      cfn_nag: { rules_to_suppress: [{ id: 'W2' }] },
    });
  });

  it('reports a legacy security policy (strict mode fails on it)', async () => {
    const legacy = await configFrom(`project: acme
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 }, transfer: { securityPolicy: TransferSecurityPolicy-2020-06 } }
environments: { dev: {} }
clients: []
`);
    const result = synth(legacy, 'dev', { format: 'yaml' });
    const findings = stack(result, 'server').findings;
    expect(findings.map((finding) => [finding.rule, finding.suppressed])).toEqual([
      ['TRANSFER_SECURITY_POLICY_CURRENT', undefined],
    ]);
  });

  it('refuses an environment the config does not define', () => {
    expect(() => synth(config, 'staging', { format: 'yaml' })).toThrow(/environment "staging" is not defined/);
  });
});
