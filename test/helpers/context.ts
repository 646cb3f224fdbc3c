import type { CommandContext } from '../../src/commands/context.js';
import { Output } from '../../src/ui/output.js';

/** A CommandContext for calling a command function directly, as if a person were at a terminal. */
export function interactiveContext(cwd: string, prompter: CommandContext['prompter']): CommandContext {
  const sink = { write: () => true, isTTY: false } as unknown as NodeJS.WritableStream;
  return {
    globals: { json: false, debug: false, yes: false },
    output: new Output(false, sink, sink),
    interactive: true,
    prompter,
    cwd,
  };
}

/** A non-interactive CommandContext whose output is captured. */
export function capturingContext(cwd: string, options: { json?: boolean; env?: string } = {}) {
  let stdout = '';
  let stderr = '';
  const sink = (append: (chunk: string) => void) =>
    ({
      write: (chunk: string) => {
        append(chunk);
        return true;
      },
      isTTY: false,
    }) as unknown as NodeJS.WritableStream;
  const out = sink((chunk) => {
    stdout += chunk;
  });
  const err = sink((chunk) => {
    stderr += chunk;
  });
  const json = options.json ?? false;
  const context: CommandContext = {
    globals: { json, debug: false, yes: true, ...(options.env ? { env: options.env } : {}) },
    output: new Output(json, out, err),
    interactive: false,
    prompter: {
      input: async () => {
        throw new Error('no prompts in tests');
      },
      password: async () => {
        throw new Error('no prompts in tests');
      },
      confirm: async () => {
        throw new Error('no prompts in tests');
      },
      select: async () => {
        throw new Error('no prompts in tests');
      },
      checkbox: async () => {
        throw new Error('no prompts in tests');
      },
    },
    cwd,
  };
  return { context, stdout: () => stdout, stderr: () => stderr };
}
