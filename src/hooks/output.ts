/**
 * Turns a hook's byte stream into log lines, and keeps the last lines of a whole phase for
 * `repo-deploy status`. Works on bytes, not strings, so a multi-byte character split across
 * two reads is decoded whole and a line is cut at a fixed byte budget.
 */

/** Longest line logged; the rest of a longer line is dropped so one runaway hook cannot flood the journal. */
export const maxLineBytes = 8 * 1024;

/** Lines kept for `status`. */
export const tailLines = 50;

/** One line of output. */
export interface OutputLine {
  /** The line, with terminal escape sequences and control characters other than tab removed. */
  text: string;
  /** True when the line was longer than `maxLineBytes` and cut. */
  cut: boolean;
  /** Bytes of output it stands for: the raw line and its newline (a cut line: the bytes kept). */
  bytes: number;
}

// Escape sequences go whole, or `ESC [31m` would leave `[31m` behind: CSI (colours, cursor
// moves, 7-bit and 8-bit), OSC (window titles, hyperlinks) up to BEL or ST, the DCS/SOS/PM/APC
// strings, and any other two-character ESC sequence.
const escapeSequences = /\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -/]*[0-~]?/g;
// C0 but tab, DEL, and C1: what a terminal acts on instead of printing (BEL, CR, backspace...).
const controlCharacters = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/**
 * `text` without terminal escape sequences and control characters other than tab, so hook
 * output shown by `status` or read in a terminal cannot move the cursor, rewrite earlier lines,
 * retitle the window or ring the bell.
 */
export function stripControl(text: string): string {
  return text.replace(escapeSequences, '').replace(controlCharacters, '');
}

/**
 * Splits chunks into lines. `push` returns the complete lines a chunk finished; `flush`
 * returns the partial last line, if any, when the stream ends.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Inside an over-long line whose first `maxLineBytes` were already emitted. */
  private discarding = false;

  /** Feeds one chunk; returns the lines it completed. */
  push(chunk: Buffer): OutputLine[] {
    const lines: OutputLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!this.discarding) this.append(chunk.subarray(start, end), lines);
      if (newline === -1) break;
      if (this.discarding) this.discarding = false;
      else lines.push(this.take(false, 1));
      start = newline + 1;
    }
    return lines;
  }

  /** Ends the stream: the partial last line, or nothing. */
  flush(): OutputLine[] {
    const pending = this.size > 0 && !this.discarding ? [this.take(false, 0)] : [];
    this.discarding = false;
    this.parts = [];
    this.size = 0;
    return pending;
  }

  private append(piece: Buffer, lines: OutputLine[]): void {
    const room = maxLineBytes - this.size;
    if (piece.length <= room) {
      this.parts.push(piece);
      this.size += piece.length;
      return;
    }
    this.parts.push(piece.subarray(0, room));
    this.size += room;
    lines.push(this.take(true, 0));
    this.discarding = true;
  }

  /** Forgets the partial last line without returning it; returns its bytes. */
  drop(): number {
    const bytes = this.discarding ? 0 : this.size;
    this.discarding = false;
    this.parts = [];
    this.size = 0;
    return bytes;
  }

  private take(cut: boolean, newline: number): OutputLine {
    // A CRLF's \r goes with the other control characters.
    const text = stripControl(Buffer.concat(this.parts, this.size).toString('utf8'));
    const bytes = this.size + newline;
    this.parts = [];
    this.size = 0;
    return { text, cut, bytes };
  }
}

/** The last `tailLines` lines of a phase, each prefixed with its hook's name. */
export class OutputTail {
  private lines: string[] = [];

  /** Records one line of `hook`. */
  add(hook: string, line: string): void {
    this.lines.push(`${hook}: ${line}`);
    if (this.lines.length > tailLines) this.lines.splice(0, this.lines.length - tailLines);
  }

  /** A copy of the kept lines, oldest first. */
  snapshot(): string[] {
    return [...this.lines];
  }
}
