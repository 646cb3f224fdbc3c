import { dirname } from 'node:path';
import { type Document, parseDocument } from 'yaml';
import { YAML_OUTPUT } from '../core/config/edit.js';
import { formatProblemWithHint, type Problem } from '../core/config/problems.js';
import type { Config } from '../core/config/schema.js';
import { validateConfigText } from '../core/config/validate.js';
import { ConfigError } from '../core/errors.js';
import type { ConfigFile } from './config-file.js';
import { fileReaderAt, writeFileAtomic } from './files.js';

/**
 * Edits the config in place: the yaml Document API keeps the user's comments and order, the result is validated in
 * full before anything is written, and the write is atomic. An invalid edit never reaches disk.
 */
export async function editConfigFile(
  file: ConfigFile,
  edit: (document: Document) => void,
): Promise<{ config: Config; warnings: Problem[]; text: string }> {
  const document = parseDocument(file.text, { keepSourceTokens: false });
  edit(document);
  const text = document.toString(YAML_OUTPUT);
  const result = await validateConfigText(text, file.displayPath, { files: fileReaderAt(dirname(file.path)) });
  if (!result.config) {
    throw new ConfigError(
      `The change would leave ${file.displayPath} invalid, so nothing was written.`,
      result.errors.map(formatProblemWithHint),
      'Correct the flags or values above and run the command again.',
    );
  }
  await writeFileAtomic(file.path, text);
  return { config: result.config, warnings: result.warnings, text };
}
