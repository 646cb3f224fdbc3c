import { CHECKSUM_CHOICES, type ChecksumChoice } from '../config/schema.js';
import { SftpctlError } from '../errors.js';
import type { PipelineSettings } from './types.js';

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
} as const;

/** Decompressed bytes one file may grow to (the Lambda has no reason to expand a bomb). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 ** 3;

/** Reads the pipeline settings of one function from its environment; a missing variable is a deployment error. */
export function settingsFromEnvironment(
  env: NodeJS.ProcessEnv,
  role: 'ingress' | 'egress',
): PipelineSettings & { secretArns: { ingress: string; partner: string } } {
  const need = (name: string) => {
    const value = env[name];
    if (!value)
      throw new SftpctlError(
        'FUNCTION_ENV_MISSING',
        `Environment variable ${name} is not set.`,
        'Redeploy the client stack.',
        { kind: 'internal' },
      );
    return value;
  };
  const checksum = (env[FUNCTION_ENV.checksumAlgorithm] ?? 'none') as ChecksumChoice;
  if (!CHECKSUM_CHOICES.includes(checksum))
    throw new SftpctlError(
      'FUNCTION_ENV_INVALID',
      `${FUNCTION_ENV.checksumAlgorithm} is "${checksum}".`,
      'Redeploy the client stack.',
      { kind: 'internal' },
    );
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
    allowEmpty: false,
    maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
    secretArns: {
      ingress: role === 'ingress' ? need(FUNCTION_ENV.ingressPrivateKeysSecretArn) : '',
      partner: role === 'egress' ? need(FUNCTION_ENV.partnerPublicKeySecretArn) : '',
    },
  };
}
