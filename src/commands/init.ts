import { basename, dirname } from 'node:path';
import { parseCidr } from '../core/config/cidr.js';
import { DEFAULT_VPC_CIDR, importParameters, type ParametersImport } from '../core/config/import-parameters.js';
import { DNS_LABEL } from '../core/config/naming.js';
import { formatProblemWithHint } from '../core/config/problems.js';
import { regionProblem } from '../core/config/regions.js';
import { renderConfig } from '../core/config/render.js';
import { clientNameProblem } from '../core/config/rules.js';
import type { ClientInput, ConfigInput } from '../core/config/schema.js';
import { validateConfigText } from '../core/config/validate.js';
import { ConfigError, SftpctlError, UsageError } from '../core/errors.js';
import { configPathFrom } from '../io/config-file.js';
import { makeDirectory } from '../io/directories.js';
import { exists, fileReaderAt, readTextIfExists, writeFileAtomic } from '../io/files.js';
import { allowedIpsAnswerProblem, isPromptCancel } from './answer-checks.js';
import type { CommandContext } from './context.js';
import { splitList } from './options.js';

export interface InitOptions {
  from?: string;
  project?: string;
  region?: string;
  environments?: string;
  vpcCidr?: string;
  azCount?: string;
  force?: boolean;
}

interface InitAnswers {
  project: string;
  environments: string[];
  region: string;
  vpcCidr: string;
  azCount: number;
  firstClient: ClientInput | undefined;
}

export async function init(options: InitOptions, context: CommandContext): Promise<number> {
  const target = configPathFrom(context.globals.config, context.cwd);
  if (!options.force && (await exists(target.path))) {
    throw new SftpctlError(
      'CONFIG_EXISTS',
      `${target.displayPath} already exists; it was left as it is.`,
      'Pass --force to replace it, or --config <file> to write somewhere else.',
    );
  }
  const imported = options.from ? await readParameters(options.from) : undefined;
  let answers: InitAnswers;
  try {
    answers = await gatherAnswers(options, context, imported, basename(dirname(target.path)));
  } catch (error) {
    if (!isPromptCancel(error)) throw error;
    context.output.info(
      `Cancelled: nothing was written; ${target.displayPath} ${(await exists(target.path)) ? 'is as it was' : 'was not created'}.`,
    );
    return 130;
  }
  const text = renderConfig(buildConfig(answers, imported), imported ? [`Imported from ${options.from}.`] : []);

  const result = await validateConfigText(text, target.displayPath, { files: fileReaderAt(dirname(target.path)) });
  if (!result.config) {
    throw new ConfigError(
      'The answers given make an invalid config, so nothing was written.',
      result.errors.map(formatProblemWithHint),
    );
  }
  await makeDirectory(dirname(target.path));
  await writeFileAtomic(target.path, text, { exclusive: !options.force });

  const { output } = context;
  output.data({
    written: target.displayPath,
    project: answers.project,
    environments: answers.environments,
    notes: imported?.notes ?? [],
  });
  output.success(
    `Wrote ${target.displayPath} (project ${answers.project}, environments ${answers.environments.join(', ')}).`,
  );
  if (imported && imported.notes.length > 0) {
    output.line();
    output.line(`Not carried over from ${options.from} (${imported.notes.length}):`);
    for (const note of imported.notes) output.line(`  - ${note}`);
  }
  for (const warning of result.warnings) output.warn(formatProblemWithHint(warning));
  output.line();
  output.line('Next:');
  output.line('  sftpctl client add <name> --ip <partner CIDR> --upload-key <key.pub>   add a partner');
  output.line('  sftpctl config validate                                                 check everything');
  return 0;
}

async function readParameters(path: string): Promise<ParametersImport> {
  const text = await readTextIfExists(path);
  if (text === undefined)
    throw new UsageError(
      'FILE_NOT_FOUND',
      `--from: ${path} does not exist.`,
      'Give the path of an existing parameters.yaml.',
    );
  return importParameters(text, path);
}

async function gatherAnswers(
  options: InitOptions,
  context: CommandContext,
  imported: ParametersImport | undefined,
  folderName: string,
): Promise<InitAnswers> {
  const envRegion = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
  const suggestedProject = folderName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24);
  const importedCidr = imported?.defaults.vpc?.cidr;

  if (!context.interactive) {
    const missing = [
      options.project === undefined ? '--project <name>' : undefined,
      options.region === undefined && envRegion === undefined ? '--region <region> (or AWS_REGION)' : undefined,
    ].filter((flag): flag is string => flag !== undefined);
    if (missing.length > 0) {
      throw new UsageError(
        'INPUT_REQUIRED',
        `init needs ${missing.join(' and ')}: there is no terminal to ask on.`,
        `Run again with ${missing.join(' ')}.`,
      );
    }
    return {
      project: checked(options.project as string, projectProblem, '--project'),
      environments: checked(options.environments ?? 'dev,test,prod', environmentsProblem, '--environments')
        .split(',')
        .map((env) => env.trim()),
      region: (options.region ?? envRegion) as string,
      vpcCidr: checked(options.vpcCidr ?? importedCidr ?? DEFAULT_VPC_CIDR, cidrProblem, '--vpc-cidr'),
      azCount: Number(
        checked(options.azCount ?? String(imported?.defaults.vpc?.azCount ?? 2), azProblem, '--az-count'),
      ),
      firstClient: undefined,
    };
  }

  const { prompter } = context;
  const project =
    options.project ??
    (await prompter.input({
      name: 'project',
      message: 'Project name (prefix of every AWS name)',
      default: suggestedProject || 'sftp',
      validate: orTrue(projectProblem),
    }));
  const environments = (
    options.environments ??
    (await prompter.input({
      name: 'environments',
      message: 'Environments (comma-separated)',
      default: 'dev,test,prod',
      validate: orTrue(environmentsProblem),
    }))
  )
    .split(',')
    .map((env) => env.trim());
  const region =
    options.region ??
    (await prompter.input({
      name: 'region',
      message: 'AWS region',
      default: envRegion ?? 'eu-west-2',
      validate: orTrue(regionAnswerProblem),
    }));
  const vpcCidr =
    options.vpcCidr ??
    (await prompter.input({
      name: 'vpcCidr',
      message: 'VPC CIDR for the SFTP endpoint',
      default: importedCidr ?? DEFAULT_VPC_CIDR,
      validate: orTrue(cidrProblem),
    }));
  const azCount = Number(options.azCount ?? imported?.defaults.vpc?.azCount ?? 2);
  let firstClient: ClientInput | undefined;
  if (
    !imported &&
    (await prompter.confirm({ name: 'addClient', message: 'Add a first client (partner) now?', default: true }))
  ) {
    const name = await prompter.input({
      name: 'clientName',
      message: 'Client name',
      validate: orTrue((value) => clientNameProblem(project, environments, value)),
    });
    const ips = await prompter.input({
      name: 'clientIps',
      message: "Partner's public IPv4 addresses or CIDRs (comma-separated, empty for later)",
      default: '',
      validate: orTrue(cidrListProblem),
    });
    firstClient = { name, allowedIps: splitList(ips), upload: { sshKeys: [] }, download: { sshKeys: [] } };
  }
  return { project, environments, region, vpcCidr, azCount, firstClient };
}

function buildConfig(answers: InitAnswers, imported: ParametersImport | undefined): ConfigInput {
  const environments: ConfigInput['environments'] = {};
  for (const env of answers.environments) environments[env] = env === 'prod' ? { protected: true } : {};
  return {
    project: answers.project,
    tags: { Project: answers.project, ...(imported?.tags ?? {}) },
    defaults: {
      region: answers.region,
      vpc: { cidr: answers.vpcCidr, azCount: answers.azCount },
      transfer: {
        protocols: ['SFTP'],
        securityPolicy: imported?.defaults.transfer?.securityPolicy ?? 'TransferSecurityPolicy-2025-03',
      },
      logRetentionDays: 90,
    },
    environments,
    clients: imported?.clients ?? (answers.firstClient ? [answers.firstClient] : []),
  };
}

type Check = (value: string) => string | undefined;

const projectProblem: Check = (value) =>
  DNS_LABEL.test(value) && value.length <= 24
    ? undefined
    : 'use 1-24 lower-case letters, digits and inner hyphens, like "acme-sftp"';
const regionAnswerProblem: Check = (value) => {
  const problem = regionProblem(value);
  return problem ? `${problem.message}. ${problem.hint}` : undefined;
};
const environmentsProblem: Check = (value) => {
  const names = value.split(',').map((env) => env.trim());
  const bad = names.find((env) => !/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(env) || env.length > 12);
  if (bad !== undefined) return `"${bad}" is not a valid environment name (1-12 lower-case letters, digits, hyphens)`;
  return new Set(names).size === names.length ? undefined : 'an environment is listed twice';
};
const cidrProblem: Check = (value) => {
  const parsed = parseCidr(value);
  if (!parsed.ok) return `"${value}" ${parsed.reason}`;
  if (parsed.hostBitsSet) return `"${value}" has host bits set; did you mean ${parsed.cidr.text}?`;
  return undefined;
};
const cidrListProblem: Check = allowedIpsAnswerProblem;
const azProblem: Check = (value) => (value === '2' || value === '3' ? undefined : 'must be 2 or 3');

function orTrue(check: Check): (value: string) => true | string {
  return (value) => check(value.trim()) ?? true;
}

function checked(value: string, check: Check, flag: string): string {
  const problem = check(value);
  if (problem !== undefined)
    throw new UsageError('INVALID_FLAG', `${flag}: ${problem}.`, `Correct ${flag} and run again; nothing was written.`);
  return value;
}
