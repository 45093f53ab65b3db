import type { Metric, Registry } from "prom-client";

/** One series of a scrape: its labels (values as the client gave them; prom-client escapes) and value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
  /** Always NO_SHARED_LABELS: one object, so prom-client's per-object cache of their text always hits. */
  sharedLabels: object;
}

const NO_SHARED_LABELS = Object.freeze({});

export function sample(labels: Record<string, string>, value: number): Sample {
  return { labels, value, sharedLabels: NO_SHARED_LABELS };
}

const NO_LABELS = Object.freeze({}) as Record<string, string>;

/** The one series of a metric without labels. */
export function unlabelled(value: number): Sample {
  return sample(NO_LABELS, value);
}

/**
 * A metric whose series are computed whole at each scrape, registered in a prom-client Registry, which
 * writes the exposition text (escaping included). Unlike prom-client's Gauge and Counter it keeps no
 * label-keyed state between scrapes: no hashing per series, and a series not produced by this scrape
 * is simply absent (a process that ended has none).
 */
export class CollectedMetric {
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "gauge" | "counter",
    private readonly collect: () => Sample[],
  ) {}

  /** What prom-client's Registry asks of a metric when it renders. */
  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Sample[];
  }> {
    // Runs before the first await: inside the Registry's synchronous pass over its metrics.
    const values = this.collect();
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }

  /** Registry.resetMetrics(): nothing is kept between scrapes. */
  reset(): void {}

  registerIn(registry: Registry): void {
    registry.registerMetric(this as unknown as Metric);
  }
}
