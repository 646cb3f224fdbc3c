import { formatFieldPath } from '../../src/core/config/source.js';
import { type ValidationResult, validateConfigText } from '../../src/core/config/validate.js';
import type { FileReader } from '../../src/core/ports.js';

/** A FileReader over an in-memory map of path → text; missing paths read as absent. */
export function memoryFiles(files: Record<string, string | Uint8Array> = {}): FileReader {
  return {
    resolve: (path) => `/project/${path}`,
    async read(path) {
      const content = files[path];
      if (content === undefined) return undefined;
      return typeof content === 'string' ? new TextEncoder().encode(content) : content;
    },
  };
}

export async function validateYaml(
  text: string,
  files?: Record<string, string | Uint8Array>,
): Promise<ValidationResult> {
  return validateConfigText(
    text,
    'sftpctl.yaml',
    files ? { files: memoryFiles(files), now: new Date('2026-11-24T00:00:00Z') } : {},
  );
}

/** Problems as compact rows: easy to assert and to read in a failure diff. */
export function rows(result: ValidationResult, severity: 'error' | 'warning' = 'error') {
  return (severity === 'error' ? result.errors : result.warnings).map((problem) => ({
    code: problem.code,
    field: formatFieldPath(problem.path),
    at: problem.location ? `${problem.location.line}:${problem.location.col}` : '',
    message: problem.message,
  }));
}

/** A small valid config; tests replace lines of it to break one thing at a time. */
export const BASE = `project: acme
defaults:
  region: eu-west-2
  vpc:
    cidr: 10.42.0.0/24
environments:
  dev: {}
  prod:
    protected: true
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload:
      sshKeys: []
    download:
      sshKeys: []
`;
