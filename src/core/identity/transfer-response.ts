import type { LoginDecision } from './decide.js';

/** What AWS Transfer Family expects back from a custom identity provider (an empty object refuses the login). */
export interface TransferIdentityResponse {
  Role?: string;
  HomeDirectoryType?: 'LOGICAL';
  HomeDirectoryDetails?: string;
  PublicKeys?: string[];
}

/**
 * The identity function's answer: the role, the logical home (the user sees `/`, never the bucket's name) and, for
 * SFTP, the unexpired public keys Transfer checks the client's signature against. A refusal is `{}`, whatever the
 * reason, so the client learns nothing.
 */
export function transferResponse(decision: LoginDecision): TransferIdentityResponse {
  if (!decision.allowed || !decision.record.roleArn) return {};
  const { record } = decision;
  return {
    Role: record.roleArn,
    HomeDirectoryType: 'LOGICAL',
    HomeDirectoryDetails: JSON.stringify(
      record.homeDirectoryMappings.map((mapping) => ({ Entry: mapping.entry, Target: mapping.target })),
    ),
    ...(decision.keys.length > 0 ? { PublicKeys: decision.keys.map((key) => key.publicKey) } : {}),
  };
}
