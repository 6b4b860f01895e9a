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
  text: string;
  /** True when the line was longer than `maxLineBytes` and cut. */
  cut: boolean;
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
      else lines.push(this.take(false));
      start = newline + 1;
    }
    return lines;
  }

  /** Ends the stream: the partial last line, or nothing. */
  flush(): OutputLine[] {
    const pending = this.size > 0 && !this.discarding ? [this.take(false)] : [];
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
    lines.push(this.take(true));
    this.discarding = true;
  }

  private take(cut: boolean): OutputLine {
    let text = Buffer.concat(this.parts, this.size).toString('utf8');
    // Scripts written on Windows print CRLF; the \r is noise in a JSON log line.
    if (text.endsWith('\r')) text = text.slice(0, -1);
    this.parts = [];
    this.size = 0;
    return { text, cut };
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
