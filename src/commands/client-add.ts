import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { addClientToDocument } from '../core/config/edit.js';
import { DNS_LABEL } from '../core/config/naming.js';
import { clientNameProblem } from '../core/config/rules.js';
import type { ClientInput } from '../core/config/schema.js';
import { summarizeClient } from '../core/config/summary.js';
import { looksLikeSshPublicKey } from '../core/crypto/ssh-public-key.js';
import { SftpctlError, UsageError } from '../core/errors.js';
import { generateClientKeys, removeGenerated } from '../io/client-keys.js';
import { editConfigFile } from '../io/config-edit.js';
import { loadConfig } from '../io/config-file.js';
import { printProblems } from '../ui/problems.js';
import {
  allowedIpsAnswerProblem,
  askChecked,
  isPromptCancel,
  pgpPublicKeyAnswerProblem,
  sshKeysAnswerProblem,
} from './answer-checks.js';
import type { CommandContext } from './context.js';
import { splitList } from './options.js';

export interface ClientAddOptions {
  ip?: string[];
  allowAnyIp?: boolean;
  extensions: string;
  checksum: string;
  memory: string;
  requireEncryption?: boolean;
  uploadKey?: string[];
  downloadKey?: string[];
  upload: boolean;
  download: boolean;
  ingressPublicKey?: string;
  ingressPrivateKey?: string;
  partnerKey?: string;
  environments?: string;
  generateKeys?: boolean;
  generateSshKeys?: boolean;
}

export async function clientAdd(name: string, options: ClientAddOptions, context: CommandContext): Promise<number> {
  if (!DNS_LABEL.test(name)) {
    throw new UsageError(
      'CLIENT_NAME_INVALID',
      `"${name}" is not a valid client name.`,
      'Use lower-case letters, digits and inner hyphens, like acme-bank.',
    );
  }
  const { file, config } = await loadConfig(context.globals.config, { cwd: context.cwd });
  if (config.clients.some((client) => client.name === name)) {
    throw new SftpctlError(
      'CLIENT_EXISTS',
      `Client "${name}" is already in ${file.displayPath}.`,
      `See it with \`sftpctl client show ${name}\`; nothing was changed.`,
    );
  }
  // The final validation's name rule, before any question: a name too long for its bucket names fails here.
  const envs = options.environments ? splitList(options.environments) : Object.keys(config.environments);
  const unknownEnv = envs.find((env) => !(env in config.environments));
  if (unknownEnv !== undefined)
    throw new UsageError(
      'ENV_UNKNOWN',
      `--environments: there is no environment "${unknownEnv}" in ${file.displayPath}.`,
      `Its environments: ${Object.keys(config.environments).join(', ')}. Nothing was written.`,
    );
  const nameProblem = clientNameProblem(config.project, envs, name);
  if (nameProblem)
    throw new UsageError(
      'CLIENT_NAME_INVALID',
      `"${name}" cannot be a client name here: ${nameProblem.replace(/\.$/, '')}.`,
      'Choose a shorter name; nothing was written.',
    );
  const configDir = dirname(file.path);
  const asConfigPath = (value: string) =>
    looksLikeSshPublicKey(value) || isAbsolute(value) ? value : relative(configDir, resolve(context.cwd, value));

  let allowedIps = options.ip ?? [];
  let uploadKeys = options.uploadKey ?? [];
  let downloadKeys = options.downloadKey ?? [];
  let partnerKey = options.partnerKey;
  if (context.interactive) {
    const { prompter, output } = context;
    const cancelled = () => {
      output.info(`Cancelled: nothing was written; ${file.displayPath} and keys/ are as they were.`);
      return 130;
    };
    try {
      if (allowedIps.length === 0 && !options.allowAnyIp) {
        allowedIps = splitList(
          await prompter.input({
            name: 'ips',
            message: `Public IPv4 addresses or CIDRs ${name} connects from (comma-separated)`,
            default: '',
            validate: (value) => allowedIpsAnswerProblem(value) ?? true,
          }),
        );
      }
      if (options.upload && uploadKeys.length === 0) {
        uploadKeys = splitList(
          await prompter.input({
            name: 'uploadKey',
            message: 'SSH public key of the upload user (inline or .pub path; empty for later)',
            default: '',
            validate: (value) => sshKeysAnswerProblem(value, context.cwd) ?? true,
          }),
        );
      }
      if (options.download && downloadKeys.length === 0) {
        downloadKeys = splitList(
          await prompter.input({
            name: 'downloadKey',
            message: 'SSH public key of the download user (inline or .pub path; empty for later)',
            default: '',
            validate: (value) => sshKeysAnswerProblem(value, context.cwd) ?? true,
          }),
        );
      }
      if (options.download && partnerKey === undefined) {
        partnerKey =
          (await askChecked(
            prompter,
            output,
            { name: 'partnerKey', message: "Path of the partner's PGP public key (empty for later)", default: '' },
            (value) => pgpPublicKeyAnswerProblem(value, context.cwd),
            (problem) =>
              new UsageError(
                'PGP_KEY_INVALID',
                `The partner key was refused three times: ${problem}`,
                'Nothing was written.',
              ),
          )) || undefined;
      }
    } catch (error) {
      if (isPromptCancel(error)) return cancelled();
      throw error;
    }
  }

  const client: ClientInput = {
    name,
    allowedIps,
    ...(options.allowAnyIp ? { allowAnyIp: true } : {}),
    encryptedExtensions: splitList(options.extensions),
    ...(options.requireEncryption ? { requireEncryption: true } : {}),
    checksum: options.checksum as ClientInput['checksum'],
    ...(options.memory === '512' ? {} : { memory: Number(options.memory) }),
    ...(options.upload ? { upload: { sshKeys: uploadKeys.map(asConfigPath) } } : {}),
    ...(options.download ? { download: { sshKeys: downloadKeys.map(asConfigPath) } } : {}),
  };
  const pgp = {
    ...(options.ingressPublicKey ? { ingressPublicKey: asConfigPath(options.ingressPublicKey) } : {}),
    ...(options.ingressPrivateKey ? { ingressPrivateKey: asConfigPath(options.ingressPrivateKey) } : {}),
    ...(partnerKey ? { partnerPublicKey: asConfigPath(partnerKey) } : {}),
  };
  if (Object.keys(pgp).length > 0) client.pgp = pgp;
  if (options.environments) client.environments = splitList(options.environments);

  const generated =
    options.generateKeys || options.generateSshKeys
      ? await generateClientKeys(configDir, config.project, name, {
          pgp: Boolean(options.generateKeys),
          ssh: options.generateSshKeys ? (['upload', 'download'] as const).filter((role) => options[role]) : [],
        })
      : undefined;
  if (generated?.ingressPublicKey)
    client.pgp = {
      ...client.pgp,
      ingressPublicKey: generated.ingressPublicKey,
      ingressPrivateKey: generated.ingressPrivateKey,
    };
  if (generated?.uploadSshKey && client.upload)
    client.upload.sshKeys = [...(client.upload.sshKeys ?? []), generated.uploadSshKey];
  if (generated?.downloadSshKey && client.download)
    client.download.sshKeys = [...(client.download.sshKeys ?? []), generated.downloadSshKey];

  let result: Awaited<ReturnType<typeof editConfigFile>>;
  try {
    result = await editConfigFile(file, (document) => addClientToDocument(document, client));
  } catch (error) {
    if (generated) await removeGenerated(generated);
    throw error;
  }
  const added = result.config.clients.find((entry) => entry.name === name);
  const warnings = result.warnings.filter(
    (warning) => warning.path[0] === 'clients' && result.config.clients[Number(warning.path[1])]?.name === name,
  );
  const summary = added ? summarizeClient(result.config, added) : undefined;
  context.output.data({
    added: name,
    file: file.displayPath,
    client: summary,
    generatedKeys: generated?.fingerprints ?? {},
    warnings: warnings.map((warning) => warning.message),
  });
  context.output.success(`Added client ${name} to ${file.displayPath}.`);
  for (const [what, fingerprint] of Object.entries(generated?.fingerprints ?? {})) {
    context.output.line(
      `  generated ${what} key ${fingerprint} under keys/${name}/ (private halves 0600, kept out of git)`,
    );
  }
  if (generated?.ingressPublicKey) {
    context.output.line(`  hand ${generated.ingressPublicKey} to the partner: they encrypt uploads to it.`);
  }
  if (warnings.length > 0) printProblems(context.output, warnings);
  context.output.line(
    `Users: ${[summary?.users.upload, summary?.users.download].filter(Boolean).join(', ') || 'none'}. See everything with \`sftpctl client show ${name}\`.`,
  );
  return 0;
}
