/**
 * What lets a remembered answer about a file stand: its times, as in git's index. Any change to a
 * file's bytes, a directory's entries or a symlink gives it a new ctime, which userspace cannot set
 * back. A change in the same clock tick as a read would leave the times as they were, so nothing
 * whose times are within RACY_MS of the read is remembered.
 */
export const RACY_MS = 2000;

/** Whether a file read at `readAt` was old enough for its times to vouch for what was read. */
export const settled = (times: { mtimeMs: number; ctimeMs: number }, readAt: number): boolean =>
  Math.max(times.mtimeMs, times.ctimeMs) < readAt - RACY_MS;
