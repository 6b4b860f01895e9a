import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isWindowOpen, nextOpening, parseDeployWindow, type DeployWindow } from '../../src/schedule/deploy-window.js';

const parse = (text: string): DeployWindow => {
  const parsed = parseDeployWindow(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
};

test('deploy-window grammar: ranges, day spans, zone as last word, UTC without one', () => {
  const w = parse('Mon-Fri 09:00-17:00, Sat 10:00-12:00 Europe/Berlin');
  assert.equal(w.zone, 'Europe/Berlin');
  assert.deepEqual(w.ranges, [
    { days: [0, 1, 2, 3, 4], startMinute: 540, endMinute: 1020 },
    { days: [5], startMinute: 600, endMinute: 720 },
  ]);
  assert.equal(parse('Fri-Mon 22:00-02:00').zone, 'UTC');
  assert.deepEqual(parse('Fri-Mon 22:00-02:00').ranges[0]!.days, [4, 5, 6, 0]);
  assert.deepEqual(parse('00:00-24:00 Asia/Tokyo').ranges[0], { days: [0, 1, 2, 3, 4, 5, 6], startMinute: 0, endMinute: 1440 });
});

test('deploy-window errors say what to write and what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['Mon-Fri 09:00-17:00 Mars/Olympus', /unknown time zone "Mars\/Olympus"/],
    ['Sat,Sun 10:00-12:00', /"Sat" has no HH:MM-HH:MM hours/],
    ['Mon-Fry 09:00-17:00', /"Mon-Fry" is not a day/],
    ['Mon 09:00-25:00', /outside 00:00-24:00/],
    ['Mon 09:00-17:00,', /empty range/],
    ['Mon Tue 09:00-17:00', /more than days and hours/],
  ];
  for (const [text, problem] of cases) {
    const parsed = parseDeployWindow(text);
    assert.ok('error' in parsed, `${text} is refused`);
    assert.match(parsed.error, problem, text);
    assert.match(parsed.error, /DAYS HH:MM-HH:MM/, 'names the grammar');
  }
});

test('deploy-window open and closed in a time zone, across midnight and daylight saving', () => {
  const berlin = parse('Mon-Fri 09:00-17:00 Europe/Berlin');
  // 2026-11-27 is a Friday; Berlin is UTC+1 in winter.
  assert.equal(isWindowOpen(berlin, new Date('2026-11-27T08:00:00Z')), true);
  assert.equal(isWindowOpen(berlin, new Date('2026-11-27T07:59:00Z')), false);
  assert.equal(isWindowOpen(berlin, new Date('2026-11-27T16:00:00Z')), false);
  assert.equal(isWindowOpen(berlin, new Date('2026-11-28T10:00:00Z')), false, 'Saturday');
  // Summer: UTC+2.
  assert.equal(isWindowOpen(berlin, new Date('2026-07-01T07:00:00Z')), true);
  assert.equal(isWindowOpen(parse('Mon-Fri 09:00-17:00'), new Date('2026-07-01T07:00:00Z')), false, 'UTC without a zone');

  const night = parse('Fri 22:00-02:00');
  assert.equal(isWindowOpen(night, new Date('2026-11-27T23:00:00Z')), true, 'Friday night');
  assert.equal(isWindowOpen(night, new Date('2026-11-28T01:30:00Z')), true, 'early Saturday belongs to Friday');
  assert.equal(isWindowOpen(night, new Date('2026-11-28T02:00:00Z')), false);
  assert.equal(isWindowOpen(night, new Date('2026-11-27T01:00:00Z')), false, 'early Friday follows Thursday');
});

test('nextOpening: the next minute the window opens, in its zone', () => {
  const berlin = parse('Mon-Fri 09:00-17:00 Europe/Berlin');
  // Friday 17:30 Berlin -> Monday 09:00 Berlin (08:00 UTC).
  assert.equal(nextOpening(berlin, new Date('2026-11-27T16:30:00Z'))?.toISOString(), '2026-11-30T08:00:00.000Z');
  assert.equal(nextOpening(parse('Sat 10:00-12:00 Asia/Tokyo'), new Date('2026-11-27T00:00:00Z'))?.toISOString(), '2026-11-28T01:00:00.000Z');
  assert.equal(nextOpening(parse('Mon 10:00-10:00'), new Date('2026-11-27T00:00:00Z'))?.toISOString(), '2026-11-30T10:00:00.000Z', 'a wrapping range opens too');
});

/** The definition nextOpening must agree with: every minute after `at`, for eight days. */
function openingByMinutes(window: DeployWindow, at: Date): string | null {
  const start = Math.floor(at.getTime() / 60_000) * 60_000;
  for (let t = start + 60_000; t <= start + 8 * 86_400_000; t += 60_000) if (isWindowOpen(window, new Date(t))) return new Date(t).toISOString();
  return null;
}

test('nextOpening: the same minute as trying every minute, across daylight-saving changes and in zones with odd offsets', () => {
  const windows = [
    'Mon-Fri 09:00-17:00 Europe/Berlin',
    'Sun 02:30-04:00 Europe/Berlin', // starts in the hour that does not exist on the last Sunday of March
    'Sun 02:00-02:30 Europe/Berlin', // an hour that happens twice on the last Sunday of October
    '02:00-02:30 Europe/Berlin',
    '00:00-01:30 America/New_York', // open again in the middle of the range when 01:00 comes twice
    'Sun 03:00-03:20 Antarctica/Troll', // a two-hour change
    'Sat 23:30-00:15, Tue 13:05-13:06 America/New_York',
    'Fri 22:00-02:00 Australia/Lord_Howe', // a 30-minute daylight-saving shift
    'Mon 10:00-10:00',
    '03:15-03:20 Asia/Kathmandu',
    'Wed 00:00-24:00 Pacific/Chatham',
  ].map(parse);
  // Around the 2027 changes in Europe (Mar 28, Oct 31), the US (Mar 14, Nov 7), Lord Howe (Apr 4,
  // Oct 3) and Troll (Mar 28, Oct 31): some starts inside the first pass of a repeated hour.
  const starts = ['2027-03-26T12:00:00Z', '2027-03-27T23:59:30Z', '2027-10-29T07:45:00Z', '2027-10-30T23:10:00Z', '2027-10-31T00:40:00Z', '2027-03-13T18:00:00Z', '2027-11-06T20:00:00Z', '2027-11-07T05:45:00Z', '2027-04-02T09:00:00Z', '2027-10-01T13:00:00Z', '2027-03-27T23:00:00Z'];
  let compared = 0;
  for (const window of windows) {
    for (const start of starts) {
      for (let step = 0; step < 3; step++) {
        const at = new Date(Date.parse(start) + step * 7_777_000);
        assert.equal(nextOpening(window, at)?.toISOString() ?? null, openingByMinutes(window, at), `${window.text} after ${at.toISOString()}`);
        compared++;
      }
    }
  }
  assert.equal(compared, windows.length * starts.length * 3);
});
