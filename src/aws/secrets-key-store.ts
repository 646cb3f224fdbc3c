import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SftpctlError } from '../core/errors.js';
import type { KeyStore } from '../core/ports.js';
import { type IngressKeysSecret, parseIngressKeysSecret, parsePartnerKeySecret } from '../core/secrets.js';

export interface SecretsManagerKeyStoreOptions {
  /** How long a fetched secret is reused. Default 5 minutes: a rotation reaches running functions within that. */
  ttlMs?: number;
  now?: () => number;
}

interface CacheEntry {
  value: Promise<unknown>;
  /** Infinity while the request is in flight. */
  expiresAt: number;
}

/**
 * The KeyStore port on Secrets Manager. Meant to live at module level in a Lambda handler, so warm invocations reuse
 * the keys: each secret is fetched at most once per TTL, concurrent callers share the one request in flight, and a
 * failed fetch (or a secret in the wrong format) is not remembered.
 */
export class SecretsManagerKeyStore implements KeyStore {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretIdsFor: (client: string) => { ingress: string; partner: string },
    options: SecretsManagerKeyStoreOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  async ingressPrivateKeys(client: string): Promise<string[]> {
    const id = this.secretIdsFor(client).ingress;
    const secret = await this.cached('ingress', id, (text) => checkedIngressKeys(parseIngressKeysSecret(text), id));
    return [
      ...secret.keys.filter((key) => key.role === 'current'),
      ...secret.keys.filter((key) => key.role === 'retiring'),
    ].map((key) => key.armoredPrivateKey);
  }

  async partnerPublicKey(client: string): Promise<string> {
    const id = this.secretIdsFor(client).partner;
    const secret = await this.cached('partner', id, parsePartnerKeySecret);
    return secret.armoredPublicKey;
  }

  /** Forgets every cached secret (e.g. after `secrets load` in the same process). */
  clear(): void {
    this.cache.clear();
  }

  /** `kind` keeps two parsers apart even if a config points both secrets at one id. */
  private cached<T>(kind: string, id: string, parse: (text: string) => T): Promise<T> {
    const cacheKey = `${kind}:${id}`;
    const hit = this.cache.get(cacheKey);
    if (hit && hit.expiresAt > this.now()) return hit.value as Promise<T>;
    const value = this.fetch(id).then((text) => withSecretId(id, () => parse(text)));
    const entry: CacheEntry = { value, expiresAt: Number.POSITIVE_INFINITY };
    this.cache.set(cacheKey, entry);
    value.then(
      () => {
        entry.expiresAt = this.now() + this.ttlMs;
      },
      () => {
        if (this.cache.get(cacheKey) === entry) this.cache.delete(cacheKey);
      },
    );
    return value;
  }

  private async fetch(id: string): Promise<string> {
    let result: { SecretString?: string };
    try {
      result = await this.client.send(new GetSecretValueCommand({ SecretId: id }));
    } catch (error) {
      throw secretError(error, id);
    }
    if (typeof result.SecretString !== 'string') {
      throw new SftpctlError(
        'SECRET_FORMAT',
        `Secret ${id} holds binary data, not the sftpctl JSON format.`,
        'Load it with `sftpctl secrets load <client>`.',
      );
    }
    return result.SecretString;
  }
}

/** The parse functions check the envelope; the keys themselves must be usable too. */
function checkedIngressKeys(secret: IngressKeysSecret, id: string): IngressKeysSecret {
  const usable = secret.keys.every(
    (key) =>
      typeof key === 'object' &&
      key !== null &&
      (key.role === 'current' || key.role === 'retiring') &&
      typeof key.armoredPrivateKey === 'string' &&
      key.armoredPrivateKey.length > 0,
  );
  if (!usable) {
    throw new SftpctlError(
      'SECRET_FORMAT',
      `The ingress keys secret ${id} has a key without a role (current/retiring) or without its armored private key.`,
      'Load it again with `sftpctl secrets load <client>`.',
    );
  }
  return secret;
}

/** Format errors from core/secrets.ts name the kind of secret; add which one. */
function withSecretId<T>(id: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof SftpctlError && !error.message.includes(id)) {
      throw new SftpctlError(error.code, `${error.message.replace(/\.$/, '')} (secret ${id}).`, error.hint, {
        kind: error.kind,
        cause: error,
      });
    }
    throw error;
  }
}

/** The SDK error is not kept whole: the cause carries only its name, message and request id. */
function secretError(error: unknown, id: string): SftpctlError {
  const {
    name = 'Error',
    message = String(error),
    $metadata,
  } = (error ?? {}) as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
  const cause = Object.assign(new Error(message), { name, $metadata: { ...$metadata } });
  switch (name) {
    case 'ResourceNotFoundException':
      return new SftpctlError(
        'SECRET_NOT_FOUND',
        `Secret ${id} does not exist or has no value yet.`,
        "Deploy the client's stack (sftpctl deploy), then load the keys with `sftpctl secrets load <client>`.",
        { cause },
      );
    case 'AccessDeniedException':
    case 'DecryptionFailure':
      return new SftpctlError(
        'SECRET_ACCESS_DENIED',
        `Reading secret ${id} was denied (${name}).`,
        "The role needs secretsmanager:GetSecretValue on the secret and kms:Decrypt on the client's KMS key.",
        { cause },
      );
    case 'CredentialsProviderError':
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
      return new SftpctlError(
        'AWS_CREDENTIALS',
        `Reading secret ${id} failed: the AWS credentials are missing, invalid or expired (${name}).`,
        'Sign in again (aws sso login, or set AWS_PROFILE / --profile).',
        { cause },
      );
    default:
      return new SftpctlError(
        'SECRET_READ_FAILED',
        `Reading secret ${id} failed (${name}): ${message}`,
        'It is safe to retry.',
        { cause },
      );
  }
}
