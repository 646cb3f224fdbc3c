import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import { TRANSFER_USER_NAME } from '../../core/config/naming.js';
import { isAcceptedUserSignature } from './algorithms.js';

// Who may connect from where is the identity core's rule (core/identity), the same on AWS: one source-address check.
export {
  addressInCidrs as addressAllowed,
  isLoopback,
  normalizeAddress,
} from '../../core/identity/decide.js';

/** Transfer Family's rule for user names: 3 to 100 characters of `[\w@.-]`, not starting with `@.-`, never root. */
export function isValidUserName(name: string): boolean {
  return TRANSFER_USER_NAME.test(name) && name !== 'root';
}

export interface AcceptedKey {
  type: string;
  blob: Buffer;
  fingerprint: string;
}

export interface PublicKeyRequest {
  algo: string;
  data: Buffer;
  hashAlgo: string | undefined;
  signature: Buffer | undefined;
  blob: Buffer | undefined;
}

export type PublicKeyDecision =
  | { outcome: 'login'; key: AcceptedKey }
  | { outcome: 'key-acceptable'; key: AcceptedKey }
  | { outcome: 'reject'; reason: RejectReason };

export type RejectReason =
  | 'invalid-user-name'
  | 'unknown-user'
  | 'disabled'
  | 'ip-not-allowed'
  | 'key-not-accepted'
  | 'weak-signature-algorithm'
  | 'bad-signature';

/**
 * Decides one `publickey` request. Without a signature it is a probe ("would you accept this key?"): the answer is
 * yes only for one of the user's keys, and it never logs anyone in. With a signature, the signature is verified over
 * the session data ssh2 hands over (`blob`) — for every request, whether or not the user or key is known, so unknown
 * users, foreign keys and bad signatures cost the same and fail the same way (the client only ever learns "no").
 */
export function decidePublicKey(
  request: PublicKeyRequest,
  user: { keys: readonly AcceptedKey[] } | undefined,
  context: { validName: boolean; ipAllowed: boolean },
): PublicKeyDecision {
  const key = user?.keys.find(
    (candidate) => sameBytes(candidate.blob, request.data) && candidate.type === request.algo,
  );
  const algorithmOk = isAcceptedUserSignature(request.algo, request.hashAlgo);
  let signatureOk = false;
  if (request.signature && request.blob) {
    try {
      const presented = ssh2.utils.parseKey(request.data);
      signatureOk =
        !(presented instanceof Error) && presented.verify(request.blob, request.signature, request.hashAlgo) === true;
    } catch {
      signatureOk = false;
    }
  }
  const reason: RejectReason | undefined = !context.validName
    ? 'invalid-user-name'
    : !user
      ? 'unknown-user'
      : !context.ipAllowed
        ? 'ip-not-allowed'
        : !key
          ? 'key-not-accepted'
          : !algorithmOk
            ? 'weak-signature-algorithm'
            : request.signature && !signatureOk
              ? 'bad-signature'
              : undefined;
  if (reason !== undefined || !key) return { outcome: 'reject', reason: reason ?? 'key-not-accepted' };
  return request.signature ? { outcome: 'login', key } : { outcome: 'key-acceptable', key };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
