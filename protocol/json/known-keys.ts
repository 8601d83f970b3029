// Strict JSON objects for files a person writes (the terminal config, the acquirer simulator's rules): a key
// nobody reads is an error, not a silent default, and the error suggests the key that was probably meant
// (`timeout` → `timeouts`). Shared by the terminal and the bench, so both refuse typos the same way.

/** Edit distance, small strings only (config keys). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length]!;
}

/** The known key closest to `key`, if close enough to be a typo (case, a letter or two, a plural). */
export function didYouMean(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const [a, b] = [key.toLowerCase(), k.toLowerCase()];
    // Same word in another case, or one a prefix of the other (`baudrate` for `baud`): as good as a typo.
    const d = a === b ? 0 : a.startsWith(b) || b.startsWith(a) ? 1 : distance(a, b);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(key.length / 4)) ? best : null;
}

/** Own keys of `obj` that are not in `known`, each with a suggestion or null. */
export function unknownKeys(obj: object, known: readonly string[]): Array<{ key: string; suggestion: string | null }> {
  return Object.keys(obj)
    .filter((k) => !known.includes(k))
    .map((key) => ({ key, suggestion: didYouMean(key, known) }));
}

/** "unknown key (did you mean "timeouts"?)" or "unknown key (known: a, b, c)". */
export function unknownKeyReason(suggestion: string | null, known: readonly string[]): string {
  return suggestion !== null ? `unknown key (did you mean "${suggestion}"?)` : `unknown key (known here: ${known.join(', ')})`;
}
