import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readTreePackages } from './package-source.ts';

describe('readTreePackages', () => {
  // A snapper root can be the running system itself: its tree is `/`.
  it('reads the machine’s own dpkg database when the tree is /', (t) => {
    if (!existsSync('/var/lib/dpkg/status')) return t.skip('this machine has no dpkg database');
    const list = readTreePackages('/');
    assert.ok(list, 'a database was found under /');
    assert.equal(list.format, 'dpkg');
    const installed = execFileSync(
      'dpkg-query',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
      ['-W', '-f', '${db:Status-Status} ${Package}:${Architecture}\\n'],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter((l) => l.startsWith('installed '))
      .map((l) => l.slice('installed '.length))
      .sort();
    assert.deepEqual(list.packages.map((p) => `${p.name}:${p.arch}`).sort(), installed);
  });
});
