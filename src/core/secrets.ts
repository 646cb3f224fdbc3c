import { SftpctlError } from './errors.js';

/**
 * What the platform's secrets hold. The ingress secret holds every private key that may decrypt uploads — the
 * current one and, during a rotation's grace period, the retiring ones — unlocked (Secrets Manager and the client's
 * KMS key protect them at rest). The partner secret holds the partner's public key.
 */
export interface IngressKeysSecret {
  format: 'sftpctl.ingress-keys/v1';
  keys: { fingerprint: string; role: 'current' | 'retiring'; armoredPrivateKey: string }[];
}

export interface PartnerKeySecret {
  format: 'sftpctl.partner-key/v1';
  fingerprint: string;
  armoredPublicKey: string;
}

export function serializeSecret(value: IngressKeysSecret | PartnerKeySecret): string {
  return JSON.stringify(value);
}

export function parseIngressKeysSecret(text: string): IngressKeysSecret {
  const value = parseJson(text, 'ingress keys');
  if (value?.format !== 'sftpctl.ingress-keys/v1' || !Array.isArray(value.keys) || value.keys.length === 0) {
    throw new SftpctlError(
      'SECRET_FORMAT',
      'The ingress keys secret is not in the sftpctl format (or holds no key).',
      'Load it with `sftpctl secrets load <client>`.',
    );
  }
  return value as unknown as IngressKeysSecret;
}

export function parsePartnerKeySecret(text: string): PartnerKeySecret {
  const value = parseJson(text, 'partner key');
  if (value?.format !== 'sftpctl.partner-key/v1' || typeof value.armoredPublicKey !== 'string') {
    throw new SftpctlError(
      'SECRET_FORMAT',
      'The partner key secret is not in the sftpctl format.',
      'Load it with `sftpctl secrets load <client>`.',
    );
  }
  return value as unknown as PartnerKeySecret;
}

function parseJson(text: string, what: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new SftpctlError(
      'SECRET_FORMAT',
      `The ${what} secret is not JSON.`,
      'Load it with `sftpctl secrets load <client>`.',
    );
  }
}
