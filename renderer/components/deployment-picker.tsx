import { useEffect, useId, useState } from 'react';
import { selectorSchema } from '../../shared/schemas.ts';
import type { Deployment } from '../../shared/types.ts';
import { deploymentSelector, shortChecksum, versionName } from '../lib/format.ts';

export function stateWords(d: Deployment): string[] {
  const words: string[] = [];
  if (d.booted) words.push('running now');
  if (d.default) words.push('next boot');
  if (d.staged) words.push('staged');
  if (d.rollback) words.push('rollback');
  if (d.pinned) words.push('pinned');
  return words;
}

export function deploymentOptionLabel(d: Deployment, label?: string | null): string {
  const states = stateWords(d);
  return `${versionName(d)}${label ? ` “${label}”` : ''} — ${states.length ? states.join(', ') : `deployment ${d.index}`} (${shortChecksum(d.checksum)})`;
}

const OTHER = '__other__';

/** Chooses a deployment, an extra snapshot (an available update), or any commit or ref typed in. */
export function SnapshotPicker({
  label,
  value,
  onChange,
  deployments,
  labels = {},
  extra = [],
  allowCommit = false,
}: {
  label: string;
  value: string | undefined;
  onChange: (value: string) => void;
  deployments: Deployment[];
  labels?: Record<string, string | null>;
  extra?: { value: string; label: string }[];
  allowCommit?: boolean;
}) {
  const id = useId();
  const known = new Set([...deployments.map(deploymentSelector), ...extra.map((e) => e.value)]);
  const isOther = value !== undefined && !known.has(value);
  const [typing, setTyping] = useState(isOther);
  const [text, setText] = useState(isOther ? (value ?? '') : '');
  const [problem, setProblem] = useState<string | null>(null);

  // A value from outside (a deep link, a swap) that is no listed snapshot opens the text field with it.
  useEffect(() => {
    if (isOther && value !== undefined) {
      setTyping(true);
      setText(value);
    }
  }, [isOther, value]);

  const commit = (): void => {
    const trimmed = text.trim();
    const parsed = selectorSchema.safeParse(trimmed);
    if (!parsed.success) {
      setProblem('Enter a commit checksum (at least 4 hex digits) or a ref such as remote:branch.');
      return;
    }
    setProblem(null);
    onChange(trimmed);
  };

  return (
    <div className="picker">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      <select
        id={id}
        className="select"
        value={typing ? OTHER : (value ?? '')}
        onChange={(e) => {
          if (e.target.value === OTHER) {
            setTyping(true);
            return;
          }
          setTyping(false);
          setProblem(null);
          onChange(e.target.value);
        }}
      >
        {value === undefined && <option value="">Choose…</option>}
        <optgroup label="Deployments">
          {deployments.map((d) => (
            <option key={deploymentSelector(d)} value={deploymentSelector(d)}>
              {deploymentOptionLabel(d, labels[deploymentSelector(d)])}
            </option>
          ))}
        </optgroup>
        {extra.length > 0 && (
          <optgroup label="Not deployed">
            {extra.map((e) => (
              <option key={e.value} value={e.value}>
                {e.label}
              </option>
            ))}
          </optgroup>
        )}
        {allowCommit && <option value={OTHER}>Another commit or ref…</option>}
      </select>
      {typing && allowCommit && (
        <form
          className="picker-other"
          onSubmit={(e) => {
            e.preventDefault();
            commit();
          }}
        >
          <input
            className="input mono"
            aria-label={`${label}: commit checksum or ref`}
            placeholder="checksum or remote:ref"
            value={text}
            onChange={(e) => setText(e.target.value)}
            aria-invalid={problem ? true : undefined}
            spellCheck={false}
          />
          <button type="submit" className="btn btn-secondary btn-sm">
            <span className="btn-label">Use</span>
          </button>
          {problem && (
            <p className="field-error" role="alert">
              {problem}
            </p>
          )}
        </form>
      )}
    </div>
  );
}
