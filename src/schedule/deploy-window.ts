/**
 * Deploy windows (`deploy-window`): when a new version may start. The grammar is
 *
 *     RANGE [, RANGE ...] [ZONE]
 *     RANGE = [DAYS] HH:MM-HH:MM      DAYS = Mon | Mon-Fri | Fri-Mon (Mon Tue Wed Thu Fri Sat Sun)
 *
 * Commas separate ranges (so several days that are not a span are several ranges:
 * `Sat 10:00-12:00, Sun 10:00-12:00`); a range without days holds every day; an end at or
 * before the start runs past midnight (`Fri 22:00-02:00` is Friday night); `24:00` ends a day.
 * The optional last word is an IANA time zone (`Europe/Berlin`), UTC without one. Pure: the
 * clock is always passed in, and time zones come from Intl (no dependency).
 */

/** One `DAYS HH:MM-HH:MM` range. */
export interface WindowRange {
  /** Days the range starts on: 0 = Monday .. 6 = Sunday. */
  days: number[];
  /** Minutes after local midnight: start inclusive, end exclusive (end <= start wraps). */
  startMinute: number;
  endMinute: number;
}

/** A parsed deploy window. */
export interface DeployWindow {
  ranges: WindowRange[];
  /** IANA time zone the ranges are read in. */
  zone: string;
  /** The text it was parsed from, for messages. */
  text: string;
}

const dayNames = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const example = '"Mon-Fri 09:00-17:00, Sat 10:00-12:00 Europe/Berlin"';

/** Parses a window, or returns what is wrong with it and what to write instead. */
export function parseDeployWindow(raw: string): DeployWindow | { error: string } {
  const text = raw.trim().replace(/\s+/g, ' ');
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !p)) return fail('an empty range (two commas, or a comma at an end)');
  const last = parts[parts.length - 1]!.split(' ');
  let zone = 'UTC';
  if (last.length > 1 && !/\d:\d/.test(last[last.length - 1]!)) {
    zone = last.pop()!;
    parts[parts.length - 1] = last.join(' ');
    if (!isZone(zone)) return fail(`unknown time zone "${zone}" (write an IANA name such as Europe/Berlin, or none for UTC)`);
  }
  const ranges: WindowRange[] = [];
  for (const part of parts) {
    const range = parseRange(part);
    if ('error' in range) return fail(range.error);
    ranges.push(range);
  }
  return { ranges, zone, text };
}

function fail(problem: string): { error: string } {
  return { error: `ranges "DAYS HH:MM-HH:MM" separated by commas, then an optional IANA time zone, e.g. ${example}; here: ${problem}` };
}

function parseRange(part: string): WindowRange | { error: string } {
  const words = part.split(' ');
  if (words.length > 2) return { error: `"${part}" has more than days and hours (days that are not a span go in ranges of their own)` };
  const hours = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(words[words.length - 1]!);
  if (!hours) return { error: `"${part}" has no HH:MM-HH:MM hours` };
  const [startMinute, endMinute] = [minuteOf(hours[1]!, hours[2]!), minuteOf(hours[3]!, hours[4]!)];
  if (startMinute === null || endMinute === null || startMinute === 1440) return { error: `"${part}" has an hour outside 00:00-24:00` };
  const days = words.length === 2 ? parseDays(words[0]!) : [0, 1, 2, 3, 4, 5, 6];
  if (!days) return { error: `"${words[0]}" is not a day or span of days (Mon, Mon-Fri, Fri-Mon)` };
  return { days, startMinute, endMinute };
}

function minuteOf(hour: string, minute: string): number | null {
  const [h, m] = [Number(hour), Number(minute)];
  if (m > 59 || h > 24 || (h === 24 && m > 0)) return null;
  return h * 60 + m;
}

function parseDays(word: string): number[] | null {
  const [from, to, ...rest] = word.toLowerCase().split('-');
  const a = dayNames.indexOf(from ?? '');
  const b = to === undefined ? a : dayNames.indexOf(to);
  if (a < 0 || b < 0 || rest.length) return null;
  const days: number[] = [];
  for (let d = a; ; d = (d + 1) % 7) {
    days.push(d);
    if (d === b) return days;
  }
}

function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Weekday (0 = Monday) and minute of the day of `at` in `zone`. */
function localTime(at: Date, zone: string): { day: number; minute: number } {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
  return { day: dayNames.indexOf(String(parts.weekday).toLowerCase()), minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Whether the window is open at `at`. */
export function isWindowOpen(window: DeployWindow, at: Date): boolean {
  const { day, minute } = localTime(at, window.zone);
  const yesterday = (day + 6) % 7;
  return window.ranges.some((r) => {
    if (r.endMinute > r.startMinute) return r.days.includes(day) && minute >= r.startMinute && minute < r.endMinute;
    // Past midnight: the evening of a listed day, or the early hours after one.
    return (r.days.includes(day) && minute >= r.startMinute) || (r.days.includes(yesterday) && minute < r.endMinute);
  });
}

/**
 * The next time the window opens after `at` (to the minute), or null when it never does
 * within eight days (an empty window). A closed window can open only at a range start, or
 * where the clocks change (going back repeats an hour that may lie in a range): so it jumps
 * to the minute before the next range start, as far as the local clock moved by exactly the
 * minutes jumped (no change of UTC offset in between; else the jump is halved until it does),
 * at most a day at a time, and checks every minute where a jump cannot be taken.
 */
export function nextOpening(window: DeployWindow, at: Date): Date | null {
  const start = Math.floor(at.getTime() / 60_000) * 60_000;
  const end = start + 8 * 86_400_000;
  for (let t = start + 60_000; t <= end; ) {
    const when = new Date(t);
    if (isWindowOpen(window, when)) return when;
    const now = weekMinute(localTime(when, window.zone));
    let jump = Math.min(1440, minutesToNextStart(window, now) - 1);
    while (jump > 1 && !clockMovedBy(window.zone, t, now, jump)) jump = Math.floor(jump / 2);
    t += Math.max(1, jump) * 60_000;
  }
  return null;
}

const minutesInWeek = 7 * 1440;

function weekMinute(local: { day: number; minute: number }): number {
  return local.day * 1440 + local.minute;
}

/** Whether the local clock in `zone` reads `minutes` later at `t` + `minutes` than at `t` (`now`). */
function clockMovedBy(zone: string, t: number, now: number, minutes: number): boolean {
  const later = weekMinute(localTime(new Date(t + minutes * 60_000), zone));
  return (((later - now - minutes) % minutesInWeek) + minutesInWeek) % minutesInWeek === 0;
}

/** Local minutes from `now` (minute of the week) to the next start of any range (a week when there is none). */
function minutesToNextStart(window: DeployWindow, now: number): number {
  let best = minutesInWeek;
  for (const range of window.ranges) {
    for (const day of range.days) {
      const ahead = (((day * 1440 + range.startMinute - now) % minutesInWeek) + minutesInWeek) % minutesInWeek;
      if (ahead > 0 && ahead < best) best = ahead;
    }
  }
  return best;
}
