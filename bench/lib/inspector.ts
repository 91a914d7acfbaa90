import CDP from 'chrome-remote-interface';
import { type ProcessMemory, processMemory } from './memory.js';
import { freePort, pollUntil } from './server-process.js';

/**
 * Node's inspector on a server process of the benchmark's, to read its memory after a full
 * garbage collection: resident memory read at an arbitrary moment says as much about when V8
 * last collected and how far it let its heap grow as about what the process holds (the same API,
 * same load, read 162 and 228 MB in two runs). The process is started with `--inspect-port`
 * (`nodeArgs`), which only chooses the port: the inspector is opened by `SIGUSR1` when the
 * figure is wanted, after the process's measured work and just before it is stopped (once open,
 * it stays open).
 */
export interface InspectablePort {
  /** Node flags that choose the inspector's port without opening it. */
  nodeArgs: string[];
  port: number;
}

export async function inspectorPort(): Promise<InspectablePort> {
  const port = await freePort();
  return { port, nodeArgs: [`--inspect-port=127.0.0.1:${port}`] };
}

export interface MemoryAfterGc extends ProcessMemory {
  /** V8's heap in use after the collection: what the process's JavaScript holds. */
  heap_used_mb: number;
  /** V8's heap reserved after the collection. */
  heap_total_mb: number;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/**
 * Opens the inspector of process `pid` (started with `inspectorPort()`'s flags), has V8 collect
 * every garbage it can (`HeapProfiler.collectGarbage`, twice: the first frees what the second's
 * finalizers release), and reads the heap in use and the resident memory after it.
 */
export async function memoryAfterGc(pid: number, inspector: InspectablePort): Promise<MemoryAfterGc> {
  process.kill(pid, 'SIGUSR1');
  const options = { host: '127.0.0.1', port: inspector.port };
  const target = await pollUntil(
    'the inspector to listen',
    async () => (await CDP.List(options).catch(() => []))[0],
    10_000,
  );
  // `local`: the protocol bundled with the library (Node's inspector serves no /json/protocol).
  const client = await CDP({ ...options, target, local: true });
  try {
    await client.send('HeapProfiler.collectGarbage');
    await client.send('HeapProfiler.collectGarbage');
    const heap = await client.send('Runtime.getHeapUsage');
    const memory = processMemory(pid);
    if (!memory) throw new Error(`could not read the memory of process ${pid}`);
    return { ...memory, heap_used_mb: mb(heap.usedSize), heap_total_mb: mb(heap.totalSize) };
  } finally {
    await client.close();
  }
}
