import { HindsightError } from '../../shared/errors.ts';

/**
 * The security settings every renderer runs under, in one place so Electron's window factory,
 * browser mode and the tests that check them agree. No Electron import: tests load this in Node.
 */

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The renderer's custom scheme (not file://): privileged as standard and secure, nothing more. */
export const APP_SCHEME = 'hindsight';
export const APP_ORIGIN = `${APP_SCHEME}://app`;

/** webPreferences for every BrowserWindow; `createSecureWindow` refuses anything weaker. */
export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  spellcheck: false,
} as const;

export type SecurePreferences = typeof SECURE_WEB_PREFERENCES & { preload: string };

/** Throws when a window's webPreferences are missing any of the required settings. */
export function assertSecurePreferences(prefs: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(SECURE_WEB_PREFERENCES)) {
    if (prefs[key] !== value)
      throw new Error(`insecure window: webPreferences.${key} must be ${String(value)}`);
  }
  if (typeof prefs.preload !== 'string' || !prefs.preload.startsWith('/')) {
    throw new Error('insecure window: the preload must be an absolute path');
  }
}

/** Only our own pages may send IPC or navigate: a sender's URL must be on the app's origin. */
export function isTrustedSenderUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

/**
 * The only sites a link in the app may open in the user's browser: the origins the renderer links
 * to (`https://` under renderer/), and nothing else. Today it links to none, so nothing is opened;
 * a link added to the renderer adds its origin here (external-links.test.ts checks that the two agree).
 */
export const EXTERNAL_LINK_ORIGINS: readonly string[] = [];

const shownUrl = (url: string): string => {
  const clean = url.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
};

/**
 * Decides whether a URL the renderer asks to open (a link, window.open) may go to
 * shell.openExternal: https only, no user name or password in it, and an origin on the list,
 * compared whole (scheme, host and port), so `github.com.evil.example` or `github.com@evil.example`
 * is never `github.com`. Returns the URL as parsed, to be opened exactly as checked; refuses with
 * one line otherwise.
 */
export function externalUrlToOpen(url: string, allowed: readonly string[] = EXTERNAL_LINK_ORIGINS): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HindsightError('refused', `not opening "${shownUrl(url)}": it is not a URL`);
  }
  const refuse = (why: string): never => {
    throw new HindsightError('refused', `not opening ${shownUrl(parsed.href)}: ${why}`);
  };
  if (parsed.protocol !== 'https:') refuse('only https links open outside the app');
  if (parsed.username !== '' || parsed.password !== '') refuse('it carries a user name or password');
  if (!allowed.includes(parsed.origin)) {
    refuse(
      allowed.length
        ? `${parsed.origin} is not one of the sites the app links to (${allowed.join(', ')})`
        : `${parsed.origin} is not a site the app links to (it links to none)`,
    );
  }
  return parsed.href;
}
