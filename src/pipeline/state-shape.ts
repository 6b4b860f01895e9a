/**
 * Checks that parsed JSON has the shape of an app's state before the pipeline relies on it.
 * A state file that is valid JSON of another shape (`[]`, `{"releases": 5}`, a file some other
 * tool wrote) would otherwise fail deep inside a deploy with a JavaScript type error that names
 * neither the file nor what to do about it.
 */

/** Fields holding one JSON type each; absent is always fine. */
const fieldTypes: Record<string, 'object' | 'string' | 'array'> = {
  releases: 'object',
  current: 'string',
  previous: 'string',
  seen: 'object',
  lastCheck: 'object',
  lastSuccessAt: 'string',
  failing: 'object',
  inProgress: 'object',
  hold: 'object',
  lastHookOutput: 'array',
  rolledBack: 'object',
};

/**
 * Returns what is wrong with `value` as a state (e.g. `"releases" is a number, not an object`),
 * or null when it has the expected shape. Only the fields the pipeline reads are checked;
 * unknown fields (written by a newer version) are left alone.
 */
export function stateShapeProblem(value: unknown): string | null {
  if (kindOf(value) !== 'object') return `it holds ${article(kindOf(value))}, not an object`;
  const state = value as Record<string, unknown>;
  for (const [field, expected] of Object.entries(fieldTypes)) {
    if (state[field] === undefined) continue;
    const found = kindOf(state[field]);
    if (found !== expected) return `"${field}" is ${article(found)}, not ${article(expected)}`;
  }
  for (const [id, record] of Object.entries((state.releases ?? {}) as Record<string, unknown>)) {
    if (kindOf(record) !== 'object' || typeof (record as { version?: unknown }).version !== 'string') {
      return `release "${id}" is not a record with a "version" string`;
    }
  }
  return null;
}

/** The JSON type of a value, with arrays and null told apart from objects. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function article(kind: string): string {
  return kind === 'null' ? 'null' : /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}
