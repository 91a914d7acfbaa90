import type { ChildProcess } from 'node:child_process';
import os from 'node:os';

const live = new Set<ChildProcess>();
let installed = false;

/**
 * Makes `child` end with the benchmark: when the benchmark's process exits (its last line, an
 * uncaught error, or SIGINT / SIGTERM / SIGHUP sent to it alone, as `kill` or a timeout does)
 * while the child still runs, the child is killed, so that no API or worker outlives the run
 * holding its port and connections. A benchmark killed with SIGKILL cannot run this: its children
 * are left.
 */
export function ownChild<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!installed) {
    installed = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
    }
  }
  return child;
}
