/**
 * An IAM policy evaluator for the tests: explicit Deny wins, then any Allow, else an implicit deny — the order AWS
 * documents for identity policies of one account. Actions and resources match with IAM's globs (`*`, `?`,
 * case-insensitive actions); the condition operators the templates use are understood, and any other one throws (a
 * condition the evaluator cannot judge must not pass silently).
 */

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[];
}

export interface Request {
  action: string;
  resource: string;
  /** Condition keys of the request (aws:SecureTransport, aws:SourceArn, …). */
  context?: Record<string, string | undefined>;
}

export interface Decision {
  allowed: boolean;
  /** The statement that decided (its Sid), or why nothing did. */
  reason: string;
}

const list = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

function matchesAction(statement: PolicyStatement, action: string): boolean {
  if (statement.Action !== undefined) return list(statement.Action).some((p) => glob(String(p), action, true));
  if (statement.NotAction !== undefined) return !list(statement.NotAction).some((p) => glob(String(p), action, true));
  return false;
}

function matchesResource(statement: PolicyStatement, resource: string): boolean {
  return list(statement.Resource).some((pattern) => {
    if (typeof pattern !== 'string') throw new Error(`unresolved resource in policy: ${JSON.stringify(pattern)}`);
    return glob(pattern, resource, false);
  });
}

function conditionHolds(condition: PolicyStatement['Condition'], context: Record<string, string | undefined>): boolean {
  for (const [operator, entries] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(entries)) {
      const actual = context[key];
      const values = list(expected).map(String);
      let holds: boolean;
      switch (operator) {
        case 'StringEquals':
        case 'ArnEquals':
          holds = actual !== undefined && values.includes(actual);
          break;
        case 'StringNotEquals':
          holds = actual === undefined || !values.includes(actual);
          break;
        case 'StringLike':
        case 'ArnLike':
          holds = actual !== undefined && values.some((pattern) => glob(pattern, actual, false));
          break;
        case 'Bool':
          holds = actual !== undefined && values.includes(actual);
          break;
        default:
          throw new Error(`condition operator ${operator} is not modelled by the test evaluator`);
      }
      if (!holds) return false;
    }
  }
  return true;
}

/** Evaluates `request` against identity policies (no Principal) — the functions' role policies. */
export function evaluate(policies: PolicyDocument[], request: Request): Decision {
  const context = request.context ?? {};
  const statements = policies.flatMap((policy) => policy.Statement);
  const applies = (statement: PolicyStatement) =>
    matchesAction(statement, request.action) &&
    matchesResource(statement, request.resource) &&
    conditionHolds(statement.Condition, context);
  const deny = statements.find((statement) => statement.Effect === 'Deny' && applies(statement));
  if (deny) return { allowed: false, reason: `explicit deny in ${deny.Sid ?? 'a statement'}` };
  const allow = statements.find((statement) => statement.Effect === 'Allow' && applies(statement));
  if (allow) return { allowed: true, reason: allow.Sid ?? 'an Allow statement' };
  return { allowed: false, reason: 'no identity-based policy allows it' };
}
