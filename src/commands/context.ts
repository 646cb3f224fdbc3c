import { UsageError } from '../core/errors.js';
import type { Prompter } from '../core/ports.js';
import type { Output } from '../ui/output.js';

export interface GlobalOptions {
  config?: string;
  env?: string;
  json: boolean;
  debug: boolean;
  yes: boolean;
}

/** What every command receives: the global flags, where to print, and whether it may ask questions. */
export interface CommandContext {
  globals: GlobalOptions;
  output: Output;
  /** True when a person is at a terminal and neither --yes nor --json was given. */
  interactive: boolean;
  prompter: Prompter;
  cwd: string;
}

/** For commands that would ask: fails naming the flag that answers instead, when nobody can be asked. */
export function requireInteractive(context: CommandContext, what: string, flags: string): void {
  if (!context.interactive) {
    throw new UsageError('INPUT_REQUIRED', `${what}, and there is no terminal to ask on.`, `Pass ${flags}.`);
  }
}
