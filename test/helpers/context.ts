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
