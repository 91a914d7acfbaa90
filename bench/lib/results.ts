import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  memory_gb: number;
  platform: string;
  node_version: string;
  date: string;
  postgres_version?: string;
}

export function machineInfo(extra: { postgres_version?: string } = {}): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node_version: process.version,
    date: new Date().toISOString(),
    ...extra,
  };
}

/** Writes `bench/results/<name>.json` and returns its path. */
export async function writeResult(name: string, data: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}${name}.json`;
  await writeFile(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
