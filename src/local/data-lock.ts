import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SftpctlError } from '../core/errors.js';
import { makeDirectory } from '../io/directories.js';
import { keepFolderOutOfGit } from '../io/git-ignore.js';

export interface DataLock {
  path: string;
  release(): Promise<void>;
}

/**
 * One `sftpctl local up` per data folder: takes `<dataDir>/local-up.lock` (created exclusively, holding the PID)
 * before anything else touches the folder. A second instance refuses, naming the PID that holds it; a lock whose
 * process is gone (kill -9, power loss) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<DataLock> {
  await makeDirectory(dataDir, 0o700);
  const path = join(dataDir, 'local-up.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      // Everything in the data folder is local state (keys and secrets included): never for git, even when the
      // folder sits inside the user's repository.
      await keepFolderOutOfGit(dataDir);
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          const holder = await readFile(path, 'utf8').catch(() => '');
          if (Number.parseInt(holder, 10) === process.pid) await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new SftpctlError(
        'LOCAL_DATA_LOCKED',
        `The data folder ${dataDir} is in use by another \`sftpctl local up\` (PID ${pid}).`,
        `Stop that one first (kill ${pid}), or start this one with another --data folder. Nothing was changed.`,
      );
    }
    if (pid === process.pid)
      throw new SftpctlError(
        'LOCAL_DATA_LOCKED',
        `The data folder ${dataDir} is already in use by this process (PID ${pid}).`,
        'Stop the running platform before starting another on the same data folder.',
      );
    // Stale: its process is gone. Move it aside atomically (only one contender wins the rename), then retry.
    await rename(path, `${path}.stale-${process.pid}`).catch(() => undefined);
    await rm(`${path}.stale-${process.pid}`, { force: true });
  }
  throw new SftpctlError('LOCAL_DATA_LOCKED', `Could not lock the data folder ${dataDir}.`, 'Try again.');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
