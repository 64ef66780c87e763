import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyPatch } from 'diff';
import type { EtcDriftEntry } from '../../../shared/types.ts';
import { LATIN1_NAME } from '../fixtures/merge-scenario.ts';
import { parseConfigDiff, tool, useMergeScenario } from '../fixtures/test-support.ts';
import { deploymentPath } from '../ostree/sysroot.ts';
import { etcDrift, lineHunks } from './etc-drift.ts';
import { decodeEtcPath } from './etc-tree.ts';

const LETTER = { added: 'A', modified: 'M', removed: 'D' } as const;

describe('/etc drift on a real deployment', () => {
  const ctx = useMergeScenario();
  const drift = () => etcDrift(ctx.report, '0', { diffs: true });
  const entry = (entries: EtcDriftEntry[], path: string): EtcDriftEntry => {
    const found = entries.find((e) => e.path === path);
    assert.ok(found, `drift has ${JSON.stringify(path)}`);
    return found;
  };

  it('lists exactly what ostree admin config-diff lists, with the same status', () => {
    const ours = new Map(drift().entries.map((e) => [decodeEtcPath(e).toString('latin1'), LETTER[e.status]]));
    const theirs = parseConfigDiff(
      tool('ostree', ['admin', 'config-diff', `--sysroot=${ctx.scenario.sysroot}`, '--os=debian']),
    );
    assert.ok(theirs.size >= 20, `config-diff listed ${theirs.size} paths`);
    assert.deepEqual(new Map([...ours].sort()), new Map([...theirs].sort()));
  });

  it('classifies each kind of change', () => {
    const { entries } = drift();
    const cases: [string, string, string[]][] = [
      ['motd', 'modified', ['content']],
      ['secure.conf', 'modified', ['mode']],
      ['owned.conf', 'modified', ['owner']],
      ['alternatives/editor', 'modified', ['symlink']],
      ['foo.conf', 'modified', ['type']],
      ['bar.d', 'modified', ['type']],
      ['old.conf', 'removed', []],
      ['myapp', 'added', []],
      ['myapp/sub', 'added', []],
      ['myapp/sub/b.conf', 'added', []],
      ['my settings.conf', 'added', []],
      ['line\nbreak.conf', 'added', []],
    ];
    for (const [path, status, changes] of cases) {
      const e = entry(entries, path);
      assert.equal(e.status, status, path);
      assert.deepEqual(e.changes, changes, path);
    }
    assert.equal(entry(entries, 'secure.conf').local?.mode, 0o600);
    assert.equal(entry(entries, 'owned.conf').local?.uid, 1000);
    assert.equal(entry(entries, 'alternatives/editor').local?.target, '/usr/bin/vim');
    assert.equal(entry(entries, 'foo.conf').local?.type, 'directory');
    // A type change is listed once, without descending into the new directory (as config-diff does).
    assert.ok(!entries.some((e) => e.path === 'foo.conf/inner.conf'));
  });

  it('flags binary and large files instead of diffing them, and diffs text', () => {
    const { entries } = drift();
    const binary = entry(entries, 'ld.so.cache');
    assert.equal(binary.content, 'binary');
    assert.equal(binary.hunks, undefined);
    const big = entry(entries, 'big.img');
    assert.deepEqual(big.changes, ['content']);
    assert.equal(big.content, 'large');
    assert.equal(big.hunks, undefined);
    const motd = entry(entries, 'motd');
    assert.equal(motd.content, 'text');
    const lines = motd.hunks?.flatMap((h) => h.lines) ?? [];
    assert.ok(lines.includes('-Welcome to Debian v1'), lines.join('|'));
    assert.ok(lines.includes('+Welcome home, Alice'), lines.join('|'));
  });

  it('round-trips names that are not UTF-8 or hold spaces and newlines, byte for byte', () => {
    const { entries } = drift();
    const etc = join(deploymentPath(ctx.report.sysroot, ctx.report.deployments[0] as never), 'etc');
    const odd = entries.find((e) => e.pathBase64 !== undefined);
    assert.ok(odd, 'a non-UTF-8 name is reported with its bytes');
    assert.deepEqual(decodeEtcPath(odd), LATIN1_NAME);
    // The JSON form survives serialisation and still names the real file.
    const back = JSON.parse(JSON.stringify(odd)) as EtcDriftEntry;
    assert.equal(
      readFileSync(Buffer.concat([Buffer.from(`${etc}/`), decodeEtcPath(back)]), 'utf8'),
      'latin1=yes\n',
    );
    for (const name of ['my settings.conf', 'line\nbreak.conf']) {
      const e = entry(entries, name);
      assert.ok(existsSync(join(etc, decodeEtcPath(e).toString())), name);
    }
  });

  it('reports no drift for a deployment whose /etc is untouched', () => {
    // The rollback deployment (v1) was edited; the drift of each deployment is its own.
    const v1 = etcDrift(ctx.report, '1');
    assert.ok(v1.entries.some((e) => e.path === 'passwd'));
    assert.ok(!v1.entries.some((e) => e.path === 'bar.d'), 'v2-only edit is not in v1');
  });

  it('remembers a base tree only while its deployment is locked: an unlocked /usr/etc is read again', () => {
    const d = ctx.report.deployments[0];
    assert.ok(d);
    const tree = deploymentPath(ctx.scenario.sysroot, d);
    const baseIssue = join(tree, 'usr', 'etc', 'issue');
    const origin = `${tree}.origin`;
    const before = readFileSync(origin, 'utf8');
    const mode = statSync(baseIssue).mode & 0o7777;
    assert.ok(!drift().entries.some((e) => e.path === 'issue'));
    try {
      // What `ostree admin unlock --hotfix` records; then /usr/etc may change under a running helper.
      assert.match(before, /^\[origin\]$/m);
      writeFileSync(origin, before.replace(/^\[origin\]$/m, '[origin]\nunlocked=hotfix'));
      chmodSync(baseIssue, 0o600);
      assert.deepEqual(entry(drift().entries, 'issue').changes, ['mode']);
    } finally {
      chmodSync(baseIssue, mode);
      writeFileSync(origin, before);
    }
    assert.ok(!drift().entries.some((e) => e.path === 'issue'));
  });
});

describe('line hunks', () => {
  const patched = (before: string, after: string): string | false =>
    applyPatch(before, {
      oldFileName: 'a',
      newFileName: 'b',
      oldHeader: '',
      newHeader: '',
      hunks: lineHunks(before, after),
    });
  const lines = (n: number, line: (i: number) => string): string =>
    Array.from({ length: n }, (_, i) => `${line(i)}\n`).join('');

  it('turns the old text into the new one, with or without final newlines', () => {
    const cases: [string, string][] = [
      ['a\nb\nc\n', 'a\nB\nc\n'],
      ['a\nb', 'a\nb\n'],
      ['a\nb\n', 'a\nc'],
      ['', 'new\n'],
      ['old\n', ''],
    ];
    for (const [before, after] of cases)
      assert.equal(patched(before, after), after, JSON.stringify([before, after]));
  });

  it('gives up on a minimal diff of a large rewrite and shows it as one replaced block, quickly', () => {
    const before = lines(20_000, (i) => `0.0.0.0 host-${i}.example`);
    const after = lines(20_000, (i) => (i % 2 ? `0.0.0.0 host-${i}.example` : `0.0.0.0 other-${i}.example`));
    const started = performance.now();
    const hunks = lineHunks(`# head\n${before}# tail\n`, `# head\n${after}# tail\n`);
    const ms = performance.now() - started;
    assert.equal(hunks.length, 1);
    assert.deepEqual(
      [hunks[0]?.oldStart, hunks[0]?.oldLines, hunks[0]?.newLines],
      [1, 1 + 19_999 + 2, 1 + 19_999 + 2],
    );
    assert.equal(
      patched(`# head\n${before}# tail\n`, `# head\n${after}# tail\n`),
      `# head\n${after}# tail\n`,
    );
    // Minimal, this took jsdiff over 30 s; bounded, well under a few seconds even on a busy machine.
    assert.ok(ms < 5000, `${ms} ms`);
  });

  it('keeps the minimal diff when few lines changed', () => {
    const before = lines(20_000, (i) => `line ${i}`);
    const after = before.replace('line 10000\n', 'line ten thousand\n');
    const hunks = lineHunks(before, after);
    assert.equal(hunks.length, 1);
    assert.deepEqual(hunks[0]?.lines, [
      ' line 9997',
      ' line 9998',
      ' line 9999',
      '-line 10000',
      '+line ten thousand',
      ' line 10001',
      ' line 10002',
      ' line 10003',
    ]);
  });
});
