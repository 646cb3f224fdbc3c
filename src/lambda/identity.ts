import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoIdentityStore } from '../aws/identity-store.js';
import type { LoginProtocol } from '../core/identity/decide.js';
import { IdentityService, type IdentityStore } from '../core/identity/service.js';
import { type TransferIdentityResponse, transferResponse } from '../core/identity/transfer-response.js';
import { logJson } from './run-batch.js';

/** The request AWS Transfer Family sends a custom identity provider function. */
export interface TransferAuthEvent {
  username: string;
  password?: string;
  protocol: string;
  serverId: string;
  sourceIp: string;
}

const PROTOCOLS = new Set<LoginProtocol>(['SFTP', 'FTPS', 'FTP']);

/** Transfer's auth event → the identity core's decision → Transfer's answer ({} refuses). */
export function identityHandler(service: IdentityService) {
  return async (event: TransferAuthEvent): Promise<TransferIdentityResponse> => {
    const protocol = String(event?.protocol ?? '').toUpperCase() as LoginProtocol;
    if (!PROTOCOLS.has(protocol) || typeof event.username !== 'string' || typeof event.sourceIp !== 'string') {
      logJson({ event: 'login-refused', reason: 'malformed-request' });
      return {};
    }
    const decision = await service.login({
      userName: event.username,
      sourceIp: event.sourceIp,
      protocol,
      ...(typeof event.password === 'string' ? { password: event.password } : {}),
    });
    return transferResponse(decision);
  };
}

export function identityServiceFrom(store: IdentityStore): IdentityService {
  return new IdentityService(store, {
    cacheMs: Number(process.env.SFTPCTL_IDENTITY_CACHE_MS ?? 30_000),
    log: logJson,
  });
}

// Built on the first invocation and reused by the warm container: clients and cached records stay.
let warm: ((event: TransferAuthEvent) => Promise<TransferIdentityResponse>) | undefined;
export async function handler(event: TransferAuthEvent): Promise<TransferIdentityResponse> {
  if (!warm) {
    const table = process.env.SFTPCTL_IDENTITY_TABLE;
    if (!table) throw new Error('SFTPCTL_IDENTITY_TABLE is not set');
    warm = identityHandler(
      identityServiceFrom(
        new DynamoIdentityStore(new DynamoDBClient({}), new SecretsManagerClient({}), table, {
          ...(process.env.SFTPCTL_PASSWORD_SECRET_PREFIX
            ? { passwordSecretPrefix: process.env.SFTPCTL_PASSWORD_SECRET_PREFIX }
            : {}),
        }),
      ),
    );
  }
  return warm(event);
}
