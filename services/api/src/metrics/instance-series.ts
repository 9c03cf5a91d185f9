import { Counter, type Registry } from 'prom-client';

/** The `instance` label shared by every instance beyond the cap. */
export const OTHER_INSTANCES = '_other';

/**
 * Opt-in per-instance series (`METRICS_PER_INSTANCE`): selections and reported outcomes by instance id. An
 * instance id label multiplies the series by the number of instances, so at most `max` ids get their own;
 * the rest share `instance="_other"` (first come, first served until the process restarts: an id keeps
 * its series once it has one, so a counter never jumps between labels). Off, recording is one branch.
 */
export class InstanceSeries {
  private readonly selections: Counter<'instance'> | null;
  private readonly reports: Counter<'instance' | 'success'> | null;
  private readonly named = new Set<string>();

  constructor(registry: Registry, private readonly opts: { enabled: boolean; max: number }) {
    if (!opts.enabled) {
      this.selections = null;
      this.reports = null;
      return;
    }
    this.selections = new Counter({ name: 'apg_instance_selections_total', help: `Selections served by instance (opt-in; at most ${opts.max} ids, the rest as "${OTHER_INSTANCES}")`, labelNames: ['instance'] as const, registers: [registry] });
    this.reports = new Counter({ name: 'apg_instance_reports_total', help: `Accepted reports by instance and success (opt-in; at most ${opts.max} ids, the rest as "${OTHER_INSTANCES}")`, labelNames: ['instance', 'success'] as const, registers: [registry] });
  }

  get enabled(): boolean {
    return this.opts.enabled;
  }

  /** The label an instance id gets: itself while under the cap (or already named), else `_other`. */
  labelOf(instanceId: string): string {
    if (this.named.has(instanceId)) return instanceId;
    if (this.named.size >= this.opts.max) return OTHER_INSTANCES;
    this.named.add(instanceId);
    return instanceId;
  }

  selected(instanceId: string): void {
    this.selections?.inc({ instance: this.labelOf(instanceId) });
  }

  reported(instanceId: string, success: boolean): void {
    this.reports?.inc({ instance: this.labelOf(instanceId), success: success ? 'true' : 'false' });
  }
}
