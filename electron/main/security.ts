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
