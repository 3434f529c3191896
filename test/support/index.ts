// Real-Redis test harness shared by every package's tests. Never a mock: each helper starts,
// connects to or breaks real `redis-server` processes owned by this run.

// Clients and key isolation for tests (shared servers from global-setup.ts)
export {
  cleanupPrefix,
  closeClient,
  clusterNodes,
  createTestCluster,
  createTestRedis,
  createTestSentinel,
  redisUrl,
  sentinelConfig,
  type TestRedisOptions,
  testPrefix,
} from './clients.js';
// Failovers of Sentinel and Cluster topologies
export {
  type FailoverKind,
  type FailoverOptions,
  type FailoverResult,
  failoverCluster,
  failoverSentinel,
  rejoinAsReplica,
  waitUntilClientsMoved,
} from './failover.js';
// Network faults
export { type FaultProxy, startFaultProxy } from './fault-proxy.js';
// Processes
export { freePort } from './free-port.js';
export type { ClusterNodeAddress, SentinelConfig } from './provided-context.js';
export {
  type RedisClusterHandle,
  type RedisClusterOptions,
  startRedisCluster,
} from './redis-cluster.js';
export {
  type RedisSentinelHandle,
  type RedisSentinelOptions,
  type SentinelAddress,
  startRedisSentinel,
} from './redis-sentinel.js';
export {
  isAddressInUse,
  type RedisServer,
  type RedisServerOptions,
  RedisServerStartError,
  startRedisServer,
} from './redis-server.js';
export { type RedisServerGroup, startRedisServers } from './redis-servers.js';
