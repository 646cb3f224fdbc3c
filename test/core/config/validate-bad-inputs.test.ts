import { describe, expect, it } from 'vitest';
import { rows, validateYaml } from '../../helpers/config.js';

/** `^` marks where the problem must be reported; it is removed before validation. */
function marked(source: string): { text: string; at: string } {
  const index = source.indexOf('^');
  if (index < 0) throw new Error('case has no ^ marker');
  const before = source.slice(0, index);
  const line = before.split('\n').length;
  const col = index - before.lastIndexOf('\n');
  return { text: source.slice(0, index) + source.slice(index + 1), at: `${line}:${col}` };
}

const env = `defaults:
  region: eu-west-2
  vpc:
    cidr: 10.42.0.0/24
environments:
  dev: {}
`;
const client = (body: string) => `project: acme
${env}clients:
  - name: bank
${body}`;

interface Case {
  name: string;
  yaml: string;
  code: string;
  field: string;
  message: RegExp;
  files?: Record<string, string>;
}

const cases: Case[] = [
  {
    name: 'YAML syntax error',
    yaml: `project: acme\nenvironments:\n  dev: {\n^`,
    code: 'YAML_SYNTAX',
    field: '',
    message: /flow|collection|end/i,
  },
  {
    name: 'duplicate key',
    yaml: `project: acme\n^project: other\n${env}`,
    code: 'YAML_SYNTAX',
    field: '',
    message: /unique/i,
  },
  { name: 'empty file', yaml: `^`, code: 'CONFIG_EMPTY', field: '', message: /empty/ },
  {
    name: 'top level is a list',
    yaml: `^- project: acme\n`,
    code: 'CONFIG_NOT_A_MAPPING',
    field: '',
    message: /mapping/,
  },
  {
    name: 'unknown top-level field with suggestion',
    yaml: `project: acme\n${env}^clinets: []\n`,
    code: 'CONFIG_UNKNOWN_FIELD',
    field: 'clinets',
    message: /unknown field "clinets"/,
  },
  {
    name: 'project missing',
    yaml: `^${env}`,
    code: 'CONFIG_FIELD_MISSING',
    field: 'project',
    message: /project is required/,
  },
  {
    name: 'project upper case',
    yaml: `project: ^Acme\n${env}`,
    code: 'CONFIG_INVALID_VALUE',
    field: 'project',
    message: /lower-case letters/,
  },
  {
    name: 'project too long',
    yaml: `project: ^${'a'.repeat(25)}\n${env}`,
    code: 'CONFIG_INVALID_VALUE',
    field: 'project',
    message: /at most 24/,
  },
  {
    name: 'project is a number',
    yaml: `project: ^42\n${env}`,
    code: 'CONFIG_WRONG_TYPE',
    field: 'project',
    message: /must be a string, not number 42/,
  },
  {
    name: 'no environments',
    yaml: `project: acme\nenvironments: ^{}\n`,
    code: 'CONFIG_INVALID_VALUE',
    field: 'environments',
    message: /at least one environment/,
  },
  {
    name: 'environment name invalid',
    yaml: `project: acme\ndefaults:\n  region: eu-west-2\n  vpc: { cidr: 10.42.0.0/24 }\nenvironments:\n  ^Prod_1: {}\n`,
    code: 'CONFIG_INVALID_NAME',
    field: 'environments.Prod_1',
    message: /environment name/,
  },
  {
    name: 'region missing everywhere',
    yaml: `project: acme\nenvironments:\n  ^dev:\n    vpc: { cidr: 10.42.0.0/24 }\n`,
    code: 'ENV_REGION_MISSING',
    field: 'environments.dev',
    message: /has no region/,
  },
  {
    name: 'VPC CIDR missing everywhere',
    yaml: `project: acme\nenvironments:\n  ^dev:\n    region: eu-west-2\n`,
    code: 'ENV_VPC_CIDR_MISSING',
    field: 'environments.dev',
    message: /no VPC CIDR/,
  },
  {
    name: 'region malformed',
    yaml: `project: acme\ndefaults:\n  region: ^Europe\n  vpc: { cidr: 10.42.0.0/24 }\nenvironments:\n  dev: {}\n`,
    code: 'CONFIG_INVALID_VALUE',
    field: 'defaults.region',
    message: /region code/,
  },
  {
    name: 'account not 12 digits',
    yaml: `project: acme\n${env}  prod:\n    account: ^"12345"\n`,
    code: 'CONFIG_INVALID_VALUE',
    field: 'environments.prod.account',
    message: /12-digit/,
  },
  {
    name: 'azCount 4',
    yaml: `project: acme\ndefaults:\n  region: eu-west-2\n  vpc:\n    cidr: 10.42.0.0/24\n    azCount: ^4\nenvironments:\n  dev: {}\n`,
    code: 'CONFIG_INVALID_VALUE',
    field: 'defaults.vpc.azCount',
    message: /2 or 3/,
  },
  {
    name: 'VPC CIDR malformed',
    yaml: `project: acme\ndefaults:\n  region: eu-west-2\n  vpc:\n    cidr: ^10.42.0/24\nenvironments:\n  dev: {}\n`,
    code: 'VPC_CIDR_INVALID',
    field: 'defaults.vpc.cidr',
    message: /not an IPv4 address/,
  },
  {
    name: 'VPC CIDR host bits',
    yaml: `project: acme\ndefaults:\n  region: eu-west-2\n  vpc:\n    cidr: ^10.42.0.9/24\nenvironments:\n  dev: {}\n`,
    code: 'VPC_CIDR_HOST_BITS',
    field: 'defaults.vpc.cidr',
    message: /host bits/,
  },
  {
    name: 'VPC CIDR too small for the subnets',
    yaml: `project: acme\ndefaults:\n  region: eu-west-2\n  vpc:\n    cidr: ^10.42.0.0/28\nenvironments:\n  dev: {}\n`,
    code: 'VPC_TOO_SMALL',
    field: 'defaults.vpc.cidr',
    message: /too small for 2 subnets/,
  },
  {
    name: 'VPC CIDR larger than AWS allows',
    yaml: `project: acme\ndefaults:\n  region: eu-west-2\n  vpc:\n    cidr: ^10.0.0.0/8\nenvironments:\n  dev: {}\n`,
    code: 'VPC_CIDR_SIZE',
    field: 'defaults.vpc.cidr',
    message: /\/16 to \/28/,
  },
  {
    name: 'VPC CIDR of one environment overriding defaults',
    yaml: `project: acme\n${env}  prod:\n    vpc: { cidr: ^10.44.0.0/28 }\n`,
    code: 'VPC_TOO_SMALL',
    field: 'environments.prod.vpc.cidr',
    message: /too small/,
  },
  {
    name: 'FTPS protocol in service-managed mode',
    yaml: `project: acme\n${env}  prod:\n    transfer:\n      protocols: [SFTP, ^FTPS]\n`,
    code: 'PROTOCOL_NEEDS_IDENTITY_PROVIDER',
    field: 'environments.prod.transfer.protocols[1]',
    message: /FTPS needs identity.mode: lambda.*custom identity provider/,
  },
  {
    name: 'plain FTP protocol',
    yaml: `project: acme\n${env}  prod:\n    transfer:\n      protocols: [SFTP, ^FTP]\n`,
    code: 'PROTOCOL_UNSUPPORTED',
    field: 'environments.prod.transfer.protocols[1]',
    message: /FTP is not supported: plain FTP sends passwords and files unencrypted/,
  },
  {
    name: 'FTPS certificate of another region',
    yaml: `project: acme\n${env}  prod:\n    identity: { mode: lambda }\n    transfer:\n      protocols: [SFTP, FTPS]\n      certificate: ^arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\n`,
    code: 'CERTIFICATE_REGION',
    field: 'environments.prod.transfer.certificate',
    message: /in us-east-1, but environment "prod" is in/,
  },
  {
    name: 'unknown protocol',
    yaml: `project: acme\n${env}  prod:\n    transfer:\n      protocols: [^SCP]\n`,
    code: 'CONFIG_INVALID_VALUE',
    field: 'environments.prod.transfer.protocols[0]',
    message: /one of: SFTP, FTPS, FTP, AS2/,
  },
  {
    name: 'unknown security policy',
    yaml: `project: acme\n${env}  prod:\n    transfer:\n      securityPolicy: ^TransferSecurityPolicy-2025-3\n`,
    code: 'SECURITY_POLICY_UNKNOWN',
    field: 'environments.prod.transfer.securityPolicy',
    message: /not an AWS Transfer Family security policy/,
  },
  {
    name: 'log retention CloudWatch does not accept',
    yaml: `project: acme\n${env}  prod:\n    logRetentionDays: ^45\n`,
    code: 'CONFIG_INVALID_VALUE',
    field: 'environments.prod.logRetentionDays',
    message: /CloudWatch accepts/,
  },
  {
    name: 'unknown environment field',
    yaml: `project: acme\n${env}  prod:\n    ^regoin: eu-west-1\n`,
    code: 'CONFIG_UNKNOWN_FIELD',
    field: 'environments.prod.regoin',
    message: /unknown field "regoin"/,
  },
  {
    name: 'client name with underscore',
    yaml: `project: acme\n${env}clients:\n  - name: ^bank_one\n    upload: { sshKeys: [] }\n`,
    code: 'CONFIG_INVALID_VALUE',
    field: 'clients[0].name',
    message: /lower-case letters/,
  },
  {
    name: 'duplicate clients',
    yaml: `project: acme\n${env}clients:\n  - name: bank\n    upload: {}\n  - name: ^bank\n    download: {}\n`,
    code: 'CLIENT_DUPLICATE',
    field: 'clients[1].name',
    message: /defined twice/,
  },
  {
    name: 'bucket name too long',
    yaml: `project: acme-secure-xchange\n${env}clients:\n  - name: ^northwind-international-banking-corp\n    upload: {}\n`,
    code: 'BUCKET_NAME_INVALID',
    field: 'clients[0].name',
    message: /characters; S3 allows at most 63/,
  },
  {
    name: 'bucket name with double hyphen',
    yaml: `project: acme\n${env}clients:\n  - name: ^north--wind\n    upload: {}\n`,
    code: 'BUCKET_NAME_INVALID',
    field: 'clients[0].name',
    message: /"--"/,
  },
  {
    name: 'user name root',
    yaml: client(`    upload:\n      userName: ^root\n`),
    code: 'USER_NAME_RESERVED',
    field: 'clients[0].upload.userName',
    message: /"root"/,
  },
  {
    name: 'user name too short',
    yaml: client(`    upload:\n      userName: ^ab\n`),
    code: 'USER_NAME_INVALID',
    field: 'clients[0].upload.userName',
    message: /not valid for AWS Transfer Family/,
  },
  {
    name: 'user name with a space',
    yaml: client(`    download:\n      userName: ^"bank user"\n`),
    code: 'USER_NAME_INVALID',
    field: 'clients[0].download.userName',
    message: /not valid/,
  },
  {
    name: 'user name used by two clients',
    yaml: `project: acme\n${env}clients:\n  - name: bank\n    upload: { userName: shared-user }\n  - name: shop\n    upload: { userName: ^shared-user }\n`,
    code: 'USER_NAME_DUPLICATE',
    field: 'clients[1].upload.userName',
    message: /also used by client "bank"/,
  },
  {
    name: 'client without users',
    yaml: `project: acme\n${env}clients:\n  - name: ^bank\n    allowedIps: [203.0.113.0/24]\n`,
    code: 'CLIENT_NO_USERS',
    field: 'clients[0].name',
    message: /neither an upload nor a download user/,
  },
  {
    name: 'malformed CIDR',
    yaml: client(`    upload: {}\n    allowedIps: [^203.0.113.300/24]\n`),
    code: 'CIDR_INVALID',
    field: 'clients[0].allowedIps[0]',
    message: /not an IPv4 address/,
  },
  {
    name: 'IPv6 CIDR',
    yaml: client(`    upload: {}\n    allowedIps: [^"2001:db8::/32"]\n`),
    code: 'CIDR_INVALID',
    field: 'clients[0].allowedIps[0]',
    message: /IPv6/,
  },
  {
    name: 'prefix length 33',
    yaml: client(`    upload: {}\n    allowedIps:\n      - 203.0.113.0/24\n      - ^203.0.113.0/33\n`),
    code: 'CIDR_INVALID',
    field: 'clients[0].allowedIps[1]',
    message: /prefix length/,
  },
  {
    name: 'CIDR host bits set',
    yaml: client(`    upload: {}\n    allowedIps: [^203.0.113.7/24]\n`),
    code: 'CIDR_HOST_BITS',
    field: 'clients[0].allowedIps[0]',
    message: /host bits set/,
  },
  {
    name: '0.0.0.0/0 without allowAnyIp',
    yaml: client(`    upload: {}\n    allowedIps: [^0.0.0.0/0]\n`),
    code: 'CIDR_OPEN_TO_WORLD',
    field: 'clients[0].allowedIps[0]',
    message: /whole internet/,
  },
  {
    name: 'client in unknown environment',
    yaml: client(`    upload: {}\n    environments: [^prd]\n`),
    code: 'CLIENT_UNKNOWN_ENVIRONMENT',
    field: 'clients[0].environments[0]',
    message: /"prd" is not defined/,
  },
  {
    name: 'checksum algorithm unknown',
    yaml: client(`    upload: {}\n    checksum: ^sha3\n`),
    code: 'CONFIG_INVALID_VALUE',
    field: 'clients[0].checksum',
    message: /md5, sha1, sha256, sha512, none/,
  },
  {
    name: 'memory too small',
    yaml: client(`    upload: {}\n    memory: ^64\n`),
    code: 'CONFIG_INVALID_VALUE',
    field: 'clients[0].memory',
    message: /at least 128/,
  },
  {
    name: 'extension with a path',
    yaml: client(`    upload: {}\n    encryptedExtensions: [^"tar.gpg"]\n`),
    code: 'CONFIG_INVALID_VALUE',
    field: 'clients[0].encryptedExtensions[0]',
    message: /letters or digits/,
  },
  {
    name: 'no extensions',
    yaml: client(`    upload: {}\n    encryptedExtensions: ^[]\n`),
    code: 'CONFIG_INVALID_VALUE',
    field: 'clients[0].encryptedExtensions',
    message: /at least one extension/,
  },
  {
    name: 'unknown client field',
    yaml: client(`    upload: {}\n    ^alowedIps: [203.0.113.0/24]\n`),
    code: 'CONFIG_UNKNOWN_FIELD',
    field: 'clients[0].alowedIps',
    message: /unknown field "alowedIps"/,
  },
  {
    name: 'sshKeys is a string',
    yaml: client(`    upload:\n      sshKeys: ^keys/bank.pub\n`),
    code: 'CONFIG_WRONG_TYPE',
    field: 'clients[0].upload.sshKeys',
    message: /must be an array, not "keys\/bank.pub"/,
  },
  {
    name: 'reserved tag key',
    yaml: `project: acme\ntags:\n  ^"aws:owner": me\n${env}`,
    code: 'CONFIG_INVALID_NAME',
    field: 'tags["aws:owner"]',
    message: /reserved by AWS/,
  },
  {
    name: 'SSH key file missing',
    yaml: client(`    upload:\n      sshKeys: [^keys/bank.pub]\n`),
    code: 'SSH_KEY_FILE_MISSING',
    field: 'clients[0].upload.sshKeys[0]',
    message: /does not exist/,
    files: {},
  },
  {
    name: 'inline SSH key malformed',
    yaml: client(`    upload:\n      sshKeys: [^"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBad"]\n`),
    code: 'SSH_KEY_MALFORMED',
    field: 'clients[0].upload.sshKeys[0]',
    message: /inline key/,
    files: {},
  },
  {
    name: 'PGP key file missing',
    yaml: client(`    upload: {}\n    pgp:\n      ingressPublicKey: ^keys/ingress.asc\n`),
    code: 'PGP_KEY_FILE_MISSING',
    field: 'clients[0].pgp.ingressPublicKey',
    message: /does not exist/,
    files: {},
  },
  {
    name: 'PGP key file is not a key',
    yaml: client(`    upload: {}\n    pgp:\n      partnerPublicKey: ^keys/partner.asc\n`),
    code: 'PGP_KEY_UNREADABLE',
    field: 'clients[0].pgp.partnerPublicKey',
    message: /keys\/partner.asc/,
    files: { 'keys/partner.asc': 'hello, I am not a key\n' },
  },
];

describe('config validation reports each bad input with its code, field and location', () => {
  it('has at least 30 distinct cases', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$name', async ({ yaml, code, field, message, files }) => {
    const { text, at } = marked(yaml);
    const result = await validateYaml(text, files);
    expect(result.config).toBeUndefined();
    const match = rows(result).find((row) => row.code === code && row.field === field);
    expect(match, JSON.stringify(rows(result), null, 2)).toBeDefined();
    expect(match?.message).toMatch(message);
    expect(match?.at).toBe(at);
  });
});

describe('all problems are reported at once', () => {
  it('reports every error in one pass', async () => {
    const result = await validateYaml(
      client(
        `    upload: { userName: root }\n    allowedIps: [0.0.0.0/0, 10.1.1.1/8, nonsense]\n    environments: [qa]\n`,
      ),
    );
    expect(rows(result).map((row) => row.code)).toEqual(
      expect.arrayContaining([
        'CLIENT_UNKNOWN_ENVIRONMENT',
        'USER_NAME_RESERVED',
        'CIDR_OPEN_TO_WORLD',
        'CIDR_HOST_BITS',
        'CIDR_INVALID',
      ]),
    );
  });
});
