import { BUCKET_PURPOSES, type BucketPurpose, bucketName, clientStackName, secretNames } from './naming.js';
import { clientEnvironments, userNameOf } from './resolve.js';
import type { Client, Config } from './schema.js';

export interface ClientSummary {
  name: string;
  environments: string[];
  users: { upload: string | null; download: string | null };
  sshKeyCount: { upload: number; download: number };
  allowedIps: string[];
  allowAnyIp: boolean;
  encryptedExtensions: string[];
  egressExtension: string;
  requireEncryption: boolean;
  checksum: string;
  memory: number;
  pgp: { ingressPublicKey: string | null; ingressPrivateKey: string | null; partnerPublicKey: string | null };
  /** Key rotations in their grace period. */
  rotations: { kind: 'ssh' | 'pgp'; user: string | null; since: string; until: string; retiring: string[] }[];
  /** Derived AWS names per environment. */
  resources: Record<
    string,
    { stack: string; buckets: Record<BucketPurpose, string>; secrets: ReturnType<typeof secretNames> }
  >;
}

export function summarizeClient(config: Config, client: Client): ClientSummary {
  const environments = clientEnvironments(config, client);
  const resources: ClientSummary['resources'] = {};
  for (const env of environments) {
    resources[env] = {
      stack: clientStackName(config.project, env, client.name),
      buckets: Object.fromEntries(
        BUCKET_PURPOSES.map((purpose) => [purpose, bucketName(config.project, env, client.name, purpose)]),
      ) as Record<BucketPurpose, string>,
      secrets: secretNames(config.project, env, client.name),
    };
  }
  return {
    name: client.name,
    environments,
    users: { upload: userNameOf(client, 'upload') ?? null, download: userNameOf(client, 'download') ?? null },
    sshKeyCount: { upload: client.upload?.sshKeys.length ?? 0, download: client.download?.sshKeys.length ?? 0 },
    allowedIps: client.allowedIps,
    allowAnyIp: client.allowAnyIp,
    encryptedExtensions: client.encryptedExtensions,
    egressExtension: client.encryptedExtensions[0] ?? 'gpg',
    requireEncryption: client.requireEncryption,
    checksum: client.checksum,
    memory: client.memory,
    pgp: {
      ingressPublicKey: client.pgp.ingressPublicKey ?? null,
      ingressPrivateKey: client.pgp.ingressPrivateKey ?? null,
      partnerPublicKey: client.pgp.partnerPublicKey ?? null,
    },
    rotations: [
      ...(['upload', 'download'] as const).flatMap((role) => {
        const rotation = client[role]?.rotation;
        return rotation
          ? [
              {
                kind: 'ssh' as const,
                user: userNameOf(client, role) ?? null,
                since: rotation.since,
                until: rotation.until,
                retiring: rotation.retiring,
              },
            ]
          : [];
      }),
      ...(client.pgp.retiring ?? []).map((entry) => ({
        kind: 'pgp' as const,
        user: null,
        since: entry.since,
        until: entry.until,
        retiring: [entry.privateKey],
      })),
    ],
    resources,
  };
}
