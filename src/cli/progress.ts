/**
 * A spinner on a terminal while long work runs. The cache reports no progress of its own, and its
 * local I/O runs inline, so the main thread's timers do not fire while it works; the spinner runs in
 * a worker thread and writes to the terminal directly.
 */
import { Worker } from 'node:worker_threads';

/**
 * The worker: redraws `⠋ label 1.2s` in place every 80 ms, from 250 ms on (shorter work shows
 * nothing); a message from the main thread replaces the label.
 */
const SPINNER = `
const { writeSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const started = Date.now();
let frame = 0;
let label = workerData.label;
parentPort.on('message', (text) => { label = text; });
const draw = () => {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  try {
    writeSync(workerData.fd, '\\r' + frames[frame++ % frames.length] + ' ' + label + ' ' + seconds + 's\\x1b[K');
  } catch {}
};
setTimeout(() => { draw(); setInterval(draw, 80); }, 250);
`;

/** A running spinner. */
export interface Spinner {
  /** Shows `label` from the next frame on. */
  update(label: string): void;
  /** Stops the spinner and removes its line; later calls return the same Promise. */
  stop(): Promise<void>;
}

const NONE: Spinner = { update: () => {}, stop: async () => {} };

/** Shows a spinner with `label` on `stream` if it is a terminal; otherwise does nothing. */
export function startSpinner(stream: NodeJS.WriteStream, label: string): Spinner {
  const fd = (stream as NodeJS.WriteStream & { fd?: number }).fd;
  if (!stream.isTTY || typeof fd !== 'number') return NONE;
  let worker: Worker;
  try {
    worker = new Worker(SPINNER, { eval: true, workerData: { fd, label }, stdout: true, stderr: true });
  } catch {
    return NONE;
  }
  worker.unref();
  worker.on('error', () => {});
  let stopped: Promise<void> | undefined;
  return {
    update(text) {
      if (stopped === undefined) worker.postMessage(text);
    },
    stop() {
      stopped ??= worker.terminate().then(() => {
        stream.write('\r\x1b[K');
      });
      return stopped;
    },
  };
}
