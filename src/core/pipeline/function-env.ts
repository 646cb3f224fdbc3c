import { CHECKSUM_CHOICES, type ChecksumChoice } from '../config/schema.js';
import { SftpctlError } from '../errors.js';
import {
  CHECKSUM_POLICIES,
  type ChecksumPolicy,
  DEFAULT_CHECKSUM_DEADLINE_MS,
  DEFAULT_TEMPORARY_NAMES,
  type PipelineSettings,
} from './types.js';

/** The environment variables the client stack gives its functions; the templates and the handlers share this. */
export const FUNCTION_ENV = {
  client: 'SFTPCTL_CLIENT',
  uploadBucket: 'SFTPCTL_UPLOAD_BUCKET',
  rawBucket: 'SFTPCTL_RAW_BUCKET',
  exportBucket: 'SFTPCTL_EXPORT_BUCKET',
  downloadBucket: 'SFTPCTL_DOWNLOAD_BUCKET',
  ingressPrivateKeysSecretArn: 'SFTPCTL_INGRESS_PRIVATE_KEYS_SECRET_ARN',
  partnerPublicKeySecretArn: 'SFTPCTL_PARTNER_PUBLIC_KEY_SECRET_ARN',
  encryptedExtensions: 'SFTPCTL_ENCRYPTED_EXTENSIONS',
  checksumAlgorithm: 'SFTPCTL_CHECKSUM_ALGORITHM',
  requireEncryption: 'SFTPCTL_REQUIRE_ENCRYPTION',
  /** Optional from here on: a stack deployed before they existed gets the defaults. */
  allowEmpty: 'SFTPCTL_ALLOW_EMPTY',
  maxDecompressedBytes: 'SFTPCTL_MAX_DECOMPRESSED_BYTES',
  checksumPolicy: 'SFTPCTL_CHECKSUM_POLICY',
  checksumDeadlineMinutes: 'SFTPCTL_CHECKSUM_DEADLINE_MINUTES',
  temporaryNames: 'SFTPCTL_TEMPORARY_NAMES',
} as const;

/** Decompressed bytes one file may grow to, unless the client says otherwise (the docs' figure, below typical disks). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 16 * 1024 ** 3;

/** The optional variables of the pipeline settings, as the client stack sets them (values the config validated). */
export function pipelineEnvironment(settings: PipelineSettings): Record<string, string> {
  return {
    [FUNCTION_ENV.allowEmpty]: String(settings.allowEmpty),
    [FUNCTION_ENV.maxDecompressedBytes]: String(settings.maxDecompressedBytes),
    [FUNCTION_ENV.checksumPolicy]: settings.checksumPolicy ?? 'verify-if-present',
    [FUNCTION_ENV.checksumDeadlineMinutes]: String(
      Math.round((settings.checksumDeadlineMs ?? DEFAULT_CHECKSUM_DEADLINE_MS) / 60_000),
    ),
    [FUNCTION_ENV.temporaryNames]: JSON.stringify(settings.temporaryNames ?? DEFAULT_TEMPORARY_NAMES),
  };
}

/** A variable the client stack always sets; missing, it is a deployment error (a stack older than the function). */
export function requiredVariable(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value)
    throw new SftpctlError(
      'FUNCTION_ENV_MISSING',
      `Environment variable ${name} is not set.`,
      'Redeploy the client stack.',
      {
        kind: 'internal',
      },
    );
  return value;
}

/** Reads the pipeline settings of one function from its environment; a missing variable is a deployment error. */
export function settingsFromEnvironment(
  env: NodeJS.ProcessEnv,
  role: 'ingress' | 'egress',
): PipelineSettings & { secretArns: { ingress: string; partner: string } } {
  const need = (name: string) => requiredVariable(env, name);
  const checksum = (env[FUNCTION_ENV.checksumAlgorithm] ?? 'none') as ChecksumChoice;
  if (!CHECKSUM_CHOICES.includes(checksum))
    throw new SftpctlError(
      'FUNCTION_ENV_INVALID',
      `${FUNCTION_ENV.checksumAlgorithm} is "${checksum}".`,
      'Redeploy the client stack.',
      { kind: 'internal' },
    );
  const invalid = (name: string, value: string) =>
    new SftpctlError('FUNCTION_ENV_INVALID', `${name} is "${value}".`, 'Redeploy the client stack.', {
      kind: 'internal',
    });
  const policy = (env[FUNCTION_ENV.checksumPolicy] || 'verify-if-present') as ChecksumPolicy;
  if (!CHECKSUM_POLICIES.includes(policy)) throw invalid(FUNCTION_ENV.checksumPolicy, policy);
  const positive = (name: string, fallback: number) => {
    const value = env[name];
    if (!value) return fallback;
    const number = Number(value);
    if (!Number.isSafeInteger(number) || number <= 0) throw invalid(name, value);
    return number;
  };
  let temporaryNames = DEFAULT_TEMPORARY_NAMES;
  const names = env[FUNCTION_ENV.temporaryNames];
  if (names) {
    try {
      const parsed: unknown = JSON.parse(names);
      if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw new Error();
      temporaryNames = parsed as string[];
    } catch {
      throw invalid(FUNCTION_ENV.temporaryNames, names);
    }
  }
  return {
    client: need(FUNCTION_ENV.client),
    buckets: {
      upload: role === 'ingress' ? need(FUNCTION_ENV.uploadBucket) : '',
      raw: role === 'ingress' ? need(FUNCTION_ENV.rawBucket) : '',
      export: role === 'egress' ? need(FUNCTION_ENV.exportBucket) : '',
      download: role === 'egress' ? need(FUNCTION_ENV.downloadBucket) : '',
    },
    encryptedExtensions: need(FUNCTION_ENV.encryptedExtensions)
      .split(',')
      .map((extension) => extension.trim().toLowerCase())
      .filter(Boolean),
    checksum,
    requireEncryption: env[FUNCTION_ENV.requireEncryption] === 'true',
    allowEmpty: env[FUNCTION_ENV.allowEmpty] === 'true',
    maxDecompressedBytes: positive(FUNCTION_ENV.maxDecompressedBytes, DEFAULT_MAX_DECOMPRESSED_BYTES),
    checksumPolicy: policy,
    checksumDeadlineMs: positive(FUNCTION_ENV.checksumDeadlineMinutes, DEFAULT_CHECKSUM_DEADLINE_MS / 60_000) * 60_000,
    temporaryNames,
    secretArns: {
      ingress: role === 'ingress' ? need(FUNCTION_ENV.ingressPrivateKeysSecretArn) : '',
      partner: role === 'egress' ? need(FUNCTION_ENV.partnerPublicKeySecretArn) : '',
    },
  };
}
