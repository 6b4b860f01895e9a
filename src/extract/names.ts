import { crc32 } from 'node:zlib';

/** CP437's upper half, as Python's `zipfile` decodes it (the lower half is ASCII). */
const cp437High = 'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** One extra-field block: its id and body. */
export interface ExtraField {
  id: number;
  body: Buffer;
}

/**
 * Splits an extra field into its blocks; `null` when a block's length runs past the end
 * (Python's `zipfile` refuses such an entry, `unzip` reads on: refusing is the safe reading).
 * Up to 3 trailing bytes are padding some writers leave, and both tools skip them.
 */
export function parseExtra(extra: Buffer): ExtraField[] | null {
  const fields: ExtraField[] = [];
  let i = 0;
  for (; i + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(i);
    const size = extra.readUInt16LE(i + 2);
    if (i + 4 + size > extra.length) return null;
    fields.push({ id, body: extra.subarray(i + 4, i + 4 + size) });
    i += 4 + size;
  }
  return fields;
}

/**
 * The name an entry is written under: UTF-8 when the language-encoding flag (bit 11) is set;
 * otherwise the Info-ZIP Unicode Path field (0x7075) when its CRC matches the stored name, as
 * `unzip` honours it; otherwise CP437, the format's default, as Python's `zipfile` decodes it.
 * One exception: names from unix or macOS (`madeBy` 3 or 19) that are valid UTF-8 stay UTF-8.
 * Info-ZIP `zip` on a UTF-8 system stores them so, without flag or 0x7075, and `unzip` writes
 * those bytes unchanged; read as CP437 every such name would be mojibake.
 * `null`: bytes that are not the UTF-8 they claim.
 */
export function decodeName(raw: Buffer, flags: number, extra: readonly ExtraField[], madeBy: number): string | null {
  if (flags & 0x800) return strictUtf8(raw);
  const unicode = extra.find((f) => f.id === 0x7075);
  if (unicode && unicode.body.length >= 5 && unicode.body[0] === 1 && unicode.body.readUInt32LE(1) === crc32(raw)) {
    return strictUtf8(unicode.body.subarray(5));
  }
  if (madeBy === 3 || madeBy === 19) {
    const utf8 = strictUtf8(raw);
    if (utf8 !== null) return utf8;
  }
  let name = '';
  for (const byte of raw) name += byte < 0x80 ? String.fromCharCode(byte) : cp437High[byte - 0x80];
  return name;
}

/** One decoder for every name: it keeps no state between `decode` calls without `stream`. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function strictUtf8(bytes: Buffer): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}
