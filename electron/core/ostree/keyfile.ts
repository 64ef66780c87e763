/** GLib keyfile (the `.origin` format): `[group]` headers and `key=value` lines. */
export type Keyfile = Map<string, Map<string, string>>;

export function parseKeyfile(text: string): Keyfile {
  const groups: Keyfile = new Map();
  let current: Map<string, string> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) {
      current = groups.get(header[1]) ?? new Map();
      groups.set(header[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current && eq > 0) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return groups;
}

export function keyfileValue(file: Keyfile, group: string, key: string): string | null {
  return file.get(group)?.get(key) ?? null;
}
