import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import type { HindsightError } from '../../shared/errors.ts';
import { projectRoot } from './paths.ts';
import { EXTERNAL_LINK_ORIGINS, externalUrlToOpen } from './security.ts';

/**
 * shell.openExternal hands a URL to the desktop, outside every sandbox: the renderer may open only
 * the sites it links to, named in one list, matched by whole origin.
 */

function files(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : files(path, pattern);
    return pattern.test(e.name) ? [path] : [];
  });
}

function refused(url: string, allowed?: readonly string[]): HindsightError {
  try {
    externalUrlToOpen(url, allowed);
  } catch (error) {
    const e = error as HindsightError;
    assert.equal(e.code, 'refused', `${JSON.stringify(url)}: ${e.message}`);
    assert.doesNotMatch(e.message, /\n|\s+at \S+ \(/, 'one line, no stack');
    return e;
  }
  assert.fail(`${JSON.stringify(url)} was allowed`);
}

describe('links the renderer may open in the browser', () => {
  it('names exactly the origins the renderer links to', () => {
    const linked = new Set<string>();
    for (const file of files(join(projectRoot(), 'renderer'), /\.(tsx?|html|css)$/)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/https:\/\/[^\s'"`<>()\\]+/g)) {
        linked.add(new URL(m[0]).origin);
      }
    }
    assert.deepEqual([...EXTERNAL_LINK_ORIGINS].sort(), [...linked].sort());
  });

  it('opens nothing the list does not name (the renderer links to no site today)', () => {
    for (const url of ['https://github.com/', 'https://example.com/docs', 'https://127.0.0.1/']) {
      assert.match(refused(url).message, /not a site the app links to|not one of the sites/);
    }
  });

  const list = ['https://github.com'];

  it('opens an https URL on a listed origin, as parsed', () => {
    assert.equal(
      externalUrlToOpen('https://github.com/coreos/rpm-ostree/issues/5196', list),
      'https://github.com/coreos/rpm-ostree/issues/5196',
    );
    assert.equal(externalUrlToOpen('HTTPS://GitHub.COM/a?b=c#d', list), 'https://github.com/a?b=c#d');
    // WHATWG URL reads a backslash as a slash in https: the host is github.com, and that is what opens.
    assert.equal(externalUrlToOpen('https://github.com\\x', list), 'https://github.com/x');
  });

  it('refuses lookalike hosts, user-info tricks, other ports and other schemes', () => {
    const cases: [string, RegExp][] = [
      ['https://github.com.evil.example/owner/repo', /https:\/\/github\.com\.evil\.example is not one/],
      ['https://evil.example/github.com', /evil\.example is not one/],
      ['https://evilgithub.com/', /is not one/],
      ['https://xn--gthub-n4a.com/', /is not one/],
      ['https://gıthub.com/', /is not one/],
      ['https://github.com:8443/', /github\.com:8443 is not one/],
      ['https://evil.example\\@github.com/', /evil\.example is not one/],
      ['https://github.com@evil.example/', /user name or password/],
      ['https://github.com%2F@evil.example/', /user name or password/],
      ['https://evil.example@github.com/', /user name or password/],
      ['https://user:secret@github.com/', /user name or password/],
      ['http://github.com/', /only https/],
      ['javascript:alert(1)', /only https/],
      ['javascript://github.com/%0aalert(1)', /only https/],
      ['file:///etc/passwd', /only https/],
      ['data:text/html,<script>alert(1)</script>', /only https/],
      ['hindsight://app/index.html', /only https/],
      ['//github.com/', /not a URL/],
      ['github.com', /not a URL/],
      ['', /not a URL/],
      ['not a url\nsecond line', /not opening "not a url\?second line": it is not a URL/],
    ];
    for (const [url, why] of cases) assert.match(refused(url, list).message, why, JSON.stringify(url));
  });

  it('is what stands before every shell.openExternal in the app', () => {
    const root = projectRoot();
    const calls: string[] = [];
    for (const file of files(join(root, 'electron'), /\.ts$/)) {
      if (file.endsWith('.test.ts')) continue;
      // Comment lines aside (a `//` inside a string such as 'https://' is code).
      const text = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(\/\/|\/?\*)/.test(line))
        .join('\n');
      for (const m of text.matchAll(/openExternal\(([^)]*\)?)/g))
        calls.push(`${relative(root, file)}: ${m[1]}`);
    }
    assert.ok(calls.length > 0);
    for (const call of calls) assert.match(call, /: externalUrlToOpen\(/, call);
  });
});
