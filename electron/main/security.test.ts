import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from './paths.ts';
import {
  APP_ORIGIN,
  assertSecurePreferences,
  CONTENT_SECURITY_POLICY,
  isTrustedSenderUrl,
  SECURE_WEB_PREFERENCES,
} from './security.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('Electron security checklist', () => {
  it('requires contextIsolation, sandbox and no Node in every window', () => {
    assert.equal(SECURE_WEB_PREFERENCES.contextIsolation, true);
    assert.equal(SECURE_WEB_PREFERENCES.sandbox, true);
    assert.equal(SECURE_WEB_PREFERENCES.nodeIntegration, false);
    assert.equal(SECURE_WEB_PREFERENCES.webviewTag, false);
    assertSecurePreferences({ ...SECURE_WEB_PREFERENCES, preload: '/opt/app/preload.cjs' });
    for (const weaker of [
      { sandbox: false },
      { contextIsolation: false },
      { nodeIntegration: true },
      { webSecurity: false },
    ]) {
      assert.throws(
        () => assertSecurePreferences({ ...SECURE_WEB_PREFERENCES, preload: '/p.cjs', ...weaker }),
        /insecure window/,
      );
    }
    assert.throws(() => assertSecurePreferences({ ...SECURE_WEB_PREFERENCES }), /preload/);
  });

  it('creates windows in one place only, and checks their preferences there', () => {
    const root = projectRoot();
    const creators = ['electron', 'renderer', 'shared']
      .flatMap((d) => sources(join(root, d)))
      .filter((file) => /new BrowserWindow\s*\(/.test(readFileSync(file, 'utf8')));
    assert.deepEqual(
      creators.map((f) => relative(root, f)),
      ['electron/main/main.ts'],
    );
    const main = readFileSync(join(root, 'electron/main/main.ts'), 'utf8');
    const check = main.indexOf('assertSecurePreferences(webPreferences)');
    const create = main.indexOf('new BrowserWindow(');
    assert.ok(check > 0 && check < create, 'preferences are checked before the window exists');
    assert.match(main, /setPermissionRequestHandler\(.*callback\(false\)\)/);
    assert.match(main, /setWindowOpenHandler/);
    assert.match(main, /will-navigate/);
  });

  it('keeps raw ipcMain and ipcRenderer inside their two wrappers', () => {
    const root = projectRoot();
    const users = ['electron', 'renderer', 'shared']
      .flatMap((d) => sources(join(root, d)))
      .filter((file) =>
        /\bipc(Main|Renderer)\b/.test(readFileSync(file, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')),
      )
      .map((f) => relative(root, f))
      .sort();
    assert.deepEqual(users, ['electron/main/ipc-main.ts', 'electron/preload/preload.ts']);
  });

  it('has a strict CSP with no inline or eval sources', () => {
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|\*/);
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
    assert.match(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/);
  });

  it('trusts IPC only from the app origin', () => {
    assert.ok(isTrustedSenderUrl(`${APP_ORIGIN}/index.html`));
    for (const url of [
      'file:///etc/passwd',
      'https://example.com/',
      'hindsight://evil/index.html',
      'http://127.0.0.1:1/',
      '',
      'not a url',
    ]) {
      assert.equal(isTrustedSenderUrl(url), false, url);
    }
  });
});
