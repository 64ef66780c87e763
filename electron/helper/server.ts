import type { Readable, Writable } from 'node:stream';
import { HindsightError, toErrorPayload } from '../../shared/errors.ts';
import {
  HELPER_PROTOCOL_VERSION,
  type HelperHello,
  type HelperOutput,
  helperRequestSchema,
  isHelperMethod,
  LOCKING_METHODS,
  MAX_REQUEST_BYTES,
} from '../../shared/helper-contract.ts';
import { ostreeFeatures } from '../core/ostree/ostree-cli.ts';
import { printable } from '../core/ostree/selectors.ts';
import { detectBackend } from '../core/system/detect.ts';
import { libostreeAvailable } from './libostree.ts';
import { LineReader } from './line-reader.ts';
import { callMethod, type HelperConfig, validateParams } from './methods.ts';
import { canReorder } from './rollback.ts';

export const HELPER_VERSION = '0.1.0';

/**
 * The protocol loop: a hello line, then one JSON request per line, answered by id. Reads run side by
 * side; an operation that changes (or locks) the sysroot runs alone: anything arriving meanwhile, and
 * such an operation arriving while anything runs, is answered `busy`. Input that is not a valid request
 * is answered with an error and the loop goes on. When stdin closes the helper finishes what runs and
 * exits.
 */
export class HelperServer {
  private readonly reader = new LineReader(MAX_REQUEST_BYTES);
  private readonly active = new Map<number, boolean>();
  private closing = false;
  private outputBroken = false;

  constructor(
    private readonly config: HelperConfig,
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly exit: (code: number) => void,
  ) {}

  async hello(): Promise<HelperHello> {
    let features: HelperHello['ostree'] = null;
    try {
      features = ostreeFeatures();
    } catch {
      features = null;
    }
    return {
      protocol: HELPER_PROTOCOL_VERSION,
      version: HELPER_VERSION,
      privileged: process.getuid?.() === 0,
      uid: process.getuid?.() ?? -1,
      sysroot: this.config.sysroot,
      backend: this.config.backend ?? detectBackend(this.config.sysroot) ?? 'ostree',
      ostree: features,
      canReorder: features !== null && (await canReorder()),
      mode: this.config.mode,
      libostree: await libostreeAvailable(),
      maxRequestBytes: MAX_REQUEST_BYTES,
    };
  }

  async start(): Promise<void> {
    this.send({ hello: await this.hello() });
    this.input.on('data', (chunk: Buffer) => {
      for (const event of this.reader.push(chunk)) this.onLine(event);
    });
    this.input.on('end', () => {
      for (const event of this.reader.end()) this.onLine(event);
      this.closing = true;
      this.maybeExit();
    });
    this.input.on('error', () => {
      this.closing = true;
      this.maybeExit();
    });
    this.output.on('error', () => {
      // the app is gone: nobody to answer; finish what runs, then leave
      this.outputBroken = true;
      this.closing = true;
      this.maybeExit();
    });
  }

  private send(message: HelperOutput): void {
    if (!this.outputBroken && this.output.writable) this.output.write(`${JSON.stringify(message)}\n`);
  }

  private fail(id: number | null, error: unknown): void {
    this.send({ id, error: toErrorPayload(error) });
  }

  private onLine(event: ReturnType<LineReader['push']>[number]): void {
    if (event.kind === 'overflow') {
      this.fail(
        null,
        new HindsightError(
          'bad-request',
          `request line of ${event.bytes} bytes refused (the limit is ${MAX_REQUEST_BYTES} bytes)`,
        ),
      );
      return;
    }
    const text = event.line.toString('utf8').trim();
    if (!text) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.fail(null, new HindsightError('bad-request', 'the request is not valid JSON'));
      return;
    }
    const idOf = (v: unknown): number | null => {
      const id = (v as { id?: unknown } | null)?.id;
      return typeof v === 'object' && v !== null && Number.isSafeInteger(id) && (id as number) >= 0
        ? (id as number)
        : null;
    };
    const parsed = helperRequestSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.fail(
        idOf(value),
        new HindsightError(
          'bad-request',
          `not a request: ${printable(issue?.path.join('.') || 'line')}: ${issue?.message ?? 'invalid'} (expected {"id", "method", "params"})`,
        ),
      );
      return;
    }
    const { id, method, params } = parsed.data;
    if (this.active.has(id)) {
      this.fail(null, new HindsightError('bad-request', `request id ${id} is already in use`));
      return;
    }
    if (!isHelperMethod(method)) {
      this.fail(id, new HindsightError('bad-request', `unknown method "${printable(method)}"`));
      return;
    }
    // A malformed request is answered as such even while something runs (callMethod checks again).
    try {
      validateParams(method, params);
    } catch (error) {
      this.fail(id, error);
      return;
    }
    if (this.closing) {
      this.fail(id, new HindsightError('busy', 'the helper is shutting down'));
      return;
    }
    const exclusive = LOCKING_METHODS.has(method);
    const exclusiveRunning = [...this.active.values()].some(Boolean);
    if (exclusiveRunning || (exclusive && this.active.size > 0)) {
      this.fail(
        id,
        new HindsightError(
          'busy',
          exclusiveRunning
            ? 'another operation is running in this helper; wait for it to finish'
            : `${method} must run alone and other requests are still running; try again`,
        ),
      );
      return;
    }
    this.active.set(id, exclusive);
    callMethod(this.config, method, params, (data) => this.send({ event: 'progress', id, data }))
      .then(
        (result) => this.send({ id, result }),
        (error: unknown) => this.fail(id, error),
      )
      .finally(() => {
        this.active.delete(id);
        this.maybeExit();
      });
  }

  private maybeExit(): void {
    if (this.closing && this.active.size === 0) {
      // Let the last answers drain before leaving.
      if (this.outputBroken || this.output.writableLength === 0) this.exit(0);
      else this.output.once('drain', () => this.exit(0));
    }
  }
}
