import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// OpenSSH client options shared by the benches and the tests that drive the real `ssh`/`sftp`/`scp`: the run is kept
// from the user's own setup (no agent, no known_hosts) and never prompts.
export const ISOLATED_SSH_OPTIONS = Object.freeze([
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'IdentityAgent=none',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'BatchMode=yes',
]);

/** A passphrase-less ed25519 user key and host key in `dir` (`user`, `host` and their `.pub`), made by ssh-keygen. */
export function generateUserAndHostKeys(dir) {
  const userKey = join(dir, 'user');
  const hostKeyPath = join(dir, 'host');
  for (const path of [userKey, hostKeyPath]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path]);
  return { userKey, hostKeyPath };
}
