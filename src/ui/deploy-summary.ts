import type { StackResult } from '../deploy/deploy.js';
import type { Colors } from './colors.js';
import { renderTable } from './table.js';

const GOOD = new Set(['created', 'updated', 'unchanged', 'deleted', 'absent']);

/** The table after a deploy or destroy, then each failure's first failing resource and reason. */
export function renderStackResults(
  results: readonly (Pick<StackResult, 'stack' | 'status' | 'failure' | 'seconds' | 'changes'> & { action: string })[],
  c: Colors,
): string[] {
  const lines = [
    renderTable(
      ['stack', 'result', 'status', 'changes', 'time'],
      results.map((result) => [
        result.stack,
        GOOD.has(result.action)
          ? c.green(result.action)
          : result.action === 'failed'
            ? c.red(result.action)
            : c.yellow(result.action),
        result.status ?? '',
        result.changes
          ? `+${result.changes.add} ~${result.changes.modify} -${result.changes.remove}${result.changes.replace ? c.red(` (${result.changes.replace} replaced)`) : ''}`
          : '',
        result.seconds === undefined ? '' : `${result.seconds}s`,
      ]),
    ),
  ];
  for (const result of results) {
    if (!result.failure) continue;
    const where = result.failure.resource
      ? `${result.failure.resource} (${result.failure.type}) ${result.failure.status}: `
      : '';
    lines.push(
      `${c.red('✖')} ${c.bold(result.stack)}${result.status ? ` ended ${result.status}` : ''}: ${where}${result.failure.reason}`,
    );
    if (result.failure.hint) lines.push(`  ${c.dim(result.failure.hint)}`);
  }
  return lines;
}
