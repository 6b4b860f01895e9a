/**
 * Recognises a download that is plainly not a zip: a login or error page served with status
 * 200, a gzip or tar.gz file, a JSON or XML answer. Said at once with what arrived and where
 * from, rather than later as "no end of central directory record" about a file in the cache.
 */

/** How many leading bytes of a download `notAZip` looks at. */
export const headBytes = 64;

/** What the server said about the body, as far as it matters here. */
export interface ReceivedHeaders {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
}

/**
 * Describes what arrived instead of a zip (e.g. `Content-Type: text/html; starts with
 * "<!DOCTYPE html>"`), or returns null when `head` may be a zip. Only content recognised as
 * something else is refused: a zip may legally carry a prefix (a self-extractor's stub), so
 * unknown binary bytes are left to the zip reader.
 */
export function notAZip(head: Buffer, headers: ReceivedHeaders): string | null {
  if (head.length >= 2 && head[0] === 0x50 && head[1] === 0x4b) return null; // "PK"
  const facts: string[] = [];
  if (headers.contentType) facts.push(`Content-Type: ${headers.contentType}`);
  if (headers.contentEncoding) facts.push(`Content-Encoding: ${headers.contentEncoding}`);
  if (head.length === 0) return [...facts, 'an empty body'].join('; ');
  if (head[0] === 0x1f && head[1] === 0x8b) return [...facts, 'gzip data (starts with bytes 1f 8b), not a zip'].join('; ');
  const text = printable(head);
  const texty = /^(text\/|application\/(json|xml|xhtml))|html|json|xml/i.test(headers.contentType ?? '');
  if (text !== null && (texty || /^[<{[]/.test(text))) return [...facts, `starts with ${JSON.stringify(text.slice(0, 40))}`].join('; ');
  return null;
}

/** The head as text without a byte-order mark and leading blanks, or null when it is binary. */
function printable(head: Buffer): string | null {
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  // Control characters other than tab and line breaks mean binary data; the cut at the end of
  // the head may split one multi-byte character, which is allowed.
  return /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text.replace(/\uFFFD$/, '')) ? null : text;
}
