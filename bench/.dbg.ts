import { benchFleet } from '/work/wt-waves/bench/fleet.ts';
console.log(await benchFleet({ quick: true, agents: Number(process.argv[2] ?? 60) }));
