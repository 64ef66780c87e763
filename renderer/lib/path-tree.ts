/** Turns a flat list of /etc paths into a tree the way a file manager shows it: folders first, by name. */

export interface TreeNode<T> {
  name: string;
  path: string;
  entry: T | null;
  children: TreeNode<T>[];
  /** Changed paths under this node (itself included when it is a change). */
  count: number;
}

export interface VisibleNode<T> {
  node: TreeNode<T>;
  depth: number;
  expandable: boolean;
}

export function buildTree<T extends { path: string }>(entries: T[]): TreeNode<T>[] {
  const root: TreeNode<T> = { name: '', path: '', entry: null, children: [], count: 0 };
  const byPath = new Map<string, TreeNode<T>>([['', root]]);
  const ensure = (path: string): TreeNode<T> => {
    const found = byPath.get(path);
    if (found) return found;
    const slash = path.lastIndexOf('/');
    const parent = ensure(slash < 0 ? '' : path.slice(0, slash));
    const node: TreeNode<T> = {
      name: slash < 0 ? path : path.slice(slash + 1),
      path,
      entry: null,
      children: [],
      count: 0,
    };
    parent.children.push(node);
    byPath.set(path, node);
    return node;
  };
  for (const e of entries) {
    const node = ensure(e.path);
    node.entry = e;
  }
  const finish = (node: TreeNode<T>): number => {
    node.children.sort((a, b) => {
      const af = a.children.length > 0 ? 0 : 1;
      const bf = b.children.length > 0 ? 0 : 1;
      return af - bf || a.name.localeCompare(b.name);
    });
    node.count = (node.entry ? 1 : 0) + node.children.reduce((sum, c) => sum + finish(c), 0);
    return node.count;
  };
  finish(root);
  return root.children;
}

export function visibleNodes<T>(roots: TreeNode<T>[], collapsed: Set<string>): VisibleNode<T>[] {
  const out: VisibleNode<T>[] = [];
  const walk = (nodes: TreeNode<T>[], depth: number): void => {
    for (const node of nodes) {
      const expandable = node.children.length > 0;
      out.push({ node, depth, expandable });
      if (expandable && !collapsed.has(node.path)) walk(node.children, depth + 1);
    }
  };
  walk(roots, 0);
  return out;
}
