import { lstat, realpath } from 'node:fs/promises';
import { dirname, posix, resolve as resolvePath, sep } from 'node:path';
import { FD_PATHS, type ResolvedEntry, resolveInHome } from './resolve.js';

/**
 * Path confinement: every path a client sends is a path inside the user's home, which the client sees as "/".
 *
 * 1. Lexical: the client path is resolved against "/" with POSIX normalisation, so `..` stops at "/" and the result
 *    always starts with "/". NUL bytes are refused outright.
 * 2. On disk: the real path (symlinks resolved) of what the request touches must stay inside the real path of the
 *    home. For a path that does not exist yet, the deepest existing ancestor is checked instead (what SFTPGo's osfs
 *    does). Requests that act on a link itself (lstat, remove, rename) check the parent only.
 *
 * Clients cannot create symlinks (SYMLINK is refused), so a link inside a home was planted by someone with shell
 * access; one that points inside the home works, one that points outside is refused.
 */

export class PathError extends Error {
  constructor(
    readonly reason: 'nul-byte' | 'outside-home',
    message: string,
  ) {
    super(message);
    this.name = 'PathError';
  }
}

/** The normalised absolute virtual path of a client path (`''` and `.` are "/"). */
export function normalizeVirtual(input: string): string {
  if (input.includes('\0')) throw new PathError('nul-byte', 'path contains a NUL byte');
  const normalized = posix.normalize(`/${input}`);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/** The object key of a virtual path: relative to the home, '/'-separated, no leading slash. */
export function keyOf(virtual: string): string {
  return virtual.replace(/^\/+/, '');
}

export class Home {
  /** `root` must already be a real path (no symlinks), as `Home.open` makes it. */
  private constructor(
    readonly root: string,
    /** Other absolute spellings of the home (the configured folder when it differs from its real path). */
    private readonly aliases: readonly string[] = [],
  ) {}

  static async open(folder: string): Promise<Home> {
    const root = await realpath(folder);
    const given = resolvePath(folder);
    return new Home(root, given === root ? [] : [given]);
  }

  /**
   * The entry `virtual` names, reached through opened folders with no symlink followed by the kernel (resolve.ts).
   * `follow`: a symlink as the final component is resolved (inside the home) too. The caller must `close()` it.
   * Where the system has no /proc/self/fd, falls back to `confine` (checked, then used by name).
   */
  async resolve(virtual: string, options: { follow: boolean }): Promise<ResolvedEntry> {
    if (FD_PATHS) return resolveInHome(this.root, this.aliases, virtual, options.follow);
    const path = await this.confine(virtual, options);
    const stats = await lstat(path).catch(() => undefined);
    return { path, virtual, stats, parent: dirname(path), close: async () => undefined };
  }

  /** Runs `work` on the resolved entry and closes it afterwards. */
  async with<T>(virtual: string, options: { follow: boolean }, work: (entry: ResolvedEntry) => Promise<T>): Promise<T> {
    const entry = await this.resolve(virtual, options);
    try {
      return await work(entry);
    } finally {
      await entry.close().catch(() => undefined);
    }
  }

  /** The file-system path of a normalised virtual path (lexical only: no access to the disk). */
  toFs(virtual: string): string {
    if (virtual === '/') return this.root;
    const relative = virtual.slice(1).split('/').join(sep);
    return this.root.endsWith(sep) ? `${this.root}${relative}` : `${this.root}${sep}${relative}`;
  }

  /** The virtual path of a real file-system path, or undefined when it lies outside the home. */
  toVirtual(real: string): string | undefined {
    if (real === this.root) return '/';
    const prefix = this.root.endsWith(sep) ? this.root : `${this.root}${sep}`;
    if (!real.startsWith(prefix)) return undefined;
    return `/${real.slice(prefix.length).split(sep).join('/')}`;
  }

  contains(real: string): boolean {
    return this.toVirtual(real) !== undefined;
  }

  /**
   * The file-system path of `virtual` after checking it stays in the home on disk. `follow`: the final component is
   * resolved too (open, stat, opendir); otherwise only its parent is (lstat, remove, rename, mkdir).
   * Throws PathError('outside-home'), or the file system's own error (ELOOP, EACCES...).
   */
  async confine(virtual: string, options: { follow: boolean }): Promise<string> {
    const path = this.toFs(virtual);
    if (virtual === '/') return path;
    const real = await this.realOfDeepestExisting(options.follow ? path : dirname(path));
    if (!this.contains(real)) throw new PathError('outside-home', 'path leaves the home folder');
    return path;
  }

  /** The real path of the given path, or of its deepest existing ancestor when it does not exist. */
  private async realOfDeepestExisting(path: string): Promise<string> {
    let current = path;
    for (;;) {
      try {
        return await realpath(current);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
        // It exists but cannot be resolved: a dangling symlink, whose target cannot be checked.
        if (
          await lstat(current).then(
            () => true,
            () => false,
          )
        ) {
          throw new PathError('outside-home', 'path is a symbolic link that cannot be resolved');
        }
        const parent = dirname(current);
        // Reaching the home (or "/") without finding it means the home itself vanished: nothing is reachable.
        if (parent === current || current === this.root) throw error;
        current = parent;
      }
    }
  }
}
