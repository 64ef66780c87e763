import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import type { EtcDriftReport, StatusReport } from '../../shared/types.ts';
import { tool, useMergeScenario } from '../core/fixtures/test-support.ts';
import { deploymentPath } from '../core/ostree/sysroot.ts';

/**
 * The CLI's local cache: a fresh process answers from what an earlier one learnt, and never from
 * what the sysroot or the files no longer are.
 */

const LAUNCHER = fileURLToPath(new URL('./hindsight.mjs', import.meta.url));
const dataHome = mkdtempSync(join(tmpdir(), 'hindsight-cli-cache-'));
const NO_OSTREE = { HINDSIGHT_PROGRAM_DIRS: '/nonexistent' };

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [LAUNCHER, ...args, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, XDG_DATA_HOME: dataHome, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function ok<T>(result: ReturnType<typeof cli>): T {
  assert.equal(result.code, 0, result.stderr);
  const value = JSON.parse(result.stdout) as T & { disk?: unknown };
  // What the deployments cost on disk is read afresh every time, and the free space moves with
  // every other writer on the machine: the listing is what the cache answers.
  delete value.disk;
  return value;
}

/** Changes made within this long of a read are never remembered (the racy window). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 2100));

describe('the CLI cache', () => {
  const ctx = useMergeScenario();
  before(settle);
  after(() => rmSync(dataHome, { recursive: true, force: true }));

  it('answers status from the remembered listing, and lists again once the sysroot changes', async () => {
    const sysroot = ['--sysroot', ctx.scenario.sysroot];
    const first = ok<StatusReport>(cli(['status', ...sysroot]));
    // No ostree on the way: only the cache can answer, and it answers the same.
    assert.deepEqual(ok<StatusReport>(cli(['status', ...sysroot], NO_OSTREE)), first);
    assert.equal(cli(['status', ...sysroot, '--no-cache'], NO_OSTREE).code, 1);

    tool('ostree', ['admin', 'undeploy', '1', `--sysroot=${ctx.scenario.sysroot}`]);
    // The sysroot just changed: the remembered listing is not used, so without ostree there is no answer.
    const stale = cli(['status', ...sysroot], NO_OSTREE);
    assert.equal(stale.code, 1, stale.stdout);
    assert.match(stale.stderr, /ostree is not installed/);
    const now = ok<{ deployments: { checksum: string }[] }>(cli(['status', ...sysroot]));
    assert.equal(now.deployments.length, first.deployments.length - 1);
    await settle();
    ok(cli(['status', ...sysroot]));
    assert.deepEqual(ok(cli(['status', ...sysroot], NO_OSTREE)), now);
  });

  it('keeps /etc byte comparisons, and sees a same-size edit made after them', async () => {
    const args = ['etc', 'drift', '0', '--sysroot', ctx.scenario.sysroot];
    const fresh = ok<EtcDriftReport>(cli([...args, '--no-cache']));
    assert.deepEqual(ok<EtcDriftReport>(cli(args)), fresh);
    assert.deepEqual(ok<EtcDriftReport>(cli(args)), fresh);
    const db = openCacheDb();
    const rows = db.prepare('SELECT trees, length(states) AS bytes FROM etc_comparisons').all() as {
      trees: string;
      bytes: number;
    }[];
    const trees = db.prepare('SELECT count(*) AS n FROM base_trees').get() as { n: number };
    db.close();
    assert.equal(rows.length, 1);
    assert.equal(trees.n, 1, "the deployment's base tree is kept");
    // One format number, then 11 numbers per comparison kept: some same-size pairs were compared.
    const kept = ((rows[0]?.bytes ?? 0) / 8 - 1) / 11;
    assert.ok(Number.isInteger(kept) && kept >= 3, `comparisons kept: ${kept}`);

    const report = await import('../core/ostree/sysroot.ts').then((m) =>
      m.readStatus({ sysroot: ctx.scenario.sysroot }),
    );
    const issue = join(deploymentPath(ctx.scenario.sysroot, report.deployments[0] as never), 'etc', 'issue');
    const before = readFileSync(issue);
    assert.ok(!fresh.entries.some((e) => e.path === 'issue'), 'issue starts unchanged');
    const edited = Buffer.from(before.toString('latin1').replace('Debian', 'Ubuntu'), 'latin1');
    assert.equal(edited.length, before.length);
    writeFileSync(issue, edited);
    assert.equal(statSync(issue).size, before.length);
    const after = ok<EtcDriftReport>(cli(args));
    const entry = after.entries.find((e) => e.path === 'issue');
    assert.deepEqual(entry?.changes, ['content']);
    assert.deepEqual(after, ok<EtcDriftReport>(cli([...args, '--no-cache'])));
  });
});

function openCacheDb(): BetterSqlite3.Database {
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  return new Database(join(dataHome, 'hindsight', 'cache', 'cache.sqlite'), { readonly: true });
}
