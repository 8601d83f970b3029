// JSON with comments (`//` and `/* */`), for config files a person annotates. Comments become spaces, so a
// JSON.parse error still points at the right line and column of the original text.
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      // A string, escapes included, is copied as it is: "//" inside a string is not a comment.
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Line and column (1-based) of a character offset, for error messages. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * The first key given twice in one object of valid JSON text, with its dotted path and offset, or null.
 * JSON.parse keeps the last silently; in a config that hides a slip (two terminalIds, the wrong one wins).
 */
export function findDuplicateKey(json: string): { path: string; offset: number } | null {
  interface Frame {
    keys: Set<string> | null;
    path: string;
    index: number;
    expectKey: boolean;
    lastKey: string;
  }
  const stack: Frame[] = [];
  const childPath = (f: Frame | undefined) => (f === undefined ? '' : f.keys ? `${f.path ? `${f.path}.` : ''}${f.lastKey}` : `${f.path}[${f.index}]`);
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    const top = stack[stack.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { path: `${top.path ? `${top.path}.` : ''}${key}`, offset: i };
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      stack.push({ keys: c === '{' ? new Set() : null, path: childPath(top), index: 0, expectKey: c === '{', lastKey: '' });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',' && top) {
      if (top.keys) top.expectKey = true;
      else top.index++;
    }
  }
  return null;
}
