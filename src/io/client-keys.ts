import { readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { generatePgpKeyPair } from '../core/crypto/pgp-keygen.js';
import { generateSshKeyPair } from '../core/crypto/ssh-keygen.js';
import { makeDirectory } from './directories.js';
import { exists, writeFileAtomic } from './files.js';
import { writeKeyPair } from './key-files.js';

/** Keeps private keys under keys/ out of git while public halves may be committed. */
const KEYS_GITIGNORE = `# Written by sftpctl: private keys never enter git; public halves may.
*
!*/
!.gitignore
!*.pub
!*.pub.asc
`;

export interface GeneratedClientKeys {
  /** Paths relative to the config folder, as they go into the config. */
  ingressPublicKey?: string;
  ingressPrivateKey?: string;
  uploadSshKey?: string;
  downloadSshKey?: string;
  fingerprints: Record<string, string>;
  /** Every file written, absolute: removed again if the config edit fails. */
  written: string[];
}

/**
 * Creates a client's keys under `<configDir>/keys/<client>/`: the platform's ingress PGP pair and, for testing,
 * SSH pairs for its users. Refuses to overwrite; on failure removes what it wrote.
 */
export async function generateClientKeys(
  configDir: string,
  project: string,
  client: string,
  want: { pgp: boolean; ssh: ('upload' | 'download')[] },
): Promise<GeneratedClientKeys> {
  const keysDir = join(configDir, 'keys');
  const clientDir = join(keysDir, client);
  const result: GeneratedClientKeys = { fingerprints: {}, written: [] };
  const rel = (path: string) => relative(configDir, path);
  try {
    await makeDirectory(clientDir);
    await ensureGitignore(keysDir);
    if (want.pgp) {
      const pair = await generatePgpKeyPair({
        name: `${project} ingress for ${client}`,
        type: 'curve25519',
        expiresInSeconds: 2 * 365 * 86_400,
      });
      const paths = { privatePath: join(clientDir, 'ingress.key.asc'), publicPath: join(clientDir, 'ingress.pub.asc') };
      await writeKeyPair(paths, pair);
      result.written.push(paths.privatePath, paths.publicPath);
      result.ingressPublicKey = rel(paths.publicPath);
      result.ingressPrivateKey = rel(paths.privatePath);
      result.fingerprints.ingress = pair.fingerprint;
    }
    for (const role of want.ssh) {
      const pair = await generateSshKeyPair({ type: 'ed25519', comment: `${client}-${role}@sftpctl-test` });
      const paths = { privatePath: join(clientDir, role), publicPath: join(clientDir, `${role}.pub`) };
      await writeKeyPair(paths, pair);
      result.written.push(paths.privatePath, paths.publicPath);
      result[role === 'upload' ? 'uploadSshKey' : 'downloadSshKey'] = rel(paths.publicPath);
      result.fingerprints[role] = pair.info.fingerprint;
    }
    return result;
  } catch (error) {
    await removeGenerated(result);
    throw error;
  }
}

export async function removeGenerated(keys: Pick<GeneratedClientKeys, 'written'>): Promise<void> {
  await Promise.all(keys.written.map((path) => rm(path, { force: true })));
}

async function ensureGitignore(keysDir: string): Promise<void> {
  const path = join(keysDir, '.gitignore');
  if (!(await exists(path))) {
    await writeFileAtomic(path, KEYS_GITIGNORE, { exclusive: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    return;
  }
  const text = await readFile(path, 'utf8');
  if (!text.includes('*.pub.asc')) await writeFileAtomic(path, `${text.trimEnd()}\n${KEYS_GITIGNORE}`);
}
