import { formatProblem, type Problem } from '../core/config/problems.js';
import type { Output } from './output.js';

/** Prints config problems, errors first, each with its hint under it. Goes to stderr in --json mode. */
export function printProblems(output: Output, problems: readonly Problem[]): void {
  const c = output.json ? output.errColors : output.colors;
  for (const problem of problems) {
    const label = problem.severity === 'error' ? c.red('error  ') : c.yellow('warning');
    output.line(`${label} ${formatProblem(problem)} ${c.dim(`[${problem.code}]`)}`);
    if (problem.hint) output.line(`        ${c.cyan('→')} ${problem.hint}`);
  }
}

export function problemJson(problem: Problem) {
  return {
    severity: problem.severity,
    code: problem.code,
    message: problem.message,
    hint: problem.hint ?? null,
    field: problem.path,
    file: problem.location?.file ?? null,
    line: problem.location?.line ?? null,
    column: problem.location?.col ?? null,
  };
}
