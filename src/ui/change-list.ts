import { countChanges, type StackChange } from '../deploy/change-set.js';
import type { Colors } from './colors.js';

const SYMBOL: Record<string, string> = { Add: '+', Modify: '~', Remove: '-', Import: '>', Dynamic: '?' };

/** One stack's change set as a person reads it: + add, ~ modify, - remove; replacements in red. */
export function renderChanges(
  stack: string,
  kind: 'create' | 'update',
  changes: readonly StackChange[],
  c: Colors,
): string[] {
  const counts = countChanges(changes);
  const summary = [
    counts.add ? c.green(`${counts.add} to add`) : '',
    counts.modify ? c.yellow(`${counts.modify} to modify`) : '',
    counts.remove ? c.red(`${counts.remove} to remove`) : '',
    counts.replace ? c.red(c.bold(`${counts.replace} replaced`)) : '',
  ]
    .filter(Boolean)
    .join(', ');
  const lines = [`${c.bold(stack)} (${kind === 'create' ? 'new stack' : 'update'}): ${summary}`];
  if (kind === 'create') return [...lines, ...groupedAdditions(changes, c)];
  if (changes.length === 0) return [`${lines[0]}${c.dim('no resource changes (outputs, parameters or tags only)')}`];
  const idWidth = Math.max(...changes.map((change) => change.logicalId.length));
  for (const change of changes) {
    const symbol = SYMBOL[change.action] ?? '?';
    const note =
      change.replacement === 'True'
        ? c.red(c.bold('  REPLACED (new physical resource)'))
        : change.replacement === 'Conditional'
          ? c.yellow('  may be replaced')
          : change.scope.length === 1 && change.scope[0] === 'Tags'
            ? c.dim('  tags only')
            : '';
    const colour =
      change.action === 'Add'
        ? c.green
        : change.action === 'Remove' || change.replacement === 'True'
          ? c.red
          : change.action === 'Modify'
            ? c.yellow
            : (text: string) => text;
    lines.push(`  ${colour(`${symbol} ${change.logicalId.padEnd(idWidth)}`)}  ${c.dim(change.type)}${note}`);
  }
  return lines;
}

/** A new stack's resources by type, one line each: dozens of client stacks stay readable. */
function groupedAdditions(changes: readonly StackChange[], c: Colors): string[] {
  const byType = new Map<string, string[]>();
  for (const change of changes) byType.set(change.type, [...(byType.get(change.type) ?? []), change.logicalId]);
  const types = [...byType.keys()].sort();
  const width = Math.max(...types.map((type) => type.length));
  return types.map((type) => {
    const ids = byType.get(type)!;
    const count = ids.length > 1 ? `${ids.length}× ` : '   ';
    const names = ids.join(', ');
    return `  ${c.green(`+ ${count}${type.padEnd(width)}`)}  ${c.dim(names.length > 70 ? `${names.slice(0, 69)}…` : names)}`;
  });
}
