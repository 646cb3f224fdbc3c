import { type ChecksumAlgorithm, parseAlgorithm } from '../core/checksum/algorithms.js';
import { isSftpctlError, UsageError } from '../core/errors.js';
import { type ChecksumVerdict, verifyFileChecksum } from '../io/verify-checksum.js';
import type { CommandContext } from './context.js';

export interface VerifyChecksumOptions {
  sidecar?: string;
  algorithm?: string;
  decryptKey?: string;
}

/** Exit 0 when every file matches its sidecar, 1 when any does not (or has none). */
export async function verifyChecksum(
  files: string[],
  options: VerifyChecksumOptions,
  context: CommandContext,
): Promise<number> {
  if (options.sidecar && files.length > 1) {
    throw new UsageError(
      'INVALID_FLAG',
      '--sidecar names the sidecar of one file, and several files were given.',
      'Verify them one at a time, or let sftpctl find each FILE.<algorithm> itself.',
    );
  }
  const algorithm = options.algorithm === undefined ? undefined : algorithmFlag(options.algorithm);
  const transform = options.decryptKey
    ? await (await import('./decrypting-reader.js')).decryptingReader(options.decryptKey, context)
    : undefined;
  const verdicts: ChecksumVerdict[] = [];
  for (const file of files) {
    verdicts.push(
      await verifyFileChecksum(file, {
        ...(options.sidecar ? { sidecar: options.sidecar } : {}),
        ...(algorithm ? { algorithm } : {}),
        ...(transform ? { transform } : {}),
      }),
    );
  }

  const { output } = context;
  output.data(verdicts);
  const c = output.colors;
  for (const verdict of verdicts) {
    if (verdict.ok) {
      output.line(`${c.green('✔')} ${verdict.file}  ${verdict.algorithm} OK  ${c.dim(`(${verdict.sidecar})`)}`);
    } else if (verdict.error) {
      output.line(`${c.red('✖')} ${verdict.file}  ${verdict.error.message} ${c.dim(`[${verdict.error.code}]`)}`);
      if (verdict.error.hint) output.line(`    ${c.cyan('→')} ${verdict.error.hint}`);
    } else {
      output.line(`${c.red('✖')} ${verdict.file}  ${verdict.algorithm} MISMATCH  ${c.dim(`(${verdict.sidecar})`)}`);
      output.line(`    expected ${verdict.expected}`);
      output.line(`    actual   ${verdict.actual}`);
    }
  }
  const bad = verdicts.filter((verdict) => !verdict.ok).length;
  if (verdicts.length > 1)
    output.line(bad === 0 ? `All ${verdicts.length} files match.` : `${bad} of ${verdicts.length} files failed.`);
  return bad === 0 ? 0 : 1;
}

function algorithmFlag(value: string): ChecksumAlgorithm {
  try {
    return parseAlgorithm(value);
  } catch (error) {
    if (!isSftpctlError(error)) throw error;
    throw new UsageError(error.code, `--algorithm: ${error.message}`, error.hint);
  }
}
