import { bucketName } from '../config/naming.js';
import type { Client, Config } from '../config/schema.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from './function-env.js';
import {
  DEFAULT_CHECKSUM_DEADLINE_MS,
  DEFAULT_EXPORT_QUIET_MS,
  DEFAULT_TEMPORARY_NAMES,
  type PipelineSettings,
} from './types.js';

/** A client's pipeline settings in one environment, from the config: the same values the templates put in the functions' environment. */
export function pipelineSettingsFor(config: Config, env: string, client: Client): PipelineSettings {
  return {
    client: client.name,
    buckets: {
      upload: bucketName(config.project, env, client.name, 'upload'),
      raw: bucketName(config.project, env, client.name, 'raw'),
      export: bucketName(config.project, env, client.name, 'export'),
      download: bucketName(config.project, env, client.name, 'download'),
    },
    encryptedExtensions: client.encryptedExtensions,
    checksum: client.checksum,
    requireEncryption: client.requireEncryption,
    allowEmpty: client.allowEmpty ?? false,
    maxDecompressedBytes: client.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_BYTES,
    checksumPolicy: client.checksumPolicy ?? 'verify-if-present',
    checksumDeadlineMs: (client.checksumDeadlineMinutes ?? DEFAULT_CHECKSUM_DEADLINE_MS / 60_000) * 60_000,
    temporaryNames: client.temporaryNames ?? DEFAULT_TEMPORARY_NAMES,
    exportQuietMs: client.exportQuietSeconds !== undefined ? client.exportQuietSeconds * 1000 : DEFAULT_EXPORT_QUIET_MS,
  };
}
