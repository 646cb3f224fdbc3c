import { isSftpctlError } from '../core/errors.js';
import { colorsEnabled, createColors } from './colors.js';

/** Prints an error for people on stderr (and, with --json, as a JSON object on stdout). Stacks only with --debug. */
export function printError(error: unknown, options: { json: boolean; debug: boolean }): void {
  const c = createColors(colorsEnabled(process.stderr));
  if (isSftpctlError(error)) {
    const lines = [`${c.red(c.bold('error'))} ${c.dim(`[${error.code}]`)} ${error.message}`];
    for (const detail of error.details) lines.push(`  ${detail}`);
    if (error.hint) lines.push(`${c.cyan('hint')} ${error.hint}`);
    if (options.debug && error.stack) lines.push(c.dim(error.stack));
    process.stderr.write(`${lines.join('\n')}\n`);
    if (options.json) {
      const body = {
        error: { code: error.code, message: error.message, hint: error.hint ?? null, details: error.details },
      };
      process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    }
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  const lines = [
    `${c.red(c.bold('internal error'))} ${message}`,
    'This is a bug in sftpctl, not in your config. Please report it with the command you ran and the output of --debug.',
  ];
  if (options.debug && error instanceof Error && error.stack) lines.push(c.dim(error.stack));
  else lines.push(c.dim('Run again with --debug to see the stack trace.'));
  process.stderr.write(`${lines.join('\n')}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify({ error: { code: 'INTERNAL', message } }, null, 2)}\n`);
}
