import { dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { loadConfig } from '../io/config-file.js';
import { writeOwnedOutput } from '../io/owned-output.js';
import { blockingFindings, synthesize } from '../templates/synthesize.js';
import { renderTable } from '../ui/table.js';
import type { CommandContext } from './context.js';

export interface SynthOptions {
  out?: string;
  format: string;
  strict?: boolean;
  force?: boolean;
}

/** Renders every stack of one environment (or all) to files, with a manifest; exit 1 on blocking findings. */
export async function synth(options: SynthOptions, context: CommandContext): Promise<number> {
  if (options.format !== 'yaml' && options.format !== 'json') {
    throw new UsageError(
      'INVALID_FLAG',
      `--format: "${options.format}" is not offered.`,
      'Use --format yaml or --format json.',
    );
  }
  const { file, config } = await loadConfig(context.globals.config, { cwd: context.cwd, checkKeys: false });
  const envs = context.globals.env ? [context.globals.env] : Object.keys(config.environments);
  if (options.out && envs.length > 1) {
    throw new UsageError(
      'INVALID_FLAG',
      '--out names one folder, and this config has several environments.',
      'Add --env <name>, or leave --out out to write .sftpctl/out/<env>/.',
    );
  }
  const { output } = context;
  const c = output.colors;
  const results = [];
  let blocked = 0;
  for (const env of envs) {
    const result = synthesize(config, env, { format: options.format });
    const dir = resolve(context.cwd, options.out ?? join(dirname(file.path), '.sftpctl', 'out', env));
    await writeOwnedOutput({
      dir,
      files: {
        ...Object.fromEntries(result.stacks.map((stack) => [stack.fileName, stack.body])),
        'manifest.json': result.manifestBody,
      },
      manifestName: 'manifest.json',
      listedIn: templateFilesOfManifest,
      force: Boolean(options.force),
      forceFlag: '--force',
    });
    const blocking = blockingFindings(result, { strict: Boolean(options.strict) });
    blocked += blocking.length;
    results.push({ environment: env, out: dir, manifest: result.manifest, blocking });

    output.line(`${c.bold(env)} → ${relative(context.cwd, dir) || '.'}`);
    output.line(
      renderTable(
        ['stack', 'resources', 'bytes', 'findings'],
        result.stacks.map((stack) => {
          const open = stack.findings.filter((finding) => !finding.suppressed);
          const suppressed = stack.findings.length - open.length;
          const label = open.length === 0 ? c.green('0') : c.yellow(String(open.length));
          return [
            stack.name,
            String(stack.resources),
            `${stack.bytes}${stack.needsUpload ? ' (via S3)' : ''}`,
            `${label}${suppressed ? c.dim(` (+${suppressed} suppressed)`) : ''}`,
          ];
        }),
        { align: ['left', 'right', 'right', 'left'] },
      ),
    );
    for (const { stack, finding } of blocking) {
      output.line(
        `  ${finding.level === 'error' ? c.red('error') : c.yellow('finding')} ${stack} ${finding.resource ?? ''} [${finding.rule}] ${finding.message}`,
      );
    }
    output.line();
  }
  output.data(results);
  if (blocked > 0) {
    output.line(
      `${blocked} blocking finding${blocked === 1 ? '' : 's'}${options.strict ? ' (--strict)' : ''}. The templates were written for inspection; fix the config before deploying.`,
    );
    return 1;
  }
  return 0;
}

/** The template files a synth manifest lists, or undefined when the text is not a synth manifest. */
export function templateFilesOfManifest(text: string): string[] | undefined {
  try {
    const manifest = JSON.parse(text) as { manifestVersion?: unknown; deployOrder?: unknown; stacks?: unknown };
    if (typeof manifest.manifestVersion !== 'number' || !Array.isArray(manifest.deployOrder)) return undefined;
    if (!Array.isArray(manifest.stacks)) return undefined;
    const files = manifest.stacks.map((stack) => (stack as { file?: unknown })?.file);
    return files.every((file): file is string => typeof file === 'string') ? files : undefined;
  } catch {
    return undefined;
  }
}
