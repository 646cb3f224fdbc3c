import { generatePgpKeyPair } from '../core/crypto/pgp-keygen.js';
import { parseDuration } from '../core/duration.js';
import { UsageError } from '../core/errors.js';
import { keyOutputPath, writeKeyPair } from '../io/key-files.js';
import type { CommandContext } from './context.js';
import { readPassphrase } from './passphrase.js';

export interface KeysGenerateGpgOptions {
  name: string;
  email: string;
  type: string;
  bits?: string;
  expires: string;
  out?: string;
  passphrase?: boolean;
}

export async function keysGenerateGpg(options: KeysGenerateGpgOptions, context: CommandContext): Promise<number> {
  if (options.type !== 'curve25519' && options.type !== 'rsa') {
    throw new UsageError(
      'INVALID_FLAG',
      `--type: "${options.type}" is not offered.`,
      'Use --type curve25519 (recommended) or --type rsa.',
    );
  }
  if (!/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(options.email)) {
    throw new UsageError(
      'INVALID_FLAG',
      `--email: "${options.email}" is not an email address.`,
      'Give an address like sftp@example.com.',
    );
  }
  const expiresInSeconds = options.expires === 'never' ? 0 : parseDuration(options.expires, '--expires');
  const prefix = keyOutputPath(context.cwd, options.out, options.email.split('@')[0]!.replace(/[^\w.-]+/g, '-'));
  const paths = { privatePath: `${prefix}.key.asc`, publicPath: `${prefix}.pub.asc` };
  const passphrase = options.passphrase
    ? await readPassphrase(context, 'for the new PGP key', { confirm: true })
    : undefined;
  const pair = await generatePgpKeyPair({
    name: options.name,
    email: options.email,
    type: options.type,
    ...(options.bits === undefined ? {} : { rsaBits: Number(options.bits) }),
    expiresInSeconds,
    ...(passphrase === undefined ? {} : { passphrase }),
  });
  await writeKeyPair(paths, pair);

  const { output } = context;
  output.data({
    fingerprint: pair.fingerprint,
    type: options.type,
    private: paths.privatePath,
    public: paths.publicPath,
    expires: pair.expires?.toISOString() ?? null,
    encrypted: Boolean(passphrase),
  });
  output.success(`Generated OpenPGP v4 ${options.type} key ${pair.fingerprint}`);
  output.line(
    `  private key  ${paths.privatePath}  (mode 0600${passphrase ? ', passphrase-protected' : ''}; load it with \`sftpctl secrets load\`, never commit it)`,
  );
  output.line(`  public key   ${paths.publicPath}  (hand this one to the partner)`);
  output.line(`  expires      ${pair.expires ? pair.expires.toISOString().slice(0, 10) : 'never'}`);
  return 0;
}
