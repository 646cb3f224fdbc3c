import { readdir, readFile, readlink } from 'node:fs/promises';

const O_ACCMODE = 0o3;

/**
 * Which of `paths` some process has open for writing, asked of the OS: Linux's /proc/<pid>/fd links and the access
 * mode in /proc/<pid>/fdinfo. Undefined when the OS cannot tell (no /proc): callers then wait longer instead. Only
 * processes this user may inspect are seen (all of them as root) — a writer running as another user is covered by
 * the quiet period and the re-check before publishing.
 */
export async function openForWriting(paths: readonly string[]): Promise<Set<string> | undefined> {
  if (process.platform !== 'linux' || paths.length === 0) return paths.length === 0 ? new Set() : undefined;
  const wanted = new Set(paths);
  const found = new Set<string>();
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
      if (!target || !wanted.has(target) || found.has(target)) continue;
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => undefined);
      const flags = info ? Number.parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? '0', 8) : 0;
      if ((flags & O_ACCMODE) !== 0) found.add(target);
    }
  }
  return found;
}
