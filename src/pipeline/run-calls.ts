/**
 * Request/response over the runner's FIFO, for callers with one item per request (the daemon's
 * frames): run(inputs) resolves with that item's outputs. Pushes go in the order of the calls and
 * one reader pops, so the n-th pop answers the n-th item pushed; an item whose push fails (bad
 * inputs, a closed or failed pipeline) rejects its own call and never enters the pairing.
 */
import type { NamedTensors } from '../tensors/tensor.js';
import { PipelineClosedError } from './errors.js';

export interface Fifo {
  push(inputs: NamedTensors): Promise<void>;
  pop(): Promise<NamedTensors | null>;
}

interface Waiter {
  resolve(outputs: NamedTensors): void;
  reject(err: unknown): void;
}

export class RunCalls {
  /** Calls whose item is in the pipeline, in push order. */
  private readonly waiting: Waiter[] = [];
  private pushes: Promise<unknown> = Promise.resolve();
  private popping = false;

  constructor(private readonly fifo: Fifo) {}

  run(inputs: NamedTensors): Promise<NamedTensors> {
    const pushed = this.pushes.then(() => this.fifo.push(inputs));
    this.pushes = pushed.catch(() => undefined);
    return pushed.then(
      () =>
        new Promise<NamedTensors>((resolve, reject) => {
          this.waiting.push({ resolve, reject });
          void this.popLoop();
        }),
    );
  }

  /** Pops while calls wait; a failed item rejects its own call, a failed pipeline each call in turn. */
  private async popLoop(): Promise<void> {
    if (this.popping) return;
    this.popping = true;
    try {
      while (this.waiting.length > 0) {
        let outputs: NamedTensors | null;
        try {
          outputs = await this.fifo.pop();
        } catch (err) {
          this.waiting.shift()!.reject(err);
          continue;
        }
        if (outputs === null) {
          for (const waiter of this.waiting.splice(0)) waiter.reject(new PipelineClosedError('run: the pipeline closed before this item came out'));
          return;
        }
        this.waiting.shift()!.resolve(outputs);
      }
    } finally {
      this.popping = false;
    }
  }
}
