import { z } from 'zod';
import { DNS_LABEL } from './naming.js';

/**
 * The `sftpctl.yaml` model. Field docs here are the reference the README and `init`'s comments repeat.
 * Semantic rules that need more than one field (names that get too long, CIDR maths, key files) live in
 * validate.ts, so every problem is reported at once with its location.
 */

export const SECURITY_POLICIES = [
  'TransferSecurityPolicy-2025-03',
  'TransferSecurityPolicy-FIPS-2025-03',
  'TransferSecurityPolicy-2024-01',
  'TransferSecurityPolicy-FIPS-2024-01',
  'TransferSecurityPolicy-FIPS-2024-05',
  'TransferSecurityPolicy-Restricted-2024-06',
  'TransferSecurityPolicy-SshAuditCompliant-2025-02',
  'TransferSecurityPolicy-2023-05',
  'TransferSecurityPolicy-FIPS-2023-05',
  'TransferSecurityPolicy-2022-03',
  'TransferSecurityPolicy-PQ-SSH-Experimental-2023-04',
  'TransferSecurityPolicy-PQ-SSH-FIPS-Experimental-2023-04',
  'TransferSecurityPolicy-2020-06',
  'TransferSecurityPolicy-FIPS-2020-06',
  'TransferSecurityPolicy-Restricted-2020-06',
  'TransferSecurityPolicy-2018-11',
  'TransferSecurityPolicy-Restricted-2018-11',
] as const;
export const DEFAULT_SECURITY_POLICY = 'TransferSecurityPolicy-2025-03';
/** Policies that still allow SHA-1 key exchange, CBC ciphers or hmac-sha1 somewhere in their lists. */
export const LEGACY_SECURITY_POLICIES: ReadonlySet<string> = new Set([
  'TransferSecurityPolicy-2018-11',
  'TransferSecurityPolicy-Restricted-2018-11',
  'TransferSecurityPolicy-2020-06',
  'TransferSecurityPolicy-FIPS-2020-06',
  'TransferSecurityPolicy-Restricted-2020-06',
  'TransferSecurityPolicy-2022-03',
]);

export const PROTOCOLS = ['SFTP', 'FTPS', 'FTP', 'AS2'] as const;
export const IDENTITY_MODES = ['service-managed', 'lambda'] as const;
export type IdentityMode = (typeof IDENTITY_MODES)[number];
export const SECURITY_GROUP_MODES = ['union', 'open'] as const;
export type SecurityGroupMode = (typeof SECURITY_GROUP_MODES)[number];
export const CHECKSUM_CHOICES = ['md5', 'sha1', 'sha256', 'sha512', 'none'] as const;
export type ChecksumChoice = (typeof CHECKSUM_CHOICES)[number];

/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const dnsLabel = (what: string, max: number) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .max(max, `${what} must be at most ${max} characters`)
    .regex(DNS_LABEL, `${what} may contain only lower-case letters, digits and inner hyphens (like "acme-bank")`);

const tags = z.record(
  z
    .string()
    .min(1)
    .max(128, 'tag keys are at most 128 characters')
    .refine((key) => !key.toLowerCase().startsWith('aws:'), 'tag keys starting with "aws:" are reserved by AWS'),
  z.string().max(256, 'tag values are at most 256 characters'),
);

const environmentFields = {
  /** 12-digit AWS account id; when set, deploy refuses to run against any other account. */
  account: z
    .string()
    .regex(/^\d{12}$/, 'account must be a 12-digit AWS account id, quoted (like "123456789012")')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/, 'region must be an AWS region code like "eu-west-2"')
    .optional(),
  vpc: z
    .strictObject({
      /** The VPC's IPv4 CIDR; split into one public subnet per AZ. */
      cidr: z.string().optional(),
      /** How many Availability Zones (and so subnets and Elastic IPs): 2 or 3. */
      azCount: z.number().int().min(2, 'azCount must be 2 or 3').max(3, 'azCount must be 2 or 3').optional(),
    })
    .optional(),
  transfer: z
    .strictObject({
      protocols: z.array(z.enum(PROTOCOLS)).min(1, 'protocols needs at least one entry').optional(),
      securityPolicy: z.string().optional(),
      /**
       * ACM certificate ARN (in the environment's region) the server presents to FTPS clients; required for FTPS,
       * which only `identity.mode: lambda` offers.
       */
      certificate: z.string().optional(),
    })
    .optional(),
  logRetentionDays: z
    .number()
    .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
      message: `logRetentionDays must be one CloudWatch accepts: ${LOG_RETENTION_DAYS.join(', ')}`,
    })
    .optional(),
  /** Protected environments get termination protection and refuse `destroy`. */
  protected: z.boolean().optional(),
  /** Inbound rules the security group may hold (AWS default quota: 60). */
  securityGroupRuleLimit: z.number().int().min(1).max(1000).optional(),
  /** Who decides a login: Transfer's own users, or a custom identity provider that enforces each client's CIDRs. */
  identity: z
    .strictObject({
      /** `service-managed`: Transfer users (the default). `lambda`: an identity function over a DynamoDB user table. */
      mode: z.enum(IDENTITY_MODES).optional(),
      /**
       * The endpoint's security group in `lambda` mode: `union` of every client's CIDRs (defence in depth, bounded by
       * the rule quota) or `open` (0.0.0.0/0: the identity function alone enforces each client's CIDRs).
       */
      securityGroup: z.enum(SECURITY_GROUP_MODES).optional(),
    })
    .optional(),
};

export const environmentInputSchema = z.strictObject(environmentFields);
export type EnvironmentInput = z.infer<typeof environmentInputSchema>;

const sshKeyEntry = z.string().min(1, 'an SSH key entry must not be empty');

const timestamp = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time like 2026-12-01T09:00:00Z' });

/** A key rotation in its grace period, written by `sftpctl keys rotate` and cleared by `--finish`. */
const rotationFields = {
  /** When the rotation started. */
  since: timestamp,
  /** End of the grace period: from then on `keys rotate --finish` removes the old key. */
  until: timestamp,
};

export const sshRotationSchema = z.strictObject({
  ...rotationFields,
  /** SHA256 fingerprints of the keys being retired; they stay in sshKeys (and on the server) until --finish. */
  retiring: z.array(z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an SSH SHA256 fingerprint')).min(1),
});

export const userSchema = z.strictObject({
  /** Transfer user name; defaults to `<client>-upload` / `<client>-download`. */
  userName: z.string().optional(),
  /** OpenSSH public keys: inline (`ssh-ed25519 AAAA… comment`) or paths to `.pub` files, relative to this file. */
  sshKeys: z.array(sshKeyEntry).default([]),
  rotation: sshRotationSchema.optional(),
  /**
   * false: the user is kept (keys, home, item) but every login is refused — `identity.mode: lambda` environments and
   * `local up` only (Transfer's own users have no disabled state).
   */
  enabled: z.boolean().optional(),
});

export const pgpRetiringSchema = z.strictObject({
  ...rotationFields,
  publicKey: z.string().min(1),
  privateKey: z.string().min(1),
});
export type UserInput = z.infer<typeof userSchema>;

const extension = z
  .string()
  .regex(/^\.?[A-Za-z0-9]{1,16}$/, 'an extension is 1-16 letters or digits, like "gpg"')
  .transform((value) => value.replace(/^\./, '').toLowerCase());

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};
/** A size in bytes: a number, or a number with a unit (KB MB GB TB, KiB MiB GiB TiB). */
const byteSize = z
  .union([
    z.number().int().positive(),
    z.string().regex(/^\s*\d+(\.\d+)?\s*([KMGT]i?B|B)?\s*$/i, 'a size is like 16GiB, 500MB or a number of bytes'),
  ])
  .transform((value) => {
    if (typeof value === 'number') return value;
    const [, number, unit] = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value) ?? [];
    return Math.floor(Number(number) * (BYTE_UNITS[(unit ?? '').toLowerCase()] ?? 1));
  })
  .refine((value) => value >= 1024 && value <= 1024 ** 5, 'a size must be between 1 KiB and 1 PiB');

export const clientSchema = z.strictObject({
  name: dnsLabel('client name', 40),
  /** IPv4 CIDRs allowed to connect; a bare address means /32. */
  allowedIps: z.array(z.string()).default([]),
  /** Required to allow 0.0.0.0/0: an open SFTP port is a deliberate decision. */
  allowAnyIp: z.boolean().default(false),
  /** Extensions of PGP-encrypted uploads; the first is used for egress files. */
  encryptedExtensions: z
    .array(extension)
    .min(1, 'encryptedExtensions needs at least one extension')
    .default(['gpg', 'pgp']),
  /** When true, uploads that are not PGP-encrypted are quarantined instead of copied through. */
  requireEncryption: z.boolean().default(false),
  checksum: z.enum(CHECKSUM_CHOICES).default('sha256'),
  /** Zero-byte files (uploads and exports) are refused unless allowed. */
  allowEmpty: z.boolean().optional(),
  /** Largest decompressed size of one upload: bytes, or "16GiB", "500MB"… (default 16 GiB). */
  maxDecompressedSize: byteSize.optional(),
  /** none: sidecars not checked; verify-if-present: checked when one comes; required: a file waits for its sidecar. */
  checksumPolicy: z.enum(['none', 'verify-if-present', 'required']).optional(),
  /** With checksumPolicy required: minutes a file waits for its sidecar before it is quarantined (default 60). */
  checksumDeadlineMinutes: z.number().int().min(1).max(10080).optional(),
  /** Name patterns of uploads still in progress, never processed (default *.filepart, *.part, *.tmp, *~). */
  temporaryNames: z.array(z.string().min(1).max(100)).max(50).optional(),
  /** Seconds an export file must stay unchanged before it is encrypted (default 2). */
  exportQuietSeconds: z.number().min(0.05).max(3600).optional(),
  /** Memory of the client's functions, MB. */
  memory: z
    .number()
    .int()
    .min(128, 'memory must be at least 128 MB')
    .max(10240, 'memory must be at most 10240 MB')
    .default(512),
  upload: userSchema.nullable().optional(),
  download: userSchema.nullable().optional(),
  pgp: z
    .strictObject({
      /** The platform's ingress public key, handed to the partner. */
      ingressPublicKey: z.string().min(1).optional(),
      /** The platform's ingress private key; loaded into Secrets Manager, never committed. */
      ingressPrivateKey: z.string().min(1).optional(),
      /** The partner's public key; egress files are encrypted to it. */
      partnerPublicKey: z.string().min(1).optional(),
      /** Ingress pairs being rotated out: still in the secret (uploads encrypted to them decrypt) until --finish. */
      retiring: z.array(pgpRetiringSchema).optional(),
    })
    .default({}),
  /** Environments the client exists in; all when omitted. */
  environments: z.array(z.string()).min(1, 'environments needs at least one name, or omit it for all').optional(),
  tags: tags.optional(),
});
export type ClientInput = z.input<typeof clientSchema>;
export type Client = z.infer<typeof clientSchema>;

export const configSchema = z.strictObject({
  /** Prefix of every stack, bucket and secret name. */
  project: dnsLabel('project', 24),
  tags: tags.default({}),
  /** Settings every environment inherits unless it sets its own. */
  defaults: environmentInputSchema.default({}),
  environments: z
    .record(
      dnsLabel('environment name', 12),
      environmentInputSchema.nullable().transform((env) => env ?? {}),
    )
    .refine((envs) => Object.keys(envs).length > 0, 'define at least one environment (like dev)'),
  clients: z.array(clientSchema).default([]),
  /** Who hears about failures: every alarm of every environment goes to that environment's SNS topic. */
  alerts: z
    .strictObject({
      email: z.array(z.email('alerts.email entries must be e-mail addresses')).default([]),
      https: z
        .array(z.url({ protocol: /^https$/, error: 'alerts.https entries must be https:// webhook URLs' }))
        .default([]),
    })
    .optional(),
});
export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.infer<typeof configSchema>;

/** An environment after `defaults` are applied and defaults filled in. */
export interface Environment {
  name: string;
  account: string | undefined;
  region: string;
  vpc: { cidr: string; azCount: number };
  transfer: { protocols: (typeof PROTOCOLS)[number][]; securityPolicy: string; certificate?: string };
  logRetentionDays: number;
  protected: boolean;
  securityGroupRuleLimit: number;
  identity: {
    mode: IdentityMode;
    securityGroup: SecurityGroupMode;
    /** True when the config names `securityGroup` (environment or defaults); false when it is the default. */
    securityGroupExplicit?: boolean;
  };
}

export interface Config {
  project: string;
  tags: Record<string, string>;
  environments: Record<string, Environment>;
  clients: Client[];
  /** Subscriptions of each environment's alarm topic (none: alarms still go to the topic). */
  alerts?: { email: string[]; https: string[] };
}

export const ENVIRONMENT_DEFAULTS = {
  vpc: { azCount: 2 },
  transfer: { protocols: ['SFTP'] as (typeof PROTOCOLS)[number][], securityPolicy: DEFAULT_SECURITY_POLICY },
  logRetentionDays: 90,
  protected: false,
  securityGroupRuleLimit: 60,
  identity: { mode: 'service-managed' as IdentityMode, securityGroup: 'union' as SecurityGroupMode },
} as const;
