import { z } from 'zod';

/** Input grammars shared by the helper, the main process and the renderer. */

/** An index, a state keyword, a checksum prefix (with optional .serial) or an ostree ref; never an option. */
export const selectorSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^(?:\d{1,4}|booted|default|pending|rollback|staged|[0-9a-f]{4,64}(?:\.\d{1,6})?|(?:[\w][\w.-]*:)?[\w][\w.-]*(?:\/[\w][\w.-]*)*)$/,
    'not a deployment selector',
  );

/** A full commit checksum. */
export const checksumSchema = z.string().regex(/^[0-9a-f]{64}$/, 'not a commit checksum');

/** ostree's ref grammar, optionally `remote:ref`; a leading `-` could pose as an option, so it never matches. */
export const refspecSchema = z
  .string()
  .max(255)
  .regex(/^(?:[\w][\w.-]*:)?[\w][\w.-]*(?:\/[\w][\w.-]*)*$/, 'not an ostree ref');

/** A path relative to /etc, as text, with the exact bytes in base64 when they are not UTF-8. */
export const etcPathSchema = z
  .object({
    path: z.string().min(1).max(4096),
    pathBase64: z
      .string()
      .max(8192)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/)
      .optional(),
  })
  .strict();

/**
 * A path inside a root, relative to it (`etc/ssh/sshd_config`; a leading `/` is allowed), with the
 * exact bytes in base64 when they are not UTF-8. `..` never names anything inside, so it is refused
 * here already; the helper checks the bytes again (etc-paths.ts).
 */
export const treePathSchema = etcPathSchema.extend({
  path: etcPathSchema.shape.path.refine((p) => !p.split('/').includes('..'), 'no .. in paths'),
});

/** snapper userdata: `key=value` pairs; keys and values never hold `,` or `=` (snapper's separators). */
export const snapperUserdataSchema = z.record(
  z.string().regex(/^[\w.-]{1,64}$/, 'a userdata key is letters, digits, _ . -'),
  z
    .string()
    .max(256)
    .regex(/^[^,=\p{Cc}]*$/u, 'a userdata value has no , = or control characters'),
);

export const snapperMergeTakeSchema = z.enum(['merged', 'local', 'upstream', 'edited']);

export const resolutionSchema = z
  .object({
    path: etcPathSchema,
    take: z.enum(['merged', 'local', 'upstream', 'edited']),
    /** The text to write when `take` is `edited`. */
    text: z
      .string()
      .max(16 * 1024 * 1024)
      .optional(),
  })
  .strict()
  .refine((r) => r.take !== 'edited' || r.text !== undefined, 'edited text is missing');

export const noteSchema = z
  .object({
    checksum: checksumSchema,
    serial: z.number().int().min(0).max(1_000_000),
    note: z.string().max(2000),
    label: z.string().max(60).optional(),
  })
  .strict();

export type Resolution = z.infer<typeof resolutionSchema>;
export type DeploymentNote = z.infer<typeof noteSchema>;
