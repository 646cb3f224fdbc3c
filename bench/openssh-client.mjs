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
