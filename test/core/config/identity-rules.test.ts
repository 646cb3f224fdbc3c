import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { securityGroupPlan } from '../../../src/core/config/security-group.js';
import { rows, validateYaml } from '../../helpers/config.js';

const CERT = 'arn:aws:acm:eu-west-2:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

function config(env: Record<string, unknown>, clients = 1, cidrsPerClient = 1) {
  return stringify({
    project: 'acme',
    defaults: { region: 'eu-west-2', vpc: { cidr: '10.42.0.0/24' } },
    environments: { prod: env },
    clients: Array.from({ length: clients }, (_, i) => ({
      name: `partner-${i}`,
      allowedIps: Array.from(
        { length: cidrsPerClient },
        (_, j) => `198.${18 + j}.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      ),
      upload: { sshKeys: [] },
    })),
  });
}

const codes = (result: Awaited<ReturnType<typeof validateYaml>>, severity: 'error' | 'warning' = 'error') =>
  rows(result, severity).map((row) => `${row.code} ${row.field}`);

describe('identity mode and protocols', () => {
  it('FTPS is refused in service-managed mode, with the reason and the way out', async () => {
    const result = await validateYaml(config({ transfer: { protocols: ['SFTP', 'FTPS'] } }));
    expect(rows(result)).toEqual([
      expect.objectContaining({
        code: 'PROTOCOL_NEEDS_IDENTITY_PROVIDER',
        field: 'environments.prod.transfer.protocols[1]',
        message: expect.stringMatching(/FTPS needs identity.mode: lambda in environment "prod"/),
      }),
    ]);
    expect(result.errors[0]!.hint).toMatch(/identity: \{ mode: lambda \}/);
  });

  it('FTPS in lambda mode needs the certificate', async () => {
    const result = await validateYaml(
      config({ identity: { mode: 'lambda' }, transfer: { protocols: ['SFTP', 'FTPS'] } }),
    );
    expect(codes(result)).toEqual(['FTPS_CERTIFICATE_MISSING environments.prod.transfer.protocols']);
    expect(result.errors[0]!.hint).toMatch(/transfer.certificate: arn:aws:acm:eu-west-2:/);
  });

  it('FTPS in lambda mode with an ACM certificate of the region is valid', async () => {
    const result = await validateYaml(
      config({ identity: { mode: 'lambda' }, transfer: { protocols: ['SFTP', 'FTPS'], certificate: CERT } }),
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.config!.environments.prod!.transfer.certificate).toBe(CERT);
  });

  it('plain FTP and AS2 are refused in either mode, each with its reason', async () => {
    for (const mode of ['service-managed', 'lambda']) {
      const result = await validateYaml(
        config({ identity: { mode }, transfer: { protocols: ['SFTP', 'FTP', 'AS2'], certificate: CERT } }),
      );
      expect(rows(result)).toEqual([
        expect.objectContaining({
          code: 'PROTOCOL_UNSUPPORTED',
          field: 'environments.prod.transfer.protocols[1]',
          message: expect.stringMatching(/unencrypted/),
        }),
        expect.objectContaining({
          code: 'PROTOCOL_UNSUPPORTED',
          field: 'environments.prod.transfer.protocols[2]',
          message: expect.stringMatching(/AS2 partner profiles/),
        }),
      ]);
    }
  });

  it('the certificate must be an ACM ARN of the environment region and account', async () => {
    const lambda = (certificate: string, extra: Record<string, unknown> = {}) =>
      validateYaml(config({ identity: { mode: 'lambda' }, transfer: { protocols: ['FTPS'], certificate }, ...extra }));
    expect(codes(await lambda('arn:aws:iam::123456789012:server-certificate/x'))).toEqual([
      'CERTIFICATE_INVALID environments.prod.transfer.certificate',
    ]);
    const elsewhere = await lambda(CERT.replace('eu-west-2', 'us-east-1'));
    expect(rows(elsewhere)).toEqual([
      expect.objectContaining({
        code: 'CERTIFICATE_REGION',
        message: expect.stringMatching(/in us-east-1, but environment "prod" is in eu-west-2/),
      }),
    ]);
    expect(codes(await lambda(CERT, { account: '210987654321' }))).toEqual([
      'CERTIFICATE_ACCOUNT environments.prod.transfer.certificate',
    ]);
  });

  it('a certificate without FTPS is a warning', async () => {
    const result = await validateYaml(config({ identity: { mode: 'lambda' }, transfer: { certificate: CERT } }));
    expect(result.errors).toEqual([]);
    expect(codes(result, 'warning')).toEqual(['CERTIFICATE_UNUSED environments.prod.transfer.certificate']);
  });
});

describe('disabled users', () => {
  const withDisabled = (env: Record<string, unknown>) =>
    config(env).replace(
      '  - name: partner-0\n',
      '  - name: partner-0\n    download: { sshKeys: [], enabled: false }\n',
    );

  it('need the lambda identity provider: refused where Transfer users would have to say it', async () => {
    const result = await validateYaml(withDisabled({}));
    expect(codes(result)).toEqual(['USER_DISABLED_NEEDS_LAMBDA clients[0].download.enabled']);
    expect(result.errors[0]!.message).toMatch(/partner-0's download user is disabled, but environment "prod"/);
    expect(result.errors[0]!.hint).toMatch(/identity.mode: lambda/);
  });

  it('are valid in lambda mode', async () => {
    expect(codes(await validateYaml(withDisabled({ identity: { mode: 'lambda' } })))).toEqual([]);
  });
});

describe('the security group rule quota', () => {
  it('service-managed: over the quota is an error, as before', async () => {
    const result = await validateYaml(config({}, 61));
    expect(codes(result)).toEqual(['SECURITY_GROUP_RULES_OVER_LIMIT environments.prod']);
  });

  it('lambda mode, securityGroup left to its default: a warning explaining the trade-off, the plan falls back to open', async () => {
    const result = await validateYaml(config({ identity: { mode: 'lambda' } }, 300));
    expect(result.errors).toEqual([]);
    const [warning] = result.warnings;
    expect(codes(result, 'warning')).toEqual(['SECURITY_GROUP_OPEN_FALLBACK environments.prod']);
    expect(warning!.message).toMatch(/needs 300 security group rules \(300 CIDRs × 1 port rules: tcp\/22\)/);
    expect(warning!.message).toMatch(/identity function refuses a user whose source address is outside/);
    expect(warning!.hint).toMatch(/identity.securityGroup: open/);
    expect(securityGroupPlan(result.config!, 'prod')).toMatchObject({ mode: 'open', fellBackToOpen: true });
  });

  it('lambda mode counts every served port: FTPS triples the union', async () => {
    const result = await validateYaml(
      config({ identity: { mode: 'lambda' }, transfer: { protocols: ['SFTP', 'FTPS'], certificate: CERT } }, 21),
    );
    expect(result.warnings[0]!.message).toMatch(
      /63 security group rules \(21 CIDRs × 3 port rules: tcp\/22, 21, 8192-8200\)/,
    );
    const fits = await validateYaml(
      config({ identity: { mode: 'lambda' }, transfer: { protocols: ['SFTP', 'FTPS'], certificate: CERT } }, 20),
    );
    expect(fits.warnings).toEqual([]);
    expect(securityGroupPlan(fits.config!, 'prod')).toMatchObject({ mode: 'union', unionRules: 60 });
  });

  it('lambda mode with securityGroup: open chosen: neither error nor warning (a documented decision)', async () => {
    const result = await validateYaml(config({ identity: { mode: 'lambda', securityGroup: 'open' } }, 500, 2));
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(securityGroupPlan(result.config!, 'prod')).toMatchObject({ mode: 'open', unionRules: 1000 });
  });

  it('lambda mode with securityGroup: union chosen and over the quota: an error at that field', async () => {
    const result = await validateYaml(config({ identity: { mode: 'lambda', securityGroup: 'union' } }, 61));
    expect(codes(result)).toEqual(['SECURITY_GROUP_RULES_OVER_LIMIT environments.prod.identity.securityGroup']);
    expect(result.errors[0]!.hint).toMatch(/Set identity.securityGroup: open/);
  });

  it('lambda mode with a raised quota keeps the union', async () => {
    const result = await validateYaml(
      config({ identity: { mode: 'lambda', securityGroup: 'union' }, securityGroupRuleLimit: 1000 }, 500, 2),
    );
    expect(result.errors).toEqual([]);
    expect(securityGroupPlan(result.config!, 'prod')).toMatchObject({ mode: 'union', unionRules: 1000 });
  });
});
