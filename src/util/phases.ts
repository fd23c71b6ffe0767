// Wall time of a command's phases, for `refresh --verbose` and the `phases_ms` of its JSON document. The first
// phase starts at process start (performance's time origin), so start-up (loading node and the modules) is
// measured too. A phase may be lapped more than once; its times add up.

export class PhaseTimer {
  readonly ms: Record<string, number> = {};
  private last = 0;

  /** Ends the phase `name` now: the time since the previous lap (or process start) is added to it. */
  lap(name: string): void {
    const now = performance.now();
    this.ms[name] = Math.round((this.ms[name] ?? 0) + now - this.last);
    this.last = now;
  }
}

export function formatPhases(ms: Readonly<Record<string, number>>): string {
  return `phases: ${Object.entries(ms).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v} ms`).join(', ')}`;
}
