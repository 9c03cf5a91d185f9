import type { Fence } from './guarded-write';
import type { PartitionClaim } from './health-store';

/** This process's claim on one partition in the current generation. */
export interface Claim {
  field: string;
  epoch: string;
  /** Next offset whose effects are already in Redis (what the last owner, or we, applied up to). */
  applied: bigint;
  /** A write under this claim was refused: someone took the partition since. */
  fenced: boolean;
}

/**
 * The partitions this member took in the current group generation, and which partition each active
 * instance's events came from (so ticks and restores are written under the right fence).
 *
 * A partition is claimed on its first batch of a generation, not on the GROUP_JOIN event (kafkajs does
 * not await event listeners): the claim raises the fencing epoch and reads the applied offset in one
 * step before anything of the partition is loaded, so everything a previous owner wrote is seen and
 * nothing it writes afterwards is accepted. A fenced claim stays fenced until the next generation:
 * claiming again would fence the rightful owner in turn.
 */
export class PartitionClaims {
  private generation = 0;
  private readonly claims = new Map<string, Claim>();
  private readonly owners = new Map<string, string>();

  constructor(private readonly store: { claimPartition(field: string): Promise<PartitionClaim> }) {}

  /** A new generation: every claim is void, and so is every instance binding. */
  reset(): void {
    this.generation++;
    this.claims.clear();
    this.owners.clear();
  }

  /** This generation's claim on `field`, taken on first use; `null` if the generation changed meanwhile. */
  async claim(field: string): Promise<Claim | null> {
    const known = this.claims.get(field);
    if (known) return known;
    const generation = this.generation;
    const taken = await this.store.claimPartition(field);
    if (generation !== this.generation) return null;
    const claim: Claim = { field, epoch: taken.epoch, applied: taken.applied ?? 0n, fenced: false };
    this.claims.set(field, claim);
    return claim;
  }

  /** Whether `claim` belongs to the current generation (a batch that outlived a rebalance holds an old one). */
  isCurrent(claim: Claim): boolean {
    return this.claims.get(claim.field) === claim;
  }

  get size(): number {
    return this.claims.size;
  }

  bind(instanceId: string, field: string): void {
    this.owners.set(instanceId, field);
  }

  /** The fence to write `instanceId` under; `null` when its partition is not (or no longer) ours. */
  fenceOf(instanceId: string): Fence | null {
    const field = this.owners.get(instanceId);
    const claim = field === undefined ? undefined : this.claims.get(field);
    return claim && !claim.fenced ? { field: claim.field, epoch: claim.epoch } : null;
  }

  /** Instances bound to `field`, e.g. to drop them once the partition turned out fenced. */
  instancesOf(field: string): string[] {
    return [...this.owners].filter(([, f]) => f === field).map(([id]) => id);
  }
}
