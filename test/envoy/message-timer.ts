/**
 * ext_proc's per-direction message timer (processor_state.cc): (re)started on every message sent, stopped on
 * every answer, and restartable once per pending state by override_message_timeout within
 * [1 ms, max_message_timeout].
 */
import type { Direction } from './processing-mode.js';

export class MessageTimers {
  private readonly timers: Record<Direction, NodeJS.Timeout | undefined> = { request: undefined, response: undefined };
  private readonly overridden: Record<Direction, boolean> = { request: false, response: false };

  constructor(
    private readonly onTimeout: () => void,
    private readonly maxOverrideMs: number,
  ) {}

  /** onStartProcessorCall. */
  start(direction: Direction, timeoutMs: number): void {
    this.stop(direction);
    this.timers[direction] = setTimeout(this.onTimeout, timeoutMs);
    this.overridden[direction] = false;
  }

  stop(direction: Direction): void {
    const timer = this.timers[direction];
    if (timer) clearTimeout(timer);
    this.timers[direction] = undefined;
  }

  stopAll(): void {
    this.stop('request');
    this.stop('response');
  }

  /** onNewTimeout: true when a running timer was restarted (override_message_timeout_received). */
  override(timeoutMs: number): boolean {
    if (timeoutMs < 1 || timeoutMs > this.maxOverrideMs) return false;
    let restarted = false;
    for (const direction of ['request', 'response'] as const) {
      if (this.timers[direction] && !this.overridden[direction]) {
        this.stop(direction);
        this.timers[direction] = setTimeout(this.onTimeout, timeoutMs);
        this.overridden[direction] = true;
        restarted = true;
      }
    }
    return restarted;
  }
}
