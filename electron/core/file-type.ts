import type { FileType } from '../../shared/types.ts';

/** The kind of file a stat mode (or a mode a package database recorded) describes. */
export function fileTypeOf(mode: number): FileType {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}
