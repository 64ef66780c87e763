/**
 * Stable error codes shared by the engine, the CLI, the helper and the app.
 * Programs match on `code`; people read `message`.
 */
export const ERROR_CODES = [
  'not-a-sysroot',
  'no-stateroot',
  'ambiguous-stateroot',
  'ostree-missing',
  'ostree-failed',
  'bad-selector',
  'no-such-deployment',
  'ambiguous-selector',
  'no-such-commit',
  'no-package-database',
  'unreadable',
  'bad-path',
  'bad-request',
  'unsupported',
  'busy',
  'refused',
  'not-ready',
  /** A commit whose tree is not downloaded yet (only its metadata and package list are here). */
  'not-downloaded',
  'not-authorized',
  'auth-dismissed',
  'io-error',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorPayload {
  code: ErrorCode;
  message: string;
}

/** An expected failure: it carries a one-line message and a stable code, never a stack for users. */
export class HindsightError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HindsightError';
    this.code = code;
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Turns anything thrown into a payload; unexpected errors keep their message but never a stack. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (error instanceof HindsightError) return error.toPayload();
  if (error && typeof error === 'object' && 'code' in error && 'message' in error) {
    const { code, message } = error as { code: unknown; message: unknown };
    if (isErrorCode(code) && typeof message === 'string') return { code, message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message: firstLine(message) };
}

export function fromErrorPayload(payload: ErrorPayload): HindsightError {
  return new HindsightError(isErrorCode(payload.code) ? payload.code : 'internal', payload.message);
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 500 ? `${line.slice(0, 497)}...` : line;
}
