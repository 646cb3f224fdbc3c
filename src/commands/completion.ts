import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import type { CommandContext } from './context.js';

/** One command of the tree, as completion needs it: its words, and which flags take a value (and which values). */
interface Node {
  path: string;
  subcommands: string[];
  flags: string[];
  /** Flag → its allowed values; an empty list for a free value (a file, a name). */
  values: Map<string, string[]>;
}

/** `sftpctl completion bash|zsh|fish`: a script generated from the declared commands, so it never drifts. */
export async function completion(shell: string, program: Command, context: CommandContext): Promise<number> {
  const nodes = walk(program, program.name(), []);
  const render = { bash: bashScript, zsh: zshScript, fish: fishScript }[shell];
  if (!render)
    throw new UsageError(
      'INVALID_ARGUMENT',
      `completion: "${shell}" is not a shell sftpctl completes.`,
      'Use sftpctl completion bash, zsh or fish.',
    );
  context.output.raw(render(nodes, program.name()));
  return 0;
}

function walk(command: Command, path: string, inherited: Command['options']): Node[] {
  const options = [...inherited, ...command.options];
  const values = new Map<string, string[]>();
  for (const option of options) {
    if (option.long && (option.required || option.optional)) values.set(option.long, [...(option.argChoices ?? [])]);
  }
  const visible = command.commands.filter((sub) => !(sub as unknown as { _hidden?: boolean })._hidden);
  const node: Node = {
    path,
    subcommands: visible.map((sub) => sub.name()),
    flags: [...options.flatMap((option) => (option.long ? [option.long] : [])), '--help'],
    values,
  };
  // Global flags are accepted by every subcommand.
  const globals = path.includes(' ') ? inherited : command.options;
  const args = (command as unknown as { registeredArguments?: { argChoices?: string[] }[] }).registeredArguments ?? [];
  const choices = args[0]?.argChoices;
  if (choices && visible.length === 0) node.subcommands = [...choices];
  return [node, ...visible.flatMap((sub) => walk(sub, `${path} ${sub.name()}`, globals))];
}

const fn = (name: string) => `_${name.replace(/[^a-zA-Z0-9]/g, '_')}`;

function bashScript(nodes: Node[], name: string): string {
  const f = fn(name);
  const cases = (body: (node: Node) => string | undefined) =>
    nodes
      .map((node) => {
        const text = body(node);
        return text === undefined ? undefined : `    "${node.path}") ${text} ;;`;
      })
      .filter(Boolean)
      .join('\n');
  const valueCases = nodes
    .flatMap((node) =>
      [...node.values].map(([flag, choices]) => `    "${node.path}|${flag}") echo "${choices.join(' ') || '-'}" ;;`),
    )
    .join('\n');
  return `# ${name} completion for bash. Load it with: eval "$(${name} completion bash)"
${f}_subs() {
  case "$1" in
${cases((node) => (node.subcommands.length > 0 ? `echo "${node.subcommands.join(' ')}"` : undefined))}
  esac
}
${f}_words() {
  case "$1" in
${cases((node) => `echo "${[...node.subcommands, ...node.flags].join(' ')}"`)}
  esac
}
${f}_values() {
  case "$1|$2" in
${valueCases}
  esac
}
${f}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="${name}" word i values
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case " $(${f}_subs "$path") " in *" $word "*) path="$path $word" ;; esac
  done
  values="$(${f}_values "$path" "$prev")"
  if [[ "$values" == "-" ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  elif [[ -n "$values" ]]; then
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(${f}_words "$path")" -- "$cur"))
  fi
}
complete -o default -F ${f} ${name}
`;
}

function zshScript(nodes: Node[], name: string): string {
  return `#compdef ${name}
# ${name} completion for zsh. Load it with: eval "$(${name} completion zsh)"
autoload -U +X bashcompinit && bashcompinit
${bashScript(nodes, name)}`;
}

function fishScript(nodes: Node[], name: string): string {
  const f = `__${name.replace(/[^a-zA-Z0-9]/g, '_')}`;
  const lines = [
    `# ${name} completion for fish. Load it with: ${name} completion fish | source`,
    `function ${f}_subs`,
    '  switch $argv[1]',
    ...nodes
      .filter((node) => node.subcommands.length > 0)
      .flatMap((node) => [`    case '${node.path}'`, `      printf '%s\\n' ${node.subcommands.join(' ')}`]),
    '  end',
    'end',
    `function ${f}_path`,
    `  set -l path ${name}`,
    '  for word in (commandline -opc)[2..-1]',
    `    if contains -- $word (${f}_subs "$path")`,
    '      set path "$path $word"',
    '    end',
    '  end',
    '  echo $path',
    'end',
    `complete -c ${name} -f`,
  ];
  for (const node of nodes) {
    const when = `-n 'test (${f}_path) = "${node.path}"'`;
    if (node.subcommands.length > 0) lines.push(`complete -c ${name} ${when} -a '${node.subcommands.join(' ')}'`);
    for (const flag of node.flags) {
      const choices = node.values.get(flag);
      const value = choices === undefined ? '' : choices.length > 0 ? ` -x -a '${choices.join(' ')}'` : ' -r -F';
      lines.push(`complete -c ${name} ${when} -l ${flag.slice(2)}${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
