import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HindsightError } from '../../../shared/errors.ts';
import { runSync } from '../exec.ts';
import { pairChanges, parseSnapperList, type SnapperSnapshot } from './snapper-list.ts';
import {
  parseGetDefault,
  parseSubvolumeShow,
  readSnapperRoot,
  snapshotFolder,
  snapshotNumberOf,
} from './snapshots.ts';

/**
 * snapper's list and btrfs's answers, parsed from what the real programs printed (snapper 0.10.4,
 * btrfs-progs 6.2, on a root built by fixtures/snapper-root.ts); runs without root.
 */

// `snapper --no-dbus --root R --utc --jsonout list` after a rollback on a read-write root.
const LIST = `{
  "root": [
    { "subvolume": "/", "number": 0, "default": false, "active": false, "type": "single", "pre-number": null,
      "date": "", "user": "root", "used-space": null, "cleanup": "", "description": "current", "userdata": null },
    { "subvolume": "/", "number": 1, "default": false, "active": true, "type": "single", "pre-number": null,
      "date": "2026-12-01 10:00:00", "user": "root", "used-space": null, "cleanup": "number",
      "description": "first root filesystem", "userdata": null },
    { "subvolume": "/", "number": 2, "default": false, "active": false, "type": "pre", "pre-number": null,
      "date": "2026-12-07 02:13:37", "user": "root", "used-space": null, "cleanup": "number",
      "description": "zypper in foo", "userdata": { "important": "yes" } },
    { "subvolume": "/", "number": 3, "default": false, "active": false, "type": "post", "pre-number": 2,
      "date": "2026-12-07 02:13:37", "user": "root", "used-space": null, "cleanup": "number",
      "description": "zypper in foo", "userdata": { "important": "yes" } },
    { "subvolume": "/", "number": 4, "default": false, "active": false, "type": "single", "pre-number": null,
      "date": "2026-12-07 02:13:38", "user": "root", "used-space": null, "cleanup": "number",
      "description": "rollback backup of #1", "userdata": { "important": "yes" } },
    { "subvolume": "/", "number": 5, "default": true, "active": false, "type": "single", "pre-number": null,
      "date": "2026-12-07 02:13:38", "user": "root", "used-space": null, "cleanup": "",
      "description": "writable copy of #2", "userdata": null }
  ]
}`;

function snap(
  number: number,
  type: SnapperSnapshot['type'],
  preNumber: number | null,
  description = '',
): SnapperSnapshot {
  return {
    number,
    type,
    preNumber,
    date: number === 0 ? null : '2026-12-07T00:00:00Z',
    user: 'root',
    cleanup: '',
    description,
    userdata: {},
    default: false,
    active: false,
  };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HindsightError, String(error));
    return error.code;
  }
  assert.fail('expected a HindsightError');
}

describe("snapper's snapshot list", () => {
  it('reads every field of every snapshot, dates as UTC, 0 as current without a date', () => {
    const list = parseSnapperList(LIST);
    assert.deepEqual(
      list.map((s) => s.number),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(list[0], {
      number: 0,
      type: 'single',
      preNumber: null,
      date: null,
      user: 'root',
      cleanup: '',
      description: 'current',
      userdata: {},
      default: false,
      active: false,
    });
    assert.deepEqual(list[3], {
      number: 3,
      type: 'post',
      preNumber: 2,
      date: '2026-12-07T02:13:37Z',
      user: 'root',
      cleanup: 'number',
      description: 'zypper in foo',
      userdata: { important: 'yes' },
      default: false,
      active: false,
    });
    assert.equal(list.find((s) => s.default)?.number, 5);
    assert.equal(list.find((s) => s.active)?.number, 1);
  });

  it('fails with unreadable on text that is not the list', () => {
    assert.equal(
      code(() => parseSnapperList('reading failed')),
      'unreadable',
    );
    assert.equal(
      code(() => parseSnapperList('{"root":[{"number":"1"}]}')),
      'unreadable',
    );
    assert.equal(
      code(() => parseSnapperList(LIST, 'home')),
      'unreadable',
    );
    assert.equal(
      code(() => parseSnapperList(LIST.replace('2026-12-01 10:00:00', 'Tue Dec  1 10:00:00 2026'))),
      'unreadable',
    );
  });
});

describe('pre/post pairing', () => {
  it('makes one change of a pre and the post that names it, and leaves singles alone', () => {
    const changes = pairChanges(parseSnapperList(LIST));
    assert.deepEqual(
      changes.map((c) => [c.kind, c.number, c.description]),
      [
        ['single', 1, 'first root filesystem'],
        ['pre-post', 2, 'zypper in foo'],
        ['single', 4, 'rollback backup of #1'],
        ['single', 5, 'writable copy of #2'],
      ],
    );
    const pair = changes[1];
    assert.ok(pair?.kind === 'pre-post');
    assert.equal(pair.pre?.number, 2);
    assert.equal(pair.post?.number, 3);
    assert.deepEqual(pair.userdata, { important: 'yes' });
  });

  it("pairs by the post's pre-number, not by position, and keeps halves whose partner is gone", () => {
    const changes = pairChanges([
      snap(0, 'single', null, 'current'),
      snap(10, 'pre', null, 'pacman -Syu'),
      snap(11, 'pre', null, 'pacman -S vim'),
      snap(12, 'post', 11, 'vim'),
      snap(13, 'post', 10, 'linux firefox'),
      // its pre was deleted
      snap(15, 'post', 14, 'zypper rm x'),
      // names a snapshot that is no pre
      snap(16, 'single', null, 'timeline'),
      snap(17, 'post', 16, 'odd'),
      // a run still going
      snap(18, 'pre', null, 'apt'),
    ]);
    assert.deepEqual(
      changes.map((c) =>
        c.kind === 'single'
          ? ['single', c.number]
          : ['pre-post', c.number, c.pre?.number ?? null, c.post?.number ?? null, c.description],
      ),
      [
        ['pre-post', 10, 10, 13, 'pacman -Syu'],
        ['pre-post', 11, 11, 12, 'pacman -S vim'],
        ['pre-post', 15, null, 15, 'zypper rm x'],
        ['single', 16],
        ['pre-post', 17, null, 17, 'odd'],
        ['pre-post', 18, 18, null, 'apt'],
      ],
    );
  });
});

describe("btrfs's answers", () => {
  it('reads get-default for a snapshot and for the top level', () => {
    assert.deepEqual(parseGetDefault('ID 264 gen 10 top level 257 path @/.snapshots/5/snapshot\n'), {
      id: 264,
      path: '@/.snapshots/5/snapshot',
    });
    assert.deepEqual(parseGetDefault('ID 5 (FS_TREE)\n'), { id: 5, path: '/' });
    assert.equal(
      code(() => parseGetDefault('ERROR: not a btrfs filesystem')),
      'unreadable',
    );
  });

  it('reads subvolume show: path, id and the read-only flag', () => {
    const shown = parseSubvolumeShow(
      '@/.snapshots/1/snapshot\n\tName: \t\t\tsnapshot\n\tUUID: \t\t\tx\n\tSubvolume ID: \t\t258\n' +
        '\tGeneration: \t\t10\n\tFlags: \t\t\treadonly\n\tSnapshot(s):\n',
    );
    assert.deepEqual(shown, { id: 258, path: '@/.snapshots/1/snapshot', readOnly: true });
    assert.equal(parseSubvolumeShow('@\n\tSubvolume ID: \t\t256\n\tFlags: \t\t\t-\n').readOnly, false);
  });

  it('numbers a subvolume only when it is NUMBER/snapshot right under the .snapshots subvolume', () => {
    assert.equal(snapshotNumberOf('@/.snapshots/12/snapshot', '@/.snapshots'), 12);
    assert.equal(snapshotNumberOf('@snapshots/3/snapshot', '@snapshots'), 3);
    assert.equal(snapshotNumberOf('@', '@/.snapshots'), null);
    assert.equal(snapshotNumberOf('@/.snapshots/1/snapshot/x', '@/.snapshots'), null);
    assert.equal(snapshotNumberOf('@/.snapshots-old/1/snapshot', '@/.snapshots'), null);
  });

  it('names the folder of a snapshot, and the root itself for 0 (current)', () => {
    assert.equal(snapshotFolder('/mnt', 0), '/mnt');
    assert.equal(snapshotFolder('/mnt', 7), '/mnt/.snapshots/7/snapshot');
    assert.equal(
      code(() => snapshotFolder('/mnt', -1)),
      'bad-selector',
    );
    assert.equal(
      code(() => snapshotFolder('/mnt', 1.5)),
      'bad-selector',
    );
  });
});

describe('reading a folder that is no snapper root', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hindsight-snapper-not-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function failure(path: string): Promise<{ code: string; message: string }> {
    try {
      await readSnapperRoot(path);
    } catch (error) {
      assert.ok(error instanceof HindsightError, String(error));
      return { code: error.code, message: error.message };
    }
    assert.fail('expected a failure');
  }

  it('says not-a-sysroot for a missing folder, one without a snapper config, one without .snapshots', async () => {
    assert.equal((await failure(join(dir, 'missing'))).code, 'not-a-sysroot');
    assert.match((await failure(dir)).message, /no etc\/snapper\/configs\/root/);
    mkdirSync(join(dir, 'etc/snapper/configs'), { recursive: true });
    writeFileSync(join(dir, 'etc/snapper/configs/root'), 'SUBVOLUME="/"\nFSTYPE="btrfs"\n');
    assert.match((await failure(dir)).message, /no \.snapshots/);
    assert.equal((await failure('relative/root')).code, 'bad-path');
  });

  it('says unsupported, naming snapper, when snapper is not installed', () => {
    mkdirSync(join(dir, '.snapshots'), { recursive: true });
    const module = fileURLToPath(new URL('./snapshots.ts', import.meta.url));
    const script =
      `import { readSnapperRoot } from ${JSON.stringify(module)};\n` +
      `readSnapperRoot(${JSON.stringify(dir)}).then(() => console.log('{}'), ` +
      '(e) => console.log(JSON.stringify({ code: e.code, message: e.message })));';
    const result = runSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, HINDSIGHT_PROGRAM_DIRS: '/nonexistent' },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.toString('utf8')), {
      code: 'unsupported',
      message: 'snapper is not installed',
    });
  });
});
