import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that readers see the old bytes or the new bytes, never a mix: a temp file in the
 * same folder, fsync, rename over the target, fsync of the folder so the rename itself survives a crash.
 */
export function writeFileAtomic(
  path: string | Buffer,
  data: string | Buffer,
  options: { mode?: number } = {},
): void {
  const target = path.toString();
  const dir = dirname(target);
  const temp = Buffer.isBuffer(path)
    ? Buffer.concat([
        Buffer.from(`${dir}/.`),
        Buffer.from(basename(target)),
        Buffer.from(`.hindsight-${process.pid}-${Date.now()}.tmp`),
      ])
    : join(dir, `.${basename(target)}.hindsight-${process.pid}-${Date.now()}.tmp`);
  const fd = openSync(temp, 'wx', options.mode ?? 0o644);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, Buffer.isBuffer(path) ? path : target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on folders; the rename is still atomic
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
