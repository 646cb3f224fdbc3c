import { basename, dirname, join, relative, resolve } from 'node:path';
import { requireClient } from '../core/config/resolve.js';
import { SftpctlError } from '../core/errors.js';
import { pipelineSettingsFor } from '../core/pipeline/settings.js';
import { loadConfig } from '../io/config-file.js';
import { inputFile } from '../io/files.js';
import { FsObjectStore } from '../local/fs-object-store.js';
import type { CommandContext } from './context.js';
import { localEnvironment } from './local-up.js';

export interface LocalExportOptions {
  data?: string;
  as?: string;
}

/** Places a file in a client's local export folder, atomically; a running `local up` encrypts it for the partner. */
export async function localExport(
  clientName: string,
  file: string,
  options: LocalExportOptions,
  context: CommandContext,
): Promise<number> {
  const { file: configFile, config } = await loadConfig(context.globals.config, { cwd: context.cwd, checkKeys: false });
  const env = localEnvironment(config, context.globals.env);
  const client = requireClient(config, clientName, env);
  if (client.download == null)
    throw new SftpctlError(
      'CLIENT_NO_DOWNLOAD_USER',
      `Client ${clientName} has no download user, so nothing is exported to it.`,
      'Add a download user to the client first.',
    );
  const source = await inputFile(file, context.cwd);
  const dataDir = resolve(context.cwd, options.data ?? join(dirname(configFile.path), '.sftpctl', 'local', env));
  const settings = pipelineSettingsFor(config, env, client);
  const key = options.as ?? basename(source.path);
  const store = new FsObjectStore(join(dataDir, 'buckets'));
  await store.put(settings.buckets.export, key, source.open());
  const download = join(dataDir, 'buckets', settings.buckets.download);
  context.output.data({
    client: clientName,
    environment: env,
    bucket: settings.buckets.export,
    key,
    willAppearIn: download,
  });
  context.output.success(`Exported ${file} as ${settings.buckets.export}/${key}.`);
  context.output.line(
    `  A running \`sftpctl local up\` encrypts it to ${relative(context.cwd, join(download, `${key}.${settings.encryptedExtensions[0]}`))} (+ checksum sidecar).`,
  );
  return 0;
}
