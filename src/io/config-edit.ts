import { dirname } from 'node:path';
import { type Document, parseDocument } from 'yaml';
import { YAML_OUTPUT } from '../core/config/edit.js';
import { formatProblemWithHint, type Problem } from '../core/config/problems.js';
import type { Config } from '../core/config/schema.js';
import { parseYamlSource } from '../core/config/source.js';
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
      locateInOriginal(result.errors, file, document).map(formatProblemWithHint),
      'Correct the flags or values above and run the command again.',
    );
  }
  await writeFileAtomic(file.path, text);
  return { config: result.config, warnings: result.warnings, text };
}

/**
 * Problems of the proposed text, placed where a person can find them: a field the file already has, unchanged, at its
 * line in the file as it is on disk; a field this command adds or changes by its field path alone, since it has no
 * line in any file yet.
 */
function locateInOriginal(problems: Problem[], file: ConfigFile, edited: Document): Problem[] {
  const original = parseYamlSource(file.text, file.displayPath);
  return problems.map((problem) => {
    const { location: _proposed, ...rest } = problem;
    if (problem.path.length === 0) return rest;
    const before = original.document.getIn(problem.path);
    const unchanged = before !== undefined && JSON.stringify(before) === JSON.stringify(edited.getIn(problem.path));
    if (unchanged) return { ...rest, location: original.locate(problem.path) };
    return { ...rest, message: `${problem.message} (in the change, not yet written)` };
  });
}
