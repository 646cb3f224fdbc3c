import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { allowedIpProblem } from '../core/config/rules.js';
import { pgpKeyProblems, readPgpKeyInfo } from '../core/crypto/pgp-key-info.js';
import { looksLikeSshPublicKey, parseSshPublicKey } from '../core/crypto/ssh-public-key.js';
import type { Prompter } from '../core/ports.js';
import type { Output } from '../ui/output.js';
import { splitList } from './options.js';

/**
 * Checks for answers typed at a prompt, applying the same rules the final config validation applies, so a bad answer
 * is refused where it is given (and asked again) instead of throwing every answer away at the end.
 */

/** Comma-separated allowed IPs: each must pass the config's allowed-IP rule. */
export function allowedIpsAnswerProblem(value: string): string | undefined {
  for (const item of splitList(value)) {
    const checked = allowedIpProblem(item, false);
    if (!checked.ok) return `${checked.message}. ${checked.hint}`;
  }
  return undefined;
}

/** SSH public keys, inline or .pub paths (relative to `cwd`), comma-separated: each must be a key Transfer accepts. */
export function sshKeysAnswerProblem(value: string, cwd: string): string | undefined {
  for (const item of splitList(value)) {
    let lines = [item];
    if (!looksLikeSshPublicKey(item)) {
      let text: string;
      try {
        text = readFileSync(resolve(cwd, item), 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return code === 'ENOENT'
          ? `${item} does not exist (looked at ${resolve(cwd, item)}); paste the key or give its .pub path`
          : `cannot read ${item} (${code ?? (error as Error).message}); give a readable .pub file`;
      }
      lines = text
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'));
      if (text.includes('PRIVATE KEY')) lines = [text];
      if (lines.length === 0) return `${item} is empty; give the partner's .pub file`;
    }
    for (const line of lines) {
      const parsed = parseSshPublicKey(line);
      if (!parsed.ok) return `${parsed.message} ${parsed.hint}`;
    }
  }
  return undefined;
}

/** A PGP public key file (relative to `cwd`): it must read as a public key that can encrypt today. */
export async function pgpPublicKeyAnswerProblem(
  path: string,
  cwd: string,
  now = new Date(),
): Promise<string | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(resolve(cwd, path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `${path} does not exist (looked at ${resolve(cwd, path)})`
      : `cannot read ${path} (${code ?? (error as Error).message})`;
  }
  const read = await readPgpKeyInfo(bytes, now);
  if (!read.ok) return `${path}: ${read.message} ${read.hint}`;
  const [problem] = pgpKeyProblems(read.key, { role: 'public', now });
  return problem ? `${path}: ${problem.message} ${problem.hint}` : undefined;
}

/**
 * Asks until the answer passes an asynchronous check (the Prompter's own validation is synchronous), showing why an
 * answer was refused. After three refusals the last problem is the error.
 */
export async function askChecked(
  prompter: Prompter,
  output: Output,
  question: { name: string; message: string; default?: string },
  check: (value: string) => Promise<string | undefined>,
  fail: (problem: string) => Error,
): Promise<string> {
  let problem: string | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const answer = await prompter.input(question);
    problem = answer.trim() === '' ? undefined : await check(answer.trim());
    if (problem === undefined) return answer.trim();
    output.info(`${output.errColors.red('✖')} ${problem}`);
  }
  throw fail(problem ?? 'refused');
}

/** Ctrl+C at a prompt: true for the error @inquirer/prompts throws then. */
export function isPromptCancel(error: unknown): boolean {
  return error instanceof Error && error.name === 'ExitPromptError';
}
