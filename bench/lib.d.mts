// Types for the part of bench/lib.mjs that TypeScript test helpers use.

/** Bundles the named exports of TypeScript files into node_modules/.cache/sftpctl-bench/<name>.mjs; returns its path. */
export function bundleTypeScript(name: string, exportsByFile: Record<string, string[]>): Promise<string>;
