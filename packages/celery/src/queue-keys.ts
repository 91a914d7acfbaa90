/**
 * The Redis lists of a kombu queue: the queue itself and its priority sub-queues
 * `<queue>\x06\x16<3|6|9>` (kombu's Redis transport). Shared by the transport and the dead
 * letters, which put a message back on the list its priority names.
 */
export const PRIORITY_SEPARATOR = '\x06\x16';
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** The lists of a queue, highest priority first (kombu pops them in this order). */
export function queueKeys(queue: string): string[] {
  return PRIORITY_STEPS.map((p) => (p === 0 ? queue : `${queue}${PRIORITY_SEPARATOR}${p}`));
}

/** The list of `queue` a message of `priority` is pushed onto. */
export function priorityList(queue: string, priority = 0): string {
  const step = [...PRIORITY_STEPS].reverse().find((p) => p <= priority) ?? 0;
  return step === 0 ? queue : `${queue}${PRIORITY_SEPARATOR}${step}`;
}
