/** Address of one cluster node, as `new Cluster(nodes)` takes it. */
export interface ClusterNodeAddress {
  host: string;
  port: number;
}

/** How to reach a Sentinel-managed master: ioredis's `{ sentinels, name }`. */
export interface SentinelConfig {
  sentinels: { host: string; port: number }[];
  name: string;
}

// Types what global-setup.ts provides, so `inject('redisUrl')` is a string, not unknown.
declare module 'vitest' {
  export interface ProvidedContext {
    /** The standalone Redis every test shares: `REDIS_URL`, or a server the run started. */
    redisUrl: string;
    /** Startup nodes of the shared 3-master cluster the run started. */
    clusterNodes: ClusterNodeAddress[];
    /** The shared Sentinel topology the run started: ioredis's `sentinels` and `name`. */
    sentinel: SentinelConfig;
  }
}
