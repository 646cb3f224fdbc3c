import { type FieldPath, formatFieldPath, type SourceLocation, type YamlSource } from './source.js';

export type Severity = 'error' | 'warning';

export interface Problem {
  severity: Severity;
  /** Stable identifier, e.g. `CIDR_HOST_BITS`. */
  code: string;
  path: FieldPath;
  message: string;
  hint?: string;
  location?: SourceLocation;
}

/** Collects problems and pins each to where it sits in the YAML. */
export class ProblemList {
  readonly items: Problem[] = [];

  constructor(private readonly source?: YamlSource) {}

  add(
    severity: Severity,
    code: string,
    path: FieldPath,
    message: string,
    hint?: string,
    at: 'key' | 'value' = 'value',
  ): void {
    const problem: Problem = { severity, code, path, message };
    if (hint !== undefined) problem.hint = hint;
    if (this.source) problem.location = this.source.locate(path, at);
    this.items.push(problem);
  }

  error(code: string, path: FieldPath, message: string, hint?: string, at?: 'key' | 'value'): void {
    this.add('error', code, path, message, hint, at);
  }

  warning(code: string, path: FieldPath, message: string, hint?: string, at?: 'key' | 'value'): void {
    this.add('warning', code, path, message, hint, at);
  }

  get errors(): Problem[] {
    return this.items.filter((problem) => problem.severity === 'error');
  }

  get warnings(): Problem[] {
    return this.items.filter((problem) => problem.severity === 'warning');
  }
}

/** `sftpctl.yaml:12:7 clients[0].allowedIps[1]: message` */
export function formatProblem(problem: Problem): string {
  const where = problem.location ? `${problem.location.file}:${problem.location.line}:${problem.location.col} ` : '';
  const field = problem.path.length > 0 ? `${formatFieldPath(problem.path)}: ` : '';
  return `${where}${field}${problem.message}`;
}

/** Closest candidate by edit distance, for "did you mean" hints; undefined when nothing is close. */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(input.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(input.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

export function formatProblemWithHint(problem: Problem): string {
  return problem.hint ? `${formatProblem(problem)}\n    ${problem.hint}` : formatProblem(problem);
}
