import { SftpctlError } from '../core/errors.js';

/** What a deploy can do with a stack in a given CloudFormation status. */
export type StackCondition =
  /** No stack (or only a deleted one): create it. */
  | 'absent'
  /** An empty stack a CREATE change set left behind (never executed): create it with another CREATE change set. */
  | 'review'
  /** Settled and updatable. */
  | 'ready'
  /** A create that failed and rolled back: the stack holds nothing and can only be deleted and created again. */
  | 'failed-create'
  /** CloudFormation is working on it. */
  | 'busy'
  /** Stuck: needs a person (UPDATE_ROLLBACK_FAILED, ROLLBACK_FAILED, DELETE_FAILED). */
  | 'stuck';

const READY = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_COMPLETE',
]);

export function stackCondition(status: string | undefined): StackCondition {
  if (status === undefined || status === 'DELETE_COMPLETE') return 'absent';
  if (status === 'REVIEW_IN_PROGRESS') return 'review';
  if (READY.has(status)) return 'ready';
  if (status === 'ROLLBACK_COMPLETE') return 'failed-create';
  if (status.endsWith('_IN_PROGRESS')) return 'busy';
  return 'stuck';
}

/** True once an operation has ended, whichever way. */
export function isSettled(status: string): boolean {
  return !status.endsWith('_IN_PROGRESS') || status === 'REVIEW_IN_PROGRESS';
}

/** The status an operation ends in when it succeeds. */
export const SUCCESS_STATUS = {
  create: 'CREATE_COMPLETE',
  update: 'UPDATE_COMPLETE',
  delete: 'DELETE_COMPLETE',
} as const;

export type StatusTone = 'good' | 'bad' | 'busy' | 'neutral';

/** How a status should look to a person: green, red, yellow or plain. */
export function statusTone(status: string): StatusTone {
  if (READY.has(status) && !status.includes('ROLLBACK')) return 'good';
  if (status === 'DELETE_COMPLETE') return 'neutral';
  if (status.includes('FAILED') || status.includes('ROLLBACK')) return 'bad';
  if (status.endsWith('_IN_PROGRESS')) return 'busy';
  return 'neutral';
}

/** The error for a stack a deploy or destroy cannot touch as it is, with what to do about it. */
export function blockedStackError(stack: string, status: string, reason: string | undefined): SftpctlError {
  const because = reason ? ` (${reason})` : '';
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    return new SftpctlError(
      'STACK_ROLLBACK_FAILED',
      `Stack ${stack} is UPDATE_ROLLBACK_FAILED${because}: a failed update could not be rolled back.`,
      `Fix what blocked the rollback (see the stack's events), then run: aws cloudformation continue-update-rollback --stack-name ${stack} (add --resources-to-skip for resources that cannot roll back), wait for UPDATE_ROLLBACK_COMPLETE and deploy again.`,
    );
  }
  if (status.endsWith('_IN_PROGRESS')) {
    return new SftpctlError(
      'STACK_BUSY',
      `Stack ${stack} is ${status}: CloudFormation is still working on an earlier operation.`,
      'Another deploy may be running. Wait until it settles (sftpctl status), then run this again. Nothing was changed.',
    );
  }
  return new SftpctlError(
    'STACK_STUCK',
    `Stack ${stack} is ${status}${because}.`,
    status === 'DELETE_FAILED'
      ? `Remove what blocked the delete (see the stack's events), then run sftpctl destroy again.`
      : status === 'UPDATE_FAILED' || status === 'CREATE_FAILED'
        ? `Roll it back (aws cloudformation rollback-stack --stack-name ${stack}) or fix the cause and deploy again.`
        : `Delete this one stack (aws cloudformation delete-stack --stack-name ${stack}; a client stack also with sftpctl destroy --client) and deploy again.`,
  );
}

/** CloudFormation's answer for a stack that does not exist (a ValidationError, not a typed exception). */
export function isStackMissing(error: unknown): boolean {
  return error instanceof Error && /does not exist/.test(error.message);
}
