import { type PgpKeyInfo, pgpKeyProblems, readPgpKeyInfo } from '../crypto/pgp-key-info.js';
import { looksLikeSshPublicKey, parseSshPublicKey, type SshPublicKey } from '../crypto/ssh-public-key.js';
import { isSftpctlError } from '../errors.js';
import { describeFileSystemFault } from '../faults.js';
import type { FileReader } from '../ports.js';
import type { ProblemList } from './problems.js';
import type { Config } from './schema.js';

export interface KeyCheckOptions {
  files: FileReader;
  now: Date;
  /**
   * A private key file that is not on this machine is fine: commands that never use private keys (deploy, diff)
   * run where they are kept out on purpose (CI). Present files are still checked.
   */
  privateKeysElsewhere?: boolean;
}

/** What the key checks learned, for summaries: fingerprints by field path. */
export interface KeyFacts {
  ssh: Map<string, SshPublicKey[]>;
  pgp: Map<string, PgpKeyInfo>;
}

/** Reads every SSH and PGP key the config names and reports what would fail at deploy or run time. */
export async function checkConfigKeys(
  config: Config,
  problems: ProblemList,
  options: KeyCheckOptions,
): Promise<KeyFacts> {
  const facts: KeyFacts = { ssh: new Map(), pgp: new Map() };
  const decoder = new TextDecoder();

  for (const [index, client] of config.clients.entries()) {
    for (const role of ['upload', 'download'] as const) {
      const user = client[role];
      if (user == null) continue;
      const seen = new Map<string, string>();
      if (user.sshKeys.length === 0) {
        problems.warning(
          'USER_NO_SSH_KEYS',
          ['clients', index, role],
          `the ${role} user of "${client.name}" has no SSH keys, so it cannot log in`,
          `Add the partner's public key under clients[${index}].${role}.sshKeys (inline or a .pub file path).`,
          'key',
        );
      }
      for (const [keyIndex, entry] of user.sshKeys.entries()) {
        const path = ['clients', index, role, 'sshKeys', keyIndex];
        const keys = await readSshEntry(entry, path, problems, options.files, decoder);
        facts.ssh.set(JSON.stringify(path), keys);
        for (const key of keys) {
          const where = seen.get(key.fingerprint);
          if (where !== undefined) {
            problems.error(
              'SSH_KEY_DUPLICATE',
              path,
              `SSH key ${key.fingerprint} is already listed (${where})`,
              'Remove the duplicate: Transfer refuses to import a key twice.',
            );
          }
          seen.set(key.fingerprint, `sshKeys[${keyIndex}]`);
        }
      }
      if (user.rotation) {
        const rotationPath = ['clients', index, role, 'rotation'];
        checkGrace(user.rotation, rotationPath, `${client.name} ${role}`, 'ssh', problems, options.now);
        for (const [retiringIndex, fingerprint] of user.rotation.retiring.entries()) {
          if (!seen.has(fingerprint)) {
            problems.error(
              'ROTATION_KEY_UNKNOWN',
              [...rotationPath, 'retiring', retiringIndex],
              `the retiring key ${fingerprint} is not among this user's sshKeys`,
              'Keep the old key in sshKeys until `sftpctl keys rotate --finish` removes it, or delete the rotation block.',
            );
          }
        }
        if (user.rotation.retiring.length >= seen.size && seen.size > 0) {
          problems.error(
            'ROTATION_NO_NEW_KEY',
            rotationPath,
            'every SSH key of this user is marked retiring: finishing the rotation would lock the partner out',
            'Add the new key to sshKeys, or delete the rotation block.',
            'key',
          );
        }
      }
    }

    const pgp = client.pgp;
    const base = ['clients', index, 'pgp'];
    const ingressPublic = pgp.ingressPublicKey
      ? await readPgpEntry(pgp.ingressPublicKey, [...base, 'ingressPublicKey'], 'public', problems, options, facts)
      : undefined;
    const ingressPrivate = pgp.ingressPrivateKey
      ? await readPgpEntry(pgp.ingressPrivateKey, [...base, 'ingressPrivateKey'], 'private', problems, options, facts)
      : undefined;
    if (pgp.partnerPublicKey) {
      await readPgpEntry(pgp.partnerPublicKey, [...base, 'partnerPublicKey'], 'public', problems, options, facts);
    }
    for (const [retiringIndex, retiring] of (pgp.retiring ?? []).entries()) {
      const at = [...base, 'retiring', retiringIndex];
      checkGrace(retiring, at, `${client.name} ingress`, 'pgp', problems, options.now);
      const oldPublic = await readPgpEntry(
        retiring.publicKey,
        [...at, 'publicKey'],
        'public',
        problems,
        options,
        facts,
        { allowExpired: true },
      );
      const oldPrivate = await readPgpEntry(
        retiring.privateKey,
        [...at, 'privateKey'],
        'private',
        problems,
        options,
        facts,
        { allowExpired: true },
      );
      if (oldPublic && oldPrivate && oldPublic.fingerprint !== oldPrivate.fingerprint) {
        problems.error(
          'PGP_KEY_PAIR_MISMATCH',
          [...at, 'privateKey'],
          `the retiring private key (${oldPrivate.fingerprint}) does not belong to its public key (${oldPublic.fingerprint})`,
        );
      }
    }
    if (ingressPublic && ingressPrivate && ingressPublic.fingerprint !== ingressPrivate.fingerprint) {
      problems.error(
        'PGP_KEY_PAIR_MISMATCH',
        [...base, 'ingressPrivateKey'],
        `the ingress private key (${ingressPrivate.fingerprint}) does not belong to the ingress public key (${ingressPublic.fingerprint})`,
        'Point both at the two halves of the same key pair; the partner encrypts to the public one.',
      );
    }
    if (client.upload != null && !pgp.ingressPublicKey) {
      problems.warning(
        'PGP_INGRESS_KEY_MISSING',
        [...base],
        `client "${client.name}" has an upload user but no pgp.ingressPublicKey: encrypted uploads cannot be decrypted until it is set`,
        'Generate a pair (`sftpctl keys generate gpg`) and set pgp.ingressPublicKey and pgp.ingressPrivateKey.',
        'key',
      );
    }
    if (client.download != null && !pgp.partnerPublicKey) {
      problems.warning(
        'PGP_PARTNER_KEY_MISSING',
        [...base],
        `client "${client.name}" has a download user but no pgp.partnerPublicKey: exports cannot be encrypted until it is set`,
        "Ask the partner for their PGP public key and set pgp.partnerPublicKey to the file's path.",
        'key',
      );
    }
  }
  return facts;
}

async function readSshEntry(
  entry: string,
  path: (string | number)[],
  problems: ProblemList,
  files: FileReader,
  decoder: { decode(bytes: Uint8Array): string },
): Promise<SshPublicKey[]> {
  let lines: string[];
  let origin: string;
  if (looksLikeSshPublicKey(entry) || entry.includes('PRIVATE KEY')) {
    lines = [entry];
    origin = 'inline key';
  } else {
    const bytes = await readKeyFile(files, entry, path, problems);
    if (bytes === null) return [];
    if (bytes === undefined) {
      problems.error(
        'SSH_KEY_FILE_MISSING',
        path,
        `SSH key file "${entry}" does not exist (looked at ${files.resolve(entry)})`,
        'Paths are relative to the config file; or paste the key inline.',
      );
      return [];
    }
    lines = decoder
      .decode(bytes)
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    origin = `file ${entry}`;
    if (decoder.decode(bytes).includes('PRIVATE KEY')) lines = [decoder.decode(bytes)];
    if (lines.length === 0) {
      problems.error('SSH_KEY_MALFORMED', path, `SSH key file "${entry}" is empty`, "Give the partner's .pub file.");
      return [];
    }
  }
  const keys: SshPublicKey[] = [];
  for (const line of lines) {
    const result = parseSshPublicKey(line);
    if (result.ok) {
      keys.push(result.key);
    } else {
      problems.error(result.code, path, `${origin}: ${result.message}`, result.hint);
      if (result.code === 'SSH_KEY_IS_PRIVATE') break;
    }
  }
  return keys;
}

async function readPgpEntry(
  file: string,
  path: (string | number)[],
  role: 'public' | 'private',
  problems: ProblemList,
  options: KeyCheckOptions,
  facts: KeyFacts,
  leniency: { allowExpired?: boolean } = {},
): Promise<PgpKeyInfo | undefined> {
  const bytes = await readKeyFile(options.files, file, path, problems);
  if (bytes === null) return undefined;
  if (bytes === undefined && role === 'private' && options.privateKeysElsewhere) return undefined;
  if (bytes === undefined) {
    problems.error(
      'PGP_KEY_FILE_MISSING',
      path,
      `PGP key file "${file}" does not exist (looked at ${options.files.resolve(file)})`,
      role === 'private'
        ? 'Private keys stay out of git: copy it to this path on the machine that runs sftpctl, or remove the field.'
        : 'Paths are relative to the config file.',
    );
    return undefined;
  }
  const read = await readPgpKeyInfo(bytes, options.now);
  if (!read.ok) {
    problems.error(read.code, path, `${file}: ${read.message}`, read.hint);
    return undefined;
  }
  for (const problem of pgpKeyProblems(read.key, { role, now: options.now })) {
    const expiredIsFine =
      leniency.allowExpired && (problem.code === 'PGP_KEY_EXPIRED' || problem.code === 'PGP_KEY_NO_ENCRYPTION_SUBKEY');
    if (!expiredIsFine) problems.error(problem.code, path, `${file}: ${problem.message}`, problem.hint);
  }
  facts.pgp.set(JSON.stringify(path), read.key);
  return read.key;
}

function checkGrace(
  rotation: { since: string; until: string },
  path: (string | number)[],
  what: string,
  kind: 'ssh' | 'pgp',
  problems: ProblemList,
  now: Date,
): void {
  if (Date.parse(rotation.until) <= Date.parse(rotation.since)) {
    problems.error(
      'ROTATION_DATES',
      [...path, 'until'],
      `the grace period ends (${rotation.until}) before it starts (${rotation.since})`,
    );
  } else if (Date.parse(rotation.until) <= now.getTime()) {
    problems.warning(
      'ROTATION_GRACE_OVER',
      path,
      `the ${kind === 'ssh' ? 'SSH' : 'PGP'} key rotation of ${what} passed its grace period on ${rotation.until.slice(0, 10)}`,
      `Finish it: sftpctl keys rotate <client> --${kind}${kind === 'ssh' ? ' <role>' : ''} --finish`,
      'key',
    );
  }
}

/**
 * A key file's bytes; undefined when it does not exist; null when it exists but cannot be read (a folder, a link loop,
 * no permission, too large), which is reported at the config field that names it.
 */
async function readKeyFile(
  files: FileReader,
  entry: string,
  path: (string | number)[],
  problems: ProblemList,
): Promise<Uint8Array | undefined | null> {
  try {
    return await files.read(entry);
  } catch (error) {
    const fault = isSftpctlError(error) ? error : describeFileSystemFault(error);
    if (!fault) throw error;
    problems.error(
      'KEY_FILE_UNREADABLE',
      path,
      `key file "${entry}" cannot be read: ${fault.message}`,
      fault.hint ?? 'Give the path of a readable key file.',
    );
    return null;
  }
}
