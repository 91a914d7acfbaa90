import { execFileSync } from 'node:child_process';
import { median, round } from './stats.js';

/**
 * How fast this machine runs a fixed piece of JavaScript now: CPU microseconds per iteration of a
 * workload shaped like a read's (an object built, serialized to JSON and parsed back, a header
 * matched), in a fresh Node process, median of `samples` runs. The platform's own figures cannot
 * say whether a phase measured ten minutes after another ran slower because of the platform or
 * because the machine was slower then (a shared host's CPUs drift); a probe that does the same
 * work each time can.
 */
const PROBE = `
const iterations = Number(process.argv[1]);
let sink = 0;
const run = (n) => {
  for (let i = 0; i < n; i++) {
    const user = { id: 'u-' + i, email: 'user' + i + '@tenant.example', name: 'Bench User', created_at: new Date(1e12 + i).toISOString() };
    const text = JSON.stringify({ data: user, meta: { request_id: 'r' + i } });
    sink += JSON.parse(text).data.email.length;
    if (/^Bearer ([A-Za-z0-9_]+)\\.([A-Za-z0-9_]+)$/.test('Bearer pk_' + i + '.secret' + i)) sink++;
  }
};
run(iterations / 10);
const start = process.cpuUsage();
run(iterations);
const spent = process.cpuUsage(start);
process.stdout.write(JSON.stringify({ us: spent.user + spent.system, sink }));
`;

export interface MachineSpeed {
  /** CPU microseconds per iteration of the probe (lower is faster), median of the samples. */
  cpu_us_per_iteration: number;
  samples: number[];
}

export function machineSpeed(samples = 5, iterations = 100_000): MachineSpeed {
  const values: number[] = [];
  for (let k = 0; k < samples; k++) {
    const out = execFileSync(process.execPath, ['-e', PROBE, String(iterations)], { encoding: 'utf8' });
    const { us } = JSON.parse(out) as { us: number };
    values.push(round(us / iterations, 3));
  }
  return { cpu_us_per_iteration: round(median(values), 3), samples: values };
}
