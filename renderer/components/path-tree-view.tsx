import { useVirtualizer } from '@tanstack/react-virtual';
import { type KeyboardEvent, type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { buildTree, type TreeNode, visibleNodes } from '../lib/path-tree.ts';
import { Icon } from './icons.tsx';

const ROW = 30;

/**
 * An ARIA tree of changed paths: one Tab stop; Up and Down move, Right opens a folder, Left closes it
 * or goes to its parent, Enter or Space selects. Virtualised, so thousands of paths stay light.
 */
export function PathTree<T extends { path: string }>({
  entries,
  selected,
  onSelect,
  label,
  renderMeta,
  isFolderEntry,
}: {
  entries: T[];
  selected: string | undefined;
  onSelect: (entry: T) => void;
  label: string;
  renderMeta: (entry: T) => ReactNode;
  isFolderEntry?: (entry: T) => boolean;
}) {
  const roots = useMemo(() => buildTree(entries), [entries]);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const rows = useMemo(() => visibleNodes(roots, collapsed), [roots, collapsed]);
  const [active, setActive] = useState(0);
  const focusPending = useRef(false);
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW,
    overscan: 10,
  });

  const selectedIndex = rows.findIndex((r) => r.node.path === selected);
  const activeIndex = Math.min(active, Math.max(rows.length - 1, 0));

  useEffect(() => {
    if (selectedIndex >= 0) setActive(selectedIndex);
  }, [selectedIndex]);

  useEffect(() => {
    if (!focusPending.current) return;
    focusPending.current = false;
    const el = scrollRef.current?.querySelector<HTMLElement>(`[data-tree-index="${activeIndex}"]`);
    el?.focus();
  });

  const moveTo = (i: number): void => {
    const clamped = Math.max(0, Math.min(rows.length - 1, i));
    setActive(clamped);
    focusPending.current = true;
    virtualizer.scrollToIndex(clamped, { align: 'auto' });
  };

  const toggle = (node: TreeNode<T>, open?: boolean): void => {
    setCollapsed((prev) => {
      const next = new Set(prev);
      const isOpen = !next.has(node.path);
      if (open ?? !isOpen) next.delete(node.path);
      else next.add(node.path);
      return next;
    });
  };

  const activate = (i: number): void => {
    const row = rows[i];
    if (!row) return;
    if (row.node.entry && !(row.expandable && isFolderEntry?.(row.node.entry))) onSelect(row.node.entry);
    else if (row.expandable) toggle(row.node);
    else if (row.node.entry) onSelect(row.node.entry);
  };

  const onKey = (e: KeyboardEvent<HTMLDivElement>, i: number): void => {
    const row = rows[i];
    if (!row) return;
    const open = row.expandable && !collapsed.has(row.node.path);
    switch (e.key) {
      case 'ArrowDown':
        moveTo(i + 1);
        break;
      case 'ArrowUp':
        moveTo(i - 1);
        break;
      case 'Home':
        moveTo(0);
        break;
      case 'End':
        moveTo(rows.length - 1);
        break;
      case 'ArrowRight':
        if (row.expandable && !open) toggle(row.node, true);
        else if (open) moveTo(i + 1);
        break;
      case 'ArrowLeft': {
        if (open) toggle(row.node, false);
        else {
          for (let j = i - 1; j >= 0; j--) {
            if ((rows[j]?.depth ?? 0) < row.depth) {
              moveTo(j);
              break;
            }
          }
        }
        break;
      }
      case 'Enter':
      case ' ':
        activate(i);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  return (
    <div ref={scrollRef} className="virtual-scroll tree-scroll">
      <div
        role="tree"
        aria-label={label}
        className="virtual-inner"
        style={{ height: virtualizer.getTotalSize() }}
      >
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index];
          if (!row) return null;
          const { node, depth, expandable } = row;
          const open = expandable && !collapsed.has(node.path);
          const isSelected = node.path === selected;
          return (
            <div
              key={node.path}
              role="treeitem"
              aria-level={depth + 1}
              aria-expanded={expandable ? open : undefined}
              aria-selected={isSelected}
              tabIndex={item.index === activeIndex ? 0 : -1}
              data-tree-index={item.index}
              className={`tree-row${isSelected ? ' is-selected' : ''}${node.entry ? '' : ' is-context'}`}
              style={{ transform: `translateY(${item.start}px)`, height: ROW, paddingLeft: 8 + depth * 16 }}
              onClick={() => {
                setActive(item.index);
                if (expandable && (!node.entry || isFolderEntry?.(node.entry))) toggle(node);
                if (node.entry) onSelect(node.entry);
              }}
              onKeyDown={(e) => onKey(e, item.index)}
            >
              <span className="tree-chevron" aria-hidden="true">
                {expandable && <Icon name={open ? 'chevronDown' : 'chevronRight'} size={12} />}
              </span>
              <Icon name={expandable ? 'folder' : 'file'} size={14} />
              <span className="tree-name">{node.name}</span>
              <span className="tree-meta">
                {node.entry ? renderMeta(node.entry) : <span className="tree-count">{node.count}</span>}
              </span>
            </div>
          );
        })}
      </div>
    </div>
  );
}
