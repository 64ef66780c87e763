import {
  type ButtonHTMLAttributes,
  type CSSProperties,
  type ReactNode,
  type Ref,
  useEffect,
  useId,
  useRef,
} from 'react';
import type { HindsightError } from '../../shared/errors.ts';
import { ERROR_HINTS, type Tone } from '../lib/labels.ts';
import { Icon, type IconName } from './icons.tsx';

type ButtonVariant = 'primary' | 'secondary' | 'danger' | 'ghost';

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  ref?: Ref<HTMLButtonElement>;
  variant?: ButtonVariant;
  size?: 'sm' | 'md' | 'lg';
  icon?: IconName;
  busy?: boolean;
  /** Shown beside a disabled button, so people learn why without hovering. */
  disabledReason?: string | null;
}

export function Button({
  variant = 'secondary',
  size = 'md',
  icon,
  busy = false,
  disabledReason,
  disabled,
  children,
  className,
  type = 'button',
  ...rest
}: ButtonProps) {
  const reasonId = useId();
  const isDisabled = disabled || busy || !!disabledReason;
  const button = (
    <button
      type={type}
      className={`btn btn-${variant} btn-${size}${className ? ` ${className}` : ''}`}
      disabled={isDisabled}
      aria-busy={busy || undefined}
      aria-describedby={disabledReason ? reasonId : undefined}
      {...rest}
    >
      {busy ? (
        <Spinner size={size === 'sm' ? 12 : 14} />
      ) : icon ? (
        <Icon name={icon} size={size === 'sm' ? 14 : 16} />
      ) : null}
      {children !== undefined && <span className="btn-label">{children}</span>}
    </button>
  );
  if (!disabledReason) return button;
  return (
    <span className="btn-with-reason">
      {button}
      <span className="disabled-reason" id={reasonId}>
        {disabledReason}
      </span>
    </span>
  );
}

export function IconButton({
  icon,
  label,
  variant = 'ghost',
  size = 'sm',
  ...rest
}: Omit<ButtonProps, 'children' | 'icon'> & { icon: IconName; label: string }) {
  return (
    <button
      type="button"
      className={`btn btn-${variant} btn-${size} btn-icon`}
      aria-label={label}
      title={label}
      {...rest}
    >
      <Icon name={icon} size={size === 'sm' ? 14 : 16} />
    </button>
  );
}

export function Spinner({ size = 16 }: { size?: number }) {
  return <span className="spinner" style={{ width: size, height: size }} aria-hidden="true" />;
}

export function Badge({
  tone = 'neutral',
  children,
  title,
  icon,
}: {
  tone?: Tone;
  children: ReactNode;
  title?: string;
  icon?: IconName;
}) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {icon && <Icon name={icon} size={12} />}
      {children}
    </span>
  );
}

export function Loading({ label = 'Loading…', compact = false }: { label?: string; compact?: boolean }) {
  return (
    <div className={`loading${compact ? ' loading-compact' : ''}`} role="status" aria-live="polite">
      <Spinner size={compact ? 14 : 20} />
      <span>{label}</span>
    </div>
  );
}

export function Skeleton({ lines = 3 }: { lines?: number }) {
  return (
    <div className="skeleton" aria-hidden="true">
      {Array.from({ length: lines }, (_, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: placeholders have no identity
        <div key={i} className="skeleton-line" style={{ width: `${90 - ((i * 17) % 40)}%` }} />
      ))}
    </div>
  );
}

export function EmptyState({
  icon = 'info',
  title,
  children,
  action,
}: {
  icon?: IconName;
  title: string;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="empty-state">
      <div className="empty-icon">
        <Icon name={icon} size={28} />
      </div>
      <p className="empty-title">{title}</p>
      {children && <div className="empty-body">{children}</div>}
      {action && <div className="empty-action">{action}</div>}
    </div>
  );
}

/** The sentence a person reads for an error: plain words first, the engine's message as the detail. */
export function errorText(error: unknown): { summary: string; detail: string | null } {
  const e = error as Partial<HindsightError> | null;
  const message = e?.message ?? String(error);
  const hint = e?.code ? ERROR_HINTS[e.code] : undefined;
  if (hint && hint !== message) return { summary: hint, detail: message };
  return { summary: capitalise(message), detail: null };
}

function capitalise(text: string): string {
  return text ? text[0]?.toUpperCase() + text.slice(1) : text;
}

export function ErrorNotice({
  error,
  title,
  onRetry,
  compact = false,
  children,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
  compact?: boolean;
  children?: ReactNode;
}) {
  const { summary, detail } = errorText(error);
  return (
    <div className={`notice notice-danger${compact ? ' notice-compact' : ''}`} role="alert">
      <Icon name="alert" size={compact ? 14 : 18} />
      <div className="notice-body">
        {title && <p className="notice-title">{title}</p>}
        <p>{summary}</p>
        {detail && <p className="notice-detail">{detail}</p>}
        {children}
      </div>
      {onRetry && (
        <Button size="sm" icon="refresh" onClick={onRetry}>
          Try again
        </Button>
      )}
    </div>
  );
}

export function Notice({
  tone = 'info',
  icon,
  title,
  children,
  actions,
  compact = false,
}: {
  tone?: Tone;
  icon?: IconName;
  title?: ReactNode;
  children?: ReactNode;
  actions?: ReactNode;
  compact?: boolean;
}) {
  const fallback: IconName =
    tone === 'danger' || tone === 'warning' ? 'alert' : tone === 'success' ? 'check' : 'info';
  return (
    <div className={`notice notice-${tone}${compact ? ' notice-compact' : ''}`}>
      <Icon name={icon ?? fallback} size={compact ? 14 : 18} />
      <div className="notice-body">
        {title && <p className="notice-title">{title}</p>}
        {children}
      </div>
      {actions && <div className="notice-actions">{actions}</div>}
    </div>
  );
}

export function SearchField({
  value,
  onChange,
  label,
  placeholder,
  id,
}: {
  value: string;
  onChange: (value: string) => void;
  label: string;
  placeholder?: string;
  id?: string;
}) {
  const ref = useRef<HTMLInputElement>(null);
  return (
    <div className="search-field">
      <Icon name="search" size={14} />
      <input
        ref={ref}
        id={id}
        type="search"
        aria-label={label}
        placeholder={placeholder ?? label}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape' && value) {
            e.preventDefault();
            onChange('');
          }
        }}
      />
      {value && (
        <button
          type="button"
          className="search-clear"
          aria-label="Clear search"
          onClick={() => {
            onChange('');
            ref.current?.focus();
          }}
        >
          <Icon name="x" size={12} />
        </button>
      )}
    </div>
  );
}

export interface SegmentOption<T extends string> {
  value: T;
  label: string;
  icon?: IconName;
  count?: number;
  disabled?: boolean;
}

/** A radio group drawn as segments: native radios, so one Tab stop and arrows move between options. */
export function Segmented<T extends string>({
  label,
  options,
  value,
  onChange,
  size = 'md',
}: {
  label: string;
  options: SegmentOption<T>[];
  value: T;
  onChange: (value: T) => void;
  size?: 'sm' | 'md';
}) {
  const name = useId();
  return (
    <fieldset className={`segmented segmented-${size}`}>
      <legend className="sr-only">{label}</legend>
      {options.map((o) => (
        <label key={o.value} className={`segment${o.disabled ? ' is-disabled' : ''}`}>
          <input
            type="radio"
            className="segment-input"
            name={name}
            value={o.value}
            checked={o.value === value}
            disabled={o.disabled}
            onChange={() => onChange(o.value)}
          />
          {o.icon && <Icon name={o.icon} size={14} />}
          <span>{o.label}</span>
          {o.count !== undefined && (
            <span className="segment-count">
              <span className="sr-only">(</span>
              {o.count.toLocaleString()}
              <span className="sr-only">)</span>
            </span>
          )}
        </label>
      ))}
    </fieldset>
  );
}

/** Whether a screen was shown already: the first one, on load, leaves focus where the page starts. */
let screenShown = false;

/**
 * Moves focus to a screen's heading when the person opens another screen, so screen readers
 * announce it. Not on load: there the first Tab must reach the skip link.
 */
export function ScreenHeader({
  title,
  subtitle,
  actions,
}: {
  title: string;
  subtitle?: ReactNode;
  actions?: ReactNode;
}) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    const onLoad = !screenShown;
    screenShown = true;
    if (onLoad) return;
    if (document.activeElement === document.body || document.activeElement?.closest('.sidebar')) {
      ref.current?.focus({ preventScroll: true });
    }
  }, []);
  return (
    <header className="screen-header">
      <div className="screen-titles">
        <h1 ref={ref} tabIndex={-1}>
          {title}
        </h1>
        {subtitle && <p className="screen-subtitle">{subtitle}</p>}
      </div>
      {actions && <div className="screen-actions">{actions}</div>}
    </header>
  );
}

/** A scrolling area that keyboard users can reach and screen readers can name. */
export function ScrollRegion({
  ref,
  label,
  className,
  style,
  children,
}: {
  ref?: Ref<HTMLElement>;
  label: string;
  className?: string;
  style?: CSSProperties;
  children: ReactNode;
}) {
  return (
    <section
      ref={ref}
      className={`virtual-scroll${className ? ` ${className}` : ''}`}
      style={style}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
      tabIndex={0}
      aria-label={label}
    >
      {children}
    </section>
  );
}

export function Kbd({ children }: { children: ReactNode }) {
  return <kbd className="kbd">{children}</kbd>;
}
